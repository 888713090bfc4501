"""Check a submission against its released notebook and prepare the notebook that will run.

Like nbgrader's autograde, locked cells are put back as released (a changed training loop must
not change the grade), and what is wrong is said, not crashed on:

- a locked cell changed            -> restored from the release, noted
- a graded cell deleted            -> the released stub is run in its place, noted
- a locked cell deleted            -> put back as released, noted as nothing of the student's
- graded cells reordered           -> put back in the released order (extra cells dropped), noted
- no graded cell of this notebook  -> not a notebook of this exercise

Cells that lost their nbgrader metadata are first recognised by content and place
(`grader.notebook.recover`), and that is said too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from nbformat import NotebookNode

from grader.i18n import t
from grader.notebook import format as nbf
from grader.notebook.recover import recover_ids


@dataclass
class Finding:
    code: str  # "locked-changed", "cell-missing", "reordered", "duplicate", "recovered-*" (incl. "recovered-locked")
    cell: str = ""
    args: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"nb.{self.code}"

    @property
    def informational(self) -> bool:
        """True when nothing the student wrote was replaced (a lost id given back)."""
        return self.code.startswith("recovered")

    def message_in(self, lang: str) -> str:
        return t(self.key, lang, cell=self.cell, **self.args)

    @property
    def message(self) -> str:
        return self.message_in("en")


@dataclass
class Prepared:
    notebook: NotebookNode
    findings: list[Finding] = field(default_factory=list)
    student_cells: dict[str, str] = field(default_factory=dict)  # grade_id -> student's source
    missing: set[str] = field(default_factory=set)
    stub_left: frozenset[str] = frozenset()  # answer cells with code AND the template's raise


_STUB_RAISE = ("raise NotImplementedError()", "raise NotImplementedError")


def _code_lines(source: str) -> set[str]:
    return {" ".join(line.split()) for line in source.splitlines() if line.strip() and not line.strip().startswith("#")}


def kept_the_stub(student: str, released: str) -> bool:
    """The student wrote code of their own but left the template's `raise NotImplementedError()`."""
    lines = _code_lines(student)
    return bool(lines & set(_STUB_RAISE)) and bool(lines - _code_lines(released) - set(_STUB_RAISE))


class WrongExercise(ValueError):
    """The notebook shares no graded cell with the released notebook."""


def prepare(submission: NotebookNode, release: NotebookNode, authored: dict[str, str] | None = None) -> Prepared:
    """`authored`: grade id -> source of locked cells that run as the instructor wrote them, not
    as released (test cells whose hidden tests the release strips)."""
    submission, recovered = recover_ids(submission, release)
    by_text = [r.grade_id for r in recovered if r.how == "content"]
    findings: list[Finding] = [Finding("recovered-content", ", ".join(by_text))] if by_text else []
    findings += [Finding("recovered-place", r.grade_id, {"count": r.cells}) for r in recovered if r.how == "place"]
    released = [(nbf.grade_id(c), c) for c in release.cells if nbf.grade_id(c)]
    order = [gid for gid, _ in released]
    by_id = {gid: cell for gid, cell in released}
    sub_ids = [nbf.grade_id(c) for c in submission.cells]
    present = [gid for gid in sub_ids if gid in by_id]
    if not present:
        raise WrongExercise("none of this exercise's graded cells is in the notebook")

    missing = {gid for gid in order if gid not in present}
    seen: set[str] = set()
    for gid in present:
        if gid in seen:
            findings.append(Finding("duplicate", gid))
        seen.add(gid)

    in_order = [gid for gid in order if gid in seen] == _dedupe(present)
    if in_order:
        cells = _keep_layout(submission, by_id, order, missing, findings)
    else:
        findings.append(Finding("reordered"))
        cells = _released_layout(submission, release)

    student = {}
    for cell in cells:
        gid = nbf.grade_id(cell)
        if gid and nbf.is_solution(cell) and gid not in missing:
            student[gid] = cell.source
    for gid in sorted(missing):
        # a locked cell (a test cell, the instructor's code) holds nothing of the student's: it is
        # put back, and saying an answer was deleted would be wrong (notebooks released before a
        # test cell was added lack it)
        locked = nbf.is_locked(by_id[gid]) and not nbf.is_solution(by_id[gid])
        findings.append(Finding("recovered-locked" if locked else "cell-missing", gid))
    for cell in cells:  # saved outputs are never graded, and they would only fill the work folder
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    for cell in cells:
        gid = nbf.grade_id(cell)
        if authored and gid in authored and gid in by_id and nbf.is_locked(by_id[gid]):  # never an answer cell
            cell.source = authored[gid]
    nb = copy.deepcopy(release)
    nb.cells = cells
    stub_left = frozenset(
        gid
        for gid, source in student.items()
        if by_id[gid].cell_type == "code" and kept_the_stub(source, by_id[gid].source)
    )
    return Prepared(notebook=nb, findings=findings, student_cells=student, missing=missing, stub_left=stub_left)


def _dedupe(ids: list[str]) -> list[str]:
    out: list[str] = []
    for gid in ids:
        if gid not in out:
            out.append(gid)
    return out


def _restore_locked(cell: NotebookNode, released: NotebookNode, findings: list[Finding]) -> NotebookNode:
    if cell.source != released.source:
        gid = nbf.grade_id(released)
        findings.append(Finding("locked-changed", gid))
    return copy.deepcopy(released)


def _keep_layout(submission, by_id, order, missing, findings) -> list[NotebookNode]:
    """The student's notebook as laid out, with locked cells restored and deleted ones re-inserted."""
    cells: list[NotebookNode] = []
    used: set[str] = set()
    pending = [gid for gid in order]
    for cell in submission.cells:
        gid = nbf.grade_id(cell)
        if gid in by_id and gid not in used:
            # re-insert deleted graded cells that came before this one in the release
            while pending and pending[0] != gid:
                lost = pending.pop(0)
                if lost in missing:
                    cells.append(copy.deepcopy(by_id[lost]))
            if pending:
                pending.pop(0)
            used.add(gid)
            released = by_id[gid]
            if nbf.is_locked(released):
                cells.append(_restore_locked(cell, released, findings))
            else:
                fixed = copy.deepcopy(cell)
                fixed.metadata["nbgrader"] = copy.deepcopy(released.metadata["nbgrader"])
                fixed.metadata.pop("dlgrade", None)
                fixed.cell_type = released.cell_type
                if fixed.cell_type == "code":
                    fixed.setdefault("outputs", [])
                    fixed.setdefault("execution_count", None)
                cells.append(fixed)
        elif gid in by_id:
            continue  # a duplicate: reported already
        else:
            cells.append(_as_plain(cell))
    for lost in pending:
        if lost in missing:
            cells.append(copy.deepcopy(by_id[lost]))
    return cells


def _released_layout(submission, release) -> list[NotebookNode]:
    student = {}
    for cell in submission.cells:
        gid = nbf.grade_id(cell)
        if gid and gid not in student:
            student[gid] = cell
    cells = []
    for cell in release.cells:
        gid = nbf.grade_id(cell)
        if gid and nbf.is_solution(cell) and gid in student:
            fixed = copy.deepcopy(cell)
            fixed.source = student[gid].source
            cells.append(fixed)
        else:
            cells.append(copy.deepcopy(cell))
    return cells


def _as_plain(cell: NotebookNode) -> NotebookNode:
    """A cell the student added: it runs, but carries no nbgrader identity it could spoof."""
    fixed = copy.deepcopy(cell)
    fixed.metadata.pop("nbgrader", None)
    fixed.metadata.pop("dlgrade", None)
    return fixed
