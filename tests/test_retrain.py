"""Retraining from other seeds (spec.Retrain): a correct XOR network that one unlucky start fails
is trained again in the student's kernel and judged on its best run; a network that cannot learn
the table fails every run and is told so; retraining never spends more than its time budget."""

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.assignment import Evaluate
from grader.assignment.spec import NotebookSpec, Part, Retrain
from grader.checks import CheckContext, TruthTable
from grader.errors import AssignmentError
from grader.inside import kernel
from grader.intake.artifacts import ByteBudget, PartData, retrain_id, seeded
from grader.pipeline.evaluate import _evaluations
from grader.pipeline.execution import ExecutionOutcome, inject, part_sources
from grader.pipeline.hidden import HiddenData
from grader.pipeline.scoring import retrained
from grader.results import Status
from grader.sandbox.base import Limits, ProcessOutcome

XOR = (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32), np.array([0, 1, 1, 0]))
RIGHT = np.array([[0.1], [0.9], [0.8], [0.2]])
LINEAR = np.array([[0.1], [0.9], [0.8], [0.7]])  # the best a network without a hidden layer does


def _ctx(predictions, runs=(), stopped="") -> CheckContext:
    hidden = HiddenData()
    hidden.register("xor_test", lambda: XOR)
    return CheckContext(
        part_id="p",
        values={},
        thresholds={},
        hidden=hidden,
        predictions=predictions,
        retrained={"runs": [{"seed": s, "seconds": 1.0, "error": e} for s, e in runs], "stopped": stopped},
    )


def _xor(ctx, lang="en"):
    ctx.lang = lang
    return TruthTable("XOR", 3, evaluation="xor", dataset="xor_test", model="m")(ctx)


def test_the_best_run_counts_and_the_report_says_the_network_was_trained_again():
    result = _xor(_ctx({"xor": LINEAR, "xor__seed1": LINEAR, "xor__seed2": RIGHT}, runs=[(1, ""), (2, "")]))
    assert result.status is Status.PASS and result.score == 3
    assert result.message_key == "truth_table.ok.retrained"
    assert "best of 3 training runs" in result.message and "1 of 3" in result.message
    assert "3 回の学習" in _xor(_ctx({"xor": LINEAR, "xor__seed2": RIGHT}, runs=[(1, "boom"), (2, "")]), "ja").message


def test_a_network_that_fails_every_run_is_told_it_is_not_bad_luck():
    result = _xor(
        _ctx({"xor": LINEAR, "xor__seed1": LINEAR, "xor__seed2": "ValueError: cannot load"}, runs=[(1, ""), (2, "")])
    )
    assert result.status is Status.FAIL and result.score == 0
    assert result.message_key == "truth_table.wrong.retrained"
    assert "Not bad luck" in result.message and "[1.0, 1.0] -> 1 (expected 0)" in result.message


def test_a_run_that_raised_is_not_judged_and_a_first_run_that_passed_needs_no_note():
    # the kernel said seed 1 raised: a model left under its name from an earlier run is not used
    result = _xor(_ctx({"xor": LINEAR, "xor__seed1": RIGHT}, runs=[(1, "RuntimeError: x")]))
    assert result.status is Status.FAIL and result.message_key == "truth_table.wrong.retrained"
    assert result.message_args["runs"] == 2
    assert _xor(_ctx({"xor": RIGHT}, stopped="passed")).message_key == "truth_table.ok"


def test_no_time_to_retrain_is_said():
    result = _xor(_ctx({"xor": LINEAR}, stopped="time"))
    assert result.message_key == "truth_table.wrong.no_time" and "takes longer than the time left" in result.message


def test_retrain_plans_are_checked_when_the_checks_file_loads():
    with pytest.raises(AssignmentError):
        Retrain(seeds=())
    with pytest.raises(AssignmentError):
        Retrain(seeds=(1, -2))
    with pytest.raises(AssignmentError):
        Retrain(share=0)


def _cell(kind, src, gid):
    cell = nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
    cell.metadata["nbgrader"] = {"grade_id": gid, "solution": gid.endswith("model"), "locked": False}
    return cell


NB = nbformat.v4.new_notebook(
    cells=[
        _cell("code", "import keras", "setup"),
        _cell("code", "model_xor = build()", "xor_model"),
        _cell("markdown", "text", "why"),
        _cell("code", "model_xor.fit(X, T)", "xor_train"),
        _cell("code", "print(model_xor.predict(X))", "xor_test"),
    ]
)
PART = Part(
    id="xor",
    title="XOR",
    cells=["xor_model"],
    after="xor_train",
    checks=[],
    models={"m": "model_xor"},
    evaluate={"xor": Evaluate(dataset="xor_test", model="m")},
    retrain=Retrain(seeds=(7, 8), until="done(model_xor)", share=0.5),
)


def test_the_retrain_cell_runs_the_parts_code_again_after_its_export(tmp_path):
    assert part_sources(NB, PART) == ["model_xor = build()", "model_xor.fit(X, T)"]
    spec = NotebookSpec(
        name="x.ipynb",
        solution_path=tmp_path,
        release_path=tmp_path,
        parts=[PART],
        framework="keras",
        limits=Limits(cell_timeout_s=100, notebook_timeout_s=400),
    )
    out = inject(NB, spec, 0, tmp_path / "artifacts")
    kinds = [c.metadata.get("dlgrade", {}).get("injected", "") for c in out.cells]
    assert kinds == ["seed", "", "", "", "", "export", "retrain", ""]
    source = out.cells[6].source
    assert "seeds=[7, 8]" in source and "budget_s=50.0" in source and "notebook_budget_s=200.0" in source
    assert "'model_xor = build()', 'model_xor.fit(X, T)'" in source and "until=lambda: (done(model_xor))" in source
    compile(source, "<retrain>", "exec")  # the cell is Python, whatever the student's sources hold
    weird = Part(**{**PART.__dict__, "cells": ["xor_model"]})
    nb = nbformat.from_dict(json.loads(json.dumps(NB)))
    nb.cells[1].source = "s = '''\\n' + \"\\\"\" + '''\n%time x = 1"
    compile(
        inject(nb, NotebookSpec(name="x", solution_path=tmp_path, release_path=tmp_path, parts=[weird]), 0, tmp_path)
        .cells[6]
        .source,
        "<retrain>",
        "exec",
    )


def test_a_part_without_a_retrain_plan_gets_no_retrain_cell(tmp_path):
    plain = Part(**{**PART.__dict__, "retrain": None})
    spec = NotebookSpec(name="x.ipynb", solution_path=tmp_path, release_path=tmp_path, parts=[plain])
    assert all(c.metadata.get("dlgrade", {}).get("injected") != "retrain" for c in inject(NB, spec, 0, tmp_path).cells)


def test_each_saved_run_is_evaluated_under_its_own_name():
    data = PartData(ran=True, models={"m": Path("a"), "m__seed8": Path("b")})
    names = [(name, ev.model) for name, ev in _evaluations(PART, data)]
    assert names == [("xor", "m"), ("xor__seed8", "m__seed8")]


def _outcome(tmp_path, runs_json) -> ExecutionOutcome:
    folder = tmp_path / "artifacts" / retrain_id("xor")
    folder.mkdir(parents=True)
    (folder / "_export.json").write_text(json.dumps({"saved": {"runs": "json"}, "errors": {}}))
    (folder / "runs.json").write_text(json.dumps(runs_json))
    (folder / "_models.json").write_text(json.dumps({"saved": {seeded("m", 7): "keras"}, "errors": {}}))
    (folder / f"{seeded('m', 7)}.keras").write_bytes(b"zip")
    return ExecutionOutcome(
        record={},
        process=ProcessOutcome(returncode=0, wall_s=1.0),
        executed_path=None,
        artifacts_dir=tmp_path / "artifacts",
    )


def test_what_the_kernel_says_of_its_runs_is_checked_before_the_report_shows_it(tmp_path):
    hostile = {
        "runs": [
            {"seed": 7, "seconds": 2.5, "error": "\x1b[31mboom" + "x" * 1000},
            {"seed": True, "seconds": 1},
            {"seed": 99, "seconds": 1},
            "junk",
            {"seed": 8, "seconds": float("nan") if False else -5},
        ]
        * 50,
        "stopped": "<script>",
    }
    data = PartData(ran=True)
    state = retrained(_outcome(tmp_path, hostile), PART, data, ByteBudget(10**6))
    assert [r["seed"] for r in state["runs"]] == [7, 8]  # seeds of the plan only, at most one per seed
    assert state["runs"][0]["error"].startswith("boom") and len(state["runs"][0]["error"]) == 300
    assert state["runs"][1]["seconds"] == 0.0 and state["stopped"] == ""
    assert set(data.models) == {seeded("m", 7)}
    assert retrained(_outcome(tmp_path / "b", {"runs": "no"}), PART, PartData(ran=True), ByteBudget(10**6)) == {
        "runs": [],
        "stopped": "",
    }


@pytest.fixture
def fake_kernel(tmp_path, monkeypatch):
    namespace = {"calls": [], "done": lambda: False}
    monkeypatch.setattr(kernel, "_namespace", lambda: (namespace, str))
    monkeypatch.setattr(kernel, "_out", tmp_path)
    monkeypatch.setattr(kernel, "_framework", "numpy")
    monkeypatch.setattr(kernel, "_cell_seconds", {})
    monkeypatch.setattr(kernel, "_started", kernel.time.monotonic())
    return namespace


def _runs(tmp_path):
    return json.loads((tmp_path / retrain_id("xor") / "runs.json").read_text())


def test_the_kernel_retrains_until_a_run_passes(fake_kernel, tmp_path):
    source = "calls.append(len(calls))"
    kernel._cell_seconds[hash(source)] = 0.01
    kernel.retrain(
        "xor", seeds=[1, 2, 3, 4], cells=[source], models={}, until=lambda: len(fake_kernel["calls"]) >= 2, budget_s=60
    )
    state = _runs(tmp_path)
    assert fake_kernel["calls"] == [0, 1] and [r["seed"] for r in state["runs"]] == [1, 2]
    assert state["stopped"] == "passed"


def test_the_kernel_does_not_retrain_a_first_run_that_passed(fake_kernel, tmp_path):
    kernel._cell_seconds[hash("calls.append(1)")] = 0.01
    kernel.retrain("xor", seeds=[1, 2], cells=["calls.append(1)"], models={}, until=lambda: True, budget_s=60)
    assert fake_kernel["calls"] == [] and _runs(tmp_path) == {"runs": [], "stopped": "passed"}


def test_the_kernel_keeps_to_its_time_budget(fake_kernel, tmp_path):
    slow = "calls.append(1)"
    kernel._cell_seconds[hash(slow)] = 30.0  # the first run took 30 s: a second one does not fit in 20 s
    kernel.retrain("xor", seeds=[1, 2], cells=[slow], models={}, budget_s=20)
    assert fake_kernel["calls"] == [] and _runs(tmp_path)["stopped"] == "time"
    kernel.retrain("xor", seeds=[1, 2], cells=["unknown_cell()"], models={}, budget_s=20)
    assert _runs(tmp_path)["stopped"] == "time"  # a run of unknown length is never started
    kernel._cell_seconds[hash(slow)] = 1.0
    kernel.retrain("xor", seeds=[1, 2], cells=[slow], models={}, budget_s=60, notebook_budget_s=0.5)
    assert _runs(tmp_path)["stopped"] == "time"  # the notebook's own budget counts too


def test_a_run_that_raises_is_recorded_and_the_next_seed_still_runs(fake_kernel, tmp_path):
    source = "calls.append(1)\nif len(calls) == 1: raise SystemExit('student exit')"
    kernel._cell_seconds[hash(source)] = 0.01
    kernel.retrain("xor", seeds=[1, 2], cells=[source], models={}, budget_s=60)
    runs = _runs(tmp_path)["runs"]
    assert runs[0]["error"].startswith("SystemExit") and runs[1]["error"] == ""
