"""Collecting: the submissions of an LMS export (grader.intake.lms) matched to the roster, their
files kept in the course's submissions folder, each recorded as a submission.

Matching, per entry of the export:
- a per-student folder (or file) is the student whose id it is (NFKC; case ignored when that
  leaves one student);
- a Canvas entry whose user id is a student's `lms_id` (the roster's canvas_id column) is that
  student; Moodle's number is the assignment's participant id, another for every assignment,
  so it is never matched on;
- else a Moodle or Canvas entry names the student: a roster id written as a word of that name
  decides (a site that shows the student number in the name); else the name, compared as one
  key: NFKC, case folded, without spaces, punctuation or `_` (Canvas writes "yamadataro", Moodle
  "山田 太郎" or "太郎 山田"), in any order of the roster name's words.
- a name that fits two students, or none, leaves the entry unmatched: recorded with no student,
  its files kept, listed with the reason, to be given to a student later.

Files go to `<root>/<assignment>/<student id>/<content hash>/` (unmatched: `_unmatched/`), written
as new regular files into a temporary folder renamed into place, so an interrupted collect leaves
nothing half-written and the same files collected again are found, not copied twice. One student
twice in one export (two Moodle names, two Canvas accounts) gives two submissions, both kept; the
newer is the student's latest.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from grader.gradebook.book import Gradebook, content_hash
from grader.gradebook.models import Assignment, Student, Submission
from grader.intake.lms import MAX_STUDENT_BYTES, Entry, Export
from grader.intake.submission import Refused

UNMATCHED = "_unmatched"
_SAFE = re.compile(r"[\w][\w.\-]*\Z")


@dataclass
class Collected:
    entry: Entry
    submission: int
    student: str | None
    how: str  # id, lms_id, name, or "" (unmatched)
    why: tuple[str, dict] | None  # why unmatched
    path: Path
    new: bool  # files not collected before
    late: bool


@dataclass
class CollectReport:
    collected: list[Collected] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    twice: dict[str, list[Collected]] = field(default_factory=dict)  # student -> entries, oldest first


def name_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def roster_keys(name: str) -> set[str]:
    """The name's keys in every order of its words (up to four words)."""
    words = [w for w in re.split(r"[\s_]+", unicodedata.normalize("NFKC", name)) if w]
    if not 1 < len(words) <= 4:
        return {name_key(name)}
    return {name_key("".join(p)) for p in itertools.permutations(words)}


class Roster:
    def __init__(self, students: list[Student]):
        self.ids = {s.id for s in students}
        self.lms = {s.lms_id: s.id for s in students if s.lms_id}
        self.folded: dict[str, set[str]] = {}
        self.names: dict[str, set[str]] = {}
        for s in students:
            self.folded.setdefault(s.id.casefold(), set()).add(s.id)
            for key in roster_keys(s.name):
                self.names.setdefault(key, set()).add(s.id)

    def match(self, entry: Entry) -> tuple[str | None, str, tuple[str, dict] | None]:
        """(student, how, why not)."""
        if entry.source == "folder":
            if entry.student_id in self.ids:
                return entry.student_id, "id", None
            found = self.folded.get((entry.student_id or "").casefold(), set())
            if len(found) == 1:
                return next(iter(found)), "id", None
            return None, "", ("collect.no_such_id", {"id": entry.student_id})
        if entry.source == "canvas" and entry.lms_id in self.lms:
            return self.lms[entry.lms_id], "lms_id", None
        name = entry.name or ""
        ids = {w for w in re.split(r"[\s_]+", unicodedata.normalize("NFKC", name)) if w in self.ids}
        if len(ids) == 1:
            return ids.pop(), "id", None
        found = self.names.get(name_key(name), set()) if name_key(name) else set()
        if len(found) == 1:
            return next(iter(found)), "name", None
        if found:
            return None, "", ("collect.ambiguous", {"name": name, "ids": ", ".join(sorted(found))})
        return None, "", ("collect.no_such_name", {"name": name or "-"})


def folder_name(text: str) -> str:
    """`text` as one folder name: itself when plainly safe, else a readable part and a digest."""
    text = unicodedata.normalize("NFC", text)
    if _SAFE.match(text) and len(text.encode()) <= 120:
        return text
    plain = re.sub(r"[^\w.\-]+", "_", text).strip("._")[:40]
    return f"{plain or 'x'}-{hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


def collect(book: Gradebook, export: Export, assignment: str, root: Path) -> CollectReport:
    """Match, keep and record every entry of `export` for `assignment` under `root`."""
    report = CollectReport(refused=list(export.refused))
    roster = Roster(book.students())
    due = book.add_assignment(assignment).due_at
    for entry in export.entries:
        files = _read(export, entry, report)
        if not files:
            continue
        student, how, why = roster.match(entry)
        owner = folder_name(student) if student is not None else UNMATCHED
        folder, new, written = _keep(root / folder_name(assignment) / owner, files, report)
        if folder is None:
            continue
        # Canvas's marker is Canvas's judgement (it knows extensions); else the time against the due date
        when = entry.submitted_at
        late = entry.late if entry.late is not None else bool(when and due and when > due)
        submission = book.record_submission(
            student,
            assignment,
            written,
            submitted_at=when,
            late=late,
            source=entry.source,
            source_ref=entry.ref,
            path=str(folder),
        )
        report.collected.append(Collected(entry, submission, student, how, why, folder, new, late))
    by_student: dict[str, list[Collected]] = {}
    for c in report.collected:
        if c.student is not None:
            by_student.setdefault(c.student, []).append(c)
    oldest_first = lambda c: (c.entry.submitted_at or datetime.min.replace(tzinfo=UTC), c.submission)
    report.twice = {s: sorted(cs, key=oldest_first) for s, cs in by_student.items() if len(cs) > 1}
    return report


def _read(export: Export, entry: Entry, report: CollectReport) -> dict[str, bytes]:
    files, total = {}, 0
    for path, member in sorted(entry.files.items()):
        try:
            data = export.read(member)
        except Refused as exc:
            report.refused.append(exc)
            continue
        total += len(data)
        if total > MAX_STUDENT_BYTES:
            report.refused.append(Refused("collect.student_too_big", name=entry.ref, mib=MAX_STUDENT_BYTES // 2**20))
            break
        files[path] = data
    return files


def _keep(parent: Path, files: dict[str, bytes], report: CollectReport) -> tuple[Path | None, bool, dict]:
    """Write `files` into a new folder below `parent` named by their content hash: (the folder,
    whether it is new, the files written)."""
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".collect-{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    written = {}
    try:
        for path, data in files.items():
            target = tmp.joinpath(*path.split("/"))
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as exc:  # a file where a folder of the same name is, a name the disk refuses
                report.refused.append(Refused("intake.unreadable", name=path, reason=exc.strerror or str(exc)))
                continue
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            written[path] = data
        if not written:
            return None, False, written
        folder = parent / content_hash(written)[0][:16]
        if folder.exists():  # collected before: the same bytes under the same names
            return folder, False, written
        os.rename(tmp, folder)
        return folder, True, written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def latest_submissions(book: Gradebook, assignment: str) -> list[Submission]:
    """Each student's latest submission of `assignment` (by the time it was handed in, then the
    order recorded), then every unmatched one."""
    with book._read() as s:
        query = select(Submission).join(Assignment).where(Assignment.name == assignment).order_by(Submission.id)
        subs = list(s.scalars(query))
    latest: dict[str, Submission] = {}
    order = lambda sub: (sub.submitted_at or datetime.min.replace(tzinfo=UTC), sub.id)
    for sub in subs:
        if sub.student_id is not None and (sub.student_id not in latest or order(sub) >= order(latest[sub.student_id])):
            latest[sub.student_id] = sub
    return [latest[k] for k in sorted(latest)] + [sub for sub in subs if sub.student_id is None]


def submission_at(book: Gradebook, assignment: str, path: Path) -> int | None:
    """The submission of `assignment` whose files are kept at `path`, if one is."""
    with book._read() as s:
        query = (
            select(Submission.id)
            .join(Assignment)
            .where(Assignment.name == assignment, Submission.path == str(Path(os.path.abspath(path))))
            .order_by(Submission.id.desc())
        )
        return s.scalars(query).first()
