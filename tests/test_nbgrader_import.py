"""`dlgrade import-nbgrader`: nbgrader's own example course (ps1, shipped inside the nbgrader
package) graded by dlgrade gets nbgrader's autograded points; hidden tests count; files beside
a notebook are in its working directory; cells nbgrader grades by hand go to review.

nbgrader's grades of its two example students (user_guide/grades.csv, autograded points only,
the manually graded cells not yet graded): bitdiddle 1.5, hacker 3.0; its autograded notebooks
show which test cells failed (bitdiddle: correct_squares and correct_sum_of_squares, with
AssertionError; he had commented out the first, nbgrader ran it as released).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import nbgrader  # a test dependency: its example course is the reference
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.assignment.lint import errors, lint_assignment
from grader.assignment.nbgrader_import import import_nbgrader
from grader.assignment.spec import data_files, load_assignment
from grader.checks import CheckContext
from grader.checks.nbgrader import CellRuns, Review
from grader.errors import AssignmentError
from grader.notebook.release import release_assignment
from grader.notebook.validate import prepare
from grader.pipeline.execution import copy_data_files
from grader.pipeline.grading import GradeOptions, grade
from grader.results import PartResult, Result, Status
from tests.fakes import FakeRunner, Scenario

GUIDE = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
PS1 = GUIDE / "source" / "ps1"
TESTS = {"correct_squares": 1.0, "squares_invalid_input": 1.0, "correct_sum_of_squares": 0.5}
TESTS["sum_of_squares_uses_squares"] = 0.5
REVIEW = {"sum_of_squares_equation": 1.0, "sum_of_squares_application": 2.0, "cell-938593c4a215c6cc": 4.0}


def _meta(gid, grade=False, solution=False, locked=False, points=None):
    m = {"grade": grade, "solution": solution, "locked": locked, "grade_id": gid, "schema_version": 3}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


HIDDEN_TEST = "assert double(1) == 2\n### BEGIN HIDDEN TESTS\nassert double(3) == 6, 'hidden'\n### END HIDDEN TESTS"


def tiny_source(folder: Path) -> Path:
    """An nbgrader source folder: one answer cell, a test with a hidden test, a test that reads
    the data file beside the notebook, and a Markdown answer a person grades."""
    folder.mkdir(parents=True)
    nb = new_notebook(
        cells=[
            new_code_cell(
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                metadata=_meta("double", solution=True),
            ),
            new_code_cell(HIDDEN_TEST, metadata=_meta("test_double", grade=True, points=2)),
            new_code_cell("assert open('data.txt').read() == '42'", metadata=_meta("test_data", grade=True, points=1)),
            new_markdown_cell("Because.", metadata=_meta("why", grade=True, solution=True, points=3)),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "tiny.ipynb")
    (folder / "data.txt").write_text("42")
    return folder


@pytest.fixture
def ps1(tmp_path):
    imported = import_nbgrader(PS1, tmp_path / "solutions" / "ps1")
    return tmp_path / "solutions" / "ps1", imported


def test_ps1_imports_as_nbgrader_grades_it(ps1):
    out, imported = ps1
    parts = {g.grade_id: g for g in imported.notebooks["problem1.ipynb"]}
    assert {g: p.points for g, p in parts.items() if p.kind == "test"} == TESTS
    assert {g: p.points for g, p in parts.items() if p.kind == "review"} == REVIEW
    assert [(g.grade_id, g.kind, g.points) for g in imported.notebooks["problem2.ipynb"]] == [
        ("part-a", "review", 1.0),
        ("part-b", "review", 2.0),
    ]
    assert imported.files == ["jupyter.png"]
    assert (out / "jupyter.png").read_bytes() == (PS1 / "jupyter.png").read_bytes()
    assert (out / "problem1.ipynb").read_bytes() == (PS1 / "problem1.ipynb").read_bytes()
    assert errors(lint_assignment(out)) == []
    text = (out / "problem1.checks.py").read_text()
    assert 'FILES = ["jupyter.png"]' in text and 'CellRuns("correct_squares", points=1.0)' in text
    ruff = Path(sys.executable).with_name("ruff")
    run = subprocess.run([str(ruff), "check", "--no-cache", "--isolated", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    release_assignment(out, out.parent.parent / "exercises")
    assignment = load_assignment(out)
    spec = assignment.notebook("problem1.ipynb")
    assert spec.files == [Path("jupyter.png")]
    tested = sum(c.points for p in spec.parts for c in p.checks if isinstance(c, CellRuns))
    assert tested == 3.0  # nbgrader's autograded points of ps1 (every test cell)


def test_the_cli_imports_and_refuses_to_overwrite(tmp_path):
    from grader.cli.main import main

    out = tmp_path / "a"
    assert main(["import-nbgrader", str(PS1), "--out", str(out)]) == 0
    assert main(["import-nbgrader", str(PS1), "--out", str(out)]) == 2  # not empty: never overwritten


def test_hidden_tests_and_files_are_found_and_links_are_not_copied(tmp_path):
    source = tiny_source(tmp_path / "src")
    (source / "secret").symlink_to("/etc/hostname")
    (source / "linked.ipynb").symlink_to(source / "tiny.ipynb")
    (source / ".ipynb_checkpoints").mkdir()
    imported = import_nbgrader(source, tmp_path / "out")
    parts = {g.grade_id: g for g in imported.notebooks["tiny.ipynb"]}
    assert parts["test_double"].hidden and not parts["test_data"].hidden
    assert parts["why"].kind == "review"
    assert "double" not in parts  # an answer without points is graded through the tests
    assert imported.files == ["data.txt"]
    assert not (tmp_path / "out" / "secret").exists()
    assert any("secret" in s for s in imported.skipped) and any("linked.ipynb" in s for s in imported.skipped)
    assert list(imported.notebooks) == ["tiny.ipynb"]
    assert "hidden=True" in (tmp_path / "out" / "tiny.checks.py").read_text()


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "../x.txt", "tiny.ipynb", "tiny.checks.py", "Tiny.IPYNB", "record.json", "artifacts/x", "nope"],
)
def test_files_that_must_not_enter_a_sandbox_are_refused_when_the_checks_file_loads(tmp_path, name):
    folder = tiny_source(tmp_path / "src")
    (folder / "tiny.checks.py").write_text("")
    (folder / "record.json").write_text("{}")
    with pytest.raises(AssignmentError, match="FILES"):
        data_files([name], folder, folder / "tiny.checks.py")


def test_a_linked_data_file_is_refused_and_a_file_is_copied_never_linked(tmp_path):
    folder = tiny_source(tmp_path / "src")
    (folder / "link.txt").symlink_to(folder / "data.txt")
    with pytest.raises(AssignmentError, match="link"):
        data_files(["link.txt"], folder, folder / "tiny.checks.py")
    assert data_files(["data.txt"], folder, folder / "x.checks.py") == [Path("data.txt")]
    work = tmp_path / "work"
    work.mkdir()
    copy_data_files({Path("sub/data.txt"): folder / "data.txt"}, work)
    assert not (work / "sub" / "data.txt").is_symlink() and (work / "sub" / "data.txt").read_text() == "42"
    with pytest.raises(OSError):  # a link put in its place after loading is not followed
        copy_data_files({Path("other.txt"): folder / "link.txt"}, work)


def test_prepare_runs_test_cells_as_authored_but_never_an_answer_from_the_solution(tmp_path):
    out = tmp_path / "solutions" / "tiny"
    import_nbgrader(tiny_source(tmp_path / "src"), out)
    release_assignment(out, tmp_path / "exercises")
    release = nbformat.read(tmp_path / "exercises" / "tiny" / "tiny.ipynb", as_version=4)
    assert "double(3)" not in release.cells[1].source  # the release strips the hidden test
    student = nbformat.read(tmp_path / "exercises" / "tiny" / "tiny.ipynb", as_version=4)
    student.cells[1].source = "pass  # the student emptied the test"
    solution = nbformat.read(out / "tiny.ipynb", as_version=4)
    authored = {"test_double": solution.cells[1].source, "double": solution.cells[0].source}
    prepared = prepare(student, release, authored)
    assert prepared.notebook.cells[1].source == HIDDEN_TEST
    assert "NotImplementedError" in prepared.notebook.cells[0].source  # the answer stays the student's


def _ctx(cells, lang="en"):
    return CheckContext(part_id="p", values={}, thresholds={}, lang=lang, cells=cells)


def test_a_test_cell_passes_iff_its_run_raised_nothing_and_says_it_is_the_kernels_word():
    check = CellRuns("t", points=2)
    ok = check(_ctx({"t": {"status": "ok"}}))
    assert (ok.status, ok.score, ok.max_score) == (Status.PASS, 2, 2) and "kernel's word" in ok.message
    failed = check(_ctx({"t": {"status": "error", "error": {"ename": "AssertionError", "evalue": ""}}}, "ja"))
    assert (failed.status, failed.score) == (Status.FAIL, 0) and "カーネル判定" in failed.message
    assert "AssertionError" in failed.message
    for cells in ({}, {"t": {"status": "timeout"}}, {"t": {"status": "error"}}):
        assert check(_ctx(cells)).status == Status.ERROR
    from grader.reporters.view import localized

    result = Result("s", "a", parts=[PartResult.from_checks("p", "p", [failed])])
    assert "[kernel's word]" in localized(result, "en").parts[0].checks[0].message  # re-rendered
    review = Review("why", points=3)(_ctx({}))
    assert (review.status, review.score, review.max_score) == (Status.NEEDS_REVIEW, 0, 3)


def test_grading_runs_hidden_tests_copies_files_and_a_failed_test_stays_a_failure(tmp_path):
    """The fake runner records what would run: the hidden test in the notebook, the data file
    in the job; a test cell's own error is its verdict (fail), not turned into "your code raised"."""
    out = tmp_path / "solutions" / "tiny"
    import_nbgrader(tiny_source(tmp_path / "src"), out)
    release_assignment(out, tmp_path / "exercises")
    assignment = load_assignment(out)
    runner = FakeRunner(Scenario(errors={"test_double": ("AssertionError", "hidden")}))
    sub = tmp_path / "exercises" / "tiny" / "tiny.ipynb"
    result = grade(sub, assignment, runner, tmp_path / "graded", GradeOptions())
    job = runner.jobs[0]
    assert HIDDEN_TEST in [c.source for c in job.notebook.cells]
    assert job.files == {Path("data.txt"): out / "data.txt"}
    checks = {c.name: c for p in result.parts for c in p.checks}
    assert checks["test_double"].status == Status.FAIL and checks["test_double"].hidden
    assert checks["test_data"].status == Status.PASS and checks["test_data"].score == 1
    assert checks["why"].status == Status.NEEDS_REVIEW
    assert (result.score, result.max_score) == (1, 6)


def _nbgrader_scores() -> dict[str, float]:
    with open(GUIDE / "grades.csv", newline="") as f:
        return {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}


@pytest.mark.slow
def test_ps1_and_a_hidden_test_graded_in_the_sandbox_as_nbgrader_grades_them(tmp_path):
    """One class in the real sandbox: ps1's problem1 of the reference solution and of nbgrader's
    two students, and the tiny assignment (a hidden test, a data file) right and half right."""
    from grader.pipeline.execution import SandboxedRunner
    from grader.pipeline.hidden import HiddenData
    from grader.sandbox.bwrap import make_sandbox

    root = tmp_path
    ps1 = root / "solutions" / "ps1"
    import_nbgrader(PS1, ps1)
    release_assignment(ps1, root / "exercises")
    tiny = root / "solutions" / "tiny"
    import_nbgrader(tiny_source(root / "src"), tiny)
    release_assignment(tiny, root / "exercises")
    runner = SandboxedRunner(make_sandbox(False))

    subs = {"reference": ps1 / "problem1.ipynb"}
    for student in ("bitdiddle", "hacker"):
        subs[student] = GUIDE / "submitted" / student / "ps1" / "problem1.ipynb"
    class_dir = root / "class"
    options = GradeOptions(hidden=HiddenData())
    assignment = load_assignment(ps1)
    by_student = {}
    for name, path in subs.items():
        (class_dir / name).mkdir(parents=True)
        shutil.copy(path, class_dir / name / "problem1.ipynb")
        by_student[name] = grade(class_dir / name / "problem1.ipynb", assignment, runner, root / "out", options, name)
    expected = {"reference": 3.0, **_nbgrader_scores()}
    for name, r in by_student.items():
        tested = sum(c.score for p in r.parts for c in p.checks if c.message_key.startswith("kernel."))
        assert tested == expected[name], (name, [(c.name, c.message) for p in r.parts for c in p.checks])
        review = [c for p in r.parts for c in p.checks if c.status == Status.NEEDS_REVIEW]
        assert sum(c.max_score for c in review) == 7.0 and all(c.score == 0 for c in review)
    failed = {c.name for p in by_student["bitdiddle"].parts for c in p.checks if c.status == Status.FAIL}
    assert {"correct_squares", "correct_sum_of_squares"} <= failed

    released = nbformat.read(root / "exercises" / "tiny" / "tiny.ipynb", as_version=4)
    graded = {}
    for name, answer in {"right": "return 2 * x", "public_only": "return 2 if x == 1 else 0"}.items():
        released.cells[0].source = f"def double(x):\n    {answer}"
        nbformat.write(released, class_dir / f"{name}.ipynb")
        graded[name] = grade(class_dir / f"{name}.ipynb", load_assignment(tiny), runner, root / "out", options, name)
    right, public_only = graded["right"], graded["public_only"]
    assert (right.score, right.max_score) == (3, 6), [c.message for p in right.parts for c in p.checks]
    checks = {c.name: c for p in public_only.parts for c in p.checks}
    assert checks["test_double"].status == Status.FAIL and checks["test_data"].status == Status.PASS
    assert public_only.score == 1


def test_an_assignment_of_test_cells_and_reviews_needs_no_course_data(tmp_path, monkeypatch, repo):
    from grader.pipeline.grading import needs_course_data

    out = tmp_path / "solutions" / "tiny"
    import_nbgrader(tiny_source(tmp_path / "src"), out)
    release_assignment(out, tmp_path / "exercises")
    assert not needs_course_data(load_assignment(out))
    assert needs_course_data(load_assignment(repo / "solutions" / "mnist_tf"))


def test_lint_names_the_line_of_a_files_entry_that_must_not_enter_a_sandbox(tmp_path):
    out = tmp_path / "solutions" / "tiny"
    import_nbgrader(tiny_source(tmp_path / "src"), out)
    checks = out / "tiny.checks.py"
    text = checks.read_text().replace('FILES = ["data.txt"]', 'FILES = ["tiny.ipynb"]')
    checks.write_text(text)
    found = errors(lint_assignment(out))
    line = text.splitlines().index('FILES = ["tiny.ipynb"]') + 1
    assert [(p.line, "tiny.ipynb" in p.message) for p in found] == [(line, True)]
    checks.write_text(text.replace('CellRuns("test_data"', 'CellRuns("test_dta"'))
    assert any("test_dta" in p.message for p in errors(lint_assignment(out)))


def test_dlgrade_grade_of_an_imported_assignment_runs_without_the_mnist_cache(tmp_path, monkeypatch):
    from grader.cli import main as cli

    out = tmp_path / "solutions" / "tiny"
    import_nbgrader(tiny_source(tmp_path / "src"), out)
    release_assignment(out, tmp_path / "exercises")
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setattr(cli, "_sandbox", lambda *a: type("S", (), {"name": "fake"})())
    monkeypatch.setattr("grader.pipeline.execution.SandboxedRunner", lambda sandbox: FakeRunner(Scenario()))
    sub = tmp_path / "exercises" / "tiny" / "tiny.ipynb"
    assert cli.main(["grade", str(sub), "--assignment", str(out), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert (tmp_path / "o" / "tiny" / "result.json").exists()


def test_autotest_directives_are_refused_not_run_as_comments(tmp_path):
    with pytest.raises(AssignmentError, match="correct_squares uses AUTOTEST"):
        import_nbgrader(GUIDE / "source" / "ps1_autotest", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_dlgrade_check_of_an_imported_assignment_runs_without_the_mnist_cache(tmp_path, monkeypatch):
    from grader.cli import selfcheck

    out = tmp_path / "solutions" / "tiny"
    import_nbgrader(tiny_source(tmp_path / "src"), out)
    release_assignment(out, tmp_path / "exercises")
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.setattr(selfcheck, "_sandbox", lambda no_sandbox: (type("S", (), {"name": "fake"})(), None))
    monkeypatch.setattr("grader.pipeline.execution.SandboxedRunner", lambda sandbox: FakeRunner(Scenario()))
    sub = tmp_path / "exercises" / "tiny" / "tiny.ipynb"
    found = selfcheck.run_check(sub, assignment=out, out=tmp_path / "o")
    assert (tmp_path / "o" / "tiny" / "result.json").exists() and found.result.parts


def test_release_hands_out_the_files_beside_the_notebooks(tmp_path):
    from grader.cli.main import main

    out = tmp_path / "solutions" / "ps1"
    assert main(["import-nbgrader", str(PS1), "--out", str(out)]) == 0
    assert main(["release", str(out), "--out", str(tmp_path / "exercises")]) == 0
    released = tmp_path / "exercises" / "ps1"
    assert (released / "jupyter.png").read_bytes() == (PS1 / "jupyter.png").read_bytes()
    assert sorted(p.name for p in released.iterdir()) == ["jupyter.png", "problem1.ipynb", "problem2.ipynb"]
