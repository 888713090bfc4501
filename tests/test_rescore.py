"""Rescore: grading keeps what the checks read (scoring/<stem>.npz, its sha256 in the gradebook
run); after a threshold or a checks file changes, every verdict is computed again from it with
no runner, no kernel, no sandbox; a part the new checks file asks more of keeps its old verdict
and says why; overrides hold; the rescore is a new run and the old reports are kept. On SQLite
and on PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile

import nbformat
import numpy as np
import pytest
from fakes import FakeRunner, Scenario
from postgres import postgres_server  # noqa: F401  (the session's server)
from toy import CHECKS, make_toy

from grader.assignment.spec import Evaluate, Part, load_assignment
from grader.cli.main import main
from grader.gradebook import Gradebook
from grader.pipeline import kept as kp
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import GradeOptions, grade
from grader.pipeline.rescore import rescore_assignment, rescore_result, save, unavailable

GOOD = {"toy_shapes": {"W_shape": [3, 2], "steps": [1, 10, 100]}, "toy_score": {"acc": 0.9}}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'course.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def no_run(monkeypatch):
    """Once armed (after grading), any attempt to execute or evaluate a notebook fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a rescore ran a notebook")

    def arm():
        for name in ("execute", "evaluate"):
            monkeypatch.setattr(SandboxedRunner, name, refuse)
            monkeypatch.setattr(FakeRunner, name, refuse)

    return arm


STUDENTS = {"s1": 0.9, "s2": 0.85}  # the toy's threshold is 0.8: both pass


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The toy assignment graded once for each student (fake runner), with its reports."""
    from grader import reporters

    root = tmp_path_factory.mktemp("graded")
    assignment = load_assignment(make_toy(root))
    release = nbformat.read(root / "exercises/toy/toy.ipynb", as_version=4)
    for student, acc in STUDENTS.items():
        path = root / "subs" / student / "toy.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(release, path)
        runner = FakeRunner(Scenario(exports={**GOOD, "toy_score": {"acc": acc}}))
        result = grade(path.parent, assignment, runner, root / "out", GradeOptions(keep_scoring=True))
        reporters.write_submission(result, root / "out", ["html", "json"], "en")
        assert len(runner.jobs) == 1
    return root


@pytest.fixture
def graded_class(graded, tmp_path, db_url):
    """A copy of the graded class, recorded in a new gradebook: (solutions/toy, book)."""
    from grader.gradebook import RosterRow
    from grader.reporters import json_report

    shutil.copytree(graded, tmp_path, dirs_exist_ok=True)
    book = Gradebook(db_url)
    book.import_roster([RosterRow(s, f"Student {s}", None) for s in STUDENTS])
    for student in STUDENTS:
        path = tmp_path / "subs" / student / "toy.ipynb"
        result = json_report.read(tmp_path / "out" / student / "result.json")
        sub = book.record_submission(student, "toy", {"toy.ipynb": path.read_bytes()})
        where = tmp_path / "out" / student  # `grade --db` records result.json itself, a caller may name the folder
        where = where / "result.json" if student == "s2" else where
        book.record_run(result, sub, options={"lang": "en", "seed": 0}, result_path=str(where))
    yield tmp_path / "solutions" / "toy", book


def set_threshold(sol, value: float) -> None:
    path = sol / "toy.thresholds.json"
    data = json.loads(path.read_text())
    data["metrics"]["toy_acc"]["threshold"] = value
    path.write_text(json.dumps(data))


def accuracy_points(run) -> float:
    return next(v.points for v in run.verdicts if v.check == "accuracy")


def test_grading_keeps_the_scoring_inputs_and_the_run_records_their_digest(tmp_path, graded_class):
    sol, book = graded_class
    kept = tmp_path / "out" / "s1" / "scoring" / "toy.npz"
    run = book.latest_run("s1", "toy")
    assert run.scoring == {"toy.ipynb": hashlib.sha256(kept.read_bytes()).hexdigest()}
    with zipfile.ZipFile(kept) as zf:  # data only: JSON and .npy, nothing that unpickles
        assert all(n.endswith((".json", ".npy")) for n in zf.namelist())
    loaded = kp.load(kept, run.scoring["toy.ipynb"])
    assert loaded.inputs.part_data["toy_score"].values == {"acc": 0.9}
    assert loaded.parts["toy_shapes"]["asked"] == ["W_shape", "steps"]


def test_a_threshold_change_is_rescored_without_running_anything(tmp_path, graded_class, no_run):
    sol, book = graded_class
    no_run()
    set_threshold(sol, 0.95)  # s1's 0.9 passed the toy's 0.8; now it does not
    assignment = load_assignment(sol)
    done, failed = rescore_assignment(book, assignment, hidden=None)
    assert not failed and [d.who for d in done] == ["s1", "s2"]
    s1 = done[0]
    assert [(c.part, c.check, c.old, c.new) for c in s1.changes] == [("toy_score", "accuracy", 5.0, 0.0)]
    assert (s1.old_total, s1.new_total) == (8.0, 3.0)
    old = book.latest_run("s1", "toy")
    new_id = save(book, assignment, s1)
    runs = book.runs_of("s1", "toy")
    assert [r.kind for r in runs] == ["grade", "rescore"] and runs[-1].id == new_id
    assert runs[-1].based_on_id == old.id and runs[-1].scoring == old.scoring
    assert accuracy_points(runs[0]) == 5.0 and accuracy_points(runs[-1]) == 0.0  # the old run is untouched
    folder = tmp_path / "out" / "s1"
    assert json.loads((folder / "result.json").read_text())["score"] == 3.0
    assert json.loads((folder / "history" / f"run-{old.id}" / "result.json").read_text())["score"] == 8.0
    assert (folder / "history" / f"run-{old.id}" / "report.html").is_file()
    # a rescore of the rescore starts from the same kept file
    set_threshold(sol, 0.5)
    again, _ = rescore_assignment(book, load_assignment(sol), hidden=None)
    assert again[0].new_total == 8.0 and again[0].run.id == new_id


def test_the_class_dashboard_shows_the_rescored_scores(tmp_path, graded_class, no_run):
    from grader import reporters
    from grader.pipeline.rescore import refresh_class_files
    from grader.reporters import json_report

    sol, book = graded_class
    out = tmp_path / "out"
    results = [json_report.read(out / s / "result.json") for s in STUDENTS]
    for student, result in zip(STUDENTS, results):
        result.submission = student
    reporters.write_class(results, out, ["html", "csv"], "en")

    def totals() -> dict:
        rows = csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8-sig")))
        return {row["submission"]: float(row["total"]) for row in rows}

    assert totals() == {"s1": 8.0, "s2": 8.0}
    no_run()
    set_threshold(sol, 0.95)
    done, _ = rescore_assignment(book, load_assignment(sol), hidden=None)
    for item in done:
        save(book, load_assignment(sol), item)
    written = refresh_class_files({out}, "en")
    assert sorted(p.name for p in written) == ["grades.csv", "index.html"]  # what grading wrote, no more
    assert totals() == {"s1": 3.0, "s2": 3.0}  # 0.9 and 0.85 both under the new 0.95
    assert refresh_class_files({out / "s1"}) == []  # a folder without class files is left alone


def test_an_export_not_kept_keeps_the_old_verdict_and_says_why(tmp_path, graded_class, no_run):
    sol, book = graded_class
    no_run()
    checks = CHECKS.replace(
        'exports={"W_shape": "list(W.shape)", "steps": "steps"},',
        'exports={"W_shape": "list(W.shape)", "steps": "steps", "lr": "lr"},',
    ).replace(
        'Equals("steps", 1, expected=[1, 10, 100])',
        'Equals("steps", 1, expected=[1, 10]), Equals("lr", 1, expected=0.1)',
    )
    (sol / "toy.checks.py").write_text(checks)
    set_threshold(sol, 0.95)
    done, _ = rescore_assignment(book, load_assignment(sol), hidden=None)
    item = done[0]
    assert [(n.key, n.args) for n in item.notes] == [("rescore.kept.not_asked", {"part": "toy_shapes", "name": "lr"})]
    # toy_shapes as graded (its steps check still 1 point, no "lr" check); toy_score rescored
    assert [(c.part, c.check, c.old, c.new) for c in item.changes] == [("toy_score", "accuracy", 5.0, 0.0)]
    assert any(p["kind"] == "rescore" for p in item.result.problems)


def test_a_kept_file_changed_since_grading_is_not_scored_from(tmp_path, graded_class, no_run):
    sol, book = graded_class
    no_run()
    kept = tmp_path / "out" / "s1" / "scoring" / "toy.npz"
    kept.write_bytes(kept.read_bytes() + b"\0")
    set_threshold(sol, 0.95)
    done, _ = rescore_assignment(book, load_assignment(sol), hidden=None)
    assert done[0].changes == [] and done[0].new_total == 8.0  # kept as graded, never zeroed
    assert done[0].notes[0].key == "rescore.kept.no_file" and "sha256" in done[0].notes[0].args["reason"]


def test_a_pickle_in_a_kept_file_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        meta = {"format": kp.FORMAT, "notebook": "toy.ipynb", "record": {}, "process": {}, "answers": {},
                "stub_left": [], "hidden": {}, "parts": {"p": {"ran": True, "errors": {}, "unreadable": {},
                "too_large": [], "saved_models": [], "arrays": ["x"], "json": [], "predictions": {}, "runs": {}}}}  # fmt: skip
        zf.writestr("meta.json", json.dumps(meta))
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        zf.writestr("v.p.x.npy", buf.getvalue())
    path = tmp_path / "x.npz"
    path.write_bytes(out.getvalue())
    with pytest.raises(kp.NotKept, match="not a plain numeric array"):
        kp.load(path, hashlib.sha256(out.getvalue()).hexdigest())


def test_overrides_hold_over_a_rescore(tmp_path, graded_class, no_run):
    sol, book = graded_class
    no_run()
    book.override("s1", "toy", "toy_score", "accuracy", 4.0, comment="close enough", author="sato")
    set_threshold(sol, 0.95)
    done, _ = rescore_assignment(book, load_assignment(sol), hidden=None)
    change = done[0].changes[0]
    assert (change.old, change.new, change.override) == (5.0, 0.0, 4.0)
    assert done[0].old_total == done[0].new_total == 7.0  # the student keeps the person's points
    save(book, load_assignment(sol), done[0])
    assert book.overrides_of("s1", "toy")[("toy_score", "accuracy")].points == 4.0


class FakeHidden:
    def __init__(self, x):
        self.x = x

    def holdout(self, name):
        return self.x, np.zeros(len(self.x))


def test_an_evaluation_changed_or_on_other_inputs_is_not_rescored():
    part = Part(id="p", title="p", cells=["c"], checks=[], exports={"W": "W"},
                evaluate={"holdout": Evaluate(dataset="d", function="m:f", arrays=("W",))})  # fmt: skip
    hidden = FakeHidden(np.arange(6.0))
    kept_part = {**kp.part_definition(part), "asked": ["W"], "left_out": {}}
    kept = kp.Kept("n", None, None, {"p": kept_part}, {"d": kp.inputs_digest(hidden, "d")})
    assert unavailable(part, kept_part, kept, hidden, {}) is None
    assert unavailable(part, kept_part, kept, FakeHidden(np.arange(7.0)), {}).key == "rescore.kept.hidden_changed"
    other = Part(id="p", title="p", cells=["c"], checks=[], exports={"W": "W"},
                 evaluate={"holdout": Evaluate(dataset="d", function="m:g", arrays=("W",))})  # fmt: skip
    assert unavailable(other, kept_part, kept, hidden, {}).key == "rescore.kept.evaluation_changed"
    moved = Part(id="p", title="p", cells=["c"], after="d", checks=[], exports={"W": "W"}, evaluate=part.evaluate)
    assert unavailable(moved, kept_part, kept, hidden, {}).key == "rescore.kept.cells_changed"
    left = {**kept_part, "left_out": {"prediction:holdout": 2**26}}
    assert unavailable(part, left, kept, hidden, {}).key == "rescore.kept.left_out"


def test_the_largest_arrays_are_left_out_past_the_cap(tmp_path):
    spec = load_assignment(make_toy(tmp_path)).notebooks[0]
    from grader.intake.artifacts import PartData
    from grader.pipeline.execution import ExecutionOutcome
    from grader.pipeline.scoring import ScoringInputs
    from grader.sandbox.base import ProcessOutcome

    data = PartData(ran=True, values={"W_shape": np.zeros(3), "steps": np.zeros(1000)})
    inputs = ScoringInputs({"toy_shapes": data}, {}, {})
    outcome = ExecutionOutcome({}, ProcessOutcome(returncode=0, wall_s=0), None, tmp_path)
    raw = kp.dump(spec, outcome, inputs, None, max_bytes=1000)
    path = tmp_path / "k.npz"
    loaded = kp.load(path, kp.write(path, raw)["sha256"])
    assert list(loaded.inputs.part_data["toy_shapes"].values) == ["W_shape"]
    assert loaded.parts["toy_shapes"]["left_out"] == {"steps": 8128}


def test_the_command_shows_who_gains_or_loses_and_records_with_yes(tmp_path, db_url, graded_class, no_run, capsys):
    sol, book = graded_class
    no_run()
    set_threshold(sol, 0.87)  # s1's 0.9 still passes, s2's 0.85 no longer does
    assert main(["rescore", str(sol), "--db", db_url]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "->" in line]
    assert "  s2  toy_score/accuracy  5 -> 0" in lines and "  s2  total  8 -> 3" in lines
    assert "s1" not in "".join(lines)
    assert "nothing recorded" in out
    with Gradebook(db_url) as book:
        assert [r.kind for r in book.runs_of("s2", "toy")] == ["grade"]
    assert main(["rescore", str(sol), "--db", db_url, "--yes", "--lang", "ja"]) == 0
    assert "再採点の実行を 2 件記録しました" in capsys.readouterr().out
    with Gradebook(db_url) as book:
        assert [r.kind for r in book.runs_of("s2", "toy")] == ["grade", "rescore"]
        assert [r.kind for r in book.runs_of("s1", "toy")] == ["grade", "rescore"]


def test_only_a_grading_that_asks_keeps_what_its_checks_read(tmp_path):
    sol = make_toy(tmp_path)
    path = tmp_path / "subs" / "s1" / "toy.ipynb"
    path.parent.mkdir(parents=True)
    path.write_bytes((tmp_path / "exercises/toy/toy.ipynb").read_bytes())
    runner = FakeRunner(Scenario(exports=GOOD))
    plain = grade(path.parent, load_assignment(sol), runner, tmp_path / "plain", GradeOptions())
    assert not (tmp_path / "plain" / "s1" / "scoring").exists() and not plain.notebooks[0].get("scoring")
    kept = grade(path.parent, load_assignment(sol), runner, tmp_path / "kept", GradeOptions(keep_scoring=True))
    assert (tmp_path / "kept" / "s1" / "scoring" / "toy.npz").is_file() and kept.notebooks[0].get("scoring")


def test_a_notebook_graded_without_a_run_is_rescored_with_the_new_points(tmp_path):
    sol = make_toy(tmp_path)
    (tmp_path / "empty").mkdir()
    result = grade(
        tmp_path / "empty",
        load_assignment(sol),
        FakeRunner(Scenario()),
        tmp_path / "out",
        GradeOptions(keep_scoring=True),
    )
    assert result.notebooks[0]["status"] == "missing" and result.max_score == 8
    (sol / "toy.checks.py").write_text(CHECKS.replace('Shape("W", 2,', 'Shape("W", 4,'))
    again, notes = rescore_result(load_assignment(sol), result, tmp_path / "out" / "empty", {}, "en", None)
    assert not notes and again.score == 0 and again.max_score == 10
    assert {c.message_key for p in again.parts for c in p.checks} == {"nb.not_submitted"}


def test_a_notebook_graded_from_the_cache_keeps_its_scoring_inputs_too(tmp_path):
    from grader.pipeline.cache import ResultCache

    sol = make_toy(tmp_path)
    path = tmp_path / "subs" / "toy.ipynb"
    path.parent.mkdir()
    shutil.copy(tmp_path / "exercises/toy/toy.ipynb", path)
    options = GradeOptions(cache=ResultCache(tmp_path / "cache"), keep_scoring=True)
    runner = FakeRunner(Scenario(exports=GOOD))
    first = grade(path, load_assignment(sol), runner, tmp_path / "a", options)
    again = grade(path, load_assignment(sol), runner, tmp_path / "b", options)
    assert len(runner.jobs) == 1 and again.timings["notebooks"]["toy.ipynb"]["cached"]
    assert again.notebooks[0]["scoring"] == first.notebooks[0]["scoring"]
    assert (tmp_path / "b" / "toy" / "scoring" / "toy.npz").read_bytes() == (
        tmp_path / "a/toy/scoring/toy.npz"
    ).read_bytes()


def test_a_part_with_saved_models_and_predictions_round_trips(tmp_path):
    """What a Keras part leaves (a saved model, predictions, one failed) is kept and scored from."""
    from grader.intake.artifacts import PartData
    from grader.pipeline.evaluate import EvaluationFailed
    from grader.pipeline.execution import ExecutionOutcome
    from grader.pipeline.scoring import ScoringInputs
    from grader.sandbox.base import ProcessOutcome

    part = Part(id="p", title="p", cells=["c"], checks=[], exports={"acc": "acc"}, models={"model": "model"},
                evaluate={"holdout": Evaluate(dataset="d", model="model"), "other": Evaluate(dataset="d", model="model")})  # fmt: skip
    spec = type("Spec", (), {"name": "n.ipynb", "parts": [part]})()
    data = PartData(ran=True, values={"acc": 0.5}, models={"model": tmp_path / "model.keras"})
    got = {"p": {"holdout": np.eye(3, dtype=np.float32), "other": EvaluationFailed("no model")}}
    outcome = ExecutionOutcome(
        {"status": "finished", "cells": []}, ProcessOutcome(returncode=0, wall_s=0), None, tmp_path
    )
    hidden = FakeHidden(np.arange(3.0))
    raw = kp.dump(spec, outcome, ScoringInputs({"p": data}, {}, got), hidden)
    path = tmp_path / "k.npz"
    kept = kp.load(path, kp.write(path, raw)["sha256"])
    assert set(kept.inputs.part_data["p"].models) == {"model"}
    assert np.array_equal(kept.inputs.predictions["p"]["holdout"], np.eye(3))
    assert kept.inputs.predictions["p"]["other"] == "no model"
    assert unavailable(part, kept.parts["p"], kept, hidden, {}) is None
    rebuilt = Part(id="p", title="p", cells=["c"], checks=[], exports={"acc": "acc"}, models={"model": "build()"},
                   evaluate=part.evaluate)  # fmt: skip
    assert unavailable(rebuilt, kept.parts["p"], kept, hidden, {}).key == "rescore.kept.export_changed"


def test_a_kept_file_that_cannot_be_written_costs_the_rescore_not_the_grade(tmp_path):
    sol = make_toy(tmp_path)
    path = tmp_path / "subs" / "toy.ipynb"
    path.parent.mkdir()
    shutil.copy(tmp_path / "exercises/toy/toy.ipynb", path)
    (tmp_path / "out" / "toy").mkdir(parents=True)
    (tmp_path / "out" / "toy" / "scoring").write_text("a file where the folder goes")  # as a full disk would
    result = grade(
        path,
        load_assignment(sol),
        FakeRunner(Scenario(exports=GOOD)),
        tmp_path / "out",
        GradeOptions(keep_scoring=True),
    )
    assert result.score == 8 and not result.problems and "scoring" not in result.notebooks[0]
    again, notes = rescore_result(load_assignment(sol), result, tmp_path / "out" / "toy", {}, "en", None)
    assert again.score == 8 and notes[0].key == "rescore.kept.no_file"
