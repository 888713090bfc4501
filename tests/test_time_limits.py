"""Time limits: a part whose own cell ran out of time is told its network trains too slowly;
later parts say where the notebook stopped; every notebook's limits keep 2x headroom over the
slowest correct choice measured by benchmarks/cell_limits.py."""

import json
from pathlib import Path

import pytest
from fakes import Scenario
from test_grading_unit import GOOD, checks, run, submit, toy  # noqa: F401 (toy is a fixture)

from grader.assignment.spec import Part, load_assignment
from grader.pipeline.execution import ExecutionOutcome
from grader.pipeline.scoring import stop_reason
from grader.sandbox.base import ProcessOutcome

REPO = Path(__file__).resolve().parent.parent
LIMITS = {"cell_timeout_s": 240, "notebook_timeout_s": 600}

# two parts as in the RNN exercise (answer cells train), then a part with a provided training cell
RNN = Part(id="simple", title="SimpleRNN", cells=["rnn_model", "rnn_train"], checks=[])
GRU = Part(id="gru", title="GRU", cells=["rnn2_model", "rnn2_train"], checks=[])
MLP = Part(id="mlp", title="MLP", cells=["mlp_model"], after="mlp_train", checks=[])
CELLS = [
    ("", "seed", ""),
    ("rnn_setup", "", ""),
    ("rnn_model", "", ""),
    ("rnn_train", "", ""),
    ("", "export", "simple"),
    ("rnn_eval", "", ""),
    ("", "", ""),
    ("rnn2_model", "", ""),
    ("rnn2_train", "", ""),
    ("", "export", "gru"),
    ("mlp_model", "", ""),
    ("mlp_train", "", ""),
    ("", "export", "mlp"),
]


def outcome(stop_at: int, status: str = "timeout", stopped: str | None = None, detail: str = "") -> ExecutionOutcome:
    cells = []
    for index, (gid, injected, part) in enumerate(CELLS):
        state = "ok" if index < stop_at else status if index == stop_at else "not-run"
        cells.append(
            {
                "index": index,
                "grade_id": gid,
                "injected": injected,
                "part": part,
                "status": state,
                "seconds": 250.0 if index == stop_at else 1.0,
            }
        )
    process = ProcessOutcome(
        returncode=1, wall_s=600.0, stopped=stopped, stopped_detail=detail, sandbox={"limits": LIMITS}
    )
    return ExecutionOutcome({"status": "timeout", "cells": cells}, process, None, Path("/nonexistent"))


def test_an_answer_cell_out_of_time_says_the_network_trains_too_slowly():
    out = outcome(3)  # rnn_train
    text = stop_reason(out, "en", RNN)
    assert "trains too slowly" in text and "rnn_train" in text and "240 s" in text
    assert "fewer steps/epochs" in text and "twice" in text
    assert "遅すぎます" in stop_reason(out, "ja", RNN) and "rnn_train" in stop_reason(out, "ja", RNN)


def test_later_parts_say_the_notebook_stopped_before_them_and_where():
    out = outcome(3)
    for part in (GRU, MLP):
        text = stop_reason(out, "en", part)
        assert "stopped before this part" in text and "rnn_train" in text and "240 s" in text
        assert "too slowly" not in text
    assert "この部分より前" in stop_reason(out, "ja", GRU)


def test_a_provided_training_cell_out_of_time_is_its_parts_slow_network():
    out = outcome(11)  # mlp_train: locked, between mlp_model and the export
    assert "trains too slowly" in stop_reason(out, "en", MLP) and "mlp_train" in stop_reason(out, "en", MLP)


def test_the_notebook_limit_running_out_in_a_training_cell_is_also_too_slow():
    out = outcome(8, status="running", stopped="wall-timeout", detail="timed out after 600 s (notebook limit)")
    text = stop_reason(out, "en", GRU)
    assert "trains too slowly" in text and "notebook limit" in text and "rnn2_train" in text
    assert "too slowly" not in stop_reason(out, "en", MLP)


@pytest.mark.parametrize("stop_at", [0, 4, 6])  # the grader's seed cell, its export cell, a cell the student added
def test_only_the_parts_own_named_cells_are_called_slow_training(stop_at):
    out = outcome(stop_at)
    assert all("too slowly" not in stop_reason(out, "en", p) for p in (RNN, GRU, MLP))
    assert "timed out after" in stop_reason(out, "en", GRU)


def test_a_memory_kill_in_a_training_cell_is_not_called_slow():
    out = outcome(3, status="dead", stopped="memory", detail="killed: memory limit 3 GiB")
    text = stop_reason(out, "en", RNN)
    assert "too slowly" not in text and "memory limit" in text


def test_without_a_part_the_reason_is_unchanged():
    assert stop_reason(outcome(3), "en") == "timed out after 240 s in cell rnn_train"


def test_a_graded_part_whose_training_cell_timed_out_says_so_in_its_checks(toy):  # noqa: F811
    result, _ = run(toy, submit(toy[1]), Scenario(exports=GOOD, stop_at="toy_train"))
    by_part = {p.id: p for p in result.parts}
    assert by_part["toy_shapes"].score == 3 and not by_part["toy_shapes"].stopped
    assert "trains too slowly" in by_part["toy_score"].stopped and "toy_train" in by_part["toy_score"].stopped
    check = checks(result)[("toy_score", "accuracy")]
    assert check.message.startswith("your network trains too slowly") and "toy_train" in check.message
    assert check.message_key == "stopped.too_slow" and check.status.value == "error"


def test_a_slow_part_is_one_failure_on_the_dashboard_however_many_checks_it_has():
    from grader.reporters import dashboard
    from grader.results import CheckResult, PartResult, Result, Status

    reason = stop_reason(outcome(3), "en")
    checks_ = [
        CheckResult(
            name=n,
            status=Status.ERROR,
            score=0,
            max_score=1,
            message=reason,
            message_key="stopped.too_slow",
            message_args={"reason": reason},
        )
        for n in ("layers", "acc")
    ]
    result = Result(submission="s", assignment="a")
    result.parts = [PartResult.from_checks("simple", "SimpleRNN", checks_, notebook="rnn.ipynb")]
    failures = dashboard.frequent_failures([result])
    assert len(failures) == 1 and failures[0].checks == ["layers", "acc"]


def test_a_setup_cell_out_of_time_is_before_every_part(toy):  # noqa: F811
    result, _ = run(toy, submit(toy[1]), Scenario(exports=GOOD, stop_at="toy_setup"))
    for part in result.parts:
        assert "stopped before this part" in part.stopped and "toy_setup" in part.stopped
        assert all("too slowly" not in c.message for c in part.checks)


# --- headroom ------------------------------------------------------------------------------------
MEASURED = json.loads((REPO / "benchmarks" / "cell_times.json").read_text())["notebooks"]


def _specs():
    for folder in sorted(p for p in (REPO / "solutions").iterdir() if any(p.glob("*.checks.py"))):
        yield from load_assignment(folder).notebooks


@pytest.mark.parametrize("spec", list(_specs()), ids=lambda s: s.stem)
def test_limits_are_twice_the_slowest_correct_choice_measured(spec):
    runs = MEASURED[spec.stem]  # every notebook of the course is measured
    assert spec.limits.cell_timeout_s >= 2 * max(r["cell_s"] for r in runs.values())
    assert spec.limits.notebook_timeout_s >= 2 * max(r["run_s"] for r in runs.values())
    assert spec.limits.notebook_timeout_s >= spec.limits.cell_timeout_s


# --- a real notebook over a tiny limit -----------------------------------------------------------
SLOW_TRAIN = (
    "losses = []\nfor i in range(iters_num):\n"
    "    loss = model.fit(x, d, batch_size=len(x), epochs=1, verbose=0).history['loss'][0]\n"
    "    losses.append(float(loss))\n"
)  # correct, and about 100 s on the shared machine


@pytest.mark.slow
def test_a_real_notebook_that_trains_past_its_cell_limit_is_told_why(tmp_path):
    import dataclasses

    import nbformat

    from grader.assignment.spec import Assignment
    from grader.pipeline.calibrate import mutant_notebook
    from grader.pipeline.execution import SandboxedRunner
    from grader.pipeline.grading import grade, make_options
    from grader.sandbox.bwrap import make_sandbox

    folder = REPO / "solutions" / "keras"
    spec = next(s for s in load_assignment(folder).notebooks if s.stem == "linear_regression")
    spec = dataclasses.replace(spec, limits=dataclasses.replace(spec.limits, cell_timeout_s=10, notebook_timeout_s=150))
    path = tmp_path / spec.name
    nbformat.write(mutant_notebook(spec, {"linreg_train": SLOW_TRAIN}), path)
    result = grade(
        path,
        Assignment("keras", folder, [spec]),
        SandboxedRunner(make_sandbox(False)),
        tmp_path / "out",
        make_options("en"),
    )
    parts = {p.id: p for p in result.parts}
    for pid in ("linreg_params", "linreg_loss"):
        assert "trains too slowly" in parts[pid].stopped and "linreg_train" in parts[pid].stopped, parts[pid].stopped
        assert "10 s" in parts[pid].stopped and parts[pid].score == 0
