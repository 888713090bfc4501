"""Thresholds from the reference solution, not from a guess.

`dlgrade calibrate solutions/<assignment>` grades the reference solution over several seeds,
records every calibrated metric's distribution, and derives a threshold that a correct solution
passes on (almost) every seed:

    higher is better:  threshold = min(min(samples), mean - 3 std) - slack
    lower is better:   threshold = max(max(samples), mean + 3 std) + slack
    slack = max(rel_slack * |mean|, abs_slack)   (defaults 2 % and 0; per metric in SETUP)

The distribution and the thresholds are written next to the solution as
`<notebook>.thresholds.json`. Known-wrong variants (`MUTANTS` in the checks file) are then
graded with the new thresholds, and must score below full marks.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.assignment.spec import Assignment, NotebookSpec, load_checks_module
from grader.checks import Calibrated
from grader.notebook import format as nbf
from grader.pipeline.grading import GradeOptions, grade

DEFAULT_SEEDS = 5


@dataclass
class CalibrationReport:
    thresholds: dict[str, dict] = field(default_factory=dict)  # metric -> entry
    failures: list[str] = field(default_factory=list)  # the reference solution lost points
    mutants: dict[str, float] = field(default_factory=dict)  # mutant -> fraction of full marks


def reference_notebook(spec: NotebookSpec) -> nbformat.NotebookNode:
    """The solution notebook as a student who got everything right would submit it."""
    nb = spec.solution()
    for cell in nb.cells:
        cell.source = nbf.strip_markers(cell.source)
    return nb


def derive(samples: list[float], direction: str, rel_slack: float = 0.02, abs_slack: float = 0.0) -> dict:
    mean = statistics.fmean(samples)
    std = statistics.stdev(samples) if len(samples) > 1 else 0.0
    slack = max(rel_slack * abs(mean), abs_slack)
    if direction == "max":
        threshold = min(min(samples), mean - 3 * std) - slack
    else:
        threshold = max(max(samples), mean + 3 * std) + slack
    return {
        "direction": direction,
        "samples": [round(s, 6) for s in samples],
        "mean": round(mean, 6),
        "std": round(std, 6),
        "min": round(min(samples), 6),
        "max": round(max(samples), 6),
        "threshold": round(threshold, 6),
        "rule": f"{'min' if direction == 'max' else 'max'}(samples, mean {'-' if direction == 'max' else '+'} 3 std) "
        f"{'-' if direction == 'max' else '+'} max({rel_slack} * |mean|, {abs_slack})",
    }


def calibrated_checks(spec: NotebookSpec) -> dict[str, Calibrated]:
    return {c.metric: c for p in spec.parts for c in p.checks if isinstance(c, Calibrated)}


def mutants_of(spec: NotebookSpec) -> dict[str, dict[str, str]]:
    """MUTANTS = {name: {grade_id: source}} from the checks file: known-wrong answers."""
    module = load_checks_module(spec.solution_path.with_name(spec.stem + ".checks.py"))
    return dict(getattr(module, "MUTANTS", {}))


def mutant_notebook(spec: NotebookSpec, replacements: dict[str, str]) -> nbformat.NotebookNode:
    nb = reference_notebook(spec)
    for cell in nb.cells:
        gid = nbf.grade_id(cell)
        if gid in replacements:
            cell.source = replacements[gid]
    return nb


def calibrate(
    assignment: Assignment,
    runner,
    seeds: int = DEFAULT_SEEDS,
    options: GradeOptions | None = None,
    log: Callable[[str], object] = print,
    run_mutants: bool = True,
) -> dict[str, CalibrationReport]:
    options = options or GradeOptions()
    reports: dict[str, CalibrationReport] = {}
    with tempfile.TemporaryDirectory(prefix="dlgrade-calibrate-") as tmp:
        tmp_path = Path(tmp)
        for spec in assignment.notebooks:
            report = CalibrationReport()
            sub = tmp_path / "reference" / spec.name
            sub.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(reference_notebook(spec), sub)
            samples: dict[str, list[float]] = {}
            one = Assignment(assignment.name, assignment.path, [spec])
            for seed in range(seeds):
                opts = GradeOptions(**{**options.__dict__, "seed": seed, "calibrating": True})
                result = grade(sub, one, runner, tmp_path / "runs" / f"seed{seed}", opts)
                for metric, value in result.metrics.items():
                    samples.setdefault(metric, []).append(value)
                lost = [
                    f"seed {seed}: {p.id}/{c.name}: {c.message}"
                    for p in result.parts
                    for c in p.checks
                    if c.score < c.max_score
                ]
                report.failures += lost
                log(f"{spec.name} seed {seed}: " + ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items()))
            slack = spec.slack  # SETUP's, per metric
            for metric, check in calibrated_checks(spec).items():
                values = samples.get(metric, [])
                if len(values) < seeds:
                    report.failures.append(f"{metric}: measured on {len(values)} of {seeds} seeds")
                    continue
                rel, absolute = slack.get(metric, (0.02, 0.0))
                report.thresholds[metric] = derive(values, check.direction, rel, absolute)
            if spec.thresholds_path and report.thresholds:
                spec.thresholds_path.write_text(
                    json.dumps(
                        {
                            "notebook": spec.name,
                            "seeds": list(range(seeds)),
                            "created": dt.date.today().isoformat(),
                            "metrics": report.thresholds,
                        },
                        indent=2,
                    )
                    + "\n"
                )
            if run_mutants:
                for name, replacements in mutants_of(spec).items():
                    path = tmp_path / "mutants" / name / spec.name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    nbformat.write(mutant_notebook(spec, replacements), path)
                    result = grade(path, one, runner, tmp_path / "mutant-runs" / name, options)
                    report.mutants[name] = result.fraction
                    log(f"{spec.name} mutant {name}: {result.score}/{result.max_score}")
            reports[spec.name] = report
    return reports
