"""Cells that lost their nbgrader metadata (VS Code, copied into a fresh notebook, deleted and
re-typed) are recognised by content and place, on the course's real released notebooks."""

import copy

import nbformat
import pytest
from classroom import REPO

from grader.assignment.spec import load_assignment
from grader.notebook import format as nbf
from grader.notebook.recover import recover_ids, similarity
from grader.notebook.validate import WrongExercise, prepare
from grader.pipeline.grading import match_notebooks


def released(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "exercises" / name, as_version=4)


def solved(name: str) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled from the reference solution."""
    reference = {nbf.grade_id(c): c.source for c in nbformat.read(REPO / "solutions" / name, as_version=4).cells}
    nb = released(name)
    for cell in nb.cells:
        if nbf.is_solution(cell):
            cell.source = nbf.strip_markers(reference[nbf.grade_id(cell)])
    return nb


def stripped(nb: nbformat.NotebookNode, keep=lambda cell: False) -> nbformat.NotebookNode:
    """nb as an editor that drops cell metadata saves it."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if not keep(cell):
            cell.metadata = {}
    return nb


def answers(prepared) -> dict[str, str]:
    return {nbf.grade_id(c): c.source for c in prepared.notebook.cells if nbf.is_solution(c)}


@pytest.mark.parametrize(
    "name",
    [
        "mnist_tf/mnist_3layer.ipynb",
        "keras/perceptron.ipynb",
        "rnn/binary_addition.ipynb",
        "concepts/cnn_architectures.ipynb",
    ],
)
def test_a_notebook_without_any_metadata_keeps_every_answer(name):
    good = solved(name)
    prepared = prepare(stripped(good), released(name))
    assert answers(prepared) == {nbf.grade_id(c): c.source for c in good.cells if nbf.is_solution(c)}
    assert not prepared.missing
    codes = {f.code for f in prepared.findings}
    assert "recovered-content" in codes and "cell-missing" not in codes


def test_an_answer_retyped_in_new_cells_is_graded_as_that_answer():
    name = "mnist_tf/mnist_3layer.ipynb"
    nb = solved(name)
    i = next(i for i, c in enumerate(nb.cells) if nbf.grade_id(c) == "mnist3_optimizer")
    nb.cells[i : i + 1] = [
        nbformat.v4.new_code_cell("learning_rate = 1e-4"),
        nbformat.v4.new_markdown_cell("Adam works best here"),
        nbformat.v4.new_code_cell("optimizer = tf.train.AdamOptimizer(learning_rate)"),
    ]
    prepared = prepare(nb, released(name))
    assert (
        answers(prepared)["mnist3_optimizer"]
        == "learning_rate = 1e-4\n\noptimizer = tf.train.AdamOptimizer(learning_rate)"
    )
    found = [f for f in prepared.findings if f.code == "recovered-place"]
    assert [(f.cell, f.args["count"]) for f in found] == [("mnist3_optimizer", 2)]
    assert "2 cell(s)" in found[0].message and "解答セル mnist3_optimizer" in found[0].message_in("ja")
    # the markdown note stays, once, as the student's own cell
    assert sum(c.source == "Adam works best here" for c in prepared.notebook.cells) == 1


def test_several_answers_between_two_locked_cells_go_to_the_stub_they_resemble():
    name = "rnn/binary_addition.ipynb"  # rnn2_model and rnn2_train are answer cells in a row
    good = solved(name)
    nb = stripped(good, keep=lambda c: not nbf.is_solution(c))
    prepared = prepare(nb, released(name))
    assert answers(prepared) == {nbf.grade_id(c): c.source for c in good.cells if nbf.is_solution(c)}
    assert {f.code for f in prepared.findings} == {"recovered-place"}


def test_a_changed_locked_cell_without_metadata_is_still_restored():
    name = "mnist_tf/mnist_3layer.ipynb"
    nb = solved(name)
    train = next(c for c in nb.cells if nbf.grade_id(c) == "mnist3_train")
    train.source = train.source.replace("iters_num", "iters_num // 10", 1)
    prepared = prepare(stripped(nb), released(name))
    ran = next(c for c in prepared.notebook.cells if nbf.grade_id(c) == "mnist3_train")
    assert ran.source == next(c for c in released(name).cells if nbf.grade_id(c) == "mnist3_train").source
    assert "locked-changed" in {f.code for f in prepared.findings}


def test_another_exercise_without_metadata_is_still_not_this_one():
    with pytest.raises(WrongExercise):
        prepare(stripped(solved("keras/perceptron.ipynb")), released("mnist_tf/mnist_3layer.ipynb"))
    unrelated = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hello')")])
    assert recover_ids(unrelated, released("mnist_tf/mnist_3layer.ipynb")) == (unrelated, [])


def test_an_intact_notebook_is_left_alone():
    nb = solved("keras/perceptron.ipynb")
    assert recover_ids(nb, released("keras/perceptron.ipynb")) == (nb, [])


def test_a_renamed_file_without_metadata_is_matched_to_its_exercise(tmp_path):
    assignment = load_assignment(REPO / "solutions" / "mnist_tf")
    path = tmp_path / "homework (1).ipynb"
    nbformat.write(stripped(solved("mnist_tf/mnist_cnn.ipynb")), path)
    matched, unmatched = match_notebooks([path], assignment)
    assert matched == {"mnist_cnn.ipynb": path} and not unmatched


def test_similarity_ignores_whitespace_and_blank_lines():
    assert similarity("a = 1\n\n  b = 2  ", "a  =  1\nb = 2") == 1.0
    assert similarity("a = 1", "import os") < 0.5


def test_self_check_finds_the_assignment_of_a_notebook_without_metadata(tmp_path):
    from grader.cli.selfcheck import find_assignment

    path = tmp_path / "copy.ipynb"
    nbformat.write(stripped(solved("keras/iris.ipynb")), path)
    folder, notebook = find_assignment(path)
    assert folder == REPO / "solutions" / "keras" and notebook == "iris.ipynb"


def test_a_notebook_of_too_many_cells_is_not_matched_cell_by_cell():
    from grader.notebook.recover import MAX_CELLS

    nb = stripped(solved("mnist_tf/mnist_1layer.ipynb"))
    nb.cells += [nbformat.v4.new_code_cell("pass") for _ in range(MAX_CELLS)]
    assert recover_ids(nb, released("mnist_tf/mnist_1layer.ipynb")) == (nb, [])


def test_a_copy_of_another_exercise_with_its_ids_is_not_taken_for_this_one(tmp_path):
    assignment = load_assignment(REPO / "solutions" / "mnist_tf")
    first, copy_of_first = tmp_path / "mnist_1layer.ipynb", tmp_path / "mnist_1layer-Copy1.ipynb"
    for path in (first, copy_of_first):
        nbformat.write(solved("mnist_tf/mnist_1layer.ipynb"), path)
    matched, unmatched = match_notebooks([first, copy_of_first], assignment)
    assert matched == {"mnist_1layer.ipynb": first} and unmatched == [copy_of_first]


def test_a_cell_magic_is_never_joined_with_other_cells():
    name = "mnist_tf/mnist_3layer.ipynb"
    nb = solved(name)
    i = next(i for i, c in enumerate(nb.cells) if nbf.grade_id(c) == "mnist3_optimizer")
    nb.cells[i : i + 1] = [
        nbformat.v4.new_code_cell("%%bash\necho training soon"),
        nbformat.v4.new_code_cell("optimizer = tf.train.AdamOptimizer(1e-4)"),
    ]
    prepared = prepare(nb, released(name))
    assert answers(prepared)["mnist3_optimizer"] == "optimizer = tf.train.AdamOptimizer(1e-4)"
    assert any(c.source.startswith("%%bash") and not nbf.grade_id(c) for c in prepared.notebook.cells)
