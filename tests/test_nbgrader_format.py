"""dlgrade's nbgrader format against nbgrader itself (0.9.6, a test dependency): its checksum,
its `generate_assignment` and its validator are the golden output.

nbgrader runs in a temporary course folder, driven from Python. `generate_assignment` runs with
`no_database` and its SaveCells step off: SaveCells only records the cells in the gradebook and
never changes a notebook, and the gradebook (SQLite, set up by an `alembic` subprocess) costs
seconds. Nothing is normalised before comparing: the files are compared byte for byte.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from nbgrader import utils as nbgrader_utils
from nbgrader.apps.api import NbGraderAPI
from traitlets.config import Config

from grader.errors import AssignmentError
from grader.notebook import format as nbf
from grader.notebook.release import release_notebook

NBGRADER = Path(nbgrader_utils.__file__).parent
# nbgrader's own notebooks: its user guide's example course and its test fixtures
NBGRADER_NOTEBOOKS = sorted(p for p in NBGRADER.rglob("*.ipynb") if "node_modules" not in p.parts)


def nbgrader_release(root: Path, assignments: dict[str, list[Path]]) -> dict[str, dict]:
    """Run nbgrader's generate_assignment on each assignment (name -> notebooks) in the course
    folder `root`; return name -> nbgrader's result (success, log)."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.GenerateAssignment.no_database = True
    config.SaveCells.enabled = False
    api = NbGraderAPI(config=config)
    results = {}
    for name, notebooks in assignments.items():
        source = root / "source" / name
        source.mkdir(parents=True)
        for path in notebooks:
            shutil.copy(path, source / path.name)
        results[name] = api.generate_assignment(name)
    return results


def dlgrade_release_bytes(path: Path, out: Path) -> bytes:
    nbformat.write(release_notebook(nbformat.read(path, as_version=4), name=path.name), out)
    return out.read_bytes()


@pytest.fixture(scope="module")
def course(repo, tmp_path_factory):
    """nbgrader's release of every solution notebook of the repository."""
    root = tmp_path_factory.mktemp("course")
    groups = {a.name: sorted(a.glob("*.ipynb")) for a in sorted((repo / "solutions").iterdir()) if a.is_dir()}
    return root, groups, nbgrader_release(root, groups)


def test_every_solution_notebook_passes_generate_assignment_and_equals_exercises(course, repo):
    root, groups, results = course
    assert sum(len(v) for v in groups.values()) == 13
    for name, notebooks in groups.items():
        assert results[name]["success"], results[name].get("log", "")[-2000:]
        for path in notebooks:
            theirs = (root / "release" / name / path.name).read_bytes()
            assert theirs == (repo / "exercises" / name / path.name).read_bytes(), f"exercises/{name}/{path.name}"


def test_release_equals_nbgrader_on_nbgrader_own_notebooks(tmp_path):
    """Every notebook nbgrader ships that its generate_assignment accepts, dlgrade releases
    byte for byte the same; what it refuses, dlgrade refuses too (except the two dlgrade
    accepts on purpose, below)."""
    lenient = {"old-schema.ipynb", "cell-type-changed.ipynb"}  # required keys filled in; not validated by nbformat
    names = {f"n{i}": [p] for i, p in enumerate(NBGRADER_NOTEBOOKS)}
    results = nbgrader_release(tmp_path, names)
    compared = 0
    for name, (path,) in names.items():
        try:
            ours = dlgrade_release_bytes(path, tmp_path / "ours.ipynb")
        except AssignmentError:
            ours = None
        if results[name]["success"]:
            assert ours == (tmp_path / "release" / name / path.name).read_bytes(), path
            compared += 1
        elif path.name not in lenient:
            assert ours is None, f"nbgrader refuses {path}, dlgrade released it"
    assert compared >= 50


def test_release_equals_nbgrader_on_the_edge_cases(tmp_path):
    """Regions, line endings, indentation, flags and metadata nbgrader treats in its own way."""

    def cell(source, kind="code", **meta):
        c = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        c.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False, "locked": False, **meta}
        return c

    cells = [
        cell("def f(x):\r\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n", solution=True, grade_id="a1"),
        cell(
            "x = 1\n\t# BEGIN SOLUTION\nx = 2\n# END SOLUTION\ny = 3\n### BEGIN SOLUTION\nz\n### END SOLUTION",
            solution=True,
            grade_id="a2",
        ),
        cell("no markers at all\n", solution=True, grade_id="a3", locked=True),
        cell(
            "written ### BEGIN SOLUTION\nanswer\n### END SOLUTION\n",
            "markdown",
            solution=True,
            grade=True,
            points=2,
            grade_id="a4",
        ),
        cell("def g(): pass", solution=True, grade=True, points=1.5, grade_id="a5"),
        cell(
            "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n### END HIDDEN TESTS\n",
            grade=True,
            points=1,
            grade_id="t1",
        ),
        cell("assert f(3) == 3", grade=True, points=0, grade_id="t2", locked=True),
        cell(
            "Task.\n=== BEGIN MARK SCHEME ===\n- 1 mark\n=== END MARK SCHEME ===",
            "markdown",
            task=True,
            locked=True,
            points=4,
            grade_id="k1",
        ),
        cell("import numpy as np", locked=True, grade_id="l1"),
        cell("plain, with an id", grade_id="p1"),
        nbformat.v4.new_code_cell("print('no metadata')"),
    ]
    cells[0].metadata["collapsed"] = True
    cells[6].metadata["scrolled"] = "auto"
    cells[-1].outputs = [nbformat.v4.new_output("stream", text="saved")]
    cells[-1].execution_count = 7
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["celltoolbar"] = "Create Assignment"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "edge.ipynb"
    nbformat.write(nb, path)
    result = nbgrader_release(tmp_path / "course", {"edge": [path]})["edge"]
    assert result["success"], result.get("log", "")[-2000:]
    theirs = (tmp_path / "course" / "release" / "edge" / "edge.ipynb").read_bytes()
    assert dlgrade_release_bytes(path, tmp_path / "ours.ipynb") == theirs


def _cells_with_ids(paths):
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if isinstance(cell.metadata.get("nbgrader"), dict):
                yield path, cell


def test_checksum_equals_nbgrader_for_every_cell(repo):
    paths = [*repo.glob("solutions/*/*.ipynb"), *repo.glob("exercises/*/*.ipynb"), *NBGRADER_NOTEBOOKS]
    compared = unflagged_tests = 0
    for path, cell in _cells_with_ids(paths):
        try:
            expected = nbgrader_utils.compute_checksum(cell)
        except (KeyError, TypeError, ValueError):
            continue  # a fixture nbgrader itself cannot hash (no grade id, blank points)
        assert nbf.compute_checksum(cell) == expected, (path, nbf.grade_id(cell))
        compared += 1
        m = cell.metadata.nbgrader
        unflagged_tests += bool(m.get("grade") and not m.get("solution") and not m.get("locked"))
    assert compared > 500
    assert unflagged_tests > 10  # test cells saved with locked: false, which nbgrader hashes as locked


@pytest.mark.parametrize(
    "flags",
    [
        {"grade": True, "points": 2},
        {"grade": True, "points": 1, "locked": True},
        {"grade": True, "solution": True, "points": 0.5, "locked": True},
        {"solution": True, "locked": True},
        {"locked": True},
        {},
        {"grade": 1, "points": 1},  # not the schema's, hashed as nbgrader hashes it all the same
        {"locked": 0},
    ],
)
@pytest.mark.parametrize("kind", ["code", "markdown"])
def test_checksum_equals_nbgrader_for_every_combination_of_flags(flags, kind):
    cell = nbformat.v4.new_code_cell("x = 1\n") if kind == "code" else nbformat.v4.new_markdown_cell("x")
    cell.metadata["nbgrader"] = {"grade_id": "c", **flags}
    assert nbf.compute_checksum(cell) == nbgrader_utils.compute_checksum(cell)


def test_exercises_carry_nbgrader_checksums(repo):
    for path, cell in _cells_with_ids(repo.glob("exercises/*/*.ipynb")):
        assert cell.metadata.nbgrader["checksum"] == nbgrader_utils.compute_checksum(cell), (path, nbf.grade_id(cell))


def test_each_part_has_a_test_cell_worth_its_points(repo):
    """nbgrader's totals are dlgrade's: a part's points are on its markdown answers (graded by
    hand in nbgrader) and on one test cell that runs its public self-check (the rest)."""
    from grader.assignment.spec import load_assignment

    for folder in sorted((repo / "solutions").iterdir()):
        for spec in load_assignment(folder).notebooks:
            cells = {nbf.grade_id(c): c for c in spec.solution().cells if nbf.grade_id(c)}
            for part in spec.parts:
                written = sum(
                    cells[g].metadata.nbgrader["points"] for g in part.answers if cells[g].cell_type == "markdown"
                )
                test = cells[f"{part.id}_test"]
                assert nbgrader_utils.is_grade(test) and nbgrader_utils.is_locked(test)
                assert f'check("{part.id}", strict=True)' in test.source
                total = sum(c.points for c in part.checks)
                assert written + test.metadata.nbgrader["points"] == pytest.approx(total), (spec.name, part.id)


@pytest.mark.slow
def test_nbgrader_validate_fails_an_empty_exercise_and_passes_the_reference(repo, tmp_path):
    """`nbgrader validate` runs the test cells: each runs the public self-check of its part."""
    from nbgrader.validator import Validator

    name = "cnn_architectures.ipynb"
    empty = tmp_path / "empty" / name
    empty.parent.mkdir()
    shutil.copy(repo / "exercises" / "concepts" / name, empty)
    answers = {
        nbf.grade_id(c): c.source
        for c in nbformat.read(repo / "solutions" / "concepts" / name, as_version=4).cells
        if nbf.is_solution(c)
    }
    nb = nbformat.read(empty, as_version=4)
    for cell in nb.cells:
        cell.source = answers.get(nbf.grade_id(cell), cell.source)
    answered = tmp_path / "answered" / name
    answered.parent.mkdir()
    nbformat.write(nb, answered)

    def validate(path):
        validator = Validator()
        validator.stream = io.StringIO()
        validator.validate_and_print(str(path))
        return validator.stream.getvalue()

    said = validate(empty)
    assert "VALIDATION FAILED ON 12 CELL(S)" in said  # 8 answers left blank, 4 self-checks failing
    assert 'check("cnn_vgg", strict=True)' in said and "CheckFailed" in said
    assert validate(answered).startswith("Success! Your notebook passes all the tests.")


def _self_check(tmp_path, status):
    from grader.cli.selfcheck import SelfCheck
    from grader.results import CheckResult, PartResult, Result

    notebook = tmp_path / "nb.ipynb"
    check = CheckResult("W", status, 1.0 if status.value == "pass" else 0.0, 1.0, message="W is wrong")
    result = Result("nb", "a", parts=[PartResult.from_checks("p", "Part", [check])])
    return SelfCheck(result, tmp_path / "report.html", notebook, "", "en")


@pytest.mark.parametrize("status, fails", [("pass", False), ("needs-review", False), ("fail", True), ("error", True)])
def test_a_strict_check_raises_when_a_public_check_fails(monkeypatch, tmp_path, capsys, status, fails):
    """An nbgrader test cell fails by raising; its value would be read as partial points, so a
    strict check prints its summary and returns nothing."""
    from grader.cli import selfcheck
    from grader.results import Status

    monkeypatch.delenv("DLGRADE_GRADING", raising=False)
    monkeypatch.setattr(selfcheck, "_GRADED", {})
    monkeypatch.setattr(selfcheck, "run_check", lambda path, **kw: _self_check(tmp_path, Status(status)))
    (tmp_path / "nb.ipynb").write_text("{}")
    if fails:
        with pytest.raises(AssertionError, match="W is wrong"):
            selfcheck.check("p", notebook=tmp_path / "nb.ipynb", strict=True)
    else:
        assert selfcheck.check("p", notebook=tmp_path / "nb.ipynb", strict=True) is None
        assert "Part" in capsys.readouterr().out
    assert selfcheck.check("p", notebook=tmp_path / "nb.ipynb") is not None  # not strict: the result, no raise


def test_a_strict_check_does_nothing_while_dlgrade_grades(monkeypatch):
    from grader.cli import selfcheck

    monkeypatch.setenv("DLGRADE_GRADING", "1")
    monkeypatch.setattr(selfcheck, "run_check", lambda *a, **kw: pytest.fail("graded inside a grade"))
    assert selfcheck.check("p", strict=True) is None


def test_strict_checks_of_one_saved_file_grade_it_once(monkeypatch, tmp_path, capsys):
    """A test cell per part: the notebook runs once per save, not once per part."""
    import os

    from grader.cli import selfcheck
    from grader.results import Status

    graded = []

    def run_check(path, part=None, **kw):
        graded.append(part)
        found = _self_check(tmp_path, Status.PASS)
        second = replace(found.result.parts[0], id="q", title="Second")
        return replace(found, result=replace(found.result, parts=[*found.result.parts, second]))

    monkeypatch.delenv("DLGRADE_GRADING", raising=False)
    monkeypatch.setattr(selfcheck, "_GRADED", {})
    monkeypatch.setattr(selfcheck, "run_check", run_check)
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text("{}")
    selfcheck.check("p", notebook=notebook, strict=True)
    selfcheck.check("q", notebook=notebook, strict=True)
    assert graded == [None]  # every part at once
    assert "Second" in capsys.readouterr().out.split("Self-check")[-1]
    os.utime(notebook, ns=(1, 1))  # saved again
    selfcheck.check("q", notebook=notebook, strict=True)
    assert graded == [None, None]
