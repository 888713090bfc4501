"""Every exercise of the course, graded for real: each reference solution gets full marks, each
untouched released notebook gets 0 without grader errors, each known-wrong variant (MUTANTS in
its checks file) loses points, and calibration reproduces the stored thresholds."""

import json
import tempfile
from pathlib import Path

import nbformat
import pytest

from grader.assignment.spec import load_assignment, load_checks_module
from grader.datasets import public_dir
from grader.pipeline.calibrate import calibrate, mutant_notebook, mutants_of, reference_notebook
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import GradeOptions
from grader.pipeline.hidden import HiddenData
from grader.pipeline.scheduler import grade_class
from grader.sandbox.bwrap import make_sandbox

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if any(p.glob("*.checks.py")))


def options():
    return GradeOptions(data_paths=[public_dir()], hidden=HiddenData())


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_reference_full_template_zero_mutants_lose(name, tmp_path):
    assignment = load_assignment(REPO / "solutions" / name)
    subs, expect, must_lose = [], {}, {}
    for spec in assignment.notebooks:
        module = load_checks_module(spec.solution_path.with_name(spec.stem + ".checks.py"))
        must_lose[spec.name] = getattr(module, "MUTANT_LOSES", {})  # mutant -> check names
        cases = {"reference": reference_notebook(spec), "template": spec.release()}
        cases.update({f"mutant-{m}": mutant_notebook(spec, r) for m, r in mutants_of(spec).items()})
        for case, nb in cases.items():
            folder = tmp_path / "class" / f"{spec.stem}--{case}"
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / spec.name)
            subs.append(folder)
            expect[folder.name] = (spec, case)
    runner = SandboxedRunner(make_sandbox(False))
    results = grade_class(subs, assignment, runner, tmp_path / "out", options(), jobs=2)
    problems = []
    for result in results:
        spec, case = expect[result.submission]
        parts = [p for p in result.parts if p.notebook == spec.name and not p.id.endswith("-notebook")]
        score = sum(p.score for p in parts)
        full = sum(p.max_score for p in parts)
        lost = [
            f"{p.id}/{c.name}: {c.status.value}: {c.message}" for p in parts for c in p.checks if c.score < c.max_score
        ]
        print(f"{result.submission}: {score}/{full}; lost: {lost}")  # shown with -s
        if result.problems:
            problems.append(f"{result.submission}: grader problems {result.problems}")
        if case == "reference" and score < full:
            problems.append(f"{result.submission}: reference lost points: {lost}")
        if case == "template":
            errors = [c for p in parts for c in p.checks if c.status.value == "error"]
            if score != 0 or errors:
                problems.append(f"{result.submission}: template scored {score} or raised errors: {lost}")
        if case.startswith("mutant") and score >= full:
            problems.append(f"{result.submission}: mutant not caught ({score}/{full})")
        for check in must_lose[spec.name].get(case.removeprefix("mutant-"), []) if case.startswith("mutant") else []:
            kept = [c for p in parts for c in p.checks if c.name == check and c.score >= c.max_score]
            if kept or not any(c.name == check for p in parts for c in p.checks):
                problems.append(f"{result.submission}: {check} did not lose its points")
    assert not problems, "\n".join(problems)


def test_every_assignment_has_mutants_for_every_notebook():
    for name in ASSIGNMENTS:
        for spec in load_assignment(REPO / "solutions" / name).notebooks:
            assert len(mutants_of(spec)) >= 2, f"{spec.name} needs at least two known-wrong variants"
            assert spec.thresholds_path.exists() or not any(
                getattr(c, "metric", None) for p in spec.parts for c in p.checks
            ), f"{spec.name} has calibrated checks but no thresholds: run dlgrade calibrate"


def test_calibration_reproduces_stored_thresholds():
    assignment = load_assignment(REPO / "solutions" / "mnist_tf")
    spec = assignment.notebook("mnist_1layer.ipynb")
    stored = json.loads(spec.thresholds_path.read_text())["metrics"]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "solutions" / "mnist_tf"
        released = Path(tmp) / "exercises" / "mnist_tf"
        copy.mkdir(parents=True)
        released.mkdir(parents=True)
        for suffix in (".ipynb", ".checks.py"):  # no thresholds: calibration must make them anew
            (copy / f"mnist_1layer{suffix}").write_bytes(
                spec.solution_path.with_name(f"mnist_1layer{suffix}").read_bytes()
            )
        (released / "mnist_1layer.ipynb").write_bytes(spec.release_path.read_bytes())
        one = load_assignment(copy)
        runner = SandboxedRunner(make_sandbox(False))
        report = calibrate(
            one,
            runner,
            seeds=len(stored["mnist1_holdout_accuracy"]["samples"]),
            options=options(),
            log=lambda m: None,
            run_mutants=False,
        )["mnist_1layer.ipynb"]
    for metric, entry in stored.items():
        again = report.thresholds[metric]
        assert again["threshold"] == pytest.approx(entry["threshold"], abs=0.005), (metric, again, entry)
        assert again["mean"] == pytest.approx(entry["mean"], abs=0.005)
