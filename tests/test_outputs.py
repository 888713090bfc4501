"""What a class writes is the class's, whatever a student named or wrote: output folders never
collide with each other or with the class files, no file name is ever an option, and every
machine format escapes for its reader (spreadsheet, Markdown renderer, XML parser, terminal).
Fast: a fake runner and hand-made Results, no TensorFlow."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fakes import FakeRunner, Scenario
from markdown_it import MarkdownIt
from toy import make_toy

from grader import reporters
from grader.assignment.spec import load_assignment
from grader.cli import main as cli
from grader.pipeline.grading import GradeOptions
from grader.pipeline.scheduler import NAME_BYTES, grade_class, unique_names
from grader.reporters import csv_report, gradescope, junit, markdown
from grader.reporters.progress import Progress
from grader.reporters.text import visible
from grader.results import CheckResult, PartResult, Result, Status

GOOD = {"toy_shapes": {"W_shape": [3, 2], "steps": [1, 10, 100]}, "toy_score": {"acc": 0.9}}
CLASS_FILES = ("index.html", "grades.csv", "summary.md", "junit.xml")
ESC = "\x1b"
# What students write where a reporter shows it: terminal escapes (CSI, OSC 8 hyperlink, a C1
# CSI), bidi overrides, formulas, Markdown links, images, autolinks, HTML, table breaks, XML's
# forbidden characters and a lone surrogate (a notebook's JSON may carry "\udc80").
HOSTILE = [
    "\x1b[2J\x1b[31mred",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\x9b31m",
    "abc\u202egnp.exe",
    '=HYPERLINK("https://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    "\uff1d1+1",
    "[click](https://evil.example)",
    "![img](https://evil.example/x.png)",
    "<img src=x onerror=alert(1)>",
    "https://evil.example/a www.evil.example",
    "a | b\n\n# heading",
    "nul\x00bell\x07ff\x0c",
    "lone \udc80 surrogate",
    "\ufffe\uffff",
    "* item",
    "1. item",
    "> quote",
    "`code`",
    "<details>",
    "&amp;",
    "山田太郎の答え",
]


# --- output names (5) --------------------------------------------------------------------------
def _tree(root: Path, entries: list[str]) -> list[Path]:
    """Folders (and files, for names ending in .ipynb) under root."""
    paths = []
    for entry in entries:
        path = root / entry
        if entry.endswith(".ipynb"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
        else:
            path.mkdir(parents=True, exist_ok=True)
        paths.append(path)
    return paths


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def test_output_names_never_collide_nor_take_a_class_file_and_are_safe(tmp_path):
    entries = [
        "bob",
        "bob.ipynb",
        "Bob.ipynb",
        "BOB",
        "index.html",
        "INDEX.HTML",
        "grades.csv.ipynb",
        "summary.md",
        "junit.xml",
        ".cache",
        "_class",
        "--no-sandbox",
        "-h",
        "..ipynb",
        "...",
        "a/hw.ipynb",
        "b/hw.ipynb",
        "x\x1b[31my",
        "abc\u202egnp",
        "cafe\u0301",
        "caf\u00e9",
        "山田太郎",
        "山田太郎.ipynb",
        "あ" * 80,
        "e" * 250,
        "tab\there",
        "zero\u200bwidth",
        'q?*:<>|"\\',
    ]
    paths = _tree(tmp_path / "class", entries)
    names = unique_names(paths)
    assert set(names) == set(paths)
    keys = [_key(n) for n in names.values()]
    assert len(set(keys)) == len(keys), names  # not even on a case-insensitive file system
    assert not set(keys) & {_key(n) for n in reporters.CLASS_FILES}
    for name in names.values():
        assert name and name == Path(name).name and name not in (".", "..") and "\\" not in name
        assert not name.startswith((".", "-")) and not name.endswith((".", " "))
        assert visible(name) == name  # no control, format or bidi character
        assert len(name.encode()) <= NAME_BYTES
    by_entry = {p.relative_to(tmp_path / "class").as_posix(): n for p, n in names.items()}
    assert by_entry["bob"] != by_entry["bob.ipynb"]
    assert by_entry["山田太郎"] == "山田太郎"  # Unicode is kept
    assert by_entry["a/hw.ipynb"] == "a-hw" and by_entry["b/hw.ipynb"] == "b-hw"
    assert by_entry["--no-sandbox"] == "_--no-sandbox"
    assert unique_names(list(reversed(paths))) == names  # the same class gets the same names


def test_a_name_that_is_not_utf8_becomes_a_name_that_is(tmp_path):
    os.mkdir(os.fsencode(tmp_path) + b"/bad\xff\xfename")  # a zip from another locale
    [path] = list(tmp_path.iterdir())
    name = unique_names([path])[path]
    assert name == "bad__name" and name.encode("utf-8")


def test_a_folder_keeps_its_name_beside_a_notebook_of_that_name(tmp_path):
    folder, notebook = _tree(tmp_path, ["bob", "bob.ipynb"])
    assert unique_names([notebook, folder]) == {folder: "bob", notebook: "bob.ipynb"}


@pytest.fixture
def toy_class(tmp_path):
    """A class of honest toy notebooks in hostile places: folders named like the class files,
    like options, with terminal escapes, formulas and Markdown links, and bob.ipynb beside bob/."""
    sol = make_toy(tmp_path)
    notebook = (tmp_path / "exercises/toy/toy.ipynb").read_bytes()
    root = tmp_path / "class"
    folders = [
        "index.html",
        "grades.csv",
        "summary.md",
        "junit.xml",
        "--no-sandbox",
        "bob",
        "x\x1b[31mred",
        '=HYPERLINK("evil.example","x")',
        "[click](javascript:alert(1))",
        "山田",
    ]
    subs = []
    for name in folders:
        (root / name).mkdir(parents=True)
        (root / name / "toy.ipynb").write_bytes(notebook)
        subs.append(root / name)
    (root / "bob.ipynb").write_bytes(notebook)
    subs.append(root / "bob.ipynb")
    return load_assignment(sol), subs, tmp_path / "out"


def _grade_and_write(assignment, subs, outdir, jobs=4) -> tuple[list[Result], FakeRunner]:
    """What `dlgrade grade` does: each result written as it comes, then the class files."""
    runner = FakeRunner(Scenario(exports=GOOD))
    formats = list(reporters.REPORTERS)
    results = grade_class(
        subs,
        assignment,
        runner,
        outdir,
        GradeOptions(),
        jobs=jobs,
        on_done=lambda r, *_: reporters.write_submission(r, outdir, formats, "en"),
    )
    reporters.write_class(results, outdir, formats, "en", 0.6)
    return results, runner


def _assert_class_files_parse(outdir: Path, results: list[Result]) -> None:
    for name in CLASS_FILES:
        assert (outdir / name).is_file(), name
    assert "<html" in (outdir / "index.html").read_text()
    rows = list(csv.DictReader(io.StringIO((outdir / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(results)
    suites = ET.parse(outdir / "junit.xml").getroot().findall("testsuite")
    assert len(suites) == len(results)
    assert MarkdownIt("gfm-like").parse((outdir / "summary.md").read_text())


def test_a_class_of_hostile_names_writes_every_file_and_every_honest_mark(toy_class):
    assignment, subs, outdir = toy_class
    results, runner = _grade_and_write(assignment, subs, outdir)
    assert [r.score for r in results] == [r.max_score for r in results] == [8] * len(subs)
    assert all(not r.problems for r in results), [r.problems for r in results]
    _assert_class_files_parse(outdir, results)
    names = [r.submission for r in results]
    assert len({_key(n) for n in names}) == len(names)
    workdirs = [job.workdir for job in runner.jobs]
    assert len(set(workdirs)) == len(subs)  # bob/ and bob.ipynb never share a work folder
    for r in results:  # every submission's own record in its own folder
        assert json.loads((outdir / r.submission / "result.json").read_text())["submission"] == r.submission
    assert {p.name for p in outdir.iterdir()} == {*names, *CLASS_FILES}


def test_a_failing_format_costs_only_that_file(toy_class, monkeypatch):
    assignment, subs, outdir = toy_class

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(gradescope, "write_submission", broken)
    monkeypatch.setattr(junit, "write_class", broken)
    formats = list(reporters.REPORTERS)
    results = grade_class(
        subs[:3],
        assignment,
        FakeRunner(Scenario(exports=GOOD)),
        outdir,
        GradeOptions(),
        on_done=lambda r, *_: reporters.write_submission(r, outdir, formats, "en"),
    )
    for r in results:
        assert [p["kind"] for p in r.problems] == ["report"] and "gradescope" in r.problems[0]["message"]
        assert (outdir / r.submission / "report.html").is_file()
    with pytest.raises(reporters.ReportsIncomplete, match="junit: OSError: disk full") as failed:
        reporters.write_class(results, outdir, formats, "en")
    assert sorted(p.name for p in failed.value.written) == ["grades.csv", "index.html", "summary.md"]


def test_a_path_given_twice_is_graded_once(toy_class):
    assignment, subs, outdir = toy_class
    runner = FakeRunner(Scenario(exports=GOOD))
    assert len(grade_class([subs[0], subs[0]], assignment, runner, outdir, GradeOptions(), jobs=2)) == 1
    assert len(runner.jobs) == 1  # never twice at once in one work folder


def test_a_callback_that_fails_costs_only_its_result(toy_class):
    assignment, subs, outdir = toy_class

    def on_done(result, *_):
        if result.submission == "bob":
            raise RuntimeError("boom")

    results = grade_class(subs, assignment, FakeRunner(Scenario(exports=GOOD)), outdir, GradeOptions(), on_done=on_done)
    assert len(results) == len(subs)
    assert [r.submission for r in results if r.problems] == ["bob"]


def test_report_writes_into_the_folder_each_record_came_from_and_skips_a_broken_one(tmp_path, capsys):
    good = Result(submission="somebody-else", assignment="a")
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "result.json").write_text(json.dumps(good.to_dict()))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "result.json").write_text("{not json")
    assert cli.main(["report", str(tmp_path), "--format", "all"]) == 2  # all but the broken record
    assert (tmp_path / "alice" / "report.html").is_file() and not (tmp_path / "somebody-else").exists()
    assert "skipped" in capsys.readouterr().err
    for name in CLASS_FILES:
        assert (tmp_path / name).is_file()


# --- file names are not options (6) ------------------------------------------------------------
BASE = {  # each subcommand with its required arguments (spelled with =: a file --out exists in the test)
    "grade": ["x.ipynb", "--assignment=a", "--out=o"],
    "report": ["o"],
    "check": ["x.ipynb"],
    "release": ["s"],
    "calibrate": ["s"],
    "data": ["info"],
    "demo": [],
    "lint": ["s"],
    "import-nbgrader": ["s"],
    "roster": ["import", "r.csv"],
    "collect": ["x.zip", "--assignment=a"],
    "export": ["--lms=csv"],
    "publish": ["a"],
    "rescore": ["a"],
    "serve": [],
    "override": ["s", "a", "p/c", "1"],
}


def _subparsers(parser) -> dict:
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)


def _all_parsers(parser) -> list:
    """The parser and every subcommand's, nested ones (`roster import`) included."""
    found = [parser]
    if any(a.__class__.__name__ == "_SubParsersAction" for a in parser._actions):
        for sub in _subparsers(parser).values():
            found += _all_parsers(sub)
    return found


def _spellings(parser) -> set[str]:
    """Every option string of every subcommand, with a value attached and abbreviated."""
    names = set()
    for sub in _all_parsers(parser):
        for action in sub._actions:
            for opt in action.option_strings:
                names |= {opt, f"{opt}=1", f"{opt}=ja", *(opt[:k] for k in range(3, len(opt)))}
    return names


def test_every_subcommand_is_known_here():
    assert set(_subparsers(cli.build_parser())) == set(BASE)


def test_no_file_name_changes_an_option_of_any_subcommand(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    parser = cli.build_parser()
    names = _spellings(parser)
    assert {"--no-sandbox", "--no-s", "--jobs=1", "--out=1", "-h", "--format=ja", "--lang=ja"} <= names
    for name in names:
        (tmp_path / name).mkdir()
    for command, base in BASE.items():
        expected = vars(parser.parse_args(cli.paths_not_options([command, *base])))
        for name in sorted(names):
            argv = cli.paths_not_options([command, *base, name])
            assert name not in argv and os.path.join(".", name) in argv
            try:
                got = vars(parser.parse_args(argv))
            except SystemExit as exc:  # an extra path this command does not take: refused, nothing run
                assert exc.code == 2, (command, name)
                continue
            if command == "grade":
                assert got.pop("submissions") == ["x.ipynb", os.path.join(".", name)]
                expected.pop("submissions", None)
            if command == "lint":
                assert got.pop("assignments") == ["s", os.path.join(".", name)]
                expected.pop("assignments", None)
            assert got == expected, (command, name)
    err = capsys.readouterr().err
    assert "is the name of a file here" in err and "./--no-sandbox" in err


def test_a_glob_in_a_folder_holding_no_sandbox_grades_it_as_a_submission(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path, ["--no-sandbox", "alice.ipynb"])
    argv = ["grade", *sorted(os.listdir(tmp_path)), "--assignment", "a", "--out", "o"]  # `dlgrade grade *`
    args = cli.build_parser().parse_args(cli.paths_not_options(argv))
    assert args.no_sandbox is False and args.submissions == ["./--no-sandbox", "alice.ipynb"]
    # a file named -- is a path too, not the end of the options
    (tmp_path / "--").mkdir()
    args = cli.build_parser().parse_args(
        cli.paths_not_options(["grade", "--", "alice.ipynb", "--assignment", "a", "--out", "o"])
    )
    assert args.submissions == ["./--", "alice.ipynb"] and args.out == "o"


def test_options_are_never_abbreviated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["grade", "x", "--assignment", "a", "--out", "o", "--no-s"],
        ["check", "x", "--no-sand"],
        ["grade", "x", "--assign", "a", "--out", "o"],
    ):
        with pytest.raises(SystemExit) as exc:
            cli.build_parser().parse_args(argv)
        assert exc.value.code == 2


def test_grading_a_class_without_a_sandbox_needs_the_environment_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ran = []
    monkeypatch.setattr(cli, "cmd_grade", lambda args: ran.append(args.no_sandbox) or 0)
    monkeypatch.setattr(cli, "cmd_check", lambda args: ran.append(("check", args.no_sandbox)) or 0)
    monkeypatch.delenv(cli.NO_SANDBOX_ENV, raising=False)
    argv = ["grade", "x.ipynb", "--assignment", "a", "--out", "o", "--no-sandbox"]
    assert cli.main(argv) == 2 and ran == []
    assert f"{cli.NO_SANDBOX_ENV}=1" in capsys.readouterr().err
    monkeypatch.setenv(cli.NO_SANDBOX_ENV, "yes")
    assert cli.main(argv) == 2 and ran == []
    monkeypatch.setenv(cli.NO_SANDBOX_ENV, "1")
    assert cli.main(argv) == 0 and ran == [True]
    monkeypatch.delenv(cli.NO_SANDBOX_ENV)
    assert cli.main(["check", "x.ipynb", "--no-sandbox"]) == 0 and ran[-1] == ("check", True)  # a student's own machine
    assert cli.main(argv[:-1]) == 0 and ran[-1] is False


# --- machine formats escape what students wrote (7) --------------------------------------------
def hostile_results() -> list[Result]:
    """One Result per hostile string, the string everywhere a student's text can reach."""
    results = []
    for i, text in enumerate(HOSTILE):
        args = {"cell": text, "ename": "ValueError", "evalue": text}
        checks = [
            CheckResult(text, Status.FAIL, -1.5, 2.0, message=text, expected=text, got=text, hint=text),
            CheckResult("raised", Status.ERROR, 0.0, 1.0, message_key="cell_raised", message_args=args),
            CheckResult("review", Status.NEEDS_REVIEW, 0.0, 1.0, message=text, got=text),
            CheckResult("old api", Status.PASS, 0.0, 0.0, message=text, hint=text, kind="legacy-api"),
        ]
        part = PartResult.from_checks(f"p{i % 2}", text, checks, stopped=text, notebook=text)
        results.append(
            Result(
                submission=text,
                assignment=text,
                parts=[part],
                problems=[{"kind": text, "message": text}],
                notebooks=[{"name": text}],
            )
        )
    return results


FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def test_csv_cells_are_never_formulas_and_numbers_stay_numbers(tmp_path):
    path = csv_report.write_class(hostile_results(), tmp_path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header, body = rows[0], rows[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA) or re.fullmatch(r"-\d+(\.\d+)?", cell), cell
            assert ESC not in cell and "\x00" not in cell
    assert [row[header.index("p0")] for row in body][0] == "-1.5"  # a score column keeps its number
    assert body[HOSTILE.index('=HYPERLINK("https://evil.example","x")')][0].startswith("'=HYPERLINK")
    assert '"' + "'" + "=HYPERLINK" in path.read_text(encoding="utf-8-sig")  # every cell quoted
    assert body[HOSTILE.index("山田太郎の答え")][0] == "山田太郎の答え"


def _tokens(text: str):
    for token in MarkdownIt("gfm-like").parse(text):
        yield token
        yield from token.children or ()


def test_summary_shows_students_text_as_written_never_as_links_images_or_html(tmp_path):
    results = hostile_results()
    text = markdown.write_class(results, tmp_path, "en", pass_mark=0.6).read_text(encoding="utf-8")
    assert ESC not in text and "\x00" not in text and "\u202e" not in text
    tokens = list(_tokens(text))
    assert not [t for t in tokens if t.type in ("link_open", "image", "html_inline")], "a student's link/image/HTML"
    blocks = [t.content.strip() for t in tokens if t.type == "html_block"]
    for block in blocks:  # only the summary's own <details> blocks, with nothing of a student's inside
        stripped = block.replace("<details open>", "").replace("<details>", "").replace("</details>", "")
        stripped = stripped.replace("<summary>", "").replace("</summary>", "")
        assert "<" not in stripped, block
    rows = [t for t in tokens if t.type == "tr_open"]
    # the class table (header + one row per student) and each student's table (header + 3 checks):
    # no student's text breaks a row or adds one
    assert len(rows) == (1 + len(results)) + len(results) * (1 + 3)
    assert not [
        t
        for t in tokens
        if t.type in ("heading_open", "blockquote_open", "bullet_list_open", "ordered_list_open")
        and any(h in (t.content or "") for h in HOSTILE)
    ]
    headings = [t for t in tokens if t.type == "heading_open"]
    assert len(headings) == 1  # the summary's own title


def test_junit_is_valid_xml_whatever_a_student_wrote(tmp_path):
    import xmlschema

    path = junit.write_class(hostile_results(), tmp_path, "en")
    xmlschema.XMLSchema10(Path(__file__).parent / "data" / "junit-10.xsd").validate(str(path))
    data = path.read_bytes()
    root = ET.fromstring(data)
    assert len(root.findall("testsuite")) == len(HOSTILE)
    names = [s.get("name") for s in root.findall("testsuite")]
    assert "\\x1b[2J\\x1b[31mred" in names and "abc\\u202egnp.exe" in names and "山田太郎の答え" in names
    assert ESC.encode() not in data and b"\x00" not in data


def test_gradescope_output_is_plain_text_without_control_characters():
    for result in hostile_results():
        doc = json.loads(json.dumps(gradescope.render(result, "en")))
        assert doc["output_format"] == doc["test_output_format"] == doc["test_name_format"] == "text"
        texts = [doc["output"], *(t["name"] for t in doc["tests"]), *(t["output"] for t in doc["tests"])]
        for text in texts:
            assert visible(text, keep="\n") == text


def test_every_per_submission_file_is_written_for_a_lone_surrogate(tmp_path):
    [result] = [r for r in hostile_results() if "\udc80" in r.submission]
    result.submission, before = "surrogate", list(result.problems)
    written = reporters.write_submission(result, tmp_path, list(reporters.REPORTERS), "en")
    assert result.problems == before and len(written) == 3
    assert json.loads((tmp_path / "surrogate" / "result.json").read_text())["assignment"] == "lone \udc80 surrogate"


def test_console_lines_carry_no_terminal_escape(tmp_path):
    results = hostile_results()
    out = io.StringIO()
    with Progress([r.submission for r in results], jobs=2, stream=out) as progress:
        for n, r in enumerate(results, 1):
            progress(r, n, len(results), 1.0)
    text = out.getvalue()
    assert ESC not in text and "\x9b" not in text and "\u202e" not in text and "\\x1b[2J" in text


def test_grade_prints_no_terminal_escape(toy_class, monkeypatch, capsys):
    assignment, subs, outdir = toy_class
    monkeypatch.setattr(cli, "_sandbox", lambda *a: type("S", (), {"name": "fake"})())
    monkeypatch.setattr("grader.pipeline.grading.require_data", lambda: None)
    monkeypatch.setattr("grader.assignment.spec.load_assignment", lambda path: assignment)
    monkeypatch.setattr("grader.pipeline.execution.SandboxedRunner", lambda sandbox: FakeRunner(Scenario(exports=GOOD)))
    status = cli.main(["grade", *map(str, subs), "--assignment", "a", "--out", str(outdir), "--ci", "--format", "all"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    for stream in (captured.out, captured.err):
        assert ESC not in stream
    assert "x\\x1b[31mred" not in captured.out and "x_[31mred: 8/8" in captured.out
    _assert_class_files_parse(outdir, [None] * len(subs))


def test_hostile_notebook_cell_text_cannot_reach_a_terminal_through_check(tmp_path, monkeypatch, capsys):
    class Outcome:
        result = Result("alice", "a")  # nothing failed: exit 0

        def summary(self):
            return "alice: 1/2\n  - W: got \x1b[2Jcleared\u202e"

    monkeypatch.setattr("grader.cli.selfcheck.run_check", lambda *a, **k: Outcome())
    assert cli.main(["check", "x.ipynb"]) == 0
    out = capsys.readouterr().out
    assert ESC not in out and "\u202e" not in out and "alice: 1/2\n" in out


def test_html_pages_show_control_and_bidi_characters_as_escapes(tmp_path):
    from grader.reporters import html

    results = hostile_results()
    pages = [html.write_class(results, tmp_path, "en").read_text()]
    for r in results[:3]:
        pages.append(html.write_submission(r, tmp_path / "s", "en").read_text())
    for page in pages:
        assert ESC not in page and "\u202e" not in page and "\x00" not in page
    assert "\\x1b[2J" in pages[0]


def test_a_cluster_grades_into_the_same_names(tmp_path, monkeypatch):
    import sys
    import types

    from grader.pipeline import scheduler

    class Future:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

    class Client:
        def __init__(self, address):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args, pure=True):
            return Future(fn(*args))

    fake = types.ModuleType("distributed")
    fake.Client, fake.as_completed = Client, lambda futures: list(futures)
    monkeypatch.setitem(sys.modules, "distributed", fake)
    seen = []

    def grade_remote(
        submission, assignment_dir, outdir, lang, seed, no_sandbox, name=None, keep_work=False, keep_scoring=False
    ):
        seen.append(name)
        return Result(submission=name or Path(submission).stem, assignment="a").to_dict()

    monkeypatch.setattr(scheduler, "grade_remote", grade_remote)
    subs = _tree(tmp_path / "class", ["bob", "bob.ipynb", "index.html", "--no-sandbox"])
    results = scheduler.grade_on_cluster("tcp://x:1", subs, tmp_path, tmp_path / "out")
    assert seen == [unique_names(subs)[p] for p in subs] == [r.submission for r in results]
    assert sorted(seen) == ["_--no-sandbox", "bob", "bob.ipynb", "class-index.html"]
