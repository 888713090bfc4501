"""A student's self-check: grade one notebook with the public checks only, and say where the
report is.

    dlgrade check my_notebook.ipynb [--assignment solutions/<a>] [--part ID]
    from grader import check; check("part id")        # inside the notebook

The assignment is found from the notebook's graded cells (their nbgrader grade ids), among the
`solutions/*/` folders of this repository (or of `$DLGRADE_SOLUTIONS`, or of the notebook's and
the working directory's parents). Hidden checks are removed before grading, so they are neither
run nor shown. When bubblewrap cannot run here the notebook runs without a sandbox, with the
student's own rights, and the summary and the report say so.

The notebook must be a regular file, not a link, FIFO or device (grader.intake.submission), and the report
folder (`dlgrade-check/<notebook>/` beside it by default) is never written through a link: a
link in it, or in its place, stops the check with a message naming it.

A `check()` call left in a submitted notebook does nothing when the grader runs it.
Inside a notebook `check()` grades the notebook FILE ON DISK: unsaved edits are not seen. The
file is `$DLGRADE_NOTEBOOK`, else the one Jupyter names (`JPY_SESSION_NAME`, VS Code's
`__vsc_ipynb_file__`), else the notebook in the kernel's working directory whose graded cells
match an assignment (the most recently saved one when several do).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from html import escape
from pathlib import Path

from grader.i18n import default_lang, t
from grader.results import Result, Status

REPO = Path(__file__).resolve().parents[2]


def grade_ids(path: Path) -> set[str]:
    """The nbgrader grade ids of a notebook's cells (empty when it is not a readable notebook)."""
    from grader.errors import NotANotebook
    from grader.notebook import format as nbf

    try:
        nb = nbf.read_notebook(path)
    except NotANotebook:
        return set()
    return {gid for gid in (nbf.grade_id(c) for c in nb.cells) if gid}


def _roots(notebook: Path) -> list[Path]:
    """Folders that may hold `solutions/`, nearest first, without repeats."""
    candidates = []
    if os.environ.get("DLGRADE_SOLUTIONS"):
        given = Path(os.environ["DLGRADE_SOLUTIONS"]).resolve()
        candidates.append(given.parent if given.name == "solutions" else given)
    for start in (notebook.resolve().parent, Path.cwd().resolve()):
        candidates += [start, *start.parents]
    candidates.append(REPO)
    return [p for p in dict.fromkeys(candidates) if (p / "solutions").is_dir()]


def _recognised_by_content(notebook: Path, solution: Path) -> int:
    """How many of the solution's locked cells a notebook that lost its metadata still has."""
    from grader.errors import NotANotebook
    from grader.notebook import format as nbf
    from grader.notebook.recover import recover_ids

    try:
        return len(recover_ids(nbf.read_notebook(notebook), nbf.read_notebook(solution))[1])
    except NotANotebook:
        return 0


def find_assignment(notebook: Path) -> tuple[Path, str]:
    """(solutions/<assignment> folder, solution notebook name) sharing the most graded cells
    with `notebook`; raises AssignmentError when none shares any."""
    from grader.errors import AssignmentError

    ids = grade_ids(notebook)
    best: tuple[int, Path, str] | None = None
    for root in _roots(notebook):
        for solution in sorted((root / "solutions").glob("*/*.ipynb")):
            overlap = len(ids & grade_ids(solution)) or _recognised_by_content(notebook, solution)
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, solution.parent, solution.name)
    if best is None:
        raise AssignmentError(
            f"{notebook.name}: no assignment under solutions/*/ shares its graded cells; "
            "pass --assignment solutions/<assignment>"
        )
    return best[1], best[2]


def public_only(assignment, notebook_name: str | None = None, part: str | None = None):
    """The assignment reduced to what a student may run: no hidden checks (a part left with no
    check is dropped), only the notebook `notebook_name` and only the part `part` when given."""
    from grader.errors import AssignmentError

    notebooks = []
    for spec in assignment.notebooks:
        if notebook_name and spec.name != notebook_name:
            continue
        parts = []
        for p in spec.parts:
            if part and p.id != part:
                continue
            checks = [c for c in p.checks if not getattr(c, "hidden", False)]
            if checks:
                parts.append(replace(p, checks=checks))
        if parts:
            notebooks.append(replace(spec, parts=parts))
    if not notebooks:
        known = ", ".join(p.id for p in assignment.parts)
        raise AssignmentError(f"nothing public to check for part {part!r}; parts: {known}")
    return replace(assignment, notebooks=notebooks)


def _sandbox(no_sandbox: bool):
    """(sandbox, why there is none or '')."""
    from grader.errors import SandboxUnavailable
    from grader.sandbox.bwrap import make_sandbox

    if no_sandbox:
        return make_sandbox(True), "--no-sandbox"
    try:
        return make_sandbox(False), ""
    except SandboxUnavailable as exc:
        return make_sandbox(True), str(exc).splitlines()[0]


@dataclass
class SelfCheck:
    """What a self-check found: the Result (public checks only) and where its report is."""

    result: Result
    report: Path
    notebook: Path
    no_sandbox_reason: str
    lang: str

    def summary(self) -> str:
        from grader.reporters.view import grade_letter, student_view

        r = student_view(self.result, self.lang)
        lines = [t("check.public_only", self.lang)]
        if self.no_sandbox_reason:
            lines.append("!! " + t("check.no_sandbox", self.lang, reason=self.no_sandbox_reason))
        lines.append(f"{r.submission}: {r.score:g}/{r.max_score:g} ({r.fraction:.0%}, {grade_letter(r.fraction)})")
        for part in r.parts:
            lines.append(
                f"  [{t('status.' + part.status.value, self.lang)}] {part.title}: {part.score:g}/{part.max_score:g}"
            )
            if part.stopped:
                lines.append(f"      {t('report.stopped', self.lang)}: {part.stopped}")
            for c in part.checks:
                if c.kind == "check" and c.status != Status.PASS:
                    lines.append(f"      - {c.name}: {c.message}")
                    if c.hint:
                        lines.append(f"        {t('report.hint', self.lang)}: {c.hint}")
        saved = datetime.fromtimestamp(self.notebook.stat().st_mtime).strftime("%H:%M:%S")
        lines.append(t("check.saved", self.lang, path=self.notebook, when=saved))
        lines.append(t("check.report", self.lang, path=self.report))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """A compact table for Jupyter; the full report is the file named at the bottom."""
        from grader.reporters.view import student_view

        r = student_view(self.result, self.lang)
        rows = []
        for part in r.parts:
            for c in part.checks:
                if c.kind != "check":
                    continue
                rows.append(
                    f"<tr><td>{escape(part.title)}</td><td>{escape(c.name)}</td>"
                    f"<td>{escape(t('status.' + c.status.value, self.lang))}</td>"
                    f"<td>{c.score:g}/{c.max_score:g}</td><td>{escape(c.message)}"
                    + (f"<br><i>{escape(t('report.hint', self.lang))}: {escape(c.hint)}</i>" if c.hint else "")
                    + "</td></tr>"
                )
        warn = (
            f"<p><b>{escape(t('check.no_sandbox', self.lang, reason=self.no_sandbox_reason))}</b></p>"
            if self.no_sandbox_reason
            else ""
        )
        return (
            f"<p>{escape(t('check.public_only', self.lang))}</p>{warn}"
            f"<p><b>{r.score:g} / {r.max_score:g}</b></p><table>{''.join(rows)}</table>"
            f"<p>{escape(t('check.report', self.lang, path=self.report))}</p>"
        )


def run_check(
    notebook: Path,
    assignment: Path | None = None,
    part: str | None = None,
    lang: str | None = None,
    out: Path | None = None,
    no_sandbox: bool = False,
    keep_work: bool = False,
) -> SelfCheck:
    """Grade `notebook` with the public checks of its assignment; write report.html + result.json
    (and keep the folder it ran in with `keep_work`)."""
    from grader import reporters
    from grader.assignment.spec import load_assignment
    from grader.intake.submission import check_regular, checked_folder
    from grader.pipeline.execution import SandboxedRunner
    from grader.pipeline.grading import grade, make_options, needs_course_data, require_data

    lang = lang or default_lang()
    # the notebook itself is never read through a link, nor the report written through one
    # (when `dlgrade check` runs as root over a student's repository, both are the student's)
    check_regular(Path(notebook), lang)
    notebook = Path(notebook).resolve()
    out = Path(out) if out else notebook.parent / "dlgrade-check"
    checked_folder(out, walk=False, lang=lang)
    checked_folder(out / notebook.stem, lang=lang)
    if assignment is None:
        assignment, solution_name = find_assignment(notebook)
    else:
        ids = grade_ids(notebook)
        solutions = sorted(Path(assignment).glob("*.ipynb"), key=lambda s: -len(ids & grade_ids(s)))
        solution_name = solutions[0].name if solutions else None
    spec = public_only(load_assignment(Path(assignment)), solution_name, part)
    sandbox, reason = _sandbox(no_sandbox)
    if needs_course_data(spec):  # an imported nbgrader course reads no course data
        require_data()
    result = grade(notebook, spec, SandboxedRunner(sandbox), out, make_options(lang, keep_work=keep_work))
    reporters.write_submission(result, out, ["json", "html"], lang)
    return SelfCheck(result, out / result.submission / "report.html", notebook, reason, lang)


def _notebook_in_kernel() -> Path:
    """The notebook file of the running kernel (see the module docstring for the order)."""
    from grader.errors import AssignmentError

    named = os.environ.get("DLGRADE_NOTEBOOK") or os.environ.get("JPY_SESSION_NAME")
    if not named:
        main = sys.modules.get("__main__")
        named = getattr(main, "__vsc_ipynb_file__", None)
    if named and Path(named).is_file():
        return Path(named)
    found = []
    for path in Path.cwd().glob("*.ipynb"):
        try:
            find_assignment(path)
        except AssignmentError:
            continue
        found.append(path)
    if not found:
        raise AssignmentError(
            f"no notebook of a known assignment in {Path.cwd()}: set DLGRADE_NOTEBOOK to your notebook's path"
        )
    return max(found, key=lambda p: p.stat().st_mtime)


# Strict checks run one after another (a test cell per part), each on the same saved file: the
# first grades every public part of the file, the others reuse that grade while the file is
# unchanged, so a notebook of n parts runs once, not n times.
_GRADED: dict[tuple, SelfCheck] = {}


def _graded_once(path: Path, part: str | None, options: dict) -> SelfCheck:
    """The self-check of `part` (every part when None), from one grade of the whole saved file."""
    state = path.stat()
    key = (os.fspath(path.resolve()), state.st_mtime_ns, state.st_size, repr(sorted(options.items())))
    if key not in _GRADED:
        _GRADED.clear()
        _GRADED[key] = run_check(path, **options)
    whole = _GRADED[key]
    parts = [p for p in whole.result.parts if part is None or p.id == part]
    if not parts:  # not a public part of this notebook: run_check says why
        return run_check(path, part=part, **options)
    return replace(whole, result=replace(whole.result, parts=parts))


class CheckFailed(AssertionError):
    """A public check of a strict self-check did not pass (an nbgrader test cell's failure)."""


def check(
    part: str | None = None, notebook: str | os.PathLike | None = None, strict: bool = False, **options
) -> SelfCheck | None:
    """Self-check from inside a notebook: `check("part id")` grades that part of the saved file.

    Returns a SelfCheck, which Jupyter shows as a table; `print()` it for the text summary.
    While the notebook itself is being graded (the grader sets DLGRADE_GRADING in the kernel)
    it only says so and returns None, so a submission may keep its check() calls.

    `strict=True` makes the call an nbgrader test cell: it prints the summary and returns None
    (a cell's value would be read by nbgrader as partial points), and raises CheckFailed, an
    AssertionError, when a public check fails or errs (needs-review is not a failure), so that
    `nbgrader validate` and `autograde` count the cell as failed. The first strict check grades
    every public part of the saved file; the next ones reuse that grade while the file is
    unchanged."""
    if os.environ.get("DLGRADE_GRADING"):
        print(t("check.skipped_in_grading", options.get("lang") or default_lang()))
        return None
    path = Path(notebook) if notebook else _notebook_in_kernel()
    if not strict:
        return run_check(path, part=part, **options)
    found = _graded_once(path, part, options)
    failed = {Status.FAIL, Status.ERROR, Status.GRADER_ERROR}
    if any(p.status in failed for p in found.result.parts):
        raise CheckFailed(found.summary())
    print(found.summary())
    return None
