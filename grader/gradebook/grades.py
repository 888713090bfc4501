"""A student's final grade for an assignment, as the gradebook holds it: the latest run's points,
the overrides in force (a person's points replace the grader's for that check), and the late
penalty of the assignment's policy.

    policy = LatePolicy.parse("10%/day", cap="50%")
    book.set_late_policy("mnist_tf", policy.to_json())
    grade = final_grade(book, "2024001", "mnist_tf")   # None: nothing graded yet
    grade.points, grade.penalty, grade.final

The late policy lives in the assignment's row (`assignments.late_policy`, JSON
`{"per_day": 0.1, "cap": 0.5}`), so every reader of the gradebook (export, publish, the review
app) applies the same one. The penalty is a fraction of the points earned (after overrides): 10 %
a day started after the due date, never more than the cap. Only a submission flagged late is
penalised (an LMS that granted an extension does not flag it); late with no time to measure
(an LMS "late" marker, no due date), or late by the LMS although its time is not after the
gradebook's due date (the student's own due date in the LMS), counts as one day.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from grader.gradebook.book import Gradebook
from grader.gradebook.errors import GradebookError
from grader.gradebook.models import Override, Run, Submission

DAY = timedelta(days=1)
_AMOUNT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%)?\s*(?:/\s*(?:day|d|日))?\s*\Z", re.IGNORECASE)


def _fraction(text: str, what: str) -> float:
    """'10%', '10%/day', '0.1' -> 0.1; anything else, or outside 0..1, is refused."""
    match = _AMOUNT.match(str(text))
    if not match:
        raise GradebookError("grades.bad_late", what=what, value=text)
    value = float(match.group(1)) / (100 if match.group(2) else 1)
    if not 0 <= value <= 1:
        raise GradebookError("grades.bad_late", what=what, value=text)
    return value


@dataclass(frozen=True)
class LatePolicy:
    per_day: float  # fraction of the points taken for each day (or part of one) after the due date
    cap: float = 1.0  # the most ever taken

    @classmethod
    def parse(cls, per_day: str, cap: str | None = None) -> LatePolicy:
        return cls(_fraction(per_day, "--late-penalty"), 1.0 if cap is None else _fraction(cap, "--late-cap"))

    @classmethod
    def from_json(cls, data: dict | None) -> LatePolicy | None:
        if not data:
            return None
        return cls(float(data.get("per_day", 0.0)), float(data.get("cap", data.get("max", 1.0))))

    def to_json(self) -> dict:
        return {"per_day": self.per_day, "cap": self.cap}

    def fraction(self, days: int) -> float:
        return min(self.per_day * days, self.cap) if days > 0 else 0.0


def days_late(submission: Submission, due_at: datetime | None) -> int:
    """Days started after the due date (0: on time); late without times to compare: 1."""
    if not submission.late:
        return 0
    if submission.submitted_at is None or due_at is None or submission.submitted_at <= due_at:
        return 1
    return math.ceil((submission.submitted_at - due_at) / DAY)


@dataclass
class CheckGrade:
    part: str
    check: str
    status: str  # the grader's
    graded: float  # the grader's points
    max_points: float
    hidden: bool
    override: Override | None = None  # the decision in force, if any

    @property
    def points(self) -> float:
        """The points in force: the person's when they set some, else the grader's."""
        return self.override.points if self.override and self.override.points is not None else self.graded


@dataclass
class FinalGrade:
    student: str
    assignment: str
    run_id: int
    submission_id: int
    points: float  # the run's points with the overrides in force, before any penalty
    max_points: float
    late: bool
    days_late: int
    penalty: float  # the fraction taken for lateness
    checks: list[CheckGrade] = field(default_factory=list)

    @property
    def deduction(self) -> float:
        return round(self.points * self.penalty, 2)

    @property
    def final(self) -> float:
        """What the LMS gets: points less the late deduction, to 2 decimals (as Canvas compares)."""
        return round(self.points - self.deduction, 2)

    @property
    def fraction(self) -> float:
        return self.final / self.max_points if self.max_points else 0.0

    @property
    def overridden(self) -> list[CheckGrade]:
        return [c for c in self.checks if c.override is not None]

    @property
    def needs_review(self) -> int:
        """needs-review checks that no person has decided yet."""
        return sum(
            c.status == "needs-review" and (c.override is None or c.override.points is None) for c in self.checks
        )

    def comments(self) -> list[tuple[str, str, str]]:
        """(part, check, comment) of every decision with a comment, in the result's order."""
        return [(c.part, c.check, c.override.comment) for c in self.overridden if c.override.comment]


def grade_of(run: Run, overrides: dict[tuple[str, str], Override], due_at: datetime | None,
             policy: LatePolicy | None, assignment: str) -> FinalGrade:  # fmt: skip
    checks = [
        CheckGrade(v.part, v.check, v.status, v.points, v.max_points, v.hidden, overrides.get((v.part, v.check)))
        for v in run.verdicts
        if v.kind == "check"
    ]
    # the run's own score (however its parts add up) moved by each decision's difference
    points = run.score + sum(c.points - c.graded for c in checks if c.override is not None)
    points = min(max(points, 0.0), run.max_score)
    days = days_late(run.submission, due_at)
    penalty = policy.fraction(days) if policy else 0.0
    return FinalGrade(
        student=run.submission.student_id or "",
        assignment=assignment,
        run_id=run.id,
        submission_id=run.submission_id,
        points=round(points, 4),
        max_points=run.max_score,
        late=run.submission.late,
        days_late=days,
        penalty=penalty,
        checks=checks,
    )


def final_grade(book: Gradebook, student: str, assignment: str) -> FinalGrade | None:
    """The student's grade for `assignment` now; None when no run of theirs is recorded."""
    row = next((a for a in book.assignments() if a.name == assignment), None)
    run = book.latest_run(student, assignment)
    if row is None or run is None:
        return None
    return grade_of(
        run, book.overrides_of(student, assignment), row.due_at, LatePolicy.from_json(row.late_policy), assignment
    )


def latest_runs(book: Gradebook, assignment_ids: list[int]) -> tuple[list[Run], dict[int, dict]]:
    """The latest run of each student per assignment (as `Gradebook.latest_run`), and the
    overrides in force per submission of those runs: four queries for a whole class."""
    newest = (
        select(func.max(Run.id))
        .join(Submission)
        .where(Submission.assignment_id.in_(assignment_ids), Submission.student_id.is_not(None))
        .group_by(Submission.student_id, Submission.assignment_id)
    )
    with Session(book.engine) as s:
        query = select(Run).where(Run.id.in_(newest)).options(selectinload(Run.verdicts), selectinload(Run.submission))
        runs = list(s.scalars(query))
        overrides: dict[int, dict] = {}
        found = (
            select(Override).where(Override.submission_id.in_({r.submission_id for r in runs})).order_by(Override.id)
        )
        for o in s.scalars(found):
            overrides.setdefault(o.submission_id, {})[(o.part, o.check)] = o  # the newest wins
        s.expunge_all()
    return runs, overrides


def class_grades(book: Gradebook, assignments: list[str] | None = None) -> dict[str, dict[str, FinalGrade | None]]:
    """{assignment: {student id: grade or None}} for every roster student, assignments in the
    order they were added (or as given; an unknown name is an error)."""
    rows = {a.name: a for a in book.assignments()}
    names = list(rows) if assignments is None else assignments
    unknown = [n for n in names if n not in rows]
    if unknown:
        raise GradebookError("grades.no_assignment", assignment=", ".join(unknown), known=", ".join(rows) or "-")
    students = [s.id for s in book.students()]
    out: dict[str, dict[str, FinalGrade | None]] = {name: dict.fromkeys(students) for name in names}
    by_id = {rows[name].id: rows[name] for name in names}
    runs, overrides = latest_runs(book, list(by_id))
    for run in runs:
        a = by_id[run.submission.assignment_id]
        grade = grade_of(
            run, overrides.get(run.submission_id, {}), a.due_at, LatePolicy.from_json(a.late_policy), a.name
        )
        out[a.name][grade.student] = grade
    return out
