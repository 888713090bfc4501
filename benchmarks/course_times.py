"""Grade every reference solution of the course once, in the sandbox, and print per notebook the
grading time (split) and each calibrated threshold beside the reference's mean.

    .venv/bin/python benchmarks/course_times.py [--assignment NAME]...
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import nbformat

from grader.assignment.spec import load_assignment
from grader.pipeline.calibrate import reference_notebook
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import grade, make_options
from grader.sandbox.bwrap import make_sandbox

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assignment", action="append")
    args = parser.parse_args()
    names = args.assignment or sorted(p.name for p in (REPO / "solutions").iterdir() if any(p.glob("*.checks.py")))
    runner = SandboxedRunner(make_sandbox(False))
    print(f"{'notebook':38} {'score':>9} {'total s':>8} {'kernel':>7} {'TF/seed':>8} {'cells':>7} {'other':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            assignment = load_assignment(REPO / "solutions" / name)
            for spec in assignment.notebooks:
                path = Path(tmp) / spec.name
                nbformat.write(reference_notebook(spec), path)
                result = grade(path, assignment, runner, Path(tmp) / "out", make_options("en"))
                split = result.timings["notebooks"][spec.name]
                total = result.timings["total_s"]
                other = total - split["kernel_start_s"] - split["seed_cell_s"] - split["student_cells_s"]
                print(
                    f"{name + '/' + spec.name:38} {result.score:>4g}/{result.max_score:<4g} {total:8.1f} "
                    f"{split['kernel_start_s']:7.1f} {split['seed_cell_s']:8.1f} {split['student_cells_s']:7.1f} {other:7.1f}"
                )
                for metric, entry in spec.thresholds().items():
                    print(
                        f"    {metric:44} mean {entry['mean']:.4f}  threshold {entry['threshold']:.4f} ({entry['direction']})"
                    )


if __name__ == "__main__":
    main()
