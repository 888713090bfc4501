"""`dlgrade import-nbgrader SOURCE`: an nbgrader assignment (its `source/` version) as a dlgrade
assignment folder.

    SOURCE/problem1.ipynb, jupyter.png     ->  OUT/problem1.ipynb        the reference solution, as is
                                               OUT/problem1.checks.py    generated, readable, lint-clean
                                               OUT/jupyter.png           FILES: copied into each run

Each nbgrader grade cell becomes a part worth its points:
- an autograder test (grade, not solution, code): `CellRuns`, the cell's run in the student's
  kernel is the verdict (the kernel's word, see grader.checks.nbgrader); a cell with hidden tests
  is a hidden check, and runs with its hidden tests (taken from this notebook, not the release);
- a manually graded answer (grade and solution, code or Markdown) or task: `Review`, needs-review.
These are nbgrader's own rules (nbgrader's `determine_grade`): a grade cell that is also a
solution cell is graded by a person, whatever its type.

Files beside the notebooks (not hidden, not links, not notebooks) are copied and listed in each
checks file's FILES. Nothing is run here.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.assignment.spec import PRIVATE_SUFFIXES, WORK_NAMES
from grader.errors import AssignmentError
from grader.notebook import format as nbf

SKIPPED = {"__pycache__", ".ipynb_checkpoints"}
MAX_TITLE = 80
AUTOTEST = "AUTOTEST"  # nbgrader's directive for tests it generates by running the reference
DEEP_LEARNING = ("import tensorflow", "from tensorflow", "import keras", "from keras")


@dataclass
class Graded:
    """One grade cell of a notebook and how it is graded."""

    grade_id: str
    points: float
    kind: str  # "test" (CellRuns) or "review" (Review)
    hidden: bool
    title: str
    part_id: str = ""  # the grade id, or <notebook>-<grade id> when another notebook has it too


@dataclass
class Imported:
    out: Path
    notebooks: dict[str, list[Graded]] = field(default_factory=dict)  # notebook name -> its parts
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was not copied, and why


def graded_cells(nb: nbformat.NotebookNode) -> list[Graded]:
    """The notebook's grade cells (and tasks), in order, as nbgrader grades them."""
    found, heading = [], ""
    for cell in nb.cells:
        m = nbf.meta(cell)
        if cell.cell_type == "markdown":
            heading = _heading(cell.source) or heading
        if not (m.get("grade") or m.get("task")):
            continue
        gid = nbf.grade_id(cell)
        if not gid or not nbf.GRADE_ID.match(str(gid)):
            raise AssignmentError(f"a grade cell has no usable grade_id ({gid!r}): run nbgrader's validate on it")
        points = float(m.get("points") or 0)
        test = cell.cell_type == "code" and m.get("grade") and not m.get("solution") and not m.get("task")
        if test and any(line.lstrip().startswith("#") and AUTOTEST in line for line in cell.source.splitlines()):
            # nbgrader writes these tests from the reference's values; run as they are, they are
            # comments, and every student would pass
            raise AssignmentError(
                f"test cell {gid} uses {AUTOTEST} directives, which dlgrade does not expand: write its asserts out"
            )
        found.append(
            Graded(
                grade_id=gid,
                points=points,
                kind="test" if test else "review",
                hidden=bool(test) and nbf.BEGIN_HIDDEN in cell.source,
                title=(_first_line(cell.source) if test else "") or heading or gid,
            )
        )
    return found


def _heading(source: str) -> str:
    lines = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")]
    return lines[-1][:MAX_TITLE] if lines else ""


def _first_line(source: str) -> str:
    """A test cell's docstring or first comment, as its title."""
    for line in source.splitlines():
        text = line.strip().strip("\"'#").strip()
        if text:
            return text[:MAX_TITLE] if line.strip()[:1] in "\"'#" else ""
    return ""


def checks_source(name: str, source_name: str, parts: list[Graded], files: list[str], framework: str) -> str:
    """The checks file of one imported notebook."""
    q = lambda s: json.dumps(s, ensure_ascii=False)  # a Python string literal
    lines = [
        f'"""Checks of {name}, imported from the nbgrader assignment {source_name}/ by `dlgrade import-nbgrader`.',
        "",
        "Test cells earn their points when their run in the student's kernel raises no error (CellRuns:",
        "the kernel's word, see docs/nbgrader.md); cells nbgrader grades by hand wait for a person (Review).",
        '"""',
        "",
        "from grader.assignment import Part, Setup",
        "from grader.checks.nbgrader import "
        + ", ".join(sorted({"CellRuns" if p.kind == "test" else "Review" for p in parts})),
        "",
        f"SETUP = Setup(framework={q(framework)})",
    ]
    if files:
        lines.append("FILES = [" + ", ".join(q(f) for f in files) + "]")
    lines += ["", "PARTS = ["]
    for p in parts:
        check = "CellRuns" if p.kind == "test" else "Review"
        hidden = ", hidden=True" if p.hidden else ""
        lines += [
            "    Part(",
            f"        id={q(p.part_id)},",
            f"        title={q(p.title)},",
            f"        cells=[{q(p.grade_id)}],",
            f"        checks=[{check}({q(p.grade_id)}, points={p.points!r}{hidden})],",
            "    ),",
        ]
    lines += ["]", ""]
    return "\n".join(lines)


def _beside(source: Path) -> tuple[list[str], list[str]]:
    """(files to copy, what is skipped and why) beside the notebooks, relative to `source`."""
    files, skipped = [], []
    for root, dirs, names in os.walk(source):
        keep = []
        for d in sorted(dirs):
            if d in SKIPPED or d.startswith("."):
                continue
            if Path(root, d).is_symlink():
                skipped.append(f"{Path(root, d).relative_to(source)}: a link")
            else:
                keep.append(d)
        dirs[:] = keep
        for n in sorted(names):
            path = Path(root, n)
            relative = path.relative_to(source).as_posix()
            if n.startswith("."):
                continue
            if relative.endswith(".ipynb") and "/" not in relative and not path.is_symlink():
                continue  # a notebook of the assignment
            if path.is_symlink() or not path.is_file():
                skipped.append(f"{relative}: a link or not a regular file")
            elif relative.lower().endswith(PRIVATE_SUFFIXES) or relative.split("/")[0] in WORK_NAMES:
                skipped.append(f"{relative}: a name dlgrade keeps for itself")
            else:
                files.append(relative)
    return files, skipped


def import_nbgrader(source: Path, out: Path) -> Imported:
    """Write the dlgrade assignment of the nbgrader assignment folder `source` into `out` (which
    must not exist yet, or be empty)."""
    source = Path(source)
    if not source.is_dir():
        raise AssignmentError(f"{source} is not a folder: give an nbgrader assignment's source/<assignment>/ folder")
    notebooks = sorted(p for p in source.glob("*.ipynb") if p.is_file() and not p.is_symlink())
    if not notebooks:
        raise AssignmentError(f"{source} holds no notebook (*.ipynb)")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AssignmentError(f"{out} exists and is not empty: choose another --out")
    read = {p.name: nbformat.read(p, as_version=4) for p in notebooks}
    cells = {name: graded_cells(nb) for name, nb in read.items()}
    if not any(cells.values()):
        raise AssignmentError(f"no notebook of {source} has a grade cell: nothing to grade")
    ids = [g.grade_id for parts in cells.values() for g in parts]
    for name, parts in cells.items():
        stem = name.removesuffix(".ipynb")
        for g in parts:  # grade ids are unique per notebook; part ids across the assignment
            g.part_id = g.grade_id if ids.count(g.grade_id) == 1 else f"{stem}-{g.grade_id}"
    files, skipped = _beside(source)
    out.mkdir(parents=True, exist_ok=True)
    for relative in files:
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
    result = Imported(out=out, files=files, skipped=skipped)
    for path in notebooks:
        nb, parts = read[path.name], cells[path.name]
        shutil.copyfile(path, out / path.name)
        if not parts:
            skipped.append(f"{path.name}: no grade cell, so no checks file (dlgrade needs one per notebook)")
            (out / path.name).unlink()
            continue
        code = "\n".join(nbf.code_sources(nb))
        framework = "keras" if any(k in code for k in DEEP_LEARNING) else "numpy"
        text = checks_source(path.name, source.name, parts, files, framework)
        (out / f"{path.stem}.checks.py").write_text(text, encoding="utf-8")
        result.notebooks[path.name] = parts
    return result
