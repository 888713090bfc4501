"""Feedback pages: each graded notebook as the grader ran it, beside report.html.

Fast tests grade the toy assignment on a fake runner that also leaves an executed notebook
(hand-made, hostile where it matters); the slow test reads the pages of the real graded class.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from classroom import PNG
from fakes import FakeRunner, Scenario
from toy import make_toy

from grader.assignment.spec import load_assignment
from grader.intake.executed import Budget, outputs_of, terminal
from grader.notebook import format as nbf
from grader.pipeline import feedback
from grader.pipeline.cache import ResultCache
from grader.pipeline.grading import GradeOptions, grade
from grader.reporters import html, notebook_html

GOOD = {"toy_shapes": {"W_shape": [3, 2], "steps": [1, 10, 100]}, "toy_score": {"acc": 0.9}}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20
SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><image href="http://evil.example/x"/></svg>'
HOSTILE_MARKDOWN = """# Answer
<script>alert('md')</script>
<img src="http://evil.example/p.png" onerror="alert(1)">
[click](javascript:alert(1)) [away](http://evil.example/) <a href="//evil.example/">x</a>
<iframe src="http://evil.example/"></iframe><iframe srcdoc="<script>alert(1)</script>"></iframe>
<meta http-equiv="refresh" content="0;url=http://evil.example/">
<base href="http://evil.example/">
<link rel="stylesheet" href="http://evil.example/s.css">
<style>body{background:url(http://evil.example/bg)} @import url(http://evil.example/i.css);</style>
<div style="background-image:url(http://evil.example/div)">styled</div>
<svg><script>alert(3)</script><a xlink:href="javascript:alert(4)">s</a></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert(5)></style></mglyph></table></mtext></math>
<form action="http://evil.example/"><input name="q"><button formaction="http://evil.example/">go</button></form>
<object data="http://evil.example/o"></object><embed src="http://evil.example/e">
<video poster="http://evil.example/v.png"></video><img srcset="http://evil.example/s.png 2x">
<div class="dlg-box dlg-pass" id="dlg-part-toy_shapes">Full marks (fake box)</div>
![att](attachment:missing.png) ![remote](http://evil.example/r.png)
"""


class Audit(HTMLParser):
    """Everything on a page that could run or fetch."""

    SAFE_META = {("charset",), ("content", "name"), ("content", "http-equiv")}
    BANNED = {
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "link", "form", "input",
        "button", "svg", "math", "audio", "video", "source", "track", "template", "noscript", "portal", "image",
    }  # fmt: skip

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BANNED:
            self.bad.append(f"<{tag}>")
        if tag == "meta":
            names = tuple(sorted(n for n, _ in attrs))
            values = dict(attrs)
            if names not in self.SAFE_META or (
                values.get("http-equiv") not in (None, "Content-Security-Policy")
                or values.get("http-equiv") == "Content-Security-Policy"
                and values.get("content") != CSP
            ):
                self.bad.append(f"<meta {attrs}>")
        self._in_style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in ("style", "srcset", "formaction", "action", "poster", "srcdoc"):
                self.bad.append(f"<{tag} {name}={value[:60]!r}>")
            elif name == "href" and not (value.startswith("#") or value in ("report.html",)):
                if not re.fullmatch(r"[\w.-]+\.feedback\.html(#[\w%.-]*)?", value):
                    self.bad.append(f"<{tag} href={value[:60]!r}>")
            elif name in ("src", "data", "xlink:href", "background") and not re.fullmatch(
                r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+", value
            ):
                self.bad.append(f"<{tag} {name}={value[:60]!r}>")
            elif name == "id":
                self.ids.append(value)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def audit(page: str) -> Audit:
    found = Audit()
    found.feed(page)
    assert found.bad == [], found.bad
    assert len(found.styles) == 1, "one style element: the page's own"
    assert "url(" not in found.styles[0] and "@import" not in found.styles[0]
    return found


class RunWithOutputs(FakeRunner):
    """The fake run, also leaving the executed notebook a real run would: `outputs` per grade id
    (raw JSON, as hostile as wanted); `forge` may rewrite the whole file afterwards."""

    def __init__(self, scenario: Scenario, outputs: dict[str, list], forge=None):
        super().__init__(scenario)
        self.outputs = outputs
        self.forge = forge

    def execute(self, job):
        outcome = super().execute(job)
        nb = json.loads(nbformat.writes(job.notebook))
        for count, cell in enumerate(nb["cells"], 1):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell["cell_type"] == "code":
                cell["execution_count"] = count
                cell["outputs"] = copy.deepcopy(self.outputs.get(gid, []))
        if self.forge:
            nb = self.forge(nb)
        path = job.workdir / "executed.ipynb"
        path.write_text(json.dumps(nb))
        outcome.executed_path = path
        return outcome


@pytest.fixture
def toy(tmp_path):
    return load_assignment(make_toy(tmp_path)), tmp_path


def submit(tmp_path: Path, saved_outputs: bool = True, markdown: str = HOSTILE_MARKDOWN) -> Path:
    """The toy exercise answered, with outputs saved in the file (never to be shown) and a
    markdown cell of the student's own."""
    nb = nbformat.read(tmp_path / "exercises/toy/toy.ipynb", as_version=4)
    for cell in nb.cells:
        if nbf.grade_id(cell) == "toy_vars":
            cell.source = "import numpy as np\nW = np.zeros((3, 2))\nsteps = [1, 10, 100]"
            if saved_outputs:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="SAVED-BY-STUDENT\n")]
                cell.execution_count = 7
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown))
    path = tmp_path / "subs" / "toy.ipynb"
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return path


def hostile_outputs() -> list[dict]:
    png = base64.b64encode(PNG).decode()
    return [
        {"output_type": "stream", "name": "stdout", "text": "epoch 1\r\x1b[1mepoch 2\x1b[0m\rRAN-IN-SANDBOX <b>bold</b>\n"},
        {"output_type": "display_data", "data": {"text/html": "<script>alert('html')</script>", "text/plain": "HTML-TEXT"}},
        {"output_type": "display_data", "data": {"application/javascript": "alert('js')"}},
        {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}},
        {"output_type": "display_data", "data": {"image/svg+xml": SVG}},
        {"output_type": "display_data", "data": {"text/markdown": "<img src=x onerror=alert(6)>"}},
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}, "metadata": {"filenames": {"image/png": "/etc/passwd"}}},
        {"output_type": "display_data", "data": {"image/png": base64.b64encode(b"<svg onload=alert(1)>").decode()}},
        {"output_type": "display_data", "data": {"image/jpeg": base64.b64encode(JPEG).decode()}},
        {"output_type": "error", "ename": "ValueError", "evalue": "<img src=x onerror=alert(7)>", "traceback": ["\x1b[31mValueError\x1b[0m: <script>"]},
        {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "42"}, "metadata": {}},
        {"output_type": "made-up", "data": {}},
    ]  # fmt: skip


def grade_toy(toy, runner, lang="en", **options):
    assignment, tmp_path = toy
    out = tmp_path / "out"
    result = grade(submit(tmp_path), assignment, runner, out, GradeOptions(lang=lang, **options))
    report = html.write_submission(result, out / result.submission, lang)
    return result, report


# --- the page is safe --------------------------------------------------------------------------


def test_hostile_outputs_and_markdown_leave_nothing_that_runs_or_fetches(toy):
    runner = RunWithOutputs(Scenario(exports=GOOD), {"toy_vars": hostile_outputs()})
    result, report = grade_toy(toy, runner)
    page = (report.parent / "toy.feedback.html").read_text()
    found = audit(page)
    assert 'http-equiv="Content-Security-Policy" content="' + CSP + '"' in page
    # what a student controls shows as text, never as markup
    assert "&lt;script&gt;alert(&#39;md&#39;)&lt;/script&gt;" in page or "&lt;script&gt;alert('md')" in page
    assert "RAN-IN-SANDBOX &lt;b&gt;bold&lt;/b&gt;" in page and "epoch 2" not in page  # the \r redraw
    assert "HTML-TEXT" in page and "alert('html')" not in page and "alert('js')" not in page
    assert "Outputs of type" in page and "image/svg+xml" in page and "text/html" in page
    assert "application/vnd.jupyter.widget-view+json" in page and "made-up" in page
    assert page.count("data:image/png;base64,") == 1 and page.count("data:image/jpeg;base64,") == 1
    assert "1 image(s) not shown" in page  # the PNG that was not one
    assert "<img src=x" not in page and "ValueError</span>: &lt;script&gt;" in page  # the traceback, as text
    # the student's own fake box is no box: our classes and ids are the page's alone
    assert found.ids.count("dlg-part-toy_shapes") == 1
    assert page.count('class="dlg-box') == 2  # the two real parts


def test_sanitizer_allowlist_in_isolation():
    dirty = (
        '<p onclick="x()">a<a href="http://e/">l</a><a href="#sec">in</a><img src="data:image/svg+xml;base64,AA">'
        '<img src="data:image/png;base64,iVBO"><span class="dlg-note ok">s</span><h2 id="dlg-part-x">h</h2>'
        '<h2 id="Heading">ok</h2><td colspan="2;x">c</td><div class="banner">Full marks</div>'
        '<span class="badge pass">pass</span><span class="n">token</span></p>'
    )
    clean = notebook_html.sanitize(dirty)
    assert "banner" not in clean and "badge" not in clean and '<span class="n">' in clean  # no grader look
    assert "onclick" not in clean and 'href="http' not in clean and 'href="#sec"' in clean
    assert "svg+xml" not in clean and 'src="data:image/png;base64,iVBO"' in clean
    assert "dlg-" not in clean and 'id="Heading"' in clean and "colspan" not in clean


# --- what is shown: the run's outputs, never the file's -----------------------------------------


def test_outputs_come_from_the_run_never_from_the_file(toy):
    runner = RunWithOutputs(
        Scenario(exports=GOOD), {"toy_vars": [{"output_type": "stream", "name": "stdout", "text": "RUN-OUTPUT\n"}]}
    )
    _, report = grade_toy(toy, runner)
    page = (report.parent / "toy.feedback.html").read_text()
    assert "RUN-OUTPUT" in page and "SAVED-BY-STUDENT" not in page
    assert "did not run" not in page
    # the kept copy opens in Jupyter as the graded notebook, outputs of the run only
    kept = nbformat.read(report.parent / "toy.executed.ipynb", as_version=4)
    nbformat.validate(kept)
    assert "SAVED-BY-STUDENT" not in nbformat.writes(kept)


def test_without_an_executed_copy_the_code_shows_without_outputs_and_says_so(toy):
    _, report = grade_toy(toy, FakeRunner(Scenario(exports=GOOD)))  # the fake leaves no executed notebook
    page = (report.parent / "toy.feedback.html").read_text()
    audit(page)
    assert "The run left no executed copy of this notebook" in page
    assert "W = np.zeros" in page or 'np</span><span class="o">.</span><span class="n">zeros' in page
    assert "SAVED-BY-STUDENT" not in page and '<div class="output_area">' not in page


def test_a_cell_that_never_ran_shows_no_output_even_if_the_file_has_one(toy):
    """The kernel may rewrite the executed copy; a cell the record says never ran keeps none."""
    saved = [{"output_type": "stream", "name": "stdout", "text": "FORGED-LATER-CELL\n"}]
    runner = RunWithOutputs(Scenario(exports=GOOD, stop_at="toy_vars"), {"toy_train": saved})
    _, report = grade_toy(toy, runner)
    page = (report.parent / "toy.feedback.html").read_text()
    assert "FORGED-LATER-CELL" not in page
    assert "This cell did not run" in page and "This cell ran out of time" in page


def test_an_executed_copy_of_another_shape_is_not_believed(toy):
    forge = lambda nb: {**nb, "cells": nb["cells"][:2]}
    runner = RunWithOutputs(
        Scenario(exports=GOOD), {"toy_vars": [{"output_type": "stream", "name": "stdout", "text": "X\n"}]}, forge
    )
    _, report = grade_toy(toy, runner)
    assert "The run left no executed copy" in (report.parent / "toy.feedback.html").read_text()


def test_hidden_tests_stay_hidden(toy):
    """A locked cell that ran other code than released (hidden tests) shows its released source
    and no output: a failing assert's traceback would quote the hidden test."""
    assignment, tmp_path = toy
    spec = assignment.notebooks[0]
    injected = spec.release()
    for cell in injected.cells:
        if nbf.grade_id(cell) == "toy_train":
            cell.source += "\nassert acc > 0.99, 'HIDDEN-TEST'"
    executed = tmp_path / "executed.ipynb"
    nb = json.loads(nbformat.writes(injected))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [
                {
                    "output_type": "error",
                    "ename": "AssertionError",
                    "evalue": "HIDDEN-TEST",
                    "traceback": ["HIDDEN-TEST"],
                }
            ]
    executed.write_text(json.dumps(nb))
    kept = feedback.keep(spec, injected, executed, {"cells": []}, 10**6)
    text = json.dumps(kept)
    assert "HIDDEN-TEST" not in text.replace('"feedback.hidden_tests"', "")
    train = next(c for c in kept["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "toy_train")
    assert train["source"] == "acc = 0.9" and train["outputs"] == []
    assert {"key": "feedback.hidden_tests", "args": {}} in train["metadata"]["dlgrade"]["notes"]


# --- annotations, language, links --------------------------------------------------------------


def test_each_part_is_boxed_after_its_cells_with_points_and_messages_in_either_language(toy):
    exports = {**GOOD, "toy_shapes": {"W_shape": [2, 3], "steps": [1, 10, 100]}}
    runner = RunWithOutputs(
        Scenario(exports=exports), {"toy_vars": [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]}
    )
    result, report = grade_toy(toy, runner)
    page = (report.parent / "toy.feedback.html").read_text()
    main = page.split('<main id="dlg-notebook">')[1]
    # the shapes box follows the answer cell; the score box follows toy_train (its `after`)
    assert main.index("RAN") if "RAN" in main else True
    shapes, score = main.index('id="dlg-part-toy_shapes"'), main.index('id="dlg-part-toy_score"')
    assert main.index("acc") > shapes  # toy_train's code comes after the first box
    assert shapes < score
    assert "W has shape [2, 3], expected [3, 2]" in page and "6 / 8" in page
    assert "graded in: Shapes" in page
    ja = html.write_submission(result, report.parent, "ja")  # `dlgrade report --lang ja` renders again
    page_ja = (ja.parent / "toy.feedback.html").read_text()
    assert '<html lang="ja">' in page_ja and "形状" in page_ja and "採点されたノートブック" in page_ja
    assert "W の形状が [2, 3] になっています" in page_ja


def test_the_report_links_each_page_and_each_part(toy):
    runner = RunWithOutputs(Scenario(exports=GOOD), {})
    result, report = grade_toy(toy, runner)
    text = report.read_text()
    assert 'class="feedback-link" href="toy.feedback.html"' in text
    assert 'href="toy.feedback.html#dlg-part-toy_shapes"' in text
    audit_ids = audit((report.parent / "toy.feedback.html").read_text()).ids
    assert {"dlg-part-toy_shapes", "dlg-part-toy_score"} <= set(audit_ids)


def test_regrading_without_a_run_leaves_no_stale_page(toy):
    assignment, tmp_path = toy
    runner = RunWithOutputs(Scenario(exports=GOOD), {})
    result, report = grade_toy(toy, runner)
    assert (report.parent / "toy.feedback.html").exists()
    (tmp_path / "subs" / "toy.ipynb").write_text("not a notebook")
    again = grade(tmp_path / "subs" / "toy.ipynb", assignment, runner, tmp_path / "out", GradeOptions())
    report = html.write_submission(again, report.parent, "en")
    assert not (report.parent / "toy.feedback.html").exists() and not (report.parent / "toy.executed.ipynb").exists()
    assert "feedback-link" not in report.read_text()


def test_a_cached_grading_still_gets_its_page(toy):
    assignment, tmp_path = toy
    cache = ResultCache(tmp_path / "cache")
    outputs = {"toy_vars": [{"output_type": "stream", "name": "stdout", "text": "CACHED-RUN\n"}]}
    for out in ("first", "second"):
        runner = RunWithOutputs(Scenario(exports=GOOD), outputs)
        result = grade(submit(tmp_path), assignment, runner, tmp_path / out, GradeOptions(cache=cache))
        html.write_submission(result, tmp_path / out / result.submission, "en")
    assert result.timings["notebooks"]["toy.ipynb"].get("cached") and not runner.jobs
    assert "CACHED-RUN" in (tmp_path / "second" / "toy" / "toy.feedback.html").read_text()


def test_a_page_that_fails_costs_only_itself(toy, monkeypatch):
    runner = RunWithOutputs(Scenario(exports=GOOD), {})

    def broken(*args):
        raise RuntimeError("nbconvert broke")

    monkeypatch.setattr(notebook_html, "render", broken)
    result, report = grade_toy(toy, runner)
    assert report.exists() and "feedback-link" not in report.read_text()
    assert any("feedback page of toy.ipynb: RuntimeError" in p["message"] for p in result.problems)


def test_a_kept_copy_that_cannot_be_written_costs_the_page_not_the_grade(toy, monkeypatch):
    real = Path.write_bytes

    def full_disk(self, data):
        if self.name.endswith(".executed.ipynb"):
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    result, report = grade_toy(toy, RunWithOutputs(Scenario(exports=GOOD), {}))
    assert result.score == result.max_score == 8 and not result.problems
    assert not (report.parent / "toy.executed.ipynb").exists() and "feedback-link" not in report.read_text()


# --- size and time ------------------------------------------------------------------------------


def test_floods_are_cut_and_the_page_stays_within_its_budget(toy):
    big_png = PNG + b"\x00" * (2 * 1024 * 1024)
    flood = [
        {"output_type": "stream", "name": "stdout", "text": "".join(f"line {i}\n" for i in range(50_000))},
        {"output_type": "stream", "name": "stderr", "text": "\r".join(f"{i}%" for i in range(100_000))},
        {"output_type": "display_data", "data": {"image/png": base64.b64encode(big_png).decode()}},
        *[{"output_type": "display_data", "data": {"text/plain": "x" * 5000}} for _ in range(400)],
    ]
    runner = RunWithOutputs(Scenario(exports=GOOD), {"toy_vars": flood, "toy_setup": flood})
    started = time.monotonic()
    result, report = grade_toy(toy, runner, max_output_bytes=8 * 1024 * 1024)
    elapsed = time.monotonic() - started
    folder = report.parent
    share = 8 * 1024 * 1024 * feedback.FEEDBACK_SHARE
    assert (folder / "toy.executed.ipynb").stat().st_size <= share
    page = (folder / "toy.feedback.html").read_text()
    assert len(page.encode()) <= notebook_html.MAX_PAGES_BYTES
    assert "characters in its middle are not shown" in page and "more outputs of this cell are not shown" in page
    assert "the page reached its size limit" in page and "1 image(s) not shown" in page
    assert "line 0\n" in page and "line 49999" in page  # head and tail of the long stream
    assert elapsed < 10, elapsed


def test_code_that_renders_large_is_cut_at_the_page_limit_with_every_box_kept(toy, monkeypatch):
    """A highlighted token costs a span: short tokens make a page many times its notebook.
    Cells past the limit are not even rendered (nbconvert and the sanitizer take ~4 s a MiB)."""
    monkeypatch.setattr(notebook_html, "MAX_PAGES_BYTES", 256 * 1024)  # the same cut, sooner
    result, report = grade_toy(toy, RunWithOutputs(Scenario(exports=GOOD), {}))
    kept_file = report.parent / "toy.executed.ipynb"
    kept = json.loads(kept_file.read_text())
    dense = {"cell_type": "code", "source": "a;" * 25_000, "outputs": [], "execution_count": None}
    kept["cells"][1:1] = [{**dense, "id": f"dense-{i}", "metadata": {"dlgrade": {"notes": []}}} for i in range(12)]
    kept_file.write_text(json.dumps(kept))
    started = time.monotonic()
    report = html.write_submission(result, report.parent, "en")
    assert time.monotonic() - started < 3
    page = (report.parent / "toy.feedback.html").read_text()
    assert len(page.encode()) <= 256 * 1024
    assert "cells are not shown: the page reached its size limit" in page
    assert 'id="dlg-part-toy_shapes"' in page and 'id="dlg-part-toy_score"' in page  # boxed at the top
    audit(page)


def test_a_long_markdown_answer_shows_as_written_and_costs_no_time(toy):
    """nbconvert's Markdown renderer takes quadratic time on some text (50,000 "[": 30 s)."""
    assignment, tmp_path = toy
    path = submit(tmp_path, markdown="[" * 20_000 + "<script>alert(1)</script>")
    result = grade(path, assignment, RunWithOutputs(Scenario(exports=GOOD), {}), tmp_path / "out", GradeOptions())
    started = time.monotonic()
    report = html.write_submission(result, tmp_path / "out" / "toy", "en")
    assert time.monotonic() - started < 3
    page = (report.parent / "toy.feedback.html").read_text()
    assert "This Markdown is long, so it is shown as written" in page
    assert '<pre class="dlg-raw">[[[' in page and "&lt;script&gt;alert(1)" in page
    audit(page)


def test_invisible_characters_in_code_and_output_show_as_escapes(toy):
    """A right-to-left override makes code read other than it runs (Trojan Source)."""
    out = [{"output_type": "stream", "name": "stdout", "text": "evil\u202eoutput\n"}]
    runner = RunWithOutputs(Scenario(exports=GOOD), {"toy_vars": out})
    assignment, tmp_path = toy
    path = submit(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("access = 'user\u202e \u2066# admin'"))
    nbformat.write(nb, path)
    result = grade(path, assignment, runner, tmp_path / "out", GradeOptions())
    page = (html.write_submission(result, tmp_path / "out" / "toy", "en").parent / "toy.feedback.html").read_text()
    assert "\u202e" not in page and "\u2066" not in page
    assert "evil\\u202eoutput" in page and "\\u2066" in page


def test_terminal_text_as_jupyter_shows_it():
    assert terminal("10%\r50%\r100%\ndone") == "100%\ndone"
    assert terminal("abc\b\bX") == "aXc"
    assert terminal("long line\rab") == "abng line"
    assert terminal("\x1b[31mred\x1b[0m\x1b[2K\x1b]0;title\x07") == "\x1b[31mred\x1b[0m"
    started = time.monotonic()
    terminal("x" * 300_000 + "\r" * 300_000)  # quadratic, these would take minutes
    terminal("\r".join(["y"] * 300_000))
    terminal("ab\b" * 150_000)
    assert time.monotonic() - started < 2  # linear: a redraw costs its own length


def test_outputs_share_one_budget():
    budget = Budget(100)
    kept, notes = outputs_of({"outputs": [{"output_type": "stream", "name": "stdout", "text": "a" * 80}] * 3}, budget)
    # consecutive writes are one stream, as Jupyter shows them: 240 characters do not fit in 100
    assert kept == [] and notes == [{"key": "feedback.over_budget", "args": {"count": 1}}]
    kept, _ = outputs_of({"outputs": [{"output_type": "stream", "name": "stdout", "text": "b" * 80}]}, Budget(100))
    assert kept[0]["text"] == "b" * 80


# --- a real graded class (slow) ----------------------------------------------------------------


@pytest.mark.slow
def test_the_real_class_gets_safe_linked_pages():
    from classroom import graded_class

    graded = graded_class()
    pages = sorted(graded.outdir.glob("*/*.feedback.html"))
    assert pages, "no feedback page in the graded class"
    for page in pages:
        report = (page.parent / "report.html").read_text()
        assert f'href="{page.name}"' in report, page
        text = page.read_text()
        audit(text)
        result = json.loads((page.parent / "result.json").read_text())
        stem = page.name.removesuffix(".feedback.html")
        for part in result["parts"]:
            if part["notebook"] == f"{stem}.ipynb":
                assert f'id="dlg-part-{part["id"]}"' in text, (page, part["id"])
