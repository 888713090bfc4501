import copy

import nbformat
import pytest
from toy import make_toy

from grader.errors import AssignmentError
from grader.notebook import format as nbf
from grader.notebook.release import release_notebook


@pytest.fixture
def toy(tmp_path):
    sol = make_toy(tmp_path)
    return nbformat.read(sol / "toy.ipynb", as_version=4), nbformat.read(
        tmp_path / "exercises/toy/toy.ipynb", as_version=4
    )


def test_solution_replaced_by_stub_and_rest_kept(toy):
    _, released = toy
    vars_cell = next(c for c in released.cells if nbf.grade_id(c) == "toy_vars")
    assert vars_cell.source == "# YOUR CODE HERE\nraise NotImplementedError()"
    setup = next(c for c in released.cells if nbf.grade_id(c) == "toy_setup")
    assert setup.source == "import numpy as np"


def test_markers_inside_code_keep_surrounding_lines_and_indent():
    cell = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\nprint(f())")
    cell.metadata["nbgrader"] = {"solution": True, "grade_id": "f"}
    assert nbf.clear_solution(cell) == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(f())"


def test_metadata_is_nbgrader_schema_v3_with_valid_checksums(toy):
    _, released = toy
    nbformat.validate(released)
    for cell in released.cells:
        m = cell.metadata["nbgrader"]
        assert set(m) <= {
            "schema_version",
            "grade",
            "solution",
            "locked",
            "task",
            "grade_id",
            "points",
            "checksum",
            "cell_type",
        }
        assert m["schema_version"] == 3
        assert m["checksum"] == nbf.compute_checksum(cell)
        assert cell.metadata["deletable"] is False
        if nbf.is_locked(cell):
            assert cell.metadata["editable"] is False
        else:  # an answer cell: read-only would keep the student from answering
            assert "editable" not in cell.metadata


def test_checksum_changes_with_source(toy):
    _, released = toy
    cell = copy.deepcopy(released.cells[1])
    before = nbf.compute_checksum(cell)
    cell.source += "\n"
    assert nbf.compute_checksum(cell) != before


def test_outputs_cleared_and_hidden_tests_removed():
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS")]
    )
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="secret")]
    nb.cells[0].execution_count = 3
    nb.cells[0].metadata["nbgrader"] = {"grade": True, "points": 1, "grade_id": "t", "locked": True}
    out = release_notebook(nb)
    assert out.cells[0].outputs == [] and out.cells[0].execution_count is None
    assert "assert x" not in out.cells[0].source
    assert out.cells[0].metadata["nbgrader"]["points"] == 1.0


@pytest.mark.parametrize("source", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION"])
def test_unbalanced_markers_are_an_assignment_error(source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade_id": "a"}
    with pytest.raises(AssignmentError):
        release_notebook(nb)


def test_duplicate_grade_ids_are_refused():
    cells = [nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("y")]
    for c in cells:
        c.metadata["nbgrader"] = {"locked": True, "grade_id": "same"}
    with pytest.raises(AssignmentError, match="used twice"):
        release_notebook(nbformat.v4.new_notebook(cells=cells))


def test_committed_exercises_match_their_solutions(repo):
    """exercises/ is generated: it must be, byte for byte, what `dlgrade release` makes of
    solutions/ today."""
    solutions = sorted(repo.glob("solutions/*/*.ipynb"))
    assert solutions
    for path in solutions:
        released = repo / "exercises" / path.parent.name / path.name
        assert released.exists(), f"{released} missing: run dlgrade release {path.parent}"
        fresh = release_notebook(nbformat.read(path, as_version=4))
        assert nbformat.writes(fresh) + "\n" == released.read_text(encoding="utf-8"), (
            f"{released} is stale: run dlgrade release {path.parent}"
        )


def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def _cell(source, kind="code", **meta):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False, "locked": False, **meta}
    return cell


def test_answer_cells_stay_editable_and_test_cells_are_locked():
    nb = _nb(
        _cell("x = 1", solution=True, grade_id="answer"),
        _cell("Because.", "markdown", solution=True, grade=True, points=2, grade_id="written"),
        _cell("assert x == 1", grade=True, points=1, grade_id="test"),  # locked: false, as nbgrader saves it
        _cell("import numpy", locked=True, grade_id="setup"),
        nbformat.v4.new_code_cell("print(x)"),
    )
    answer, written, test, setup, plain = release_notebook(nb).cells
    for cell in (answer, written):
        assert cell.metadata["deletable"] is False and "editable" not in cell.metadata
    for cell in (test, setup):
        assert cell.metadata["deletable"] is False and cell.metadata["editable"] is False
    assert "deletable" not in plain.metadata and "editable" not in plain.metadata
    assert test.metadata.nbgrader["locked"] is False  # metadata kept as written; the checksum hashes it as locked
    assert test.metadata.nbgrader["checksum"] == nbf.compute_checksum(test)


def test_checksum_hashes_a_test_cell_as_locked_whatever_its_flag():
    flagged = _cell("assert x", grade=True, points=1, grade_id="t", locked=True)
    unflagged = _cell("assert x", grade=True, points=1, grade_id="t", locked=False)
    assert nbf.compute_checksum(flagged) == nbf.compute_checksum(unflagged)
    answer = _cell("x = 1", solution=True, grade_id="t", locked=True)  # a solution cell is never locked
    assert nbf.compute_checksum(answer) == nbf.compute_checksum(_cell("x = 1", solution=True, grade_id="t"))


@pytest.mark.parametrize(
    "cell, message",
    [
        (_cell("Because.", "markdown", solution=True, grade_id="w"), "grade: true"),
        (_cell("Because.", "markdown", grade=True, points=1, grade_id="w"), "solution: true"),
        (_cell("assert x", grade=True, grade_id="t"), "needs points"),
        (_cell("x\n### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS", locked=True, grade_id="l"), "hidden"),
        (_cell("x\n### BEGIN MARK SCHEME\n1 mark\n### END MARK SCHEME", "markdown", locked=True, grade_id="l"), "mark"),
        (_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", locked=True, grade_id="l"), "solution region"),
        (nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "solution region"),
        (_cell("# AUTOTEST x", grade=True, points=1, grade_id="t"), "AUTOTEST"),
        (_cell("### BEGIN SOLUTION\n# AUTOTEST x\n### END SOLUTION", solution=True, grade_id="a"), "AUTOTEST"),
        (_cell("x", schema_version=1, locked=True, grade_id="l"), "nbgrader update"),
        (_cell("x", grade="yes", points=1, grade_id="l"), "true or false"),
    ],
)
def test_what_nbgrader_refuses_is_refused(cell, message):
    with pytest.raises(AssignmentError, match=message):
        release_notebook(_nb(cell))


def test_regions_are_cut_as_nbgrader_cuts_them():
    nb = _nb(
        _cell("def f():\r\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", solution=True, grade_id="a"),
        _cell(
            "assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() != 2\n### END HIDDEN TESTS\n",
            grade=True,
            points=1,
            grade_id="t",
        ),
        _cell(
            "Explain.\n=== BEGIN MARK SCHEME ===\n1 mark\n=== END MARK SCHEME ===",
            "markdown",
            task=True,
            locked=True,
            grade_id="k",
        ),
    )
    nb.metadata["celltoolbar"] = "Create Assignment"
    nb.cells[0].metadata["collapsed"] = True
    out = release_notebook(nb)
    # split on "\n" only: the carriage return and the trailing newline stay
    assert out.cells[0].source == "def f():\r\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert out.cells[1].source == "assert f() == 1\n"
    assert out.cells[2].source == "Explain."
    assert "celltoolbar" not in out.metadata and "collapsed" not in out.cells[0].metadata
