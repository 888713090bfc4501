"""Copying the question never earns points: for every question of the course, an answer that
copies its cell or prompt (either language, whole or in part, with small edits, with a few words
of its own) is scored 0 or sent to a person; text the question also has is no evidence of a claim."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from grader.checks.quiz import Claim, Concept, Rubric, load_rubrics, score_answer, score_free_text
from grader.results import Status

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {
    "solutions/concepts/cnn_architectures.checks.py": "exercises/concepts/cnn_architectures.ipynb",
    "solutions/concepts/reinforcement_learning.checks.py": "exercises/concepts/reinforcement_learning.ipynb",
    "solutions/keras/perceptron.checks.py": "exercises/keras/perceptron.ipynb",
}


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"copied_{path.stem.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _questions():
    """(question id, item, the question cell's text): the markdown cell just above each answer cell."""
    out = []
    for checks, notebook in NOTEBOOKS.items():
        cells = json.loads((ROOT / notebook).read_text())["cells"]
        above, prev = {}, None
        for cell in cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if prev is not None and gid:
                above[gid] = "".join(prev["source"])
            if cell["cell_type"] == "markdown":
                prev = cell
        for part in _module(ROOT / checks).PARTS:
            for check in part.checks:
                if type(check).__name__ == "QuizAnswer":
                    out.append((check.item.question_id, check.item, above[check.cell]))
    return out


QUESTIONS = _questions()


def _copies(cell: str, prompt: dict[str, str]) -> dict[str, str]:
    paragraphs = [p.strip() for p in cell.split("\n\n") if p.strip()]
    texts = {
        "cell": cell,
        **{f"paragraph {i}": p for i, p in enumerate(paragraphs)},
        **{f"prompt {lang}": p for lang, p in prompt.items()},
    }
    out = {}
    for name, text in texts.items():
        out[name] = text
        out[f"{name}, edited"] = (
            "答え: " + text.replace("?", ".").replace("。", "").replace("*", "").lower() + " I think so."
        )
        out[f"{name}, second half"] = text[len(text) // 2 :]
        out[f"{name}, twice"] = text + "\n" + text
    return out


def test_every_question_of_the_course_is_found():
    ids = {q for q, *_ in QUESTIONS}
    assert {"vgg", "googlenet", "resnet", "rl_q_learning", "xor_single_layer", "cnn_mc_vgg_kernel"} <= ids
    assert len(ids) == len(QUESTIONS)


@pytest.mark.parametrize("qid, item, cell", QUESTIONS, ids=[q for q, *_ in QUESTIONS])
def test_a_copied_question_earns_no_points(qid, item, cell):
    for name, text in _copies(cell, item.prompt).items():
        results = score_answer(text, item, lang="en")
        assert sum(r.score for r in results) == 0, (name, text, [r.message for r in results if r.score])
        assert all(r.status in (Status.FAIL, Status.NEEDS_REVIEW) for r in results if r.max_score), (name, text)


@pytest.mark.parametrize(
    "qid, item, cell",
    [q for q in QUESTIONS if isinstance(q[1], Rubric)],
    ids=[q for q, i, _ in QUESTIONS if isinstance(i, Rubric)],
)
def test_a_rubric_prompt_holds_its_question_cell(qid, item, cell):
    """What a copy is checked against is the question as students see it, in both languages."""
    from grader.checks.quiz import _skeleton
    from grader.checks.textnorm import normalize

    prompts = [_skeleton(normalize(p))[0] for p in item.prompt.values()]
    for paragraph in [p for p in cell.split("\n\n") if p.strip()]:
        text = re.sub(r"^[*_]+[^*_]{0,20}[*_]+\s*", "", paragraph.strip())  # "**問 1.**", "*Q1.*"
        assert any(_skeleton(normalize(text))[0] in p for p in prompts), (qid, text, item.prompt)


CLAIMED_IN_PROMPT = Rubric(
    question_id="inception",
    prompt={
        "en": "Explain how in GoogLeNet 1x1 convolutions reduce the number of channels before the large filters.",
        "ja": "GoogLeNetでは1x1畳み込みが大きなフィルタの前でチャンネル数を減らす仕組みを説明せよ。",
    },
    concepts=[
        Concept(
            id="bottleneck",
            points=2,
            label={"en": "1x1 convolutions reduce channels"},
            claims=[Claim(subject=["1x1"], relation=["reduce", "減らす", "削減"])],
        )
    ],
    min_chars=10**6,  # no coverage review: what is left is scored as it stands
)


@pytest.mark.parametrize(
    "answer",
    [
        "Explain how in GoogLeNet 1x1 convolutions reduce the number of channels before the large filters. "
        "I did not have time to read the chapter about this network, sorry, I will catch up next week.",
        "GoogLeNetでは1x1畳み込みが大きなフィルタの前でチャンネル数を減らす。この章はまだ読めていないので、来週までに復習して書き直します。",
        "In GoogLeNet 1x1 convolutions reduce the number of channels before the large filters, which is what the "
        "question says; beyond that I could not work out anything about the network on my own yet.",
    ],
    ids=["en copy and an excuse", "ja copy and an excuse", "en restated question"],
)
def test_a_claim_only_in_text_copied_from_the_prompt_earns_nothing(answer):
    results = score_free_text(answer, CLAIMED_IN_PROMPT)
    assert sum(r.score for r in results) == 0, [r.message for r in results]


@pytest.mark.parametrize(
    "answer",
    [
        "Before the large filters, pointwise 1x1 layers reduce the channels, so the 3x3 and 5x5 branches cost less.",
        "大きなフィルタの手前で 1x1 の畳み込みを使い、チャンネルを削減して計算量を抑えている。",
    ],
    ids=["en", "ja"],
)
def test_the_same_claim_in_the_students_own_words_earns_the_points(answer):
    results = score_free_text(answer, CLAIMED_IN_PROMPT)
    assert sum(r.score for r in results) == 2, [r.message for r in results]


def test_naming_the_questions_terms_in_an_own_sentence_still_counts():
    rubric = load_rubrics(ROOT / "solutions/concepts/rubrics.json")["rl_state_vs_action_value"]
    answer = "The action-value function depends on the state and the action; the state-value function depends only on the state."
    assert sum(r.score for r in score_free_text(answer, rubric)) == rubric.points


@pytest.mark.parametrize(
    "qid, answer",
    [
        (
            "rl_explore_exploit",
            "The exploration-exploitation trade-off in reinforcement learning is a trade-off: exploration "
            "tries new actions to find better ones, exploitation picks the best known action, and the agent cannot do both at once.",
        ),
        (
            "rl_explore_exploit",
            "強化学習における探索と利用のトレードオフとは、未知の行動を試す探索と、既知の最善の行動を選ぶ利用は両立しないということ。",
        ),
        (
            "rl_state_vs_action_value",
            "The difference between the state-value function and the action-value function: V(s) depends "
            "only on the state, while Q(s,a) depends on the state and the action.",
        ),
        (
            "rl_state_vs_action_value",
            "状態価値関数と行動価値関数の違いは、状態価値関数は状態のみで決まるのに対し、行動価値関数は状態と行動の組み合わせで決まる点である。",
        ),
    ],
    ids=["en explore", "ja explore", "en values", "ja values"],
)
def test_an_answer_that_restates_the_question_and_then_explains_keeps_full_marks(qid, answer):
    rubric = load_rubrics(ROOT / "solutions/concepts/rubrics.json")[qid]
    assert sum(r.score for r in score_free_text(answer, rubric)) == rubric.points
