"""The review server in Debian's Chromium (the DevTools client of tests/test_browser.py), served
by `dlgrade serve` itself on a free port over a gradebook of three students: log in, decide a
needs-review answer in the queue, override a check on a report, and see the report and the
grid's total change; no console error, no request leaving the server's origin, no script."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from review_course import NEGATED, PASSWORD, fill, result_of
from test_browser import CHROMIUM, Browser

from grader.gradebook import Gradebook
from grader.reporters.notebook_html import kept_name

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium fonts-noto-cjk"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("review") / "course.db"
    with Gradebook(f"sqlite:///{db}") as book:
        fill(book)
        folder = db.parent / "out" / "2024001"  # 2024001 graded again, its notebook kept as grading keeps it
        folder.mkdir(parents=True)
        cell = {
            "cell_type": "markdown",
            "id": "a1",
            "metadata": {},
            "source": NEGATED + " <img src=x onerror=alert(1)>",
        }
        kept = {"cells": [cell], "metadata": {"dlgrade": {"notebook": "mnist_1layer.ipynb", "ran": True}},
                "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
        (folder / kept_name("mnist_1layer.ipynb")).write_text(json.dumps(kept), encoding="utf-8")
        sub = book.latest_run("2024001", "mnist_tf").submission_id
        book.record_run(result_of("2024001", NEGATED), sub, result_path=str(folder))
    port = free_port()
    dlgrade = Path(sys.executable).with_name("dlgrade")
    proc = subprocess.Popen(
        [str(dlgrade), "serve", "--db", str(db), "--port", str(port), "--lang", "en"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "USER": "sato"},
    )
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{origin}/login", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"dlgrade serve did not start: {proc.communicate()}")
        time.sleep(0.2)
    yield origin
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def go(browser: Browser, url: str) -> None:
    browser.send("Page.navigate", session=True, url=url)
    browser.wait_for("Page.loadEventFired")


def submit(browser: Browser, form: str, **fields) -> None:
    """Fill `form` (a selector) and press its button, as a person would."""
    for name, value in fields.items():
        browser.evaluate(f"document.querySelector({form!r}).elements[{name!r}].value = {value!r}")
    browser.evaluate(f"document.querySelector({form!r}).querySelector('button').click()")
    browser.wait_for("Page.loadEventFired")


def clean(browser: Browser, origin: str) -> None:
    assert browser.console_errors() == []
    outside = [u for u in browser.requests() if not u.startswith((origin + "/", "data:"))]
    assert outside == []
    assert browser.evaluate("document.scripts.length") == 0


def total_of(browser: Browser, student: str) -> str:
    return browser.evaluate(f"document.querySelector('tr[data-student=\"{student}\"] td.total').textContent.trim()")


def test_log_in_decide_a_review_override_a_check_and_see_the_totals_change(browser, server):
    browser.events.clear()
    go(browser, server + "/")
    assert browser.evaluate("location.pathname") == "/login"  # every page needs a login
    submit(browser, "#login", name="sato", password="wrong password")
    assert browser.evaluate("!!document.getElementById('login-error')")
    submit(browser, "#login", name="sato", password=PASSWORD)
    assert browser.evaluate("location.pathname") == "/"
    assert total_of(browser, "2024001") == "12 / 14"
    assert browser.evaluate("document.querySelectorAll('.pending').length") == 2
    assert browser.evaluate("document.body.textContent").count("<img src=x onerror=alert(2)>") == 1  # as text
    browser.screenshot("review-grid")

    go(browser, server + "/review")
    item = "section.review-item[data-student='2024001']"
    assert "the vanishing gradient problem" in browser.evaluate(f'document.querySelector("{item} .answer").textContent')
    assert browser.evaluate(f'document.querySelector("{item} ul.missing").textContent.trim()') == "vanishing gradients"
    browser.screenshot("review-queue")
    browser.evaluate(f'document.querySelector("{item} a.feedback-link").click()')
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname") == "/feedback"
    assert NEGATED in browser.evaluate("document.getElementById('dlg-notebook').textContent")
    assert browser.evaluate("document.querySelectorAll('#dlg-notebook img[src], [onerror]').length") == 0
    clean(browser, server)
    browser.screenshot("review-feedback")
    go(browser, server + "/review")
    submit(browser, f"{item} form.override", points="1.5", comment="half: it names the problem")
    assert browser.evaluate("location.pathname") == "/review"
    assert browser.evaluate(f'document.querySelector("{item}")') is None  # decided: out of the queue

    go(browser, server + "/report?student=2024001&assignment=mnist_tf")
    assert browser.evaluate("document.getElementById('score').textContent") == "13.5 / 14"
    row = "tr[data-check='mnist1_shapes/W']"
    submit(browser, f"{row} form.override", points="0", comment="copied from the handout")
    assert browser.evaluate("document.getElementById('score').textContent") == "12.5 / 14"
    assert "0 points by sato" in browser.evaluate(f'document.querySelector("{row} .decision").textContent')
    assert browser.evaluate(f'document.querySelector("{row} .grader-points").textContent') == "1 / 1"
    browser.screenshot("review-report")

    go(browser, server + "/")
    assert total_of(browser, "2024001") == "12.5 / 14"
    assert browser.evaluate("document.querySelectorAll('.pending').length") == 1
    clean(browser, server)

    browser.evaluate("document.getElementById('logout').click()")
    browser.wait_for("Page.loadEventFired")
    go(browser, server + "/review")
    assert browser.evaluate("location.pathname") == "/login"
