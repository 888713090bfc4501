"""grade() on a fake runner: verdicts for every way a submission can go wrong, no TensorFlow."""

import json

import nbformat
import numpy as np
import pytest
from fakes import FakeRunner, Scenario
from toy import make_toy

from grader.assignment.spec import load_assignment
from grader.notebook import format as nbf
from grader.pipeline.grading import GradeOptions, grade

GOOD = {"toy_shapes": {"W_shape": [3, 2], "steps": [1, 10, 100]}, "toy_score": {"acc": 0.9}}


@pytest.fixture
def toy(tmp_path):
    sol = make_toy(tmp_path)
    return load_assignment(sol), tmp_path


def submit(tmp_path, source=None, edit=None, name="toy.ipynb"):
    nb = nbformat.read(tmp_path / "exercises/toy/toy.ipynb", as_version=4)
    for cell in nb.cells:
        if source is not None and nbf.grade_id(cell) == "toy_vars":
            cell.source = source
    if edit:
        edit(nb)
    path = tmp_path / "subs" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    return path


def run(toy, path, scenario):
    assignment, tmp_path = toy
    runner = FakeRunner(scenario)
    return grade(path, assignment, runner, tmp_path / "out", GradeOptions()), runner


def checks(result):
    return {(p.id, c.name): c for p in result.parts for c in p.checks}


def test_full_marks_from_exported_data(toy):
    result, _ = run(toy, submit(toy[1], "W = np.zeros((3, 2))"), Scenario(exports=GOOD))
    assert result.score == result.max_score == 8
    assert result.to_dict()["schema"] == "dlgrade.result/1"


def test_wrong_shape_shows_expected_and_got(toy):
    exports = {**GOOD, "toy_shapes": {"W_shape": [2, 3], "steps": [1, 10, 100]}}
    result, _ = run(toy, submit(toy[1]), Scenario(exports=exports))
    check = checks(result)[("toy_shapes", "W")]
    assert check.status.value == "fail" and check.score == 0
    assert check.expected == [3, 2] and check.got == [2, 3]
    assert result.score == 6


def test_untouched_template_is_not_implemented_not_an_error(toy):
    result, _ = run(
        toy,
        submit(toy[1]),
        Scenario(
            errors={"toy_vars": ("NotImplementedError", "")},
            export_errors={"toy_shapes": {"W_shape": ("NameError", "W")}},
        ),
    )
    assert result.score == 0
    for check in checks(result).values():
        assert check.status.value == "fail"
        assert "not implemented" in check.message and "delete that line" not in check.message
    assert not result.problems


def test_code_written_above_the_template_raise_is_told_to_delete_it(toy):
    stub = next(
        c.source
        for c in nbformat.read(toy[1] / "exercises/toy/toy.ipynb", as_version=4).cells
        if nbf.grade_id(c) == "toy_vars"
    )
    result, _ = run(
        toy,
        submit(toy[1], "W = np.zeros((3, 2))\n" + stub),
        Scenario(
            errors={"toy_vars": ("NotImplementedError", "")},
            export_errors={"toy_shapes": {"W_shape": ("NameError", "W")}},
        ),
    )
    check = checks(result)[("toy_shapes", "W")]
    assert check.status.value == "fail" and check.message_key == "not_implemented_stub_left"
    assert "delete that line" in check.message and "toy_vars" in check.message
    assert check.message.startswith("not implemented")  # the same verdict, with the reason


def test_student_exception_is_an_error_with_their_message(toy):
    result, _ = run(
        toy,
        submit(toy[1], "W = np.zeroes((3, 2))"),
        Scenario(
            errors={"toy_vars": ("AttributeError", "module 'numpy' has no attribute 'zeroes'")},
            export_errors={"toy_shapes": {"W_shape": ("NameError", "name 'W' is not defined")}},
        ),
    )
    check = checks(result)[("toy_shapes", "W")]
    assert check.status.value == "error"
    assert "AttributeError" in check.message and "zeroes" in check.message


def test_timeout_keeps_finished_parts_and_says_where(toy):
    result, _ = run(toy, submit(toy[1]), Scenario(exports=GOOD, stop_at="toy_train"))
    by_part = {p.id: p for p in result.parts}
    assert by_part["toy_shapes"].score == 3
    assert by_part["toy_score"].score == 0
    assert "timed out" in by_part["toy_score"].stopped and "toy_train" in by_part["toy_score"].stopped


def test_memory_kill_is_said_in_plain_words(toy):
    result, _ = run(
        toy,
        submit(toy[1]),
        Scenario(exports=GOOD, stop_at="toy_train", stop_status="dead", stopped_detail="killed: memory limit 3 GiB"),
    )
    part = next(p for p in result.parts if p.id == "toy_score")
    assert "killed: memory limit 3 GiB" in part.stopped
    assert "memory limit" in part.checks[0].message


def test_below_calibrated_threshold_fails_with_both_numbers(toy):
    result, _ = run(toy, submit(toy[1]), Scenario(exports={**GOOD, "toy_score": {"acc": 0.5}}))
    check = checks(result)[("toy_score", "accuracy")]
    assert check.status.value == "fail"
    assert check.got == 0.5 and "0.8" in check.message


def test_not_a_notebook(toy):
    path = toy[1] / "toy.ipynb"
    path.write_bytes(b"\xff\xfe not json")
    result, runner = run(toy, path, Scenario())
    assert result.score == 0 and not runner.jobs
    assert all(c.status.value == "error" for c in checks(result).values())
    assert "UTF-8" in next(iter(checks(result).values())).message


def test_notebook_of_another_exercise(toy):
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    path = toy[1] / "toy.ipynb"
    nbformat.write(other, path)
    result, runner = run(toy, path, Scenario())
    assert not runner.jobs
    assert "not a notebook of this exercise" in next(iter(checks(result).values())).message


def test_changed_locked_cell_is_restored_and_reported(toy):
    def cheat(nb):
        next(c for c in nb.cells if nbf.grade_id(c) == "toy_train").source = "acc = 1.0  # trust me"

    result, runner = run(toy, submit(toy[1], edit=cheat), Scenario(exports=GOOD))
    ran = runner.jobs[0].notebook
    assert next(c for c in ran.cells if nbf.grade_id(c) == "toy_train").source == "acc = 0.9"
    finding = checks(result)[("toy-notebook", "locked-changed")]
    assert "toy_train" in finding.message


def test_deleted_graded_cell_runs_the_released_stub(toy):
    def delete(nb):
        nb.cells = [c for c in nb.cells if nbf.grade_id(c) != "toy_vars"]

    result, runner = run(toy, submit(toy[1], edit=delete), Scenario(errors={"toy_vars": ("NotImplementedError", "")}))
    ran = runner.jobs[0].notebook
    assert any(nbf.grade_id(c) == "toy_vars" for c in ran.cells)
    assert ("toy-notebook", "cell-missing") in checks(result)
    assert result.score == 0


def test_a_deleted_locked_cell_is_put_back_without_blaming_the_student(toy):
    def delete(nb):
        nb.cells = [c for c in nb.cells if nbf.grade_id(c) != "toy_train"]

    result, runner = run(toy, submit(toy[1], edit=delete), Scenario(exports=GOOD))
    ran = runner.jobs[0].notebook
    assert any(nbf.grade_id(c) == "toy_train" for c in ran.cells)
    found = checks(result)
    assert ("toy-notebook", "cell-missing") not in found
    assert found[("toy-notebook", "recovered-locked")].status.value == "pass"
    assert "toy_train" in found[("toy-notebook", "recovered-locked")].message


def test_reordered_cells_are_put_back(toy):
    def swap(nb):
        i = next(i for i, c in enumerate(nb.cells) if nbf.grade_id(c) == "toy_vars")
        nb.cells[i], nb.cells[i + 1] = nb.cells[i + 1], nb.cells[i]

    result, runner = run(toy, submit(toy[1], "W = np.zeros((3, 2))", edit=swap), Scenario(exports=GOOD))
    order = [nbf.grade_id(c) for c in runner.jobs[0].notebook.cells if nbf.grade_id(c)]
    assert order == ["toy_intro", "toy_setup", "toy_vars", "toy_train"]
    assert ("toy-notebook", "reordered") in checks(result)


def test_renamed_file_is_matched_by_its_cells(toy):
    result, runner = run(toy, submit(toy[1], name="my homework.ipynb"), Scenario(exports=GOOD))
    assert runner.jobs and result.score == 8


def test_missing_notebook_in_a_folder_submission(toy):
    folder = toy[1] / "subs" / "erin"
    folder.mkdir(parents=True)
    result, runner = run(toy, folder, Scenario())
    assert result.submission == "erin" and not runner.jobs
    assert "was not submitted" in next(iter(checks(result).values())).message


def test_injected_cells_seed_first_and_export_after_each_part(toy):
    _, runner = run(toy, submit(toy[1]), Scenario(exports=GOOD))
    cells = runner.jobs[0].notebook.cells
    assert cells[0].metadata["dlgrade"]["injected"] == "seed"
    ids = [nbf.grade_id(c) or c.metadata.get("dlgrade", {}).get("part") for c in cells]
    assert ids.index("toy_shapes") == ids.index("toy_vars") + 1
    assert ids.index("toy_score") == ids.index("toy_train") + 1


def test_symlinked_artifact_is_refused(toy, tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.array([3, 2]))

    class Planting(FakeRunner):
        def _export(self, folder, part):
            super()._export(folder, part)
            if part == "toy_shapes":
                (folder / "W_shape.json").unlink()
                (folder / "W_shape.json").symlink_to(secret)

    assignment, root = toy
    result = grade(submit(root), assignment, Planting(Scenario(exports=GOOD)), root / "out", GradeOptions())
    check = checks(result)[("toy_shapes", "W")]
    assert check.score == 0 and "symbolic link" in check.message


def test_pickled_array_is_refused(toy):
    class Pickling(FakeRunner):
        def _export(self, folder, part):
            super()._export(folder, part)
            if part == "toy_score":
                np.save(folder / "acc.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
                (folder / "_export.json").write_text(json.dumps({"saved": {"acc": "npy"}, "errors": {}}))

    assignment, root = toy
    result = grade(submit(root), assignment, Pickling(Scenario(exports=GOOD)), root / "out", GradeOptions())
    check = checks(result)[("toy_score", "accuracy")]
    assert check.score == 0 and "not a plain numeric array" in check.message


def test_identical_notebooks_are_graded_once(toy):
    from grader.pipeline.cache import ResultCache

    assignment, root = toy
    runner = FakeRunner(Scenario(exports=GOOD))
    options = GradeOptions(cache=ResultCache(root / "cache"))
    first = grade(submit(root, "W = np.zeros((3, 2))", name="a.ipynb"), assignment, runner, root / "out", options)
    second = grade(submit(root, "W = np.zeros((3, 2))", name="b.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 1
    assert second.score == first.score == 8 and second.submission == "b"
    assert second.timings["notebooks"]["toy.ipynb"]["cached"] is True
    grade(submit(root, "W = np.ones((3, 2))", name="c.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 2


def test_a_cache_entry_of_another_shape_is_graded_again(toy):
    import json

    from grader.pipeline.cache import ResultCache

    assignment, root = toy
    runner = FakeRunner(Scenario(exports=GOOD))
    options = GradeOptions(cache=ResultCache(root / "cache"))
    first = grade(submit(root, name="a.ipynb"), assignment, runner, root / "out", options)
    for entry in (root / "cache").glob("*.json"):  # an older dlgrade's entry, or a damaged one
        entry.write_text(json.dumps({"parts": "not parts", "status": 3}))
    second = grade(submit(root, name="b.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 2 and second.score == first.score == 8


def test_a_change_to_any_file_of_the_assignment_or_of_the_grader_grades_again(toy, monkeypatch, tmp_path):
    import os
    import shutil

    from grader.pipeline import cache as cache_module
    from grader.pipeline.cache import ResultCache

    assignment, root = toy
    runner = FakeRunner(Scenario(exports=GOOD))
    options = GradeOptions(cache=ResultCache(root / "cache"))
    rubric = root / "solutions" / "toy" / "rubrics.json"  # a file the checks file would read
    rubric.write_text('{"q": ["one idea"]}')
    grade(submit(root, name="a.ipynb"), assignment, runner, root / "out", options)
    grade(submit(root, name="b.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 1
    rubric.write_text('{"q": ["two ideas"]}')
    os.utime(rubric, ns=(1, 1))  # even when the clock did not move on
    grade(submit(root, name="c.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 2
    package = tmp_path / "grader-copy"  # dlgrade's own code changes: a new version of a check
    shutil.copytree(cache_module.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache_module, "PACKAGE_DIR", package)
    grade(submit(root, name="d.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 2  # the same code, wherever it lives
    (package / "checks" / "core.py").write_text((package / "checks" / "core.py").read_text() + "\n# changed\n")
    grade(submit(root, name="e.ipynb"), assignment, runner, root / "out", options)
    assert len(runner.jobs) == 3
    grade(submit(root, name="f.ipynb"), assignment, runner, root / "out", GradeOptions(cache=options.cache, seed=1))
    assert len(runner.jobs) == 4  # another seed is other work


def test_submissions_sharing_a_file_name_get_distinct_outputs(tmp_path):
    from grader.pipeline.scheduler import unique_names

    a, b, c = tmp_path / "a" / "hw.ipynb", tmp_path / "b" / "hw.ipynb", tmp_path / "c" / "other.ipynb"
    names = unique_names([a, b, c])
    assert names[a] == "a-hw" and names[b] == "b-hw" and names[c] == "other"


def test_saved_outputs_do_not_count_against_the_size_cap_and_are_not_run(toy):
    picture = {"image/png": "A" * (8 * 2**20)}

    def outputs(nb):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [nbformat.v4.new_output("display_data", data=picture)]

    path = submit(toy[1], "W = np.zeros((3, 2))", edit=outputs)
    assert path.stat().st_size > 20 * 2**20
    result, runner = run(toy, path, Scenario(exports=GOOD))
    assert result.score == 8
    assert all(not c.get("outputs") for c in runner.jobs[0].notebook.cells)


def test_a_notebook_with_too_much_text_is_refused(toy):
    path = submit(toy[1], "# " + "x" * (21 * 2**20))
    result, runner = run(toy, path, Scenario(exports=GOOD))
    assert not runner.jobs and result.score == 0
    assert "MiB of text" in next(iter(checks(result).values())).message


def test_a_notebook_of_too_many_cells_is_refused_before_it_is_validated(toy):
    from grader.notebook.format import MAX_CELLS

    def many(nb):
        nb.cells += [nbformat.v4.new_code_cell("") for _ in range(MAX_CELLS)]

    result, runner = run(toy, submit(toy[1], edit=many), Scenario(exports=GOOD))
    assert not runner.jobs and result.score == 0
    assert f"over {MAX_CELLS} cells is refused" in next(iter(checks(result).values())).message


def test_a_notebook_that_lost_its_metadata_is_graded_and_told_so_without_a_failure(toy):
    def strip(nb):
        for cell in nb.cells:
            cell.metadata = {}

    result, runner = run(
        toy, submit(toy[1], "W = np.zeros((3, 2))", edit=strip, name="renamed.ipynb"), Scenario(exports=GOOD)
    )
    assert result.score == result.max_score == 8
    ran = next(c for c in runner.jobs[0].notebook.cells if nbf.grade_id(c) == "toy_vars")
    assert ran.source == "W = np.zeros((3, 2))"
    notes = {name: c for (pid, name), c in checks(result).items() if pid == "toy-notebook"}
    assert set(notes) == {"recovered-content", "recovered-place"}
    assert all(c.status.value == "pass" and c.max_score == 0 for c in notes.values())
    from grader.reporters.view import student_view

    in_japanese = next(p for p in student_view(result, "ja").parts if p.id == "toy-notebook")
    assert in_japanese.title == "toy.ipynb: ノートブック自体について"
    assert "内容から特定しました" in in_japanese.checks[0].message


# --- the real reason first ---------------------------------------------------------------------

OLD_ADAM = ("ValueError", "Argument(s) not recognized: {'lr': 0.01}")


def test_a_cell_that_raised_is_the_verdict_not_its_half_built_value(toy):
    # the model cell raised at Adam(lr=...) after defining W wrong-ish: the exception comes first
    exports = {**GOOD, "toy_shapes": {"W_shape": [2, 3], "steps": [1, 10, 100]}}
    result, _ = run(toy, submit(toy[1]), Scenario(errors={"toy_vars": OLD_ADAM}, exports=exports))
    check = checks(result)[("toy_shapes", "W")]
    assert check.score == 0 and check.message_key == "cell_raised.old_api"
    assert check.message.startswith("your code in cell toy_vars raised ValueError")
    assert "learning_rate=0.01" in check.message and "learning_rate=0.01" in check.hint
    assert check.got is None and "shape" not in check.message  # no judgment of the half-built value
    assert checks(result)[("toy_shapes", "steps")].status.value == "pass"  # what is right stays right
    from grader.reporters.view import localized

    ja = localized(result, "ja")
    shown = next(c for p in ja.parts for c in p.checks if c.name == "W" and p.id == "toy_shapes")
    assert "古い API" in shown.message and "learning_rate=0.01" in shown.message


def test_a_locked_cell_that_raised_names_the_answer_cell_to_look_at(toy):
    result, _ = run(
        toy,
        submit(toy[1]),
        Scenario(
            errors={"toy_train": ("NameError", "name 'acc' is not defined")},
            exports={"toy_shapes": GOOD["toy_shapes"]},
            export_errors={"toy_score": {"acc": ("NameError", "name 'acc' is not defined")}},
        ),
    )
    check = checks(result)[("toy_score", "accuracy")]
    assert check.message_key == "cell_raised.locked"
    assert "toy_train" in check.message and "your cell toy_vars" in check.message
    # and when the value is there but the locked cell failed, the same reason comes first
    result, _ = run(
        toy,
        submit(toy[1]),
        Scenario(
            errors={"toy_train": ("ValueError", "shapes (3, 2) and (3, 2) not aligned")},
            exports={**GOOD, "toy_score": {"acc": 0.1}},
        ),
    )
    check = checks(result)[("toy_score", "accuracy")]
    assert check.message_key == "cell_raised.locked" and "toy_vars" in check.message


def test_nan_is_called_divergence(toy):
    result, _ = run(toy, submit(toy[1]), Scenario(exports={**GOOD, "toy_score": {"acc": np.array(np.nan)}}))
    check = checks(result)[("toy_score", "accuracy")]
    assert check.status.value == "fail" and check.message_key == "diverged"
    assert "diverged" in check.message and "nan" in check.message


def test_terminal_colour_codes_never_reach_a_message(toy):
    red = ("\x1b[0;31mAttributeError\x1b[0m", "module \x1b[1m'numpy'\x1b[0m has no attribute 'zeroes'\x07")
    result, _ = run(
        toy,
        submit(toy[1]),
        Scenario(
            errors={"toy_vars": red}, export_errors={"toy_shapes": {"W_shape": ("NameError", "\x1b[31mW\x1b[0m")}}
        ),
    )
    from grader.reporters.view import localized

    for shown in (result, localized(result, "ja")):
        for part in shown.parts:
            for c in part.checks:
                text = c.message + str(c.message_args) + str(c.hint)
                assert "\x1b" not in text and "\x07" not in text, text
    assert "AttributeError" in checks(result)[("toy_shapes", "W")].message


def test_the_old_api_section_does_not_promise_no_points_lost():
    from grader.i18n import CATALOG, t

    assert "no points lost" not in t("report.legacy", "en") and "減点なし" not in t("report.legacy", "ja")
    for key in ("diverged", "loss.diverged", "cell_raised.locked", "cell_raised.old_api", "report.legacy_intro"):
        assert set(CATALOG[key]) >= {"en", "ja"}, key
