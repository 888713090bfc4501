"""`dlgrade collect PATH --assignment NAME [--db URL] [--due 2026-12-20T23:59+09:00]`: the
submissions of an LMS export (a Moodle or Canvas zip, or one folder per student id) matched to
the roster, kept in `submissions/` beside course.db, and recorded in the gradebook.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from grader.cli import exits
from grader.cli.roster import DB_HELP


def add_collect_parser(sub, default_lang: str) -> None:
    c = sub.add_parser("collect", help="take an LMS export's submissions into the gradebook")
    c.add_argument("path", help="a Moodle or Canvas 'download all submissions' zip, or a folder (one per student id)")
    c.add_argument("--assignment", required=True, help="the assignment's name (solutions/<assignment>)")
    c.add_argument("--db", help=DB_HELP)
    c.add_argument("--due", help="due date with its zone, e.g. 2026-12-20T23:59+09:00 (stored; later: late)")
    c.add_argument("--lang", choices=["en", "ja"], default=default_lang, help="message language")
    c.set_defaults(func=cmd_collect)


def parse_due(text: str):
    try:
        due = datetime.fromisoformat(text)
    except ValueError:
        due = None
    if due is None or due.tzinfo is None:
        from grader.errors import DlgradeError

        raise DlgradeError(f"--due {text!r}: give a date, a time and a zone, e.g. 2026-12-20T23:59+09:00")
    return due


def export_zone(book, assignment: str, due: datetime | None):
    """The zone an export's local times are read in: --due's; else the one the assignment's due date
    was given in when collected before (a later export of a Japanese course is still read in JST);
    else this machine's (None)."""
    if due is not None:
        return due.tzinfo
    stored = next((a for a in book.assignments() if a.name == assignment), None)
    if stored is not None and stored.due_offset_minutes is not None:
        return timezone(timedelta(minutes=stored.due_offset_minutes))
    return None


def course_folder(url: str) -> Path:
    """Where the course's files live: beside a SQLite gradebook, else the current folder."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return Path(parsed.database).resolve().parent
    return Path.cwd()


def cmd_collect(args) -> int:
    from grader.gradebook import Gradebook, GradebookError, database_url
    from grader.gradebook.collect import collect
    from grader.gradebook.database import shown_url
    from grader.i18n import t
    from grader.intake.lms import open_export
    from grader.intake.submission import Refused
    from grader.reporters.text import console

    lang = args.lang
    due = parse_due(args.due) if args.due else None
    assignment = Path(args.assignment).name  # solutions/mnist_tf or mnist_tf
    url = database_url(args.db)
    root = course_folder(url) / "submissions"

    def say(key, out=sys.stdout, **kw):
        print(t(key, lang, **{k: console(v) if isinstance(v, str) else v for k, v in kw.items()}), file=out)

    try:
        with (
            Gradebook(url) as book,
            open_export(
                Path(args.path), export_zone(book, assignment, due), frozenset(s.id for s in book.students())
            ) as export,
        ):
            if due is not None:
                book.add_assignment(assignment, due_at=due)
            report = collect(book, export, assignment, root)
            skipped = export.skipped
            names = {s.id: s.name for s in book.students()}
    except Refused as exc:
        print(console(exc.message(lang)), file=sys.stderr)
        return exits.CANNOT
    except GradebookError as exc:
        print(console(exc.message(lang)), file=sys.stderr)
        return exits.CANNOT
    zone = due.tzinfo if due else None
    for c in report.collected:
        if c.student is None:
            continue
        when = c.entry.submitted_at.astimezone(zone).isoformat(" ", "minutes") if c.entry.submitted_at else "-"
        late = t("collect.late", lang) if c.late else ""
        say("collect.matched", id=c.student, name=names.get(c.student, ""), ref=c.entry.ref, source=c.entry.source,
            how={"id": t("collect.by_id", lang), "lms_id": t("collect.by_lms_id", lang)}.get(c.how)
            or t("collect.by_name", lang), files=len(c.entry.files), when=when, late=late, new="" if c.new else t("collect.again", lang))  # fmt: skip
    unmatched = [c for c in report.collected if c.student is None]
    for c in unmatched:
        key, why = c.why or ("collect.no_such_name", {"name": "-"})
        say("collect.unmatched", ref=c.entry.ref, why=t(key, lang, **why), path=str(c.path))
    for student, entries in report.twice.items():
        say(
            "collect.twice",
            id=student,
            refs=", ".join(console(c.entry.ref) for c in entries),
            latest=entries[-1].entry.ref,
        )
    for key, details in skipped:
        say(key, **details)
    for c in report.collected:
        for key, details in c.entry.notes:
            say(key, **details)
    for exc in report.refused:
        print(console(t("collect.refused", lang, reason=exc.message(lang))), file=sys.stderr)
    matched = len(report.collected) - len(unmatched)
    say("collect.summary", count=len(report.collected), new=sum(c.new for c in report.collected), matched=matched,
        unmatched=len(unmatched), refused=len(report.refused), assignment=assignment, root=str(root),
        db=shown_url(url))  # fmt: skip
    return exits.FOUND if unmatched or report.refused else exits.OK
