"""Checks of "reinforcement learning": the concept questions (free text scored by concept rubrics,
and multiple choice) and tabular Q-learning on a 4x4 grid world.

Q-learning is graded on data, never on printed output: the Q-table's shape and start, the
student's epsilon-greedy choice and Q update called by the grader on fixed inputs, and the
learned greedy policy, whose exact value this file computes on the known MDP (policy evaluation
by a linear solve) and compares with the optimal value."""

from pathlib import Path

import nbformat
import numpy as np

from grader.assignment import Limits, Part, Setup
from grader.checks import Calibrated, CheckContext, Close, Equals, PredictionError, QuizAnswer, Shape
from grader.checks.quiz import load_rubrics

SETUP = Setup(framework="numpy", limits=Limits(cell_timeout_s=60, notebook_timeout_s=120))

RUBRICS = load_rubrics(Path(__file__).with_name("rubrics.json"))

# ---------------------------------------------------------------- the grid world

# The environment of the notebook's locked cell `rl_setup`, as the grader knows it.
LAYOUT = ("S...", ".#..", "...G", "c...")
REWARDS = {"G": 1.0, "c": 0.3}
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
GAMMA = 0.9
N_ROWS, N_COLS = len(LAYOUT), len(LAYOUT[0])
N_STATES, N_ACTIONS = N_ROWS * N_COLS, len(MOVES)
START = "".join(LAYOUT).index("S")


def _same_world() -> None:
    """Fail loudly when the notebook's environment and this file's copy drift apart."""
    nb = nbformat.read(Path(__file__).with_name("reinforcement_learning.ipynb"), as_version=4)
    setup = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "rl_setup")
    for text in (f"LAYOUT = {LAYOUT!r}", f"REWARDS = {REWARDS!r}", f"MOVES = {MOVES!r}", f"gamma = {GAMMA!r}"):
        if text not in setup:
            raise ValueError(f"the notebook's cell rl_setup no longer says {text!r}: update this checks file")


_same_world()


def _step(state: int, action: int) -> tuple[int, float]:
    row, col = divmod(state, N_COLS)
    r, c = row + MOVES[action][0], col + MOVES[action][1]
    if 0 <= r < N_ROWS and 0 <= c < N_COLS and LAYOUT[r][c] != "#":
        row, col = r, c
    return row * N_COLS + col, REWARDS.get(LAYOUT[row][col], 0.0)


def _active(state: int) -> bool:
    """States where the agent acts: not a wall, not a terminal cell."""
    cell = "".join(LAYOUT)[state]
    return cell != "#" and cell not in REWARDS


def policy_values(policy: np.ndarray, gamma: float = GAMMA) -> np.ndarray:
    """V of a deterministic policy, exactly: solve (I - gamma P) V = R; terminals are worth 0."""
    P, R = np.zeros((N_STATES, N_STATES)), np.zeros(N_STATES)
    for s in filter(_active, range(N_STATES)):
        s2, r = _step(s, int(policy[s]))
        P[s, s2], R[s] = 1.0, r
    return np.linalg.solve(np.eye(N_STATES) - gamma * P, R)


def optimal_values(gamma: float = GAMMA, sweeps: int = 200) -> np.ndarray:
    """V* by value iteration (exact to float precision on this small, loop-free-optimal world)."""
    V = np.zeros(N_STATES)
    for _ in range(sweeps):
        V = np.array(
            [
                max(r + gamma * V[s2] for s2, r in (_step(s, a) for a in range(N_ACTIONS))) if _active(s) else 0.0
                for s in range(N_STATES)
            ]
        )
    return V


def policy_value_ratio(values: dict, ctx: CheckContext) -> float:
    """compute(): value of the student's greedy policy from the start over the optimal value."""
    policy = np.asarray(values["policy"])
    if policy.shape != (N_STATES,):
        raise PredictionError(f"policy has shape {list(policy.shape)}; it must be [{N_STATES}], one action per state")
    if not np.issubdtype(policy.dtype, np.integer) or policy.min() < 0 or policy.max() >= N_ACTIONS:
        raise PredictionError(f"policy must hold action numbers 0..{N_ACTIONS - 1}")
    ratio = policy_values(policy)[START] / optimal_values()[START]
    return float(ratio) + 0.0  # + 0.0: a policy that never scores reads 0, not -0


# ---------------------------------------------------------------- probes of the student's functions

# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks see. The
# student's functions are called on inputs of the grader's own: Q rows with a unique best action,
# so "greedy" has one right answer.
PROBE_Q = [[0.0, 1.0, 0.5, 0.2], [0.3, 0.1, 0.2, 0.9], [2.0, -1.0, 0.0, 1.0]]
# Q[0, 1] = 0.4 moves halfway (alpha 0.5) to 0.5 + 0.9 * max(Q[1]) = 1.4, giving 0.9; a terminal
# transition uses the reward alone: 0.45. Q[1, 1] != max(Q[1]) tells max apart from Q[s', a].
UPDATE_Q = [[0.2, 0.4], [1.0, 0.5], [0.0, 0.0]]


def greedy_actions(choose_action, q=PROBE_Q):
    import numpy as np

    return [int(choose_action(np.array(q), s, 0.0)) for s in (0, 1, 2)]


def explore_actions(choose_action, q=PROBE_Q):
    import numpy as np

    return sorted({int(choose_action(np.array(q), 0, 1.0)) for _ in range(400)})


def updated_q(q_update, q=UPDATE_Q, done=False):
    """Q(0, 1) after one update of the grader's table (reward 0.5, alpha 0.5, gamma 0.9)."""
    import numpy as np

    table = np.array(q)
    q_update(table, 0, 1, 0.5, 1, done, 0.5, 0.9)
    return float(table[0, 1])


def updated_q_terminal(q_update, q=UPDATE_Q, done=True):
    import numpy as np

    table = np.array(q)
    q_update(table, 0, 1, 0.5, 1, done, 0.5, 0.9)
    return float(table[0, 1])


QUIZ_CELLS = {
    "rl_explore_exploit": ("rl_explore_exploit_answer", {"en": "Exploration vs exploitation", "ja": "探索と利用"}),
    "rl_state_vs_action_value": (
        "rl_state_vs_action_value_answer",
        {"en": "State value vs action value", "ja": "状態価値と行動価値"},
    ),
    "rl_q_learning": ("rl_q_learning_answer", {"en": "Q-learning", "ja": "Q学習"}),
    "rl_policy_gradient": ("rl_policy_gradient_answer", {"en": "The policy gradient theorem", "ja": "方策勾配定理"}),
}
CHOICES = {
    "rl_mc_q_target": "rl_mc_q_target_answer",
    "rl_mc_epsilon": "rl_mc_epsilon_answer",
    "rl_mc_pg_theorem": "rl_mc_pg_theorem_answer",
    "rl_mc_value_functions": "rl_mc_value_functions_answer",
}


def _quiz(question: str, cell: str) -> QuizAnswer:
    item = RUBRICS[question]
    return QuizAnswer(question, item.points, cell=cell, item=item)


_STUDENT_CELLS = ["rl_q_init", "rl_choose_action", "rl_q_update", "rl_policy"]


def Q_shape(Q):
    import numpy as np

    return [int(n) for n in np.shape(Q)]


def Q_abs_sum(Q):
    import numpy as np

    return float(np.abs(np.asarray(Q, dtype=float)).sum())


def policy_shape(policy):
    import numpy as np

    return [int(n) for n in np.shape(policy)]


def policy(policy):
    import numpy as np

    return np.asarray(policy)


def returns(episode_returns):
    import numpy as np

    return np.asarray(episode_returns, dtype=float)


PARTS = [
    *[
        Part(id=q, title=title, cells=[], answers=[cell], checks=[_quiz(q, cell)])
        for q, (cell, title) in QUIZ_CELLS.items()
    ],
    Part(
        id="rl_choice",
        title={"en": "Multiple choice", "ja": "選択問題"},
        cells=[],
        answers=list(CHOICES.values()),
        checks=[_quiz(q, cell) for q, cell in CHOICES.items()],
    ),
    Part(
        id="rl_qtable",
        title={"en": "The Q-table", "ja": "Q テーブル"},
        cells=["rl_q_init"],
        exports=[Q_shape, Q_abs_sum],
        checks=[
            Shape(
                "Q",
                1,
                expected=[N_STATES, N_ACTIONS],
                export="Q_shape",
                hint={
                    "en": "one row per state, one column per action: (env.n_states, env.n_actions)",
                    "ja": "状態ごとに 1 行、行動ごとに 1 列です: (env.n_states, env.n_actions)",
                },
            ),
            Equals(
                "Q before learning (sum of |Q|)",
                1,
                expected=0.0,
                export="Q_abs_sum",
                hint={
                    "en": "start from a table of zeros: np.zeros(...)",
                    "ja": "すべて 0 の表から始めます: np.zeros(...)",
                },
            ),
        ],
    ),
    Part(
        id="rl_epsilon_greedy",
        title={"en": "Epsilon-greedy action choice", "ja": "ε-greedy による行動選択"},
        cells=["rl_choose_action"],
        after="rl_show",  # probed after training, so the probes' random draws change nothing
        exports=[greedy_actions, explore_actions],
        checks=[
            Equals(
                "actions chosen with epsilon = 0",
                1,
                expected=[1, 3, 0],
                export="greedy_actions",
                hint={
                    "en": "with probability 1 - epsilon take the best action: np.argmax(Q[state])",
                    "ja": "確率 1 - epsilon で最良の行動を選びます: np.argmax(Q[state])",
                },
            ),
            Equals(
                "actions seen in 400 choices with epsilon = 1",
                1,
                expected=[0, 1, 2, 3],
                export="explore_actions",
                hint={
                    "en": "with probability epsilon take a random action among all n_actions",
                    "ja": "確率 epsilon で n_actions 個の行動すべてからランダムに選びます",
                },
            ),
        ],
    ),
    Part(
        id="rl_q_update",
        title={"en": "The Q-learning update", "ja": "Q学習の更新式"},
        cells=["rl_q_update"],
        after="rl_show",
        exports=[updated_q, updated_q_terminal],
        checks=[
            Close(
                "Q(s, a) after one update",
                1,
                expected=0.9,
                atol=1e-6,
                export="updated_q",
                hint="Q[s, a] += alpha * (reward + gamma * max_a' Q[s', a'] - Q[s, a])",
            ),
            Close(
                "Q(s, a) after an update into a terminal state",
                1,
                expected=0.45,
                atol=1e-6,
                export="updated_q_terminal",
                hint={
                    "en": "when done is True the target is the reward alone",
                    "ja": "done が True のとき、目標値は reward だけです",
                },
            ),
        ],
    ),
    Part(
        id="rl_policy",
        title={"en": "The learned greedy policy", "ja": "学習した貪欲方策"},
        cells=_STUDENT_CELLS,
        after="rl_show",
        exports=[policy_shape, policy, returns],
        curves={"return per episode": "returns"},
        checks=[
            Shape(
                "policy",
                1,
                expected=[N_STATES],
                export="policy_shape",
                hint={
                    "en": "one action per state: the best column of each row of Q",
                    "ja": "状態ごとに行動 1 つです: Q の各行で値が最大の列",
                },
            ),
            Calibrated(
                "value of the greedy policy from S / optimal value",
                4,
                metric="rl_policy_value_ratio",
                compute=policy_value_ratio,
                uses=("policy",),
                direction="max",
                hint={
                    "en": "the greedy policy walks S -> G in 5 steps when Q has learned; check the update and the exploration",
                    "ja": "Q が学習できていれば、貪欲方策は S -> G を 5 ステップで進みます。更新式と探索を確認してください",
                },
            ),
        ],
    ),
]

# ---------------------------------------------------------------- known-wrong answers

_CHOOSE = 'def choose_action(Q, state, epsilon):\n    """ε-greedy"""\n'
_UPDATE = 'def q_update(Q, state, action, reward, next_state, done, alpha, gamma):\n    """Q学習の更新"""\n'
_CHOOSE_DEMO = "\n\nprint(choose_action(np.array([[0.0, 1.0, 0.5, 0.2]]), 0, 0.0))"
_UPDATE_DEMO = "\n\nQ_demo = np.zeros((2, 2))\nq_update(Q_demo, 0, 1, 1.0, 1, False, alpha, gamma)\nprint(Q_demo)"
_VAGUE = "強化学習で使われる考え方の一つ。"
_EXPLORE = (
    "探索は情報を集めるために未知の行動を試すこと、利用は過去の経験から最良とされる行動を選ぶこと。"
    "両者はトレードオフで、ε-greedy などでバランスを取る。"
)
_STATE_VALUE = (
    "状態価値関数 V(s) は状態 s から得られる将来の報酬の期待値で状態だけの関数、行動価値関数 Q(s,a) は"
    "状態 s で行動 a を取ったときの期待収益で、状態と行動の組み合わせの価値を表す。"
)
_Q_LEARNING = "行動価値関数 Q(s,a) を行動する毎に更新する方法。目標は r + γ max_a' Q(s',a')。"
_POLICY_GRADIENT = (
    "方策をパラメータ θ でモデル化し、期待収益 J(θ) を勾配上昇で最大化する。方策勾配定理は"
    "∇θJ(θ) = E[∇θ log π_θ(a|s) Q(s,a)] を示す。"
)

MUTANTS = {
    # --- free text: answers swapped between questions, and answers that say nothing
    "explore_value_swapped": {"rl_explore_exploit_answer": _STATE_VALUE, "rl_state_vs_action_value_answer": _EXPLORE},
    "q_learning_pg_swapped": {"rl_q_learning_answer": _POLICY_GRADIENT, "rl_policy_gradient_answer": _Q_LEARNING},
    "vague_answers": {cell: _VAGUE for cell, _ in QUIZ_CELLS.values()},
    # --- multiple choice
    "choice_wrong_letters": {
        "rl_mc_q_target_answer": "b",
        "rl_mc_epsilon_answer": "b",
        "rl_mc_pg_theorem_answer": "b",
        "rl_mc_value_functions_answer": "c",
    },
    "choice_partial": {"rl_mc_value_functions_answer": "a, b", "rl_mc_epsilon_answer": "利用"},
    # --- the Q-table
    "q_table_transposed": {"rl_q_init": "Q = np.zeros((env.n_actions, env.n_states))"},
    "q_table_random_start": {"rl_q_init": "Q = np.random.rand(env.n_states, env.n_actions)"},
    "q_table_one_row": {"rl_q_init": "Q = np.zeros(env.n_states)"},
    # --- epsilon-greedy: no exploration gets stuck bumping into the wall above S
    "always_greedy": {"rl_choose_action": _CHOOSE + "    return int(np.argmax(Q[state]))" + _CHOOSE_DEMO},
    "always_random": {"rl_choose_action": _CHOOSE + "    return np.random.randint(Q.shape[1])" + _CHOOSE_DEMO},
    "epsilon_inverted": {
        "rl_choose_action": _CHOOSE
        + "    if np.random.rand() > epsilon:\n        return np.random.randint(Q.shape[1])\n"
        "    return int(np.argmax(Q[state]))" + _CHOOSE_DEMO
    },
    # --- the update
    "no_update": {"rl_q_update": _UPDATE + "    pass" + _UPDATE_DEMO},
    "no_discount": {
        "rl_q_update": _UPDATE + "    target = reward if done else reward + np.max(Q[next_state])\n"
        "    Q[state, action] += alpha * (target - Q[state, action])" + _UPDATE_DEMO
    },
    "wrong_sign": {
        "rl_q_update": _UPDATE + "    target = reward if done else reward + gamma * np.max(Q[next_state])\n"
        "    Q[state, action] -= alpha * (target - Q[state, action])" + _UPDATE_DEMO
    },
    "random_q_values": {"rl_q_update": _UPDATE + "    Q[state, action] = np.random.rand()" + _UPDATE_DEMO},
    # --- the policy
    "random_policy": {"rl_policy": "policy = np.random.randint(env.n_actions, size=env.n_states)"},
    "policy_wrong_axis": {"rl_policy": "policy = np.argmax(Q, axis=0)"},
    "policy_worst_action": {"rl_policy": "policy = np.argmin(Q, axis=1)"},
}
