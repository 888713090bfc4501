"""`dlgrade override STUDENT ASSIGNMENT CHECK POINTS --comment TEXT [--who NAME] [--db URL]`:
a person's points for one check of the student's latest submission, as the review server's form
sets them. CHECK is `part/check` as results name them (a check's name may hold a slash: the part
is what comes before the first one); POINTS `-` gives the grader's points back.
"""

from __future__ import annotations

import math
import os
import sys

from grader.cli import exits
from grader.cli.roster import DB_HELP


def add_override_parser(sub, default_lang: str) -> None:
    p = sub.add_parser("override", help="set a check's points by hand, beside the grader's verdict")
    p.add_argument("student", help="student id")
    p.add_argument("assignment", help="assignment name")
    p.add_argument("check", help="part/check, as results name them (e.g. mnist1_quiz/why softmax)")
    p.add_argument("points", help="points from 0 to the check's maximum; '-': the grader's points again")
    p.add_argument("--comment", default="", help="why (shown beside the grader's verdict)")
    p.add_argument("--who", default=None, help="who decides (default: $USER)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--lang", choices=["en", "ja"], default=default_lang, help="message language")
    p.set_defaults(func=cmd_override)


def cmd_override(args) -> int:
    import getpass

    from grader.gradebook import Gradebook, GradebookError, database_url
    from grader.i18n import t
    from grader.reporters.text import console

    part, slash, check = args.check.partition("/")
    if not (part and slash and check):
        print(t("web.bad_check", args.lang, check=console(args.check)), file=sys.stderr)
        return exits.CANNOT
    points = None
    if args.points != "-":
        try:
            points = float(args.points)
        except ValueError:
            points = math.nan
        if not math.isfinite(points):
            print(t("web.bad_points", args.lang, points=console(args.points)), file=sys.stderr)
            return exits.CANNOT
    who = args.who or os.environ.get("USER") or getpass.getuser()
    try:
        with Gradebook(database_url(args.db)) as book:
            book.override(args.student, args.assignment, part, check, points, comment=args.comment, author=who)
            run = book.latest_run(args.student, args.assignment)
            forced = book.overrides_of(args.student, args.assignment)
    except GradebookError as exc:
        for line in exc.message(args.lang).splitlines():
            print(console(line), file=sys.stderr)
        return exits.CANNOT
    verdict = next(v for v in run.verdicts if v.part == part and v.check == check)
    score = run.score + sum(
        o.points - v.points
        for v in run.verdicts
        if (o := forced.get((v.part, v.check))) is not None and o.points is not None
    )
    shown = verdict.points if points is None else points
    print(
        t("web.overridden", args.lang, student=console(args.student), assignment=console(args.assignment),
          check=console(args.check), points=f"{shown:g}", grader=f"{verdict.points:g}", author=console(who),
          score=f"{score:g}", max=f"{run.max_score:g}")
    )  # fmt: skip
    return exits.OK
