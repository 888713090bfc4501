"""The gradebook's tables, as SQLAlchemy 2 typed ORM classes.

    Student ─┐
             ├─ Submission (files + content hash, when, late, where from) ─ Run (every grading,
    Assignment                                                    never overwritten) ─ Verdict
                                        Submission ─ Override (a person's points for one check)

What is a column and what stays JSON: a column is what the course asks questions of, across
students and runs: who, which assignment, when, late, the score, a run's status, each check's
status and points (the review queue is "verdicts with status needs-review in the latest runs";
rescore compares points per check). What is read whole and only for one submission stays JSON:
the list of files (the content hash that identifies them is a column), the grading options, the
late policy, and the full result document (`dlgrade.result/1`: messages, expected and got, hints,
curves, timings), from which reports re-render exactly as graded.

Overrides belong to a submission and name a check by part and check name, not a run, so they hold
for every later run of the same files (a regrade or a rescore) and are shown beside the grader's
verdict, which is never changed. New files from the student are a new submission, looked at anew.
Every override is kept; the newest for a check is the one in force (points None: back to the grader).

Times are stored in UTC (`UTCDateTime`), so SQLite and PostgreSQL give back the same aware values.
Text that comes from outside (names, check names, messages) is TEXT, unbounded, and indexed by
nothing longer than an id: a course's odd input must not fail on PostgreSQL and pass on SQLite.
The student id alone is bounded (64), and the roster checks it.
A change to these classes needs a migration in migrations/versions/ (tests/test_gradebook.py
checks that the migrations build exactly these tables).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Constraint names fixed by convention, so that later migrations can name what they alter.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON().with_variant(JSONB(), "postgresql")  # JSONB: PostgreSQL can index and query into it later


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored as UTC without a zone (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a time without a time zone is ambiguous: {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Student(Base):
    __tablename__ = "students"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the university's student id, as text
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    lms_id: Mapped[str | None] = mapped_column(Text)  # the LMS's user id (Canvas's), matched on by collect
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)  # the solutions/<assignment> folder's name
    title: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the zone the due date was given in (stored times are UTC): an export's local times are read in it
    due_offset_minutes: Mapped[int | None] = mapped_column(Integer)
    late_policy: Mapped[dict | None] = mapped_column(Json)  # e.g. {"per_day": 0.1, "max": 0.5}; read whole
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Submission(Base):
    __tablename__ = "submissions"
    # the same files of the same student for the same assignment are one submission, however often recorded
    __table_args__ = (UniqueConstraint("assignment_id", "student_id", "content_hash", name="uq_submissions_content"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    # None: a file no roster student was matched to, kept until the instructor says whose it is
    student_id: Mapped[str | None] = mapped_column(ForeignKey("students.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 over the files' names and bytes
    files: Mapped[list] = mapped_column(Json)  # [{"path", "sha256", "size"}], read whole
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # as the LMS or the file says
    late: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(Text, default="folder")  # moodle, canvas, folder, ...
    source_ref: Mapped[str] = mapped_column(Text, default="")  # the name it had in the LMS export
    path: Mapped[str | None] = mapped_column(Text)  # where its files are kept on disk
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    student: Mapped[Student | None] = relationship()
    assignment: Mapped[Assignment] = relationship()


class Run(Base):
    """One grading of a submission: kept for ever, a regrade or a rescore is a new run."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="grade")  # grade, or rescore (from stored exports)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # a rescore's run
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    dlgrade_version: Mapped[str] = mapped_column(String(32))
    options: Mapped[dict] = mapped_column(Json, default=dict)  # seed, language, ... as given
    options_digest: Mapped[str] = mapped_column(String(64))
    assignment_digest: Mapped[str | None] = mapped_column(String(64))  # checks files, thresholds, rubrics
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)  # the worst status of its checks
    result: Mapped[dict | None] = mapped_column(Json)  # the whole dlgrade.result/1 document
    result_path: Mapped[str | None] = mapped_column(Text)  # its folder: result.json, reports, exports
    # notebook -> sha256 of the scoring inputs kept in that folder (scoring/<stem>.npz): a rescore
    # scores only from the very file graded then
    scoring: Mapped[dict | None] = mapped_column(Json)

    submission: Mapped[Submission] = relationship()
    verdicts: Mapped[list[Verdict]] = relationship(order_by="Verdict.position")


class Verdict(Base):
    """One check of a run, as the grader decided it."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the result
    part: Mapped[str] = mapped_column(Text)
    check: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(Text, default="check")  # check, legacy-api
    hidden: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str] = mapped_column(Text, default="")  # in the language graded in
    message_key: Mapped[str] = mapped_column(Text, default="")


class Override(Base):
    """A person's decision on one check of a submission, kept beside the grader's verdict."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    part: Mapped[str] = mapped_column(Text)
    check: Mapped[str] = mapped_column(Text)
    points: Mapped[float | None] = mapped_column(Float)  # None: the grader's points again
    comment: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # the run whose verdict was seen


class Instructor(Base):
    """A person who may review and override in the review server (`dlgrade serve --set-password`)."""

    __tablename__ = "instructors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # shown as the author of overrides
    password_hash: Mapped[str] = mapped_column(Text)  # scrypt$n$r$p$salt$hash (grader.web.auth)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
