"""The review server's Starlette app.

Every page but the login page needs a session: a signed cookie (itsdangerous, HttpOnly,
SameSite=Strict) naming a session this process started; logging out ends it here, so a copied
cookie is worth nothing afterwards, and a restart ends every session (the signing key lives only
in memory). Every POST carries the session's CSRF token in a hidden field, compared in constant
time, and a POST whose Origin is another site is refused before that. Responses forbid scripts,
frames and every load but this server's style sheet (Content-Security-Policy), and are not
cached. Redirects go to paths this app builds, never to one taken from a request. What a
student wrote is only ever text in an autoescaped template.
"""

from __future__ import annotations

import math
import secrets
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from grader.gradebook import Gradebook, GradebookError
from grader.i18n import t
from grader.reporters import html
from grader.reporters.view import grade_letter
from grader.web import auth, data

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# a feedback page styles itself inline (grader.reporters.notebook_html) and is sanitized: still no script
FEEDBACK_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make the Origin of our own forms "null"
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_HOURS = 12
MAX_COMMENT = 10_000
MAX_FORM = 256 * 1024  # a comment and a few fields; a larger body is not one of our forms


@cache
def environment() -> jinja2.Environment:
    """The reports' environment (autoescape, invisible characters shown, their filters), with
    the review pages' templates first."""
    env = html.environment()
    env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(TEMPLATES), env.loader])
    return env


def create_app(book: Gradebook, lang: str = "en", hosts: list[str] | None = None) -> Starlette:
    """The app over `book`; `hosts`: the Host names it answers to (DNS rebinding: a page of
    another site that resolves its name to 127.0.0.1 gets a 400)."""
    env = environment()
    live: set[str] = set()  # the sessions this process started and has not ended
    tr = lambda key, **kw: t(key, lang, **kw)  # noqa: E731

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        body = env.get_template(name).render(
            t=tr,
            lang=lang,
            user=request.session.get("user"),
            csrf=request.session.get("csrf", ""),
            link=link,
            **context,
        )
        return HTMLResponse(body, status_code=status)

    def signed_in(request: Request) -> str | None:
        sid = request.session.get("sid")
        return request.session.get("user") if sid in live else None

    def refuse(request: Request, status: int, key: str, **args) -> HTMLResponse:
        return page(request, "error.html.j2", status=status, message=tr(key, **args))

    async def form_of(request: Request):
        """The POSTed form when it comes from this site with this session's token, else None."""
        length = request.headers.get("content-length") or "0"
        if not length.isdigit() or int(length) > MAX_FORM:
            return None
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return None
        form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
        if not auth.same_token(form.get("csrf"), request.session.get("csrf")):
            return None
        return form

    def needs_login(handler):
        async def wrapped(request: Request) -> Response:
            if signed_in(request) is None:
                return RedirectResponse("/login", status_code=303)
            return await handler(request)

        return wrapped

    async def login(request: Request) -> Response:
        if request.method == "GET":
            if "csrf" not in request.session:  # a token before login too: no one else's form logs you in
                request.session["csrf"] = auth.new_token()
            return page(request, "login.html.j2", error=False)
        form = await form_of(request)
        if form is None:
            return refuse(request, 403, "web.csrf")
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        if not await run_in_threadpool(auth.check_login, book, name, password):
            return page(request, "login.html.j2", error=True)  # the form again, as a page: not an error to log
        request.session.clear()  # a new session: nothing from before the login carries over
        sid = auth.new_token()
        live.add(sid)
        request.session.update(sid=sid, user=name, csrf=auth.new_token())
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return refuse(request, 403, "web.csrf")
        live.discard(request.session.get("sid"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @needs_login
    async def grid(request: Request) -> Response:
        g = await run_in_threadpool(data.grid, book)
        return page(request, "grid.html.j2", g=g)

    @needs_login
    async def report(request: Request) -> Response:
        student, assignment = request.query_params.get("student", ""), request.query_params.get("assignment", "")
        r = await run_in_threadpool(data.report, book, student, assignment, lang)
        if r is None:
            return refuse(request, 404, "web.no_run", student=student, assignment=assignment)
        fraction = r.score / r.run.max_score if r.run.max_score else 0.0
        return page(request, "student.html.j2", r=r, grade=grade_letter(fraction), fraction=fraction)

    @needs_login
    async def review(request: Request) -> Response:
        items = await run_in_threadpool(data.queue, book, lang)
        return page(request, "review.html.j2", items=items)

    @needs_login
    async def feedback(request: Request) -> Response:
        q = request.query_params
        args = (q.get("student", ""), q.get("assignment", ""), q.get("notebook", ""))
        try:
            body = await run_in_threadpool(data.feedback_page, book, *args, lang)
        except ValueError:  # a kept copy that is not a notebook: said, not served
            body = None
        if body is None:
            return refuse(request, 404, "web.no_feedback", notebook=args[2])
        return HTMLResponse(body, headers={"Content-Security-Policy": FEEDBACK_CSP})

    @needs_login
    async def override(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return refuse(request, 403, "web.csrf")
        fields = {k: str(form.get(k, "")) for k in ("student", "assignment", "part", "check", "points", "comment")}
        text = fields["points"].strip()
        points = None
        if text:
            try:
                points = float(text)
            except ValueError:
                return refuse(request, 400, "web.bad_points", points=text[:40])
            if not math.isfinite(points):
                return refuse(request, 400, "web.bad_points", points=text[:40])
        if len(fields["comment"]) > MAX_COMMENT:
            return refuse(request, 400, "web.long_comment", max=MAX_COMMENT)
        try:
            await run_in_threadpool(
                book.override, fields["student"], fields["assignment"], fields["part"], fields["check"], points,
                comment=fields["comment"], author=signed_in(request),
            )  # fmt: skip
        except GradebookError as exc:
            return page(request, "error.html.j2", status=400, message=exc.message(lang))
        if form.get("back") == "review":
            return RedirectResponse("/review", status_code=303)
        return RedirectResponse(link("/report", student=fields["student"], assignment=fields["assignment"]),
                                status_code=303)  # fmt: skip

    async def style(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    css = (TEMPLATES.parent / "static" / "review.css").read_text(encoding="utf-8")
    css = env.get_template("base.css.j2").render() + "\n" + css  # the reports' look, and the forms'
    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", grid),
        Route("/report", report),
        Route("/review", review),
        Route("/feedback", feedback),
        Route("/override", override, methods=["POST"]),
        Route("/static/review.css", style),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts or ["127.0.0.1", "localhost"]),
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),
            session_cookie="dlgrade_review",
            max_age=SESSION_HOURS * 3600,
            same_site="strict",
        ),
    ]
    return Starlette(routes=routes, middleware=middleware)


class SecurityHeaders:
    """HEADERS on every response, the server's own errors (404, 405, a refused Host) included;
    a header a handler set itself (the style sheet's Cache-Control) is kept."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


def link(path: str, **query) -> str:
    """A path of this app with its query percent-encoded (a student id or a check name is data)."""
    return f"{path}?{urlencode(query)}" if query else path
