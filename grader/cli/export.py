"""`dlgrade export --lms moodle|canvas|csv` and `dlgrade publish ASSIGNMENT`: final grades
(latest run, overrides in force, late penalty) to the LMS, and reports to the students.

    dlgrade export --lms csv [--assignment NAME]... [--db URL] [--out FILE]
    dlgrade export --lms moodle --assignment NAME --worksheet worksheet.csv --out filled.csv
    dlgrade export --lms canvas --assignment NAME --late-penalty 10%/day --late-cap 50%
    dlgrade publish ASSIGNMENT [--db URL] [--out DIR] [--lang ja]

--late-penalty / --late-cap store the policy in the gradebook for the assignments named (or all
of them) before exporting, so that publish, the review app and later exports apply it too;
`--late-penalty 0` removes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grader.cli import exits
from grader.cli.roster import DB_HELP

DEFAULT_OUT = {"csv": "grades-final.csv", "moodle": "moodle-grades.csv", "canvas": "canvas-grades.csv"}


def add_export_parsers(sub, default_lang: str) -> None:
    e = sub.add_parser("export", help="final grades (overrides, late penalty) as the LMS imports them")
    e.add_argument("--lms", choices=["moodle", "canvas", "csv"], required=True, help="the file format")
    e.add_argument("--assignment", action="append", help="only this assignment (repeatable; default: all)")
    e.add_argument(
        "--out", help="the file to write (default: " + ", ".join(f"{k}: {v}" for k, v in DEFAULT_OUT.items()) + ")"
    )
    e.add_argument("--worksheet", help="moodle: fill in this assignment's grading worksheet downloaded from Moodle")
    e.add_argument("--late-penalty", help="store a late penalty for the assignments, e.g. 10%%/day (0: none)")
    e.add_argument("--late-cap", help="the most the late penalty takes, e.g. 50%% (default 100%%)")
    p = sub.add_parser("publish", help="students' reports re-rendered with the instructor's decisions")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--out", help="folder for <student id>/report.html (default: published/<assignment>)")
    for parser in (e, p):
        parser.add_argument("--db", help=DB_HELP)
        parser.add_argument("--lang", choices=["en", "ja"], default=default_lang, help="message language")
    e.set_defaults(func=cmd_export)
    p.set_defaults(func=cmd_publish)


def _fail(exc, lang: str) -> int:
    from grader.reporters.text import console

    for line in exc.message(lang).splitlines():
        print(console(line), file=sys.stderr)
    return exits.CANNOT


def _store_policy(book, args, lang: str) -> None:
    """The late policy of the assignments named (all without --assignment): each option given
    replaces the stored value, the other is kept; a penalty of 0 removes the policy."""
    from grader.gradebook import GradebookError
    from grader.gradebook.grades import LatePolicy
    from grader.i18n import t
    from grader.reporters.text import console

    rows = {a.name: a for a in book.assignments()}
    names = args.assignment or list(rows)
    unknown = [n for n in names if n not in rows]
    if unknown:  # never create an assignment from a typo
        raise GradebookError("grades.no_assignment", assignment=", ".join(unknown), known=", ".join(rows) or "-")
    given = LatePolicy.parse(args.late_penalty or "0", args.late_cap)
    for name in names:
        old = LatePolicy.from_json(rows[name].late_policy) or LatePolicy(0.0)
        policy = LatePolicy(
            given.per_day if args.late_penalty is not None else old.per_day,
            given.cap if args.late_cap is not None else old.cap,
        )
        book.set_late_policy(name, policy.to_json() if policy.per_day else None)
        print(t("export.policy_set", lang, assignment=console(name), per_day=f"{100 * policy.per_day:g}",
                cap=f"{100 * policy.cap:g}"))  # fmt: skip


def _decode(data: bytes) -> str:
    """A worksheet as Moodle wrote it (UTF-8) or as Excel saved it again (Shift_JIS, UTF-16)."""
    from grader.gradebook import GradebookError, RosterError
    from grader.gradebook.roster import decode

    try:
        return decode(data)
    except RosterError:
        raise GradebookError("export.worksheet_encoding") from None


def cmd_export(args) -> int:
    from grader.gradebook import Gradebook, GradebookError, database_url
    from grader.gradebook.grades import class_grades
    from grader.i18n import t
    from grader.reporters import lms
    from grader.reporters.text import console

    lang = args.lang
    out = Path(args.out or DEFAULT_OUT[args.lms])
    try:
        if args.worksheet and (args.lms != "moodle" or not args.assignment or len(args.assignment) != 1):
            raise GradebookError("export.worksheet_needs_assignment")
        with Gradebook(database_url(args.db)) as book:
            if args.late_penalty is not None or args.late_cap is not None:
                _store_policy(book, args, lang)
            grades = class_grades(book, args.assignment)
            students = book.students()
            titles = {a.name: a.title or a.name for a in book.assignments()}
            if args.worksheet:
                text = _decode(Path(args.worksheet).read_bytes())
                rows, unmatched, missed = lms.fill_worksheet(text, grades[args.assignment[0]], students, lang)
                if unmatched:
                    print(t("export.worksheet_unmatched", lang, ids=console(", ".join(unmatched))), file=sys.stderr)
                if missed:
                    print(t("export.worksheet_missed", lang, ids=console(", ".join(missed))), file=sys.stderr)
            elif args.lms == "csv":
                rows = lms.csv_rows(grades, students)
            elif args.lms == "moodle":
                rows = lms.moodle_rows(grades, students, titles, lang)
            else:
                rows = lms.canvas_rows(grades, students, titles)
    except GradebookError as exc:
        return _fail(exc, lang)
    except OSError as exc:
        print(console(f"dlgrade: {exc}"), file=sys.stderr)
        return exits.CANNOT
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(lms.to_text(rows), encoding=lms.ENCODING, newline="")
    except OSError as exc:  # a folder in the way, a full disk: said, not a traceback
        print(console(f"dlgrade: {exc}"), file=sys.stderr)
        return exits.CANNOT
    undecided = sum(1 for by in grades.values() for g in by.values() if g is not None and g.needs_review)
    if undecided:
        print(t("export.needs_review", lang, count=undecided), file=sys.stderr)
    fmt = "moodle worksheet" if args.worksheet else args.lms
    print(t("export.written", lang, path=console(out), students=len(students), assignments=len(grades), fmt=fmt))
    return exits.OK


def cmd_publish(args) -> int:
    from grader.gradebook import Gradebook, GradebookError, database_url
    from grader.gradebook.grades import LatePolicy, grade_of, latest_runs
    from grader.i18n import t
    from grader.reporters.published import write_report
    from grader.reporters.text import console

    lang = args.lang
    out = Path(args.out or Path("published") / args.assignment)
    written, ungraded, status = 0, 0, exits.OK
    try:
        with Gradebook(database_url(args.db)) as book:
            row = next((a for a in book.assignments() if a.name == args.assignment), None)
            if row is None:
                known = ", ".join(a.name for a in book.assignments()) or "-"
                raise GradebookError("grades.no_assignment", assignment=args.assignment, known=known)
            policy = LatePolicy.from_json(row.late_policy)
            runs, overrides = latest_runs(book, [row.id])
            by_student = {r.submission.student_id: r for r in runs}
            for student in book.students():
                run = by_student.get(student.id)
                if run is None:
                    ungraded += 1
                    continue
                grade = grade_of(run, overrides.get(run.submission_id, {}), row.due_at, policy, row.name)
                try:
                    path = write_report(run, grade, out, lang)
                except OSError as exc:  # this student's report only: the others are still written
                    print(console(f"dlgrade: {exc}"), file=sys.stderr)
                    path = None
                if path is None:
                    print(t("publish.skipped", lang, student=console(student.id)), file=sys.stderr)
                    status = exits.CANNOT
                else:
                    written += 1
    except GradebookError as exc:
        return _fail(exc, lang)
    print(t("publish.written", lang, count=written, assignment=console(args.assignment), out=console(out),
            ungraded=ungraded))  # fmt: skip
    return status
