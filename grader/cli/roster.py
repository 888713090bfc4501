"""`dlgrade roster import roster.csv [--db URL]` and `dlgrade roster list [--db URL]`.

--db is a database URL (sqlite:///path, postgresql://user@host/db) or a file; without it, the
gradebook is course.db in the current folder (the course's folder).
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

from grader.cli import exits

DB_HELP = "gradebook database: a URL (sqlite:///..., postgresql://...) or a file (default: ./course.db)"


def add_roster_parser(sub, default_lang: str) -> None:
    rp = sub.add_parser("roster", help="the course's students in the gradebook")
    actions = rp.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="add or update students from a CSV: student id, name, email")
    imp.add_argument(
        "file", help="CSV (UTF-8 or Shift_JIS; headers in English or Japanese, e.g. 学籍番号, 氏名, メール)"
    )
    lst = actions.add_parser("list", help="the students in the gradebook")
    for p in (imp, lst):
        p.add_argument("--db", help=DB_HELP)
        p.add_argument("--lang", choices=["en", "ja"], default=default_lang, help="message language")
    rp.set_defaults(func=cmd_roster)


def cmd_roster(args) -> int:
    from grader.gradebook import Gradebook, GradebookError, database_url, read_roster
    from grader.gradebook.database import shown_url
    from grader.i18n import t
    from grader.reporters.text import console

    url = database_url(args.db)
    db = console(shown_url(url))
    try:
        rows = read_roster(Path(args.file)) if args.action == "import" else None
        with Gradebook(url) as book:
            if rows is None:
                students = book.students()
                if not students:
                    print(t("roster.empty", args.lang, db=db))
                for s in students:
                    print(_pad(console(s.id), 12), _pad(console(s.name), 24), console(s.email or ""))
                return exits.OK
            changes = book.import_roster(rows)
            total = len(book.students())
    except GradebookError as exc:
        for line in exc.message(args.lang).splitlines():  # a roster's cells, shown, never obeyed
            print(console(line), file=sys.stderr)
        return exits.CANNOT
    for student, field, old, new in changes.changed:
        print(
            t(
                "roster.changed",
                args.lang,
                id=console(student),
                field=field,
                old=console(old or "-"),
                new=console(new or "-"),
            )
        )
    if changes.not_in_file:
        ids = ", ".join(console(i) for i in changes.not_in_file)
        print(t("roster.not_in_file", args.lang, count=len(changes.not_in_file), ids=ids))
    changed = len({c[0] for c in changes.changed})
    print(
        t("roster.imported", args.lang, added=len(changes.added), changed=changed,
          unchanged=len(changes.unchanged), total=total, db=db)
    )  # fmt: skip
    return exits.OK


def _pad(text: str, width: int) -> str:
    """Pad to `width` terminal columns: a kanji or kana takes two."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(1, width - used)
