"""What the review pages show, read from the gradebook.

"Latest run" is as `Gradebook.latest_run` has it: the newest run of any of the student's
submissions of the assignment. An override belongs to that run's submission (it holds over
regrades of the same files); the newest one per check is in force, and one with points None
gives the grader's points back. A needs-review check is pending until an override with points
decides it. The grid reads every latest run, its verdicts and its overrides in three queries,
whatever the size of the class.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from grader.gradebook import Gradebook
from grader.gradebook.models import Assignment, Override, Run, Student, Submission, Verdict
from grader.reporters import notebook_html
from grader.reporters.view import localized
from grader.results import CheckResult, Result, Status

REVIEW = Status.NEEDS_REVIEW.value


@dataclass
class Cell:
    run_id: int
    score: float  # with overrides
    max_score: float
    grader_score: float
    pending: int  # needs-review checks no override has decided
    overridden: int


@dataclass
class Grid:
    students: list[Student]
    assignments: list[str]
    cells: dict[tuple[str, str], Cell]

    def total(self, student: str) -> tuple[float, float]:
        cells = [c for (s, _), c in self.cells.items() if s == student]
        return round(sum(c.score for c in cells), 6), round(sum(c.max_score for c in cells), 6)


@dataclass
class Row:
    """One check of a report: the grader's verdict, and the person's override beside it."""

    part: str
    check: str
    status: str
    points: float
    max_points: float
    shown: CheckResult  # as the grader reported it, in the page's language
    override: Override | None = None

    @property
    def decided(self) -> bool:
        return self.override is not None and self.override.points is not None

    @property
    def final(self) -> float:
        return self.override.points if self.decided else self.points


@dataclass
class Report:
    student: Student
    assignment: str
    run: Run
    runs: int
    parts: list[tuple[str, str, list[Row]]]  # id, title, rows
    result: Result | None

    @property
    def rows(self) -> list[Row]:
        return [row for _, _, rows in self.parts for row in rows]

    @property
    def score(self) -> float:
        return round(self.run.score + sum(r.final - r.points for r in self.rows), 6)


@dataclass
class ReviewItem:
    student: Student
    assignment: str
    row: Row
    answer: str | None  # what the grader quoted of the student's answer
    notebook: str = ""  # its notebook, whose feedback page shows the whole answer
    found: list[tuple[str, str | None]] = field(default_factory=list)  # concept, the words that earned it
    missing: list[str] = field(default_factory=list)


def _in_force(overrides) -> dict[tuple[int, str, str], Override]:
    return {(o.submission_id, o.part, o.check): o for o in overrides}  # ordered by id: the newest wins


def grid(book: Gradebook) -> Grid:
    with Session(book.engine) as s:
        latest = (
            select(func.max(Run.id))
            .join(Submission, Run.submission_id == Submission.id)
            .where(Submission.student_id.is_not(None))
            .group_by(Submission.student_id, Submission.assignment_id)
        ).scalar_subquery()
        runs = s.execute(
            select(Run.id, Run.submission_id, Run.score, Run.max_score, Submission.student_id, Assignment.name)
            .join(Submission, Run.submission_id == Submission.id)
            .join(Assignment, Submission.assignment_id == Assignment.id)
            .where(Run.id.in_(latest))
        ).all()
        verdicts = defaultdict(list)
        for v in s.execute(
            select(Verdict.run_id, Verdict.part, Verdict.check, Verdict.status, Verdict.points).where(
                Verdict.run_id.in_(latest)
            )
        ):
            verdicts[v.run_id].append(v)
        subs = select(Run.submission_id).where(Run.id.in_(latest))
        forced = _in_force(s.scalars(select(Override).where(Override.submission_id.in_(subs)).order_by(Override.id)))
        students = list(s.scalars(select(Student).order_by(Student.id)))
        assignments = list(s.scalars(select(Assignment.name).order_by(Assignment.name)))
    cells = {}
    for run in runs:
        score, pending, overridden = run.score, 0, 0
        for v in verdicts[run.id]:
            o = forced.get((run.submission_id, v.part, v.check))
            if o is not None and o.points is not None:
                score += o.points - v.points
                overridden += 1
            elif v.status == REVIEW:
                pending += 1
        cells[(run.student_id, run.name)] = Cell(run.id, round(score, 6), run.max_score, run.score, pending, overridden)
    return Grid(students, assignments, cells)


def _rows(run: Run, result: Result | None, overrides: dict) -> list[tuple[str, str, list[Row]]]:
    """The run's verdicts by part, each with its check as reported (from the stored result,
    matched by position; from the verdict alone when the run kept no result)."""
    checks = [(p, c) for p in result.parts for c in p.checks] if result else []
    titles = {p.id: p.title for p in result.parts} if result else {}
    parts: dict[str, list[Row]] = {}
    for v in run.verdicts:
        shown = checks[v.position][1] if v.position < len(checks) and checks[v.position][1].name == v.check else None
        if shown is None:
            shown = CheckResult(v.check, Status(v.status), v.points, v.max_points, message=v.message, hidden=v.hidden)
        o = overrides.get((run.submission_id, v.part, v.check))
        parts.setdefault(v.part, []).append(Row(v.part, v.check, v.status, v.points, v.max_points, shown, o))
    return [(pid, titles.get(pid, pid), rows) for pid, rows in parts.items()]


def _result(run: Run, lang: str) -> Result | None:
    if not run.result:
        return None
    try:
        return localized(Result.from_dict(run.result), lang)
    except (ValueError, TypeError, KeyError):  # an older or damaged document: the verdicts still show
        return None


def report(book: Gradebook, student: str, assignment: str, lang: str) -> Report | None:
    runs = book.runs_of(student, assignment)
    if not runs:
        return None
    run = runs[-1]
    with Session(book.engine) as s:
        who = s.get(Student, student)
        overrides = _in_force(
            s.scalars(select(Override).where(Override.submission_id == run.submission_id).order_by(Override.id))
        )
    result = _result(run, lang)
    return Report(who, assignment, run, len(runs), _rows(run, result, overrides), result)


def queue(book: Gradebook, lang: str) -> list[ReviewItem]:
    """Every needs-review check of the latest runs that no override has decided, by student and
    assignment: the waiting runs, their verdicts and their overrides in three queries."""
    g = grid(book)
    waiting = {c.run_id: key for key, c in g.cells.items() if c.pending}
    students = {s.id: s for s in g.students}
    with Session(book.engine) as s:
        runs = list(s.scalars(select(Run).where(Run.id.in_(waiting)).options(selectinload(Run.verdicts))))
        subs = [r.submission_id for r in runs]
        overrides = _in_force(s.scalars(select(Override).where(Override.submission_id.in_(subs)).order_by(Override.id)))
    items = []
    for run in sorted(runs, key=lambda r: waiting[r.id]):
        student, assignment = waiting[run.id]
        result = _result(run, lang)
        notebooks = {p.id: p.notebook for p in result.parts} if result else {}
        for pid, _, rows in _rows(run, result, overrides):
            for row in rows:
                if row.status == REVIEW and not row.decided:
                    item = _item(students[student], assignment, row, rows, lang)
                    item.notebook = notebooks.get(pid, "")
                    items.append(item)
    return items


def feedback_page(book: Gradebook, student: str, assignment: str, notebook: str, lang: str) -> str | None:
    """The feedback page of one notebook of the latest run (the notebook as the grader ran it:
    the student's whole answers), rendered from the copy kept in the run's output folder; None
    when the run kept no result, names no such notebook, or its copy is gone."""
    run = book.latest_run(student, assignment)
    if run is None or not run.result or not run.result_path:
        return None
    result = Result.from_dict(run.result)
    if notebook != Path(notebook).name or notebook not in {str(e.get("name", "")) for e in result.notebooks}:
        return None
    folder = Path(run.result_path)
    folder = folder.parent if folder.name == "result.json" else folder
    kept = notebook_html.read_kept(folder / notebook_html.kept_name(notebook))
    back = "/report?" + urlencode({"student": student, "assignment": assignment})  # this server's report page
    return None if kept is None else notebook_html.render(kept, result, lang, back=back)


def _item(student: Student, assignment: str, row: Row, siblings: list[Row], lang: str) -> ReviewItem:
    """A free-text concept's siblings (the same question's other concepts) say what the answer
    was credited with; the grader quoted the words it found for each."""
    args = row.shown.message_args or {}
    item = ReviewItem(student, assignment, row, row.shown.got if isinstance(row.shown.got, str) else None)
    question = args.get("question")
    if question is None or "concept" not in args:
        return item
    lang_name = f"concept_{lang}"
    for other in siblings:
        a = other.shown.message_args or {}
        if a.get("question") != question or "concept" not in a:
            continue
        name = a.get(lang_name) or a.get("concept")
        if other.final > 0:
            item.found.append((name, a.get("got") or None))
        elif other.max_points > 0:
            item.missing.append(name)
    return item
