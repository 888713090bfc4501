"""The command line: grade with every format and CI mode, re-render in another language, and a
student's self-check."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from classroom import REPO, SECRET, graded_class, one_layer_assignment, sample_results

from grader.assignment.spec import load_assignment
from grader.checks import Shape
from grader.cli import exits
from grader.cli import main as cli
from grader.cli.selfcheck import find_assignment, public_only
from grader.errors import GraderBug
from grader.reporters import json_report
from grader.results import CheckResult, PartResult, Result, Status

EXERCISE = REPO / "exercises" / "mnist_tf" / "mnist_1layer.ipynb"


def run_cli(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grader.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "DLGRADE_LANG": "en", "PYTHONPATH": str(REPO), **(env or {})},
        timeout=900,
    )


def test_unknown_format_is_refused_before_grading(tmp_path):
    proc = run_cli(
        "grade", str(EXERCISE), "--assignment", "solutions/mnist_tf", "--out", str(tmp_path), "--format", "html,pdf"
    )
    assert proc.returncode != 0 and "unknown format(s) pdf" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_report_re_renders_a_class_in_japanese(tmp_path, capsys):
    results = sample_results()
    for r in results:
        json_report.write_submission(r, tmp_path / r.submission)
    before = (tmp_path / "bob" / "result.json").read_text()
    assert cli.main(["report", str(tmp_path), "--lang", "ja", "--format", "all", "--pass-mark", "0.6"]) == 0
    page = (tmp_path / "bob" / "report.html").read_text()
    assert "b の形状が [1] になっています" in page and SECRET not in page
    assert "形状" in page and "クラスごとにバイアスは 1 つです" in page  # title and hint written in both languages
    assert "合格ライン: 60%" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "bob" / "result.json").read_text() == before  # the source record is not rewritten
    assert "5 submissions re-rendered in ja" in capsys.readouterr().out


def test_report_needs_a_graded_class(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == exits.CANNOT
    assert "no */result.json" in capsys.readouterr().err


def test_grader_package_import_stays_cheap_and_check_is_lazy():
    code = (
        "import sys, grader; assert 'grader.cli.selfcheck' not in sys.modules and 'jinja2' not in sys.modules;"
        "from grader import check; assert callable(check); print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_find_assignment_from_graded_cells(tmp_path):
    renamed = tmp_path / "my work.ipynb"
    renamed.write_bytes(EXERCISE.read_bytes())
    folder, notebook = find_assignment(renamed)
    assert folder == REPO / "solutions" / "mnist_tf" and notebook == "mnist_1layer.ipynb"
    stranger = tmp_path / "other.ipynb"
    stranger.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    with pytest.raises(ValueError, match="no assignment"):
        find_assignment(stranger)


def test_public_only_removes_hidden_checks_and_other_parts():
    assignment = load_assignment(REPO / "solutions" / "mnist_tf")
    first = assignment.notebook("mnist_1layer.ipynb").parts[0]
    first.checks.append(Shape("secret", 1, expected=[3], hidden=True))
    public = public_only(assignment, "mnist_1layer.ipynb")
    assert [n.name for n in public.notebooks] == ["mnist_1layer.ipynb"]
    assert all(not c.hidden for p in public.parts for c in p.checks)
    assert "secret" not in [c.name for c in public.parts[0].checks]
    only = public_only(assignment, "mnist_1layer.ipynb", part=first.id)
    assert [p.id for p in only.parts] == [first.id]
    with pytest.raises(ValueError, match="nothing public"):
        public_only(assignment, part="no-such-part")


def test_check_in_a_notebook_finds_its_file(tmp_path, monkeypatch):
    from grader.cli.selfcheck import _notebook_in_kernel

    for var in ("DLGRADE_NOTEBOOK", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scratch.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    mine = tmp_path / "renamed.ipynb"
    mine.write_bytes(EXERCISE.read_bytes())
    assert _notebook_in_kernel() == mine  # the notebook of a known assignment, not the scratch one
    monkeypatch.setenv("DLGRADE_NOTEBOOK", str(tmp_path / "scratch.ipynb"))
    assert _notebook_in_kernel() == tmp_path / "scratch.ipynb"


def test_check_does_nothing_while_the_grader_runs_the_notebook(tmp_path, monkeypatch, capsys):
    from grader import check
    from grader.pipeline.execution import base_env

    assert base_env(tmp_path, None)["DLGRADE_GRADING"] == "1"  # what every graded kernel gets
    monkeypatch.setenv("DLGRADE_GRADING", "1")
    monkeypatch.chdir(tmp_path)  # no notebook here: a real check would raise
    assert check("mnist1_shapes", lang="en") is None
    assert "check() does nothing while the notebook is being graded" in capsys.readouterr().out


@pytest.mark.slow
def test_grade_ci_writes_every_format_and_fails_under_the_pass_mark():
    graded = graded_class()
    out = graded.outdir
    assert graded.returncode == 1, graded.stderr  # carol, dave, eve, frank are under 50 %
    assert "under the pass mark: carol" in graded.stderr
    assert "6 graded" in graded.stdout
    for name in ("index.html", "junit.xml", "grades.csv", "summary.md"):
        assert (out / name).is_file(), name
    for student in ("alice", "bob", "carol", "dave", "eve", "frank"):
        for name in ("report.html", "result.json", "gradescope.json"):
            assert (out / student / name).is_file(), (student, name)
    suites = {s.get("name"): s for s in ET.parse(out / "junit.xml").getroot().findall("testsuite")}
    assert set(suites) == {"alice", "bob", "carol", "dave", "eve", "frank"}
    assert suites["bob"].find("testcase[@classname='bob.mnist1_shapes'][@name='b']/failure") is not None
    assert suites["dave"].find("testcase[@classname='dave.mnist1_shapes'][@name='W']/error") is not None
    assert all(not json.loads((out / s / "result.json").read_text())["problems"] for s in suites)
    rows = {r["submission"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig"))}
    assert rows["alice"]["mnist1_shapes"] == "4" and rows["alice"]["mnist1_accuracy"] == "6"
    assert rows["bob"]["mnist1_shapes"] == "3" and rows["carol"]["total"] == "0"
    gs = json.loads((out / "bob" / "gradescope.json").read_text())
    assert gs["score"] == json.loads((out / "bob" / "result.json").read_text())["score"]
    eve = json.loads((out / "eve" / "result.json").read_text())
    assert [n["status"] for n in eve["notebooks"]] == ["invalid"]
    frank = json.loads((out / "frank" / "result.json").read_text())
    assert {c["message_key"] for p in frank["parts"] for c in p["checks"]} == {"nb.wrong_exercise"}
    summary = graded.step_summary.read_text()
    assert summary == (out / "summary.md").read_text() + "\n" and "| alice |" in summary


@pytest.mark.slow
def test_self_check_of_a_released_notebook(tmp_path):
    assignment = one_layer_assignment(tmp_path / "course")
    notebook = tmp_path / "mnist_1layer.ipynb"
    notebook.write_bytes(EXERCISE.read_bytes())
    proc = run_cli(
        "check",
        str(notebook),
        "--part",
        "mnist1_shapes",
        cwd=tmp_path,
        env={"DLGRADE_SOLUTIONS": str(assignment.parent)},
    )
    assert proc.returncode == exits.FOUND, proc.stderr  # the released notebook fails its public checks
    assert "public checks only" in proc.stdout
    assert "not implemented" in proc.stdout and "Trained model's accuracy" not in proc.stdout
    report = tmp_path / "dlgrade-check" / "mnist_1layer" / "report.html"
    assert f"report: {report}" in proc.stdout and report.is_file()
    result = json_report.read(report.with_name("result.json"))
    assert [p.id for p in result.parts] == ["mnist1_shapes"]
    unsandboxed = run_cli(
        "check", str(notebook), "--part", "mnist1_shapes", "--no-sandbox", "--assignment", str(assignment), cwd=tmp_path
    )
    assert "WITHOUT a sandbox" in unsandboxed.stdout
    assert 'id="no-sandbox"' in report.read_text()


@pytest.mark.slow
def test_check_inside_a_live_kernel_grades_the_saved_notebook_without_recursing(tmp_path, monkeypatch):
    """A student's Jupyter kernel runs `check()`: it grades the file on disk, and the same call
    in that file, run again by the grader, only says it does nothing."""
    import nbformat
    from nbclient import NotebookClient

    assignment = one_layer_assignment(tmp_path / "course")
    notebook = nbformat.read(assignment / "mnist_1layer.ipynb", as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell('from grader import check\nprint(check("mnist1_shapes", lang="en", keep_work=True))')
    )
    path = tmp_path / "student" / "mnist_1layer.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    for var, value in {
        "DLGRADE_NOTEBOOK": str(path),
        "DLGRADE_SOLUTIONS": str(assignment.parent),
        "PYTHONPATH": str(REPO),
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("DLGRADE_GRADING", raising=False)
    live = nbformat.read(path, as_version=4)
    NotebookClient(
        live, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    printed = "".join(o.get("text", "") for o in live.cells[-1].outputs)
    assert "public checks only" in printed
    assert "4/4 (100%" in printed, printed
    result = json_report.read(path.parent / "dlgrade-check" / "mnist_1layer" / "result.json")
    assert [p.id for p in result.parts] == ["mnist1_shapes"] and result.score == result.max_score
    graded = next((path.parent / "dlgrade-check" / "mnist_1layer").rglob("executed.ipynb"))
    assert "check() does nothing while the notebook is being graded" in graded.read_text()


@pytest.mark.slow
def test_the_demo_grades_the_sample_class_into_a_relative_folder(tmp_path):
    """What the README's demo command runs: `dlgrade demo --out reports`, from another folder."""
    proc = run_cli("demo", "--out", "reports", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    scores = {
        s: json.loads((tmp_path / "reports" / s / "result.json").read_text())["score"]
        for s in ("alice", "bob", "carol", "dave")
    }
    assert scores["alice"] == 10 and scores["bob"] < 10, scores
    assert (tmp_path / "reports" / "index.html").is_file()


# --- exit codes and --version ------------------------------------------------------------------


def _result(name: str, *statuses: Status, problems=(), score_each: float = 1.0) -> Result:
    checks = [
        CheckResult(f"c{i}", s, score_each if s == Status.PASS else 0.0, 1.0, kind="check")
        for i, s in enumerate(statuses)
    ]
    return Result(name, "a", parts=[PartResult.from_checks("p", "Part", checks)], problems=list(problems))


def test_version_names_the_package_version(capsys):
    import grader

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"dlgrade {grader.__version__}"


def test_every_command_lists_its_exit_codes_in_its_help():
    parser = cli.build_parser()
    assert all(f"{code} " in parser.format_help() for code in ("0", "1", "2", "3", "130"))
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, sub in commands.items():
        text = sub.format_help()
        assert "exit codes:" in text and "\n  2    could not do it" in text and "\n  3    dlgrade itself" in text, name
        assert ("\n  1    " in text) == (name in exits.FOUND_BY), name
    assert "under --pass-mark" in commands["grade"].format_help()
    assert "a public check failed" in commands["check"].format_help()


@pytest.mark.parametrize(
    ("statuses", "problems", "code"),
    [
        ((Status.PASS, Status.PASS), (), 0),
        ((Status.PASS, Status.NEEDS_REVIEW), (), 0),  # a person decides, not the hook
        ((Status.PASS, Status.FAIL), (), 1),
        ((Status.ERROR,), (), 1),
        ((Status.PASS,), ({"kind": "report", "message": "disk full"},), 2),
        ((Status.FAIL, Status.GRADER_ERROR), (), 3),
        ((Status.FAIL,), ({"kind": "grader", "message": "boom"},), 3),
    ],
)
def test_check_exit_code_gates_on_the_public_checks(statuses, problems, code, monkeypatch, capsys):
    class Outcome:
        result = _result("alice", *statuses, problems=problems)

        def summary(self):
            return "alice: summary"

    monkeypatch.setattr("grader.cli.selfcheck.run_check", lambda *a, **k: Outcome())
    assert cli.main(["check", "x.ipynb"]) == code
    assert "alice: summary" in capsys.readouterr().out


def test_an_old_api_finding_is_not_a_failed_check():
    legacy = CheckResult("tf.placeholder", Status.FAIL, 0.0, 0.0, kind="legacy-api")
    result = Result("alice", "a", parts=[PartResult.from_checks("p", "Part", [legacy])])
    assert exits.of_results([result], failed_checks=True) == exits.OK


@pytest.mark.parametrize(
    ("results", "ci", "code"),
    [
        ([_result("alice", Status.PASS)], True, 0),
        ([_result("alice", Status.PASS), _result("bob", Status.FAIL)], False, 0),  # grading is not judging
        ([_result("alice", Status.PASS), _result("bob", Status.FAIL)], True, 1),
        ([_result("bob", Status.FAIL), _result("carol", Status.PASS, problems=[{"kind": "report"}])], True, 2),
        ([_result("alice", Status.PASS), _result("dave", Status.PASS, problems=[{"kind": "grader"}])], False, 3),
        ([_result("bob", Status.FAIL), _result("dave", Status.GRADER_ERROR)], True, 3),
    ],
)
def test_grade_exit_code(results, ci, code, tmp_path, monkeypatch):
    def grade_class(submissions, assignment, runner, outdir, options, jobs, on_done):
        for n, r in enumerate(results, 1):
            on_done(r, n, len(results), 1.0)
        return results

    monkeypatch.setattr(cli, "_sandbox", lambda *a: type("S", (), {"name": "fake"})())
    monkeypatch.setattr("grader.pipeline.grading.require_data", lambda *a: None)
    monkeypatch.setattr("grader.assignment.spec.load_assignment", lambda path: None)
    monkeypatch.setattr("grader.pipeline.scheduler.grade_class", grade_class)
    argv = ["grade", *(r.submission for r in results), "--assignment", "a", "--out", str(tmp_path), "--quiet"]
    assert cli.main(argv + ["--format", "json"] + (["--ci"] if ci else [])) == code


def test_usage_errors_and_bugs_have_their_own_codes(tmp_path, monkeypatch, capsys):
    argv = ["grade", "x.ipynb", "--assignment", "a", "--out", str(tmp_path)]
    assert cli.main([*argv, "--format", "pdf"]) == exits.CANNOT
    assert "unknown format(s) pdf" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        cli.main(["grade", "--no-such-option"])
    assert done.value.code == exits.CANNOT  # argparse's own usage error: the same code

    def bug(args):
        raise KeyError("unexpected")

    monkeypatch.setattr(cli, "cmd_report", bug)
    assert cli.main(["report", str(tmp_path)]) == exits.GRADER_FAULT
    assert "KeyError: 'unexpected'" in capsys.readouterr().err  # the traceback, for the bug report

    def grader_bug(args):
        raise GraderBug("the scorer failed")

    monkeypatch.setattr(cli, "cmd_report", grader_bug)
    assert cli.main(["report", str(tmp_path)]) == exits.GRADER_FAULT


def test_the_demo_finds_the_course_it_grades_or_says_where_it_looks(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DLGRADE_SOLUTIONS", raising=False)
    monkeypatch.setattr(cli, "REPO", tmp_path / "site-packages")  # installed: no checkout around
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--out", str(tmp_path / "reports")]) == exits.CANNOT
    assert "run it there, or set DLGRADE_SOLUTIONS" in capsys.readouterr().err
    course = tmp_path / "course"
    (course / "solutions" / "mnist_tf").mkdir(parents=True)
    (course / "notes").mkdir()
    monkeypatch.chdir(course / "notes")
    assert cli._demo_assignment() == course / "solutions" / "mnist_tf"  # from a folder inside the course
    monkeypatch.chdir(tmp_path)
    for given in (course, course / "solutions"):
        monkeypatch.setenv("DLGRADE_SOLUTIONS", str(given))
        assert cli._demo_assignment() == course / "solutions" / "mnist_tf"


def test_report_exits_2_when_a_file_of_a_submission_could_not_be_written(tmp_path, monkeypatch):
    from grader.reporters import gradescope

    for r in sample_results()[:2]:
        json_report.write_submission(r, tmp_path / r.submission)
    assert cli.main(["report", str(tmp_path), "--format", "all"]) == exits.OK

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(gradescope, "write_submission", broken)
    assert cli.main(["report", str(tmp_path), "--format", "all"]) == exits.CANNOT
    assert (tmp_path / "index.html").is_file()  # the rest is written
