"""`dlgrade rescore ASSIGNMENT [--db URL] [--yes]`: score every graded submission of an assignment
again after its checks file, thresholds or rubrics changed, from what grading kept; no notebook
is run. It prints who gains or loses what, and records the rescore as new runs (the old ones stay)
with --yes, or when the instructor confirms at the prompt.

ASSIGNMENT is the assignment's folder (solutions/<name>), or its name when ./solutions/<name> is it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from grader.cli import exits
from grader.cli.roster import DB_HELP


def add_rescore_parser(sub, default_lang: str) -> None:
    p = sub.add_parser("rescore", help="score the gradebook's submissions again from their kept exports, no run")
    p.add_argument("assignment", help="the assignment folder (solutions/<name>) or its name")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--yes", action="store_true", help="record the rescore as new runs without asking")
    p.add_argument("--lang", choices=["en", "ja"], default=default_lang, help="message language")
    p.set_defaults(func=cmd_rescore)


def _folder(name: str) -> Path:
    path = Path(name)
    if not path.is_dir() and (Path("solutions") / name).is_dir():
        return Path("solutions") / name
    return path


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def cmd_rescore(args) -> int:
    from grader.assignment.spec import load_assignment
    from grader.gradebook import Gradebook, GradebookError, database_url
    from grader.gradebook.database import shown_url
    from grader.i18n import t
    from grader.pipeline.grading import make_options
    from grader.pipeline.rescore import folder_of, refresh_class_files, rescore_assignment, save
    from grader.reporters.text import console

    lang = args.lang
    assignment = load_assignment(_folder(args.assignment))
    hidden = make_options(lang).hidden  # labels (trusted) for the checks; no sandbox ever sees them here
    for spec in assignment.notebooks:
        for set_name, make in spec.hidden_sets.items():
            hidden.register(set_name, make)
    url = database_url(args.db)
    db = console(shown_url(url))
    try:
        with Gradebook(url) as book:
            started = time.monotonic()
            done, failed = rescore_assignment(book, assignment, hidden, lang)
            seconds = round(time.monotonic() - started, 1)
            if not done and not failed:
                print(t("rescore.nothing", lang, assignment=console(assignment.name), db=db))
                return exits.OK
            for item in done:
                who = console(item.who)
                for note in item.notes:
                    print(t("rescore.note", lang, who=who, note=console(note.text(lang))))
                for c in item.changes:
                    override = t("rescore.override", lang, points=f"{c.override:g}") if c.override is not None else ""
                    check = console(f"{c.part}/{c.check}")
                    print(t("rescore.change", lang, who=who, check=check, old=_points(c.old), new=_points(c.new),
                            override=override))  # fmt: skip
                if item.changes:
                    print(
                        t("rescore.student_total", lang, who=who, old=f"{item.old_total:g}", new=f"{item.new_total:g}")
                    )
            for _run, who, reason in failed:
                print(t("rescore.cannot", lang, who=console(who), reason=console(reason)))
            gained = sum(i.new_total > i.old_total for i in done)
            lost = sum(i.new_total < i.old_total for i in done)
            delta = round(sum(i.new_total - i.old_total for i in done), 6)
            print(t("rescore.total", lang, count=len(done), seconds=seconds, gained=gained, lost=lost,
                    same=len(done) - gained - lost, delta=f"{delta:+g}"))  # fmt: skip
            if not done:
                return exits.CANNOT
            if not args.yes:
                if not sys.stdin.isatty():
                    print(t("rescore.not_recorded", lang))
                    return exits.OK
                if input(t("rescore.confirm", lang)).strip().lower() not in ("y", "yes", "はい"):
                    print(t("rescore.not_recorded", lang))
                    return exits.OK
            for item in done:
                save(book, assignment, item)
            print(t("rescore.recorded", lang, count=len(done), db=db))
            for path in refresh_class_files({folder_of(item.run).parent for item in done}, lang):
                print(f"wrote {console(path)}")
    except GradebookError as exc:
        for line in exc.message(lang).splitlines():
            print(console(line), file=sys.stderr)
        return exits.CANNOT
    return exits.CANNOT if failed else exits.OK
