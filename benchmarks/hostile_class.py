"""Grade the hostile class (tests/hostile: every attack of the suite plus two honest students)
one submission at a time, as `dlgrade grade` does by default (work folders removed), and print
per submission: its score, the seconds spent in sandboxes (the notebook run and the evaluate
phase), the seconds of trusted work around them (intake, validation, copy-back, reading the
exports, checks, reports), the growth of the grader's own resident memory while it was graded,
and the size of what stays in its output folder.

    .venv/bin/python benchmarks/hostile_class.py [--only case,case] [--keep DIR]

Needs root and bubblewrap, like the hostile tests. One at a time so that the memory growth
belongs to one submission.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import numpy as np  # noqa: E402
import test_hostile as th  # noqa: E402
from hostile import cases as hc  # noqa: E402

from grader import reporters  # noqa: E402
from grader.assignment.spec import load_assignment  # noqa: E402
from grader.datasets import public_dir  # noqa: E402
from grader.datasets.cache import cache_root  # noqa: E402
from grader.pipeline.calibrate import reference_notebook  # noqa: E402
from grader.pipeline.execution import SandboxedRunner  # noqa: E402
from grader.pipeline.grading import GradeOptions, grade  # noqa: E402
from grader.pipeline.hidden import HiddenData  # noqa: E402
from grader.pipeline.scheduler import unique_names  # noqa: E402
from grader.sandbox.bwrap import make_sandbox  # noqa: E402

MiB = 2**20


class TimedRunner(SandboxedRunner):
    """The real runner, with the seconds spent in its sandboxes added up."""

    def __init__(self, sandbox):
        super().__init__(sandbox)
        self.sandbox_s = 0.0

    def execute(self, job):
        t0 = time.monotonic()
        try:
            return super().execute(job)
        finally:
            self.sandbox_s += time.monotonic() - t0

    def evaluate(self, *args, **kwargs):
        t0 = time.monotonic()
        try:
            return super().evaluate(*args, **kwargs)
        finally:
            self.sandbox_s += time.monotonic() - t0


class RssPeak:
    """The highest resident memory of this process, sampled every 10 ms."""

    def __init__(self):
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.now())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def apparent_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        total += sum(os.lstat(os.path.join(dirpath, n)).st_size for n in filenames)
    return total


def build_class(tmp: Path, only: set[str]):
    sol = th._make_assignment(REPO, tmp / "assignment")
    assignment = load_assignment(sol)
    spec = assignment.notebook(hc.NOTEBOOK)
    canary = tmp / "canary"
    (canary / "steal").mkdir(parents=True)
    np.save(canary / "steal" / "W.npy", np.zeros((784, 10)))
    lambda_model, plain_model = th._keras_models(tmp, canary / "pwned-lambda")
    outdir, class_dir = tmp / "out", tmp / "class"
    host = hc.Host(
        tcp_port=9,
        udp_port=9,
        addresses=("127.0.0.1",),
        solutions_dir=sol,
        repo=REPO,
        labels_dir=cache_root() / "labels",
        hidden_dir=cache_root() / "hidden",
        public_dir=public_dir(),
        canary_dir=canary,
        outdir=outdir,
        other_submission=class_dir / "honest_reference" / hc.NOTEBOOK,
        other_artifacts=outdir / "honest_reference" / "work",
        steal_dir=canary / "steal",
        lambda_model=lambda_model,
        plain_model=plain_model,
    )
    cases = hc.write_class(host, spec.release(), reference_notebook(spec), class_dir, only)
    return assignment, class_dir, outdir, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated case names (the honest two always run)")
    parser.add_argument("--keep", help="build and grade in this folder and keep it")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="dlgrade-hostile-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        assignment, class_dir, outdir, _ = build_class(tmp, only)
        submissions = sorted(class_dir.iterdir())
        names = unique_names(submissions)
        runner = TimedRunner(make_sandbox(False))
        options = GradeOptions(data_paths=[public_dir()], hidden=HiddenData())
        formats = list(reporters.REPORTERS)
        rows = []
        print(
            f"{'submission':34} {'score':>7} {'wall s':>7} {'sandbox s':>9} {'trusted s':>9} {'RSS +MiB':>8} {'RSS MiB':>7} {'output KiB':>10}"
        )
        for path in submissions:
            runner.sandbox_s = 0.0
            before = RssPeak.now()
            t0 = time.monotonic()
            with RssPeak() as rss:
                result = grade(path, assignment, runner, outdir, options, names[path])
                reporters.write_submission(result, outdir, formats, "en")
            wall = time.monotonic() - t0
            trusted = wall - runner.sandbox_s
            grown = (rss.peak - before) / MiB
            size = apparent_bytes(outdir / names[path]) / 1024
            rows.append((names[path], trusted, grown, size))
            print(
                f"{names[path][:34]:34} {result.score:>3g}/{result.max_score:<3g} {wall:7.1f} "
                f"{runner.sandbox_s:9.1f} {trusted:9.2f} {grown:8.1f} {rss.peak / MiB:7.0f} {size:10.0f}"
            )
        worst_t = max(rows, key=lambda r: r[1])
        worst_m = max(rows, key=lambda r: r[2])
        worst_s = max(rows, key=lambda r: r[3])
        print(
            f"\n{len(rows)} submissions; worst trusted time {worst_t[1]:.2f} s ({worst_t[0]}), "
            f"largest memory growth {worst_m[2]:.1f} MiB ({worst_m[0]}), "
            f"largest output {worst_s[3]:.0f} KiB ({worst_s[0]}); grader peak RSS {RssPeak.now() / MiB:.0f} MiB now"
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
