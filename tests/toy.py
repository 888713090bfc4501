"""A tiny assignment written into a temporary folder, for unit tests that need no TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.notebook.release import release_assignment

CHECKS = """
from grader.checks import Calibrated, Shape, Equals
from grader.assignment import Part

PARTS = [
    Part(id="toy_shapes", title={"en": "Shapes", "ja": "形状"}, cells=["toy_vars"],
         exports={"W_shape": "list(W.shape)", "steps": "steps"},
         checks=[Shape("W", 2, expected=[3, 2]), Equals("steps", 1, expected=[1, 10, 100])]),
    Part(id="toy_score", title={"en": "Score", "ja": "スコア"}, cells=["toy_vars"], after="toy_train",
         exports={"acc": "acc"},
         checks=[Calibrated("accuracy", 5, metric="toy_acc", compute=lambda v, ctx: v["acc"], uses=("acc",))]),
]
MUTANTS = {"wrong_shape": {"toy_vars": "import numpy as np\\nW = np.zeros((2, 3))\\nsteps = [1, 10, 100]"}}
"""


def _cell(kind, src, gid, solution=False, locked=False):
    c = new_code_cell(src) if kind == "code" else new_markdown_cell(src)
    c.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": False,
        "solution": solution,
        "locked": locked,
        "task": False,
        "grade_id": gid,
    }
    return c


def make_toy(root: Path, threshold: float = 0.8) -> Path:
    """Write solutions/toy (solution, checks, thresholds) and exercises/toy; return solutions/toy."""
    sol = root / "solutions" / "toy"
    sol.mkdir(parents=True)
    nb = new_notebook(
        cells=[
            _cell("md", "# Toy", "toy_intro", locked=True),
            _cell("code", "import numpy as np", "toy_setup", locked=True),
            _cell(
                "code",
                "### BEGIN SOLUTION\nW = np.zeros((3, 2))\nsteps = [1, 10, 100]\n### END SOLUTION",
                "toy_vars",
                solution=True,
            ),
            _cell("code", "acc = 0.9", "toy_train", locked=True),
        ]
    )
    nbformat.write(nb, sol / "toy.ipynb")
    (sol / "toy.checks.py").write_text(CHECKS)
    (sol / "toy.thresholds.json").write_text(
        json.dumps({"metrics": {"toy_acc": {"direction": "max", "threshold": threshold, "mean": 0.9}}})
    )
    release_assignment(sol, root / "exercises")
    return sol
