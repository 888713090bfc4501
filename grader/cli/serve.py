"""`dlgrade serve [--db URL] [--host 127.0.0.1] [--port 8000]`: the review server (grader.web),
and `dlgrade serve --set-password [--user NAME]`, which lets an instructor log in to it.

It binds 127.0.0.1 unless told otherwise; another address is served too, with a warning, since
the server speaks plain HTTP (put it behind a TLS proxy to share it).
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import sys

from grader.cli import exits
from grader.cli.roster import DB_HELP


def add_serve_parser(sub, default_lang: str) -> None:
    p = sub.add_parser("serve", help="the review server: grades, reports, the review queue, overrides")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--lang", choices=["en", "ja"], default=default_lang, help="the pages' language")
    p.add_argument(
        "--set-password",
        action="store_true",
        help="set the password of --user (asked twice; read from standard input when it is not a terminal)",
    )
    p.add_argument("--user", default=None, help="the instructor's name (default: $USER)")
    p.set_defaults(func=cmd_serve)


def _ask_password(lang: str) -> str | None:
    from grader.i18n import t

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(t("web.password", lang) + ": ")
    if getpass.getpass(t("web.password", lang) + ": ") != first:
        print(t("web.passwords_differ", lang), file=sys.stderr)
        return None
    return first


def cmd_serve(args) -> int:
    from grader.gradebook import Gradebook, GradebookError, database_url
    from grader.gradebook.database import shown_url
    from grader.i18n import t
    from grader.reporters.text import console
    from grader.web import auth

    url = database_url(args.db)
    db = console(shown_url(url))
    try:
        book = Gradebook(url)
    except GradebookError as exc:
        print(console(exc.message(args.lang)), file=sys.stderr)
        return exits.CANNOT
    with book:
        if args.set_password:
            name = args.user or os.environ.get("USER") or getpass.getuser()
            password = _ask_password(args.lang)
            if password is None:
                return exits.CANNOT
            try:
                auth.set_password(book, name, password)
            except GradebookError as exc:
                print(console(exc.message(args.lang)), file=sys.stderr)
                return exits.CANNOT
            print(t("web.password_set", args.lang, name=console(name), db=db))
            return exits.OK
        if not auth.instructors(book):
            print(t("web.no_instructor", args.lang, db=db), file=sys.stderr)
            return exits.CANNOT
        return serve(book, args.host, args.port, args.lang, db)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(book, host: str, port: int, lang: str, db: str) -> int:
    import uvicorn

    from grader.i18n import t
    from grader.web import create_app

    hosts = ["127.0.0.1", "localhost", "[::1]"] if _loopback(host) else ["*"]
    if not _loopback(host):
        print(t("web.not_loopback", lang, host=host), file=sys.stderr)
    app = create_app(book, lang=lang, hosts=hosts)
    print(t("web.serving", lang, host=host, port=port, db=db), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
    return exits.OK
