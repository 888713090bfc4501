"""Make the student version of a solution notebook, exactly as nbgrader's `generate_assignment`
makes it (its preprocessors LockCells, ClearSolutions, ClearOutput, ComputeChecksums,
ClearHiddenTests and ClearMarkScheme, in that order of effect):

- answer (solution) cells: each `BEGIN SOLUTION` ... `END SOLUTION` region becomes the stub
  (`# YOUR CODE HERE` / `raise NotImplementedError()`, or `YOUR ANSWER HERE` in markdown), a
  cell without one becomes the stub; they are made undeletable and stay editable;
- grade cells that are not answers (test cells) and locked cells are made undeletable and
  uneditable; hidden test regions leave test cells, mark scheme regions leave task cells;
- code cells lose their outputs, execution count and `collapsed` / `scrolled` flags;
- grade, solution and locked cells get nbgrader's checksum and their cell type; the rest of
  the nbgrader metadata is kept as written (only the keys the v3 schema requires are filled in
  when missing, and keys it does not know are dropped: nbgrader refuses both).

What nbgrader refuses is an AssignmentError here too (a markdown answer that is not a graded
cell, a region marker in a cell of the wrong kind, a repeated grade id), and so are a stray END
marker (nbgrader drops the line, which hides a mistyped BEGIN) and nbgrader's AUTOTEST
directives (they need a kernel at release time: write the tests out).
"""

from __future__ import annotations

import copy
import numbers
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.errors import AssignmentError
from grader.notebook import format as nbf

_FLAGS = ("grade", "solution", "locked", "task")
_KNOWN = {"schema_version", *_FLAGS, "grade_id", "points", "checksum", "cell_type"}
_OUTPUT_METADATA = ("collapsed", "scrolled")  # nbconvert's ClearOutputPreprocessor drops these


def release_notebook(solution: NotebookNode, name: str = "") -> NotebookNode:
    """Return the student's notebook for a solution notebook (the input is not changed)."""
    nb = copy.deepcopy(solution)
    language = nb.metadata.get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise AssignmentError(f"{name}: the kernel's language is {language!r}; only Python notebooks are graded")
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index}"
        try:
            _release_cell(cell, where, seen)
        except ValueError as exc:
            raise AssignmentError(f"{where}: {exc}") from exc
    nb.metadata.pop("celltoolbar", None)  # ClearSolutions and ClearHiddenTests drop the toolbar setting
    return nb


def _release_cell(cell: NotebookNode, where: str, seen: set[str]) -> None:
    if "nbgrader" in cell.metadata:
        cell.metadata.nbgrader = _checked_metadata(cell, where, seen)
    if cell.cell_type == "code" and any(
        line.lstrip().startswith("#") and "AUTOTEST" in line for line in cell.source.split("\n")
    ):  # nbgrader's InstantiateTests runs first, on the whole source
        raise ValueError("nbgrader's AUTOTEST directives are not supported: write the test out")
    _lock(cell)
    source, replaced = nbf.replace_region(cell.source, nbf.BEGIN_SOLUTION, nbf.END_SOLUTION, _stub(cell))
    if nbf.is_solution(cell):
        cell.source = source if replaced else _stub(cell)
    elif replaced:
        raise ValueError("solution region in a cell not marked as a solution cell")
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
        for key in _OUTPUT_METADATA:
            cell.metadata.pop(key, None)
    cell.source, removed = nbf.replace_region(cell.source, nbf.BEGIN_HIDDEN, nbf.END_HIDDEN)
    if removed and not nbf.is_grade(cell):
        raise ValueError("hidden test region in a cell not marked as a grade (test) cell")
    cell.source, removed = nbf.replace_region(cell.source, nbf.BEGIN_MARK_SCHEME, nbf.END_MARK_SCHEME)
    if removed and not nbf.is_task(cell):
        raise ValueError("mark scheme region in a cell not marked as a task cell")
    if nbf.is_grade(cell) or nbf.is_solution(cell) or nbf.is_locked(cell):
        cell.metadata.nbgrader["checksum"] = nbf.compute_checksum(cell)
        cell.metadata.nbgrader["cell_type"] = cell.cell_type


def _stub(cell: NotebookNode) -> str:
    return nbf.CODE_STUB if cell.cell_type == "code" else nbf.TEXT_STUB


def _lock(cell: NotebookNode) -> None:
    """nbgrader's LockCells: an answer cell may be edited, never deleted; a test or locked cell
    may be neither."""
    if nbf.is_solution(cell):
        cell.metadata["deletable"] = False
    elif nbf.is_grade(cell) or nbf.is_locked(cell):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def _checked_metadata(cell: NotebookNode, where: str, seen: set[str]) -> dict:
    """The cell's nbgrader metadata as released: as written, with the v3 schema's required keys
    filled in and unknown keys dropped; ValueError for what nbgrader's validator refuses."""
    m = cell.metadata.nbgrader
    if not isinstance(m, dict):
        raise ValueError("nbgrader metadata must be a JSON object")
    out = {k: v for k, v in m.items() if k in _KNOWN and k not in ("checksum", "cell_type")}
    out.setdefault("schema_version", nbf.SCHEMA_VERSION)
    if out["schema_version"] != nbf.SCHEMA_VERSION:
        raise ValueError(f"nbgrader metadata schema {out['schema_version']!r}: run `nbgrader update` on it first")
    for flag in _FLAGS[:3]:
        out.setdefault(flag, False)
    for flag in _FLAGS:
        if not isinstance(out.get(flag, False), bool):
            raise ValueError(f"nbgrader {flag!r} must be true or false, not {out[flag]!r}")
    grade, solution, locked, task = (out.get(f, False) for f in _FLAGS)
    gid = out.get("grade_id")
    if gid is not None and (not isinstance(gid, str) or (gid and not nbf.GRADE_ID.match(gid))):
        raise ValueError(f"grade_id {gid!r} must match [a-zA-Z0-9_-]+")
    if (grade or solution or locked) and not gid:
        raise ValueError("an nbgrader cell needs a grade_id")
    if gid:
        if gid in seen:
            raise ValueError(f"grade_id {gid!r} is used twice")
        seen.add(gid)
    points = out.get("points")
    if points is not None and (isinstance(points, bool) or not isinstance(points, numbers.Real) or not points >= 0):
        raise ValueError(f"points must be a number >= 0, not {points!r}")
    if grade and points is None:
        raise ValueError(f"grade cell {gid!r} needs points")
    if task and cell.cell_type != "markdown":
        raise ValueError(f"task cell {gid!r} must be markdown")
    if not task and cell.cell_type == "markdown" and solution and not grade:
        raise ValueError(
            f"markdown answer {gid!r} must also be a grade cell (grade: true, with points): "
            "nbgrader grades a written answer by hand, as a manually graded answer cell"
        )
    if not task and cell.cell_type == "markdown" and grade and not solution:
        raise ValueError(f"markdown grade cell {gid!r} must also be an answer (solution: true): it cannot be a test")
    return out


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


def release_files(solution_dir: Path, relatives: list[Path], exercises_root: Path) -> list[Path]:
    """Copy the files the notebooks read (a checks file's FILES, already checked to be regular
    files inside `solution_dir`) beside the released notebooks, as nbgrader's release does."""
    target = exercises_root / solution_dir.name
    written = []
    for relative in relatives:
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes((solution_dir / relative).read_bytes())
        written.append(out)
    return written
