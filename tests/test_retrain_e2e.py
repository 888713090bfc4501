"""Retraining for real: an XOR exercise graded in the sandbox with TensorFlow. A right network
whose first run fails (made unlucky on purpose, so that the test does not hang on a seed) gets
full marks from a later run; a network without a non-linear hidden layer fails every run and
is told it is not bad luck."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.assignment.spec import load_assignment
from grader.notebook.release import release_assignment
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import GradeOptions
from grader.pipeline.hidden import HiddenData
from grader.pipeline.scheduler import grade_class
from grader.sandbox.bwrap import make_sandbox

pytestmark = pytest.mark.slow

CHECKS = """
import numpy as np
from grader.checks import TruthTable
from grader.assignment import Evaluate, Part, Retrain

SETUP = {"framework": "keras", "limits": {"cell_timeout_s": 120, "notebook_timeout_s": 300}}
HIDDEN_SETS = {"xor_gate": lambda: (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32), np.array([0, 1, 1, 0]))}
PARTS = [Part(id="xor", title="XOR", cells=["xor_model"], models={"m": "model_xor"},
              evaluate={"xor": Evaluate(dataset="xor_gate", model="m")},
              retrain=Retrain(seeds=(1, 2, 3, 4, 5),
                              until="_dlgrade_kernel.computes(model_xor, [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])"),
              checks=[TruthTable("XOR truth table", 3, evaluation="xor", dataset="xor_gate", model="m")])]
"""
SETUP = """import numpy as np
import keras
from keras import layers
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
T_xor = np.array([[0], [1], [1], [0]])"""
MODEL = """model_xor = keras.Sequential([keras.Input(shape=(2,)), {hidden}, layers.Dense(1, activation='sigmoid')])
model_xor.compile(loss='binary_crossentropy', optimizer=keras.optimizers.Adam(learning_rate=0.1))
model_xor.fit(X, T_xor, epochs=100, batch_size=4, verbose=0)"""
# the first run ends with the output layer zeroed (0.5 everywhere: rows read as 0), later runs do not
UNLUCKY = (
    "runs = globals().get('runs', 0) + 1\n"
    + MODEL.format(hidden="layers.Dense(8, activation='tanh')")
    + ("\nif runs == 1:\n    model_xor.layers[-1].set_weights([np.zeros((8, 1)), np.zeros(1)])")
)
LINEAR = MODEL.format(hidden="layers.Dense(8)")


def _cell(src, gid, solution=False):
    cell = new_code_cell(src)
    cell.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": False,
        "solution": solution,
        "locked": not solution,
        "task": False,
        "grade_id": gid,
    }
    return cell


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrain")
    sol = root / "solutions" / "xor"
    sol.mkdir(parents=True)
    model = MODEL.format(hidden="layers.Dense(8, activation='tanh')")
    nbformat.write(
        new_notebook(
            cells=[
                _cell(SETUP, "xor_setup"),
                _cell(f"### BEGIN SOLUTION\n{model}\n### END SOLUTION", "xor_model", True),
            ]
        ),
        sol / "xor.ipynb",
    )
    (sol / "xor.checks.py").write_text(CHECKS)
    release_assignment(sol, root / "exercises")
    assignment = load_assignment(sol)
    subs = []
    for name, source in {"unlucky": UNLUCKY, "linear": LINEAR}.items():
        nb = nbformat.read(root / "exercises" / "xor" / "xor.ipynb", as_version=4)
        nb.cells[1].source = source
        (root / "class" / name).mkdir(parents=True)
        nbformat.write(nb, root / "class" / name / "xor.ipynb")
        subs.append(root / "class" / name)
    results = grade_class(
        subs, assignment, SandboxedRunner(make_sandbox(False)), root / "out", GradeOptions(hidden=HiddenData()), jobs=2
    )
    return {r.submission: r for r in results}


def _check(result):
    return next(c for p in result.parts for c in p.checks if c.name == "XOR truth table")


def test_a_right_network_with_an_unlucky_first_run_gets_full_marks(graded):
    check = _check(graded["unlucky"])
    assert check.score == 3, check.message
    assert check.message_key == "truth_table.ok.retrained" and check.message_args["runs"] == 2
    assert graded["unlucky"].timings["notebooks"]["xor.ipynb"]["retrain_cells_s"] > 0


def test_a_network_that_cannot_learn_xor_fails_every_run(graded):
    check = _check(graded["linear"])
    assert check.score == 0
    # up to 5 more runs from other seeds, as many as fit in half the cell time limit
    assert check.message_key == "truth_table.wrong.retrained" and check.message_args["runs"] >= 3, check.message
