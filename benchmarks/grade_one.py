"""Grading one honest submission (the reference solution of mnist_1layer), with and without the
sandbox: median wall time of each, where the time goes, and the sandboxed run's peak memory.

    python benchmarks/grade_one.py [--runs 5] [--keep DIR]

The split per run: kernel start, the seed cell (mostly `import tensorflow`), the student's cells,
the grader's export cells, the sandbox's own overhead (starting bubblewrap and the worker,
handing over and copying back the work folder, the cgroup), and scoring (reading artifacts,
checks, the evaluate phase when a part has one). Runs alternate between the two modes so that
a change in the machine's load hits both alike.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from grader.assignment.spec import load_assignment
from grader.datasets import public_dir, verify_mnist
from grader.pipeline.calibrate import reference_notebook
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import GradeOptions, grade
from grader.pipeline.hidden import HiddenData
from grader.sandbox.base import Unsandboxed
from grader.sandbox.bwrap import BubblewrapSandbox

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "mnist_1layer.ipynb"
PHASES = ("kernel_start_s", "seed_cell_s", "student_cells_s", "export_cells_s", "sandbox_overhead_s", "score_s")


def one_notebook_assignment(root: Path) -> Path:
    """The mnist_1layer exercise alone (its folder may hold notebooks still being written)."""
    sol, ex = root / "solutions" / "mnist_tf", root / "exercises" / "mnist_tf"
    sol.mkdir(parents=True)
    ex.mkdir(parents=True)
    for suffix in (".ipynb", ".checks.py", ".thresholds.json"):
        shutil.copy(REPO / "solutions/mnist_tf" / f"mnist_1layer{suffix}", sol)
    shutil.copy(REPO / "exercises/mnist_tf" / NOTEBOOK, ex)
    return sol


def split_of(result) -> dict[str, float]:
    t = result.timings["notebooks"][NOTEBOOK]
    in_kernel = (
        t["kernel_start_s"]
        + t["seed_cell_s"]
        + t["student_cells_s"]
        + t["export_cells_s"]
        + t.get("retrain_cells_s", 0.0)
    )
    return {
        **{k: t[k] for k in PHASES if k in t},
        "sandbox_overhead_s": t["sandbox_total_s"] - in_kernel,
        "total_s": result.timings["total_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the graded folders here")
    args = parser.parse_args()
    verify_mnist()

    root = args.keep or Path(tempfile.mkdtemp(prefix="dlgrade-bench-"))
    assignment = load_assignment(one_notebook_assignment(root / "assignment"))
    spec = assignment.notebook(NOTEBOOK)
    submission = root / "submission" / NOTEBOOK
    submission.parent.mkdir(parents=True)
    nbformat.write(reference_notebook(spec), submission)
    options = GradeOptions(data_paths=[public_dir()], hidden=HiddenData())
    runners = {"sandboxed": SandboxedRunner(BubblewrapSandbox()), "unsandboxed": SandboxedRunner(Unsandboxed())}
    runs: dict[str, list] = {name: [] for name in runners}
    grade(submission, assignment, runners["unsandboxed"], root / "warm", options)  # page cache, holdout
    for i in range(args.runs):
        for name, runner in runners.items():
            result = grade(submission, assignment, runner, root / f"{name}-{i}", options)
            if result.score != result.max_score or result.problems:
                raise SystemExit(f"{name} run {i}: the reference solution got {result.score}/{result.max_score}")
            runs[name].append(result)
            print(f"{name:12s} run {i + 1}: {result.timings['total_s']:.2f} s", flush=True)

    print(f"\nmedian of {args.runs} runs (seconds)")
    keys = ("total_s", *PHASES)
    print(f"{'':22s}" + "".join(f"{name:>13s}" for name in runners))
    for key in keys:
        cells = [statistics.median(split_of(r)[key] for r in runs[name]) for name in runners]
        print(f"{key:22s}" + "".join(f"{c:13.2f}" for c in cells))
    sandboxed = runs["sandboxed"]
    peak = statistics.median(r.resources["peak_memory_bytes"] for r in sandboxed)
    cpu = statistics.median(r.resources["cpu_s"] for r in sandboxed)
    print(f"\nsandboxed run: peak memory {peak / 2**20:.0f} MiB (cgroup), CPU {cpu:.1f} s")
    print(f"load average at the end: {open('/proc/loadavg').read().split()[:3]}")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"benchmark took {time.monotonic() - started:.0f} s")
