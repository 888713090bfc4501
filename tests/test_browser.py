"""The HTML reports in a real headless browser (Debian's `chromium`), driven over the DevTools
protocol through a pipe (`--remote-debugging-pipe`: no websocket library, no open port).

Every page must load from disk with no console error and no network request; the dashboard's
table must sort; a screenshot of each page is kept under test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from classroom import graded_class, sample_results, write_plots

from grader import reporters

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium: apt-get install -y chromium fonts-noto-cjk"),
]


class Browser:
    """A tiny DevTools client: one page (flat session), commands answered in order, events kept."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="dlgrade-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def pipes_on_3_and_4():  # where chromium's --remote-debugging-pipe expects them
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=pipes_on_3_and_4,
            close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=True)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=1100,
            height=1400,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, session: bool = False, timeout: float = 30, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == event:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def open(self, path: Path) -> None:
        self.events.clear()
        self.send("Page.navigate", session=True, url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => setTimeout(r, 200))")  # let late console messages arrive

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(result["exceptionDetails"])
        return result["result"].get("value")

    def console_errors(self) -> list[str]:
        errors = []
        for e in self.events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.exceptionThrown":
                errors.append(json.dumps(p["exceptionDetails"])[:300])
            elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(str(p.get("args"))[:300])
            elif e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append(p["entry"]["text"])
        return errors

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, name: str) -> Path:
        import base64

        data = self.send("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (TimeoutError, EOFError, OSError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def sample_pages(tmp_path_factory):
    """The hand-made class (every status, hidden checks, no sandbox, hostile text) in Japanese."""
    outdir = tmp_path_factory.mktemp("sample-pages")
    results = sample_results()
    write_plots(outdir, results)
    for r in results:
        reporters.write_submission(r, outdir, ["html"], "ja")
    reporters.write_class(results, outdir, ["html"], "ja", pass_mark=0.6)
    return outdir


def _pages(outdir: Path) -> list[Path]:
    return [outdir / "index.html", *sorted(outdir.glob("*/report.html"))]


def _check_page(browser: Browser, page: Path, shot: str) -> None:
    browser.open(page)
    assert browser.console_errors() == [], page
    outside = [u for u in browser.requests() if not u.startswith(("file://", "data:"))]
    assert outside == [], f"{page} made network requests: {outside}"
    assert browser.evaluate("document.readyState") == "complete"
    assert browser.evaluate("document.querySelectorAll('img').length") == browser.evaluate(
        "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
    ), f"{page}: an image did not load"
    assert browser.screenshot(shot).stat().st_size > 1000


def test_real_class_pages_load_offline_without_errors(browser):
    graded = graded_class()
    pages = _pages(graded.outdir)
    assert len(pages) == 7  # dashboard + six students
    for page in pages:
        name = "index" if page.name == "index.html" else page.parent.name
        _check_page(browser, page, f"class-{name}")


def test_sample_pages_in_japanese_load_offline_without_errors(browser, sample_pages):
    for page in _pages(sample_pages):
        name = "index" if page.name == "index.html" else page.parent.name
        _check_page(browser, page, f"sample-ja-{name}")
    browser.open(sample_pages / "bob" / "report.html")
    assert browser.evaluate("document.documentElement.lang") == "ja"
    assert browser.evaluate("document.querySelectorAll('tr.hidden-check').length") == 1
    browser.open(sample_pages / "carol" / "report.html")
    assert browser.evaluate("!!document.getElementById('no-sandbox')")
    assert browser.evaluate("window.alertCalled === undefined && document.scripts.length") == 0


def test_dashboard_table_sorts(browser):
    graded = graded_class()
    browser.open(graded.outdir / "index.html")
    names = "Array.from(document.querySelectorAll('#class tbody tr')).map(r => r.cells[0].textContent.trim())"
    scores = "Array.from(document.querySelectorAll('#class tbody tr')).map(r => parseFloat(r.cells[1].dataset.value))"
    browser.evaluate("document.querySelectorAll('#class th.sortable')[1].click()")
    ascending = browser.evaluate(scores)
    assert ascending == sorted(ascending) and len(ascending) == 6
    browser.evaluate("document.querySelectorAll('#class th.sortable')[1].click()")
    assert browser.evaluate(scores) == sorted(ascending, reverse=True)
    browser.evaluate("document.querySelectorAll('#class th.sortable')[0].click()")
    assert browser.evaluate(names) == sorted(browser.evaluate(names))
    assert browser.evaluate(names)[0] == "alice"
    browser.evaluate("document.querySelector('#class tbody a').click()")
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname").endswith("/alice/report.html")


def test_the_harness_notices_a_page_that_fetches(browser, tmp_path):
    """The checks above can fail: a page that reaches out is caught as a request and an error."""
    page = tmp_path / "leaky.html"
    page.write_text(
        "<!DOCTYPE html><html><body><script>fetch('http://127.0.0.1:9/x');console.error('boom')</script></body></html>"
    )
    browser.open(page)
    assert any(u.startswith("http://127.0.0.1:9/") for u in browser.requests())
    assert any("boom" in e for e in browser.console_errors())


def test_feedback_pages_load_offline_without_errors(browser, tmp_path):
    """Each real student's notebook as graded, and a page made from a hostile notebook (scripts,
    handlers, remote images, frames, SVG and HTML outputs): no script, no request, no error
    (a blocked load would be a CSP error in the console)."""
    from test_feedback_html import GOOD, RunWithOutputs, Scenario, grade_toy, hostile_outputs, load_assignment, make_toy

    pages = sorted(graded_class().outdir.glob("*/*.feedback.html"))
    assert pages
    for page in pages:
        _check_page(browser, page, f"feedback-{page.parent.name}")
        assert browser.evaluate("document.scripts.length") == 0
        assert browser.evaluate("document.querySelectorAll('section.dlg-box').length") > 0
    toy = (load_assignment(make_toy(tmp_path)), tmp_path)
    _, report = grade_toy(toy, RunWithOutputs(Scenario(exports=GOOD), {"toy_vars": hostile_outputs()}), "ja")
    browser.open(report.parent / "toy.feedback.html")
    assert browser.console_errors() == []
    assert [u for u in browser.requests() if not u.startswith(("file://", "data:"))] == []
    assert (
        browser.evaluate("document.scripts.length + document.querySelectorAll('iframe,object,embed,svg').length") == 0
    )
    assert browser.evaluate("document.documentElement.lang") == "ja"
    browser.screenshot("feedback-hostile-ja")
    browser.evaluate("document.getElementById('dlg-back').click()")
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("location.pathname").endswith("/toy/report.html")
