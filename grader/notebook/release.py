"""Make the student version of a solution notebook, in nbgrader's format.

Solution cells lose what lies between the solution markers (or all of it) for the
`# YOUR CODE HERE` stub, hidden tests are removed, outputs are cleared, every nbgrader cell
gets schema v3 metadata and a checksum, and locked / grade cells become undeletable and
uneditable in Jupyter.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.errors import AssignmentError
from grader.notebook import format as nbf

_KEYS = ("schema_version", "grade", "solution", "locked", "task", "grade_id", "points", "checksum", "cell_type")


def release_notebook(solution: NotebookNode, name: str = "") -> NotebookNode:
    """Return the student's notebook for a solution notebook (the input is not changed)."""
    nb = copy.deepcopy(solution)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        m = nbf.meta(cell)
        if not m:
            continue
        gid = m.get("grade_id")
        where = f"{name} cell {index}"
        if not gid or not nbf.GRADE_ID.match(gid):
            raise AssignmentError(f"{where}: nbgrader cell needs a grade_id matching [a-zA-Z0-9_-]+")
        if gid in seen:
            raise AssignmentError(f"{where}: grade_id {gid!r} is used twice")
        seen.add(gid)
        if nbf.is_solution(cell):
            try:
                cell.source = nbf.clear_solution(cell)
            except ValueError as exc:
                raise AssignmentError(f"{where}: {exc}") from exc
        elif nbf.BEGIN_SOLUTION in cell.source:
            raise AssignmentError(f"{where}: solution markers in a cell not marked as a solution cell")
        cell.source = _drop_hidden_tests(cell.source)
        cell.metadata.nbgrader = _normalise(m, cell)
        cell.metadata.nbgrader["checksum"] = nbf.compute_checksum(cell)
        if nbf.is_locked(cell) or nbf.is_grade(cell):
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
        else:
            cell.metadata["deletable"] = False
    nb.metadata.pop("dlgrade_solution", None)
    return nb


def _normalise(m: dict, cell: NotebookNode) -> dict:
    out = {
        "schema_version": nbf.SCHEMA_VERSION,
        "grade": bool(m.get("grade", False)),
        "solution": bool(m.get("solution", False)),
        "locked": bool(m.get("locked", False)) and not m.get("solution", False),
        "task": bool(m.get("task", False)),
        "grade_id": m["grade_id"],
        "cell_type": cell.cell_type,
    }
    if out["grade"]:
        out["points"] = float(m.get("points", 0))
    return {k: out[k] for k in _KEYS if k in out}


def _drop_hidden_tests(source: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        if nbf.BEGIN_HIDDEN in line:
            inside = True
        elif nbf.END_HIDDEN in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def release_assignment(solution_dir: Path, exercises_root: Path) -> list[Path]:
    """Write the student version of every notebook of `solution_dir` into
    `exercises_root/<assignment>/`; return the written paths."""
    target = exercises_root / solution_dir.name
    target.mkdir(parents=True, exist_ok=True)
    written = []
    notebooks = sorted(solution_dir.glob("*.ipynb"))
    if not notebooks:
        raise AssignmentError(f"{solution_dir} holds no .ipynb solution notebook")
    for path in notebooks:
        solution = nbformat.read(path, as_version=4)
        student = release_notebook(solution, name=path.name)
        out = target / path.name
        nbformat.write(student, out)
        written.append(out)
    return written
