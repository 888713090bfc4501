"""The sample class that `dlgrade demo` grades: four students of the one-layer MNIST exercise.

- alice: the reference solution (full marks)
- bob:   a bias of the wrong shape (loses that shape's point, keeps the rest)
- carol: the released template, untouched (0, "not implemented")
- dave:  a typo that raises AttributeError (an error with the student's own exception)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from grader.assignment.spec import load_assignment
from grader.notebook import format as nbf
from grader.pipeline.calibrate import reference_notebook

NOTEBOOK = "mnist_1layer.ipynb"
CELL = "mnist1_vars"

ANSWERS = {
    "bob": (
        "x = tf.placeholder(tf.float32, [None, 784])\n"
        "d = tf.placeholder(tf.float32, [None, 10])\n"
        "W = tf.Variable(tf.random_normal([784, 10], stddev=0.01))\n"
        "b = tf.Variable(tf.zeros([1]))  # one bias for every class\n"
    ),
    "dave": (
        "x = tf.placeholder(tf.float32, [None, 784])\n"
        "d = tf.placeholder(tf.float32, [None, 10])\n"
        "W = tf.Variabel(tf.random_normal([784, 10], stddev=0.01))\n"
        "b = tf.Variable(tf.zeros([10]))\n"
    ),
}


def _with_answer(nb, source: str):
    for cell in nb.cells:
        if nbf.grade_id(cell) == CELL:
            cell.source = source
    return nb


def build_sample_class(solution_dir: Path, target: Path) -> Path:
    """Write one notebook per student into `target` (replacing it) and return `target`."""
    spec = load_assignment(solution_dir).notebook(NOTEBOOK)
    if target.exists():
        shutil.rmtree(target)
    students = {
        "alice": reference_notebook(spec),
        "bob": _with_answer(spec.release(), ANSWERS["bob"]),
        "carol": spec.release(),
        "dave": _with_answer(spec.release(), ANSWERS["dave"]),
    }
    target.mkdir(parents=True)
    for name, nb in students.items():
        nbformat.write(nb, target / f"{name}.ipynb")  # a renamed file is matched by its graded cells
    return target
