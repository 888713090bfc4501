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
        if m["locked"]:
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False


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
    """exercises/ is generated: it must be what `dlgrade release` makes of solutions/ today."""
    solutions = sorted(repo.glob("solutions/*/*.ipynb"))
    assert solutions
    for path in solutions:
        released = repo / "exercises" / path.parent.name / path.name
        assert released.exists(), f"{released} missing: run dlgrade release {path.parent}"
        fresh = release_notebook(nbformat.read(path, as_version=4))
        committed = nbformat.read(released, as_version=4)
        assert [c.source for c in fresh.cells] == [c.source for c in committed.cells], path
        assert [c.metadata.get("nbgrader") for c in fresh.cells] == [
            c.metadata.get("nbgrader") for c in committed.cells
        ]
