"""The one-layer MNIST exercise graded for real: TensorFlow, MNIST, nbclient, bubblewrap."""

import copy
import os

import nbformat
import pytest

from grader.assignment.spec import load_assignment
from grader.datasets import public_dir
from grader.notebook import format as nbf
from grader.pipeline.calibrate import reference_notebook
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import GradeOptions
from grader.pipeline.hidden import HiddenData
from grader.pipeline.scheduler import grade_class
from grader.sandbox.bwrap import make_sandbox

pytestmark = pytest.mark.slow

CORRECT = "x = tf.placeholder(tf.float32, [None, 784])\nd = tf.placeholder(tf.float32, [None, 10])\n"


def with_vars(nb, source):
    for cell in nb.cells:
        if nbf.grade_id(cell) == "mnist1_vars":
            cell.source = source
    return nb


@pytest.fixture(scope="module")
def graded(repo, tmp_path_factory):
    """Grade one class of real submissions once; tests read the verdicts."""
    tmp = tmp_path_factory.mktemp("mnist1")
    assignment = load_assignment(repo / "solutions/mnist_tf")
    spec = assignment.notebook("mnist_1layer.ipynb")
    subs = {
        "reference": reference_notebook(spec),
        "template": spec.release(),
        "wrong_w": with_vars(
            spec.release(),
            CORRECT + "W = tf.Variable(tf.random_normal([784, 5], stddev=0.01))\nb = tf.Variable(tf.zeros([10]))",
        ),
        # trains nothing (W frozen at zeros, bias only) and prints a perfect accuracy
        "fake_print": with_vars(
            spec.release(),
            CORRECT + "W = tf.Variable(tf.zeros([784, 10]), trainable=False)\nb = tf.Variable(tf.zeros([10]))\n"
            "print('Generation: 100. 正解率 = 0.99')",
        ),
    }
    # saved by an editor that drops cell metadata, under a name of the student's own
    subs["no_metadata"] = copy.deepcopy(subs["reference"])
    for cell in subs["no_metadata"].cells:
        cell.metadata = {}
    paths = []
    (tmp / "class").mkdir()
    for name, nb in subs.items():  # one notebook each: graded as that exercise alone
        nbformat.write(nb, tmp / "class" / f"{name}.ipynb")
        paths.append(tmp / "class" / f"{name}.ipynb")
    options = GradeOptions(data_paths=[public_dir()], hidden=HiddenData(), keep_scoring=True)
    runner = SandboxedRunner(make_sandbox(False))
    results = grade_class(paths, assignment, runner, tmp / "out", options, jobs=2)
    return {r.submission: r for r in results}


def check(result, part, name):
    return next(c for p in result.parts if p.id == part for c in p.checks if c.name == name)


def test_reference_solution_gets_full_marks(graded):
    r = graded["reference"]
    assert r.score == r.max_score == 10, [(c.name, c.message) for p in r.parts for c in p.checks]
    assert r.sandbox["name"] == ("warm" if os.geteuid() == 0 else "bubblewrap") and r.sandbox["isolated"]
    assert r.resources["peak_memory_bytes"] > 100 * 2**20
    split = r.timings["notebooks"]["mnist_1layer.ipynb"]
    assert split["kernel_start_s"] > 0 and split["seed_cell_s"] > 0 and split["student_cells_s"] > 0


def test_released_template_gets_zero_with_not_implemented(graded):
    r = graded["template"]
    assert r.score == 0 and not r.problems
    for part in r.parts:
        for c in part.checks:
            assert c.status.value == "fail" and "not implemented" in c.message


def test_wrong_w_shape_loses_the_shape_point_with_expected_and_got(graded):
    r = graded["wrong_w"]
    w = check(r, "mnist1_shapes", "W")
    assert w.score == 0 and w.expected == [784, 10] and w.got == [784, 5]
    assert check(r, "mnist1_shapes", "x").score == 1
    assert check(r, "mnist1_accuracy", "holdout accuracy").score == 0


def test_printing_a_good_accuracy_earns_nothing(graded):
    r = graded["fake_print"]
    acc = check(r, "mnist1_accuracy", "holdout accuracy")
    assert acc.score == 0 and acc.got < 0.5
    assert check(r, "mnist1_shapes", "W").score == 1  # the honest part keeps its points


def test_a_notebook_that_lost_its_metadata_is_graded_in_full(graded):
    r = graded["no_metadata"]
    assert r.score == r.max_score == 10, [(c.name, c.message) for p in r.parts for c in p.checks]
    notes = {c.name: c.message for p in r.parts if p.id.endswith("-notebook") for c in p.checks}
    assert "recovered-content" in notes and "recovered-place" in notes


def test_a_real_grading_rescores_to_its_own_verdicts_and_follows_a_threshold(graded, repo, tmp_path_factory, tmp_path):
    """Grading kept what the checks read: scored again with nothing run, the same verdicts;
    with the accuracy threshold raised above the reference's, its accuracy points go."""
    import json

    from grader.pipeline.rescore import rescore_result

    out = next(tmp_path_factory.getbasetemp().glob("mnist1*/out"))
    assignment = load_assignment(repo / "solutions/mnist_tf")
    hidden = HiddenData()
    for name in ("reference", "wrong_w", "fake_print"):
        again, notes = rescore_result(assignment, graded[name], out / name, {}, "en", hidden)
        assert not notes
        assert [(p.id, c.name, c.status, c.score) for p in again.parts for c in p.checks] == [
            (p.id, c.name, c.status, c.score) for p in graded[name].parts for c in p.checks
        ]
    spec = assignment.notebook("mnist_1layer.ipynb")
    raised = json.loads(spec.thresholds_path.read_text())
    raised["metrics"]["mnist1_holdout_accuracy"]["threshold"] = 0.999
    spec.thresholds_path = tmp_path / "raised.thresholds.json"
    spec.thresholds_path.write_text(json.dumps(raised))
    again, _ = rescore_result(assignment, graded["reference"], out / "reference", {}, "en", hidden)
    assert check(again, "mnist1_accuracy", "holdout accuracy").score == 0
    assert again.score == graded["reference"].score - 6
