"""The gradebook's API: the roster, assignments, submissions, every grading run, overrides.

    book = Gradebook(database_url(args.db))
    book.import_roster(rows)                       # grader.gradebook.roster reads the CSV
    sub = book.record_submission("2024001", "mnist_tf", {"mnist_1layer.ipynb": data}, submitted_at=...)
    book.record_run(result, sub, options={"seed": 0, "lang": "ja"}, result_path=".../2024001")
    book.latest_run("2024001", "mnist_tf").verdicts
    book.override("2024001", "mnist_tf", "part", "check", 2.0, comment="...", author="sato")

Every method is one transaction; what they return is detached, with its verdicts loaded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from grader import __version__
from grader.gradebook.database import WRITE, make_engine, migrate
from grader.gradebook.errors import GradebookError
from grader.gradebook.models import Assignment, Override, Run, Student, Submission, Verdict
from grader.results import Result, Status

WORST_FIRST = (Status.GRADER_ERROR, Status.ERROR, Status.FAIL, Status.NEEDS_REVIEW, Status.PASS)


@dataclass
class RosterRow:
    id: str
    name: str
    email: str | None
    line: int = 0  # in the file it came from
    lms_id: str | None = None  # the LMS's user id (a canvas_id column); None: keep the stored one


@dataclass
class RosterChanges:
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)  # id, field, old, new
    unchanged: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)  # kept: a student's grades never vanish


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value):
    """`value` as both databases store it, the same on each: NUL and lone surrogates (which a
    notebook's JSON can hold, and PostgreSQL refuses) become U+FFFD, a NaN or infinity JSON null
    (JSONB refuses them; the result schema's curves allow null), numpy values plain ones."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {storable(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return storable(value.tolist())
    return storable(str(value))


def content_hash(files: Mapping[str, bytes]) -> tuple[str, list[dict]]:
    """sha256 over the files' names and bytes (any order in, one digest out), and the file list."""
    listing = [
        {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        for name, data in sorted(files.items())
    ]
    digest = hashlib.sha256()
    for f in listing:
        digest.update(f["path"].encode("utf-8", "surrogateescape") + b"\0" + f["sha256"].encode() + b"\n")
    return digest.hexdigest(), listing


def run_status(result: Result) -> str:
    """The worst status of the result's checks (as a part's status); error when it has none:
    nothing could be graded (not a notebook, nothing ran)."""
    statuses = {c.status for p in result.parts for c in p.checks if c.kind == "check"}
    return next(s for s in WORST_FIRST if s in statuses).value if statuses else Status.ERROR.value


def scoring_digests(result: Result) -> dict | None:
    """notebook -> sha256 of the scoring inputs grading kept for it (pipeline.kept), from the result."""
    found = {
        str(e["name"]): str(e["scoring"]["sha256"])
        for e in result.notebooks
        if isinstance(e, dict) and isinstance(e.get("scoring"), dict) and e["scoring"].get("sha256")
    }
    return storable(found) or None


def options_digest(options: Mapping) -> str:
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()


class Gradebook:
    def __init__(self, url: str):
        migrate(url)
        self.url = url
        self.engine = make_engine(url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(**{WRITE: True}), expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # the roster

    def import_roster(self, rows: Iterable[RosterRow]) -> RosterChanges:
        """Add new students, update names and emails of known ones; nobody is removed."""
        changes = RosterChanges()
        rows = list(rows)
        with self._write.begin() as s:
            if s.bind.dialect.name == "postgresql":  # two imports at once: the second waits, then sees the first's
                s.execute(text("LOCK TABLE students IN SHARE ROW EXCLUSIVE MODE"))
            known = {st.id: st for st in s.scalars(select(Student))}
            for row in rows:
                row = RosterRow(row.id, storable(row.name), storable(row.email), row.line, storable(row.lms_id))
                student = known.get(row.id)
                if student is None:
                    s.add(Student(id=row.id, name=row.name, email=row.email, lms_id=row.lms_id))
                    changes.added.append(row.id)
                    continue
                before = len(changes.changed)
                for name in ("name", "email", "lms_id"):
                    old, new = getattr(student, name), getattr(row, name)
                    if name == "lms_id" and new is None:  # a roster without the column keeps what is known
                        continue
                    if old != new:
                        changes.changed.append((row.id, name, old, new))
                        setattr(student, name, new)
                if len(changes.changed) == before:
                    changes.unchanged.append(row.id)
            changes.not_in_file = sorted(set(known) - {r.id for r in rows})
        return changes

    def students(self) -> list[Student]:
        with self._read() as s:
            return list(s.scalars(select(Student).order_by(Student.id)))

    # assignments and submissions

    def add_assignment(self, name: str, due_at: datetime | None = None, title: str | None = None) -> Assignment:
        """The assignment `name`, created when new; a due date or title given replaces the old."""
        with self._write.begin() as s:
            assignment = self._assignment(s, name)
            if due_at is not None:
                assignment.due_at = due_at
                offset = due_at.utcoffset()
                if offset is not None:
                    assignment.due_offset_minutes = int(offset.total_seconds() // 60)
            if title is not None:
                assignment.title = storable(title)
            return assignment

    def set_late_policy(self, name: str, policy: dict | None) -> Assignment:
        """The assignment's late policy (grader.gradebook.grades.LatePolicy.to_json; None: no penalty)."""
        with self._write.begin() as s:
            assignment = self._assignment(s, name)
            assignment.late_policy = policy
            return assignment

    def assignments(self) -> list[Assignment]:
        with self._read() as s:
            return list(s.scalars(select(Assignment).order_by(Assignment.id)))

    def record_submission(
        self,
        student: str | None,
        assignment: str,
        files: Mapping[str, bytes],
        *,
        submitted_at: datetime | None = None,
        late: bool | None = None,
        source: str = "folder",
        source_ref: str = "",
        path: str | None = None,
    ) -> int:
        """The id of the submission of these files; the same files recorded again are the same
        submission. Late (when not given): submitted after the assignment's due date."""
        digest, listing = content_hash(files)
        with self._write.begin() as s:
            if student is not None and s.get(Student, student) is None:
                raise GradebookError("gradebook.no_student", student=student)
            a = self._assignment(s, assignment)
            found = select(Submission.id).where(
                Submission.assignment_id == a.id,
                Submission.student_id == student if student is not None else Submission.student_id.is_(None),
                Submission.content_hash == digest,
            )
            existing = s.scalar(found)
            if existing is not None:
                return existing
            if late is None:
                late = bool(submitted_at and a.due_at and submitted_at > a.due_at)
            row = Submission(
                assignment_id=a.id,
                student_id=student,
                content_hash=digest,
                files=storable(listing),
                submitted_at=submitted_at,
                late=late,
                source=storable(source),
                source_ref=storable(source_ref),
                path=storable(path),
            )
            if not self._insert(s, row):  # another process recorded the same files meanwhile
                return s.scalar(found)
            return row.id

    # runs

    def record_run(
        self,
        result: Result,
        submission: int,
        *,
        options: Mapping | None = None,
        assignment_digest: str | None = None,
        result_path: str | None = None,
        kind: str = "grade",
        based_on: int | None = None,
        keep_result: bool = True,
    ) -> int:
        """Record one grading of `submission` as a new run (nothing earlier is changed); its id."""
        if kind not in ("grade", "rescore"):
            raise ValueError(f"a run is a grade or a rescore, not {kind!r}")
        options = storable(dict(options or {}))
        with self._write.begin() as s:
            if s.get(Submission, submission) is None:
                raise GradebookError("gradebook.no_submission", submission=submission)
            run = Run(
                submission_id=submission,
                kind=kind,
                based_on_id=based_on,
                dlgrade_version=__version__,
                options=options,
                options_digest=options_digest(options),
                assignment_digest=assignment_digest,
                score=result.score,
                max_score=result.max_score,
                status=run_status(result),
                result=storable(result.to_dict()) if keep_result else None,
                result_path=storable(result_path),
                scoring=scoring_digests(result),
            )
            position = 0
            for part in result.parts:
                for c in part.checks:
                    run.verdicts.append(
                        Verdict(
                            position=position,
                            part=storable(part.id),
                            check=storable(c.name),
                            status=c.status.value,
                            points=c.score,
                            max_points=c.max_score,
                            kind=storable(c.kind),
                            hidden=c.hidden,
                            message=storable(c.message),
                            message_key=storable(c.message_key),
                        )
                    )
                    position += 1
            s.add(run)
            s.flush()
            return run.id

    def runs_of(self, student: str, assignment: str) -> list[Run]:
        """Every run of the student's submissions of `assignment`, oldest first, verdicts loaded."""
        student, assignment = storable(student), storable(assignment)
        with self._read() as s:
            query = (
                select(Run)
                .join(Submission)
                .join(Assignment)
                .where(Submission.student_id == student, Assignment.name == assignment)
                .options(selectinload(Run.verdicts), selectinload(Run.submission))
                .order_by(Run.id)
            )
            return list(s.scalars(query))

    def latest_run(self, student: str, assignment: str) -> Run | None:
        runs = self.runs_of(student, assignment)
        return runs[-1] if runs else None

    def latest_runs(self, assignment: str) -> list[Run]:
        """The newest run of every submission of `assignment` (a rescore's input), by submission."""
        newest = (
            select(func.max(Run.id))
            .join(Submission)
            .join(Assignment)
            .where(Assignment.name == storable(assignment))
            .group_by(Run.submission_id)
        )
        with self._read() as s:
            query = (
                select(Run)
                .where(Run.id.in_(newest))
                .options(selectinload(Run.verdicts), selectinload(Run.submission))
                .order_by(Run.submission_id)
            )
            return list(s.scalars(query))

    # overrides

    def override(
        self,
        student: str,
        assignment: str,
        part: str,
        check: str,
        points: float | None,
        *,
        comment: str = "",
        author: str,
    ) -> Override:
        """A person's points for one check of the student's latest submission (None: the
        grader's points again), kept beside the grader's verdict and over later runs of it."""
        part, check, comment, author = (storable(v) for v in (part, check, comment, author))
        run = self.latest_run(student, assignment)
        if run is None:
            raise GradebookError("gradebook.no_run", student=student, assignment=assignment)
        verdict = next((v for v in run.verdicts if v.part == part and v.check == check), None)
        if verdict is None:
            known = ", ".join(f"{v.part}/{v.check}" for v in run.verdicts)
            raise GradebookError("gradebook.no_check", part=part, check=check, known=known)
        if points is not None and not 0 <= points <= verdict.max_points:
            raise GradebookError("gradebook.bad_points", points=points, max=verdict.max_points)
        with self._write.begin() as s:
            row = Override(
                submission_id=run.submission_id,
                part=part,
                check=check,
                points=points,
                comment=comment,
                author=author,
                run_id=run.id,
            )
            s.add(row)
            return row

    def overrides_of(self, student: str, assignment: str) -> dict[tuple[str, str], Override]:
        """The override in force per (part, check) of the student's latest submission."""
        run = self.latest_run(student, assignment)
        if run is None:
            return {}
        with self._read() as s:
            rows = s.scalars(select(Override).where(Override.submission_id == run.submission_id).order_by(Override.id))
            return {(o.part, o.check): o for o in rows}  # the newest wins

    def overrides_for(self, submission: int) -> dict[tuple[str, str], Override]:
        """The override in force per (part, check) of one submission."""
        with self._read() as s:
            rows = s.scalars(select(Override).where(Override.submission_id == submission).order_by(Override.id))
            return {(o.part, o.check): o for o in rows}

    def count(self, model) -> int:
        with self._read() as s:
            return s.scalar(select(func.count()).select_from(model))

    # helpers

    def _assignment(self, s: Session, name: str) -> Assignment:
        name = storable(name)
        found = select(Assignment).where(Assignment.name == name)
        assignment = s.scalar(found)
        if assignment is None:
            assignment = Assignment(name=name)
            if not self._insert(s, assignment):
                assignment = s.scalar(found)
        return assignment

    @staticmethod
    def _insert(s: Session, row) -> bool:
        """Insert `row` unless a concurrent writer inserted its unique twin first (PostgreSQL)."""
        try:
            with s.begin_nested():
                s.add(row)
            return True
        except IntegrityError:
            return False
