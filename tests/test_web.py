"""The review server (grader.web) through Starlette's TestClient, on SQLite and PostgreSQL:
login, the grid, reports and the review queue, overrides, and what it refuses (no session, a
forged or foreign POST, bad points, another Host); the `dlgrade override` and `serve
--set-password` commands."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from postgres import postgres_server  # noqa: F401  (the session's server)
from review_course import NEGATED, PASSWORD, fill, result_of
from starlette.testclient import TestClient
from test_gradebook import db_url  # noqa: F401  (SQLite and PostgreSQL)

from grader.cli.main import main
from grader.gradebook import Gradebook
from grader.gradebook.models import Override
from grader.web import auth, create_app

CHECK = {"student": "2024001", "assignment": "mnist_tf", "part": "resnet_quiz", "check": "resnet: vanish"}


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    monkeypatch.setattr(auth, "N", 2**10)  # the real cost (2**14) is for people, not for tests


@pytest.fixture
def book(db_url):  # noqa: F811
    """The course, on SQLite and on PostgreSQL: for what reads or writes the gradebook."""
    with Gradebook(db_url) as book:
        fill(book)
        yield book


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("course") / "course.db"
    with Gradebook(f"sqlite:///{path}") as book, pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "N", 2**10)
        fill(book)
    return path


@pytest.fixture
def web(filled, tmp_path):
    """A copy of the course on SQLite: for what the server refuses, whatever the database."""
    shutil.copy(filled, tmp_path / "course.db")
    with Gradebook(f"sqlite:///{tmp_path / 'course.db'}") as book:
        yield book


def client(book, lang="en") -> TestClient:
    return TestClient(create_app(book, lang, hosts=["testserver"]), base_url="http://testserver")


def token(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def logged_in(book, lang="en") -> TestClient:
    c = client(book, lang)
    r = c.post("/login", data={"csrf": token(c.get("/login")), "name": "sato", "password": PASSWORD})
    assert r.status_code == 200 and r.url.path == "/"
    return c


def total(page, student: str) -> str:
    row = re.search(rf'<tr data-student="{student}">.*?<td class="total">([^<]*)</td>', page.text, re.S)
    return row.group(1).strip()


def test_every_page_needs_a_login_and_a_wrong_password_gets_none(web):
    c = client(web)
    for path in ("/", "/review", "/report?student=2024001&assignment=mnist_tf"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert r.headers["x-frame-options"] == "DENY"
    login = c.get("/login")
    assert "default-src 'none'" in login.headers["content-security-policy"]
    assert "script" not in login.headers["content-security-policy"] and "<script" not in login.text
    r = c.post("/login", data={"csrf": token(login), "name": "sato", "password": "wrong password"})
    assert r.url.path == "/login" and 'id="login-error"' in r.text
    r = c.post("/login", data={"csrf": token(login), "name": "nobody", "password": PASSWORD})
    assert r.url.path == "/login" and 'id="login-error"' in r.text
    assert c.get("/", follow_redirects=False).status_code == 303
    r = c.post("/login", data={"name": "sato", "password": PASSWORD})  # no token: a forged login
    assert r.status_code == 403


def test_the_session_cookie_is_httponly_strict_and_ends_at_logout(web):
    c = client(web)
    login = c.get("/login")
    r = c.post("/login", data={"csrf": token(login), "name": "sato", "password": PASSWORD}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    before = dict(c.cookies)
    grid = c.get("/")
    assert grid.status_code == 200
    assert c.post("/logout", data={"csrf": "forged"}).status_code == 403
    c.post("/logout", data={"csrf": token(grid)})
    assert c.get("/", follow_redirects=False).status_code == 303
    c.cookies.clear()
    c.cookies.update(before)  # the cookie from before the logout, replayed
    assert c.get("/", follow_redirects=False).status_code == 303


def test_review_loop_grid_queue_decision_override_and_regrade(book):
    """What reads and writes the gradebook, on both databases: the grid and the queue as
    graded, a decision in the queue and an override on the report, which change the grid and
    hold over a regrade of the same files (not over new files)."""
    c = logged_in(book)
    grid = c.get("/")
    assert total(grid, "2024001") == "12 / 14" and total(grid, "2024002") == "14 / 14"
    assert grid.text.count('class="badge needs-review pending"') == 2  # 2024001 and 2024003 wait
    queue = c.get("/review")
    items = re.findall(r'<section class="review-item" data-student="([^"]+)" data-check="([^"]+)"', queue.text)
    assert items == [("2024001", "resnet_quiz/resnet: vanish"), ("2024003", "resnet_quiz/resnet: vanish")]
    first = queue.text.split('<section class="review-item"')[1]
    assert "the vanishing gradient problem" in first  # what the grader quoted of the answer
    assert '<ul class="found"><li>skip connections: <q>' in first
    assert '<ul class="missing"><li>vanishing gradients</li>' in first
    assert "mentioned with a negation" in first  # the grader's reason
    page = c.get("/report", params={"student": "2024001", "assignment": "mnist_tf"})
    assert 'id="score">12 / 14' in page.text and "holdout accuracy" in page.text
    assert c.get("/report", params={"student": "2024001", "assignment": "nope"}).status_code == 404

    r = c.post("/override", data={**CHECK, "points": "1.5", "comment": "half: it names the problem", "back": "review",
                                  "csrf": token(queue)})  # fmt: skip
    assert r.url.path == "/review" and 'data-student="2024001"' not in r.text
    override = {**CHECK, "part": "mnist1_shapes", "check": "W", "points": "0", "comment": "copied", "csrf": token(page)}
    r = c.post("/override", data={**override, "back": "https://evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/report?student=2024001&assignment=mnist_tf"  # never where the form says
    page = c.get(r.headers["location"])
    assert 'id="score">12.5 / 14' in page.text
    assert "1.5 points by sato" in page.text and "half: it names the problem" in page.text
    assert "0 points by sato" in page.text
    assert '<span class="grader-points">1 / 1</span>' in page.text  # the grader's verdict stays beside
    grid = c.get("/")
    assert total(grid, "2024001") == "12.5 / 14" and grid.text.count("pending") == 1
    current = book.overrides_of("2024001", "mnist_tf")[("resnet_quiz", "resnet: vanish")]
    assert (current.points, current.author) == (1.5, "sato")

    sub = book.latest_run("2024001", "mnist_tf").submission_id
    book.record_run(result_of("2024001", NEGATED), sub)  # a regrade of the same files
    assert total(c.get("/"), "2024001") == "12.5 / 14"
    new = book.record_submission("2024001", "mnist_tf", {"mnist_1layer.ipynb": b"new files"})
    book.record_run(result_of("2024001", NEGATED), new)  # new files: looked at again
    assert total(c.get("/"), "2024001") == "12 / 14"


def test_points_outside_zero_to_max_or_not_finite_are_refused(web):
    c = logged_in(web)
    csrf = token(c.get("/"))
    for points in ("nan", "inf", "-1", "2.5", "1e309", "abc", "0x1", "-0.0001"):
        r = c.post("/override", data={**CHECK, "points": points, "comment": "", "csrf": csrf})
        assert r.status_code == 400, points
    r = c.post("/override", data={**CHECK, "points": "1", "comment": "x" * 10_001, "csrf": csrf})
    assert r.status_code == 400
    r = c.post("/override", data={**CHECK, "points": "1", "comment": "x" * 300_000, "csrf": csrf})
    assert r.status_code == 403  # not one of the server's forms
    r = c.post(
        "/override",
        content=b"csrf=" + csrf.encode(),
        headers={"Content-Length": "x1", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 403
    assert web.count(Override) == 0


def test_forged_foreign_and_unknown_requests_are_refused(web):
    c = logged_in(web)
    good = token(c.get("/"))
    assert c.post("/override", data={**CHECK, "points": "1", "comment": ""}).status_code == 403
    assert c.post("/override", data={**CHECK, "points": "1", "csrf": "x" + good}).status_code == 403
    other = logged_in(web)  # another session's token is not this one's
    assert c.post("/override", data={**CHECK, "points": "1", "csrf": token(other.get("/"))}).status_code == 403
    r = c.post("/override", data={**CHECK, "points": "1", "csrf": good}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = c.post("/override", data={**CHECK, "check": "no such", "points": "1", "csrf": good})
    assert r.status_code == 400 and "resnet_quiz/resnet: vanish" in r.text
    assert web.count(Override) == 0
    for r in (c.get("/", headers={"Host": "evil.example"}), c.get("/nope"), c.get("/override")):
        assert r.status_code in (400, 404, 405)  # another site's name pointed at 127.0.0.1 gets a 400
        assert "default-src 'none'" in r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"


def test_nothing_a_student_wrote_is_markup(web):
    c = logged_in(web)
    c.post("/override", data={**CHECK, "student": "2024003", "points": "1", "csrf": token(c.get("/")),
                              "comment": "</textarea><script>alert(3)</script>"})  # fmt: skip
    for page in (
        c.get("/"),
        c.get("/review"),
        c.get("/report", params={"student": "2024003", "assignment": "mnist_tf"}),
    ):
        assert "<script" not in page.text and "<img" not in page.text and "<b>" not in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "&lt;img src=x onerror=alert(2)&gt;" in c.get("/").text
    assert (
        "&lt;/textarea&gt;&lt;script&gt;"
        in c.get("/report", params={"student": "2024003", "assignment": "mnist_tf"}).text
    )


def test_pages_in_japanese(web):
    c = logged_in(web, "ja")
    assert "成績一覧" in c.get("/").text
    assert "否定とともに書かれています" in c.get("/review").text and "スキップ接続" in c.get("/review").text


def test_passwords_are_scrypt_hashes():
    stored = auth.hash_password("a long password", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$") and "a long password" not in stored
    assert auth.verify_password("a long password", stored)
    assert not auth.verify_password("a long passwore", stored)
    assert not auth.verify_password("x", "plain$text")


def test_override_and_set_password_from_the_command_line(db_url, capsys, monkeypatch):  # noqa: F811
    with Gradebook(db_url) as book:
        fill(book)
    args = ["override", "2024001", "mnist_tf", "resnet_quiz/resnet: vanish", "2", "--comment", "ok", "--db", db_url]
    assert main([*args, "--who", "ito"]) == 0
    assert "2 (grader: 0) by ito; total 14 / 14" in capsys.readouterr().out
    assert main([*args[:3], "resnet_quiz", "2", "--db", db_url]) == 2  # not part/check
    assert main([*args[:4], "nan", "--db", db_url]) == 2
    assert main([*args[:4], "3", "--db", db_url]) == 2  # over the check's 2 points
    monkeypatch.setenv("USER", "kato")
    assert main([*args[:4], "-", "--db", db_url]) == 0  # the grader's points again, by $USER
    assert "total 12 / 14" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["serve", "--set-password", "--user", "ito", "--db", db_url]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("another good password\n"))
    assert main(["serve", "--set-password", "--user", "ito", "--db", db_url]) == 0
    with Gradebook(db_url) as book:
        assert auth.check_login(book, "ito", "another good password") and not auth.check_login(book, "ito", "short")
        assert auth.instructors(book) == ["ito", "sato"]
        assert [(o.author, o.points) for o in book.overrides_of("2024001", "mnist_tf").values()] == [("kato", None)]


def test_serve_needs_an_instructor(tmp_path, capsys):
    assert main(["serve", "--db", str(tmp_path / "course.db")]) == 2
    assert "--set-password" in capsys.readouterr().err


def test_the_whole_answer_is_on_the_feedback_page_with_its_own_policy(web, tmp_path):
    import nbformat

    from grader.reporters.notebook_html import kept_name

    folder = tmp_path / "out" / "2024001"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("The whole answer <script>alert(1)</script> about skip connections")]
    nb.metadata["dlgrade"] = {"notebook": "mnist_1layer.ipynb", "ran": True}
    kept = json.dumps(nb)  # as grader.pipeline.feedback keeps it: each cell's source one string
    (folder / kept_name("mnist_1layer.ipynb")).write_text(kept, encoding="utf-8")
    (tmp_path / "out" / kept_name("secret.ipynb")).write_text(kept, encoding="utf-8")
    sub = web.latest_run("2024001", "mnist_tf").submission_id
    web.record_run(result_of("2024001", NEGATED), sub, result_path=str(folder / "result.json"))
    c = logged_in(web)
    href = re.search(r'class="feedback-link" href="([^"]+)"', c.get("/review").text).group(1).replace("&amp;", "&")
    page = c.get(href)
    assert page.status_code == 200 and "The whole answer" in page.text
    assert "<script" not in page.text and "&lt;script&gt;alert(1)" in page.text  # the answer as text
    back = re.search(r'href="([^"]+)" id="dlg-back"', page.text).group(1).replace("&amp;", "&")
    assert c.get(back).status_code == 200 and back.startswith("/report?")  # this server's report, not a 404
    assert page.headers["content-security-policy"].startswith("default-src 'none'; img-src data:;")
    assert "script-src" not in page.headers["content-security-policy"]
    for notebook in ("../secret.ipynb", "secret.ipynb", "", "mnist_1layer.ipynb/.."):
        r = c.get("/feedback", params={"student": "2024001", "assignment": "mnist_tf", "notebook": notebook})
        assert r.status_code == 404, notebook
    assert c.get("/feedback", params={"student": "2024002", "assignment": "mnist_tf",
                                      "notebook": "mnist_1layer.ipynb"}).status_code == 404  # fmt: skip
