"""Warm workers against cold bubblewrap runs and plain nbclient: what grading costs beyond running
the student's notebook once.

    .venv/bin/python benchmarks/warm_workers.py [--quick]

Prints four tables, all measured in one run with the modes interleaved so that the machine's load
hits them alike:

1. per notebook (tf_basics, mnist_1layer, perceptron, cnn_architectures; reference solutions):
   plain nbclient (the notebook run once in a fresh process, as `jupyter nbconvert --execute`
   does, with its data files beside it and DLGRADE_DATA set), `grade()` with a fresh bubblewrap
   per run (cold) and forked from one zygote (warm, already started: its start is printed apart),
   and the ratios to plain nbclient, with the sums;
2. the grader's own cost per notebook (grade() wall time minus the student's cells and retrain
   cells) for cold and warm over every reference notebook of the course, with the median;
3. a class of 8 one-layer submissions graded with grade_class (default jobs), cold and warm
   (a fresh WarmSandbox: the zygote's start is included), against 8 serial plain nbclient runs;
4. peak memory per run (the run's cgroup memory.peak; a forked run's pages shared copy-on-write
   with the zygote stay charged to the zygote) and the zygote's own resident size.

--quick grades only the four notebooks of table 1 and a class of 4. Needs root (the warm path).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from grader.assignment.spec import load_assignment
from grader.datasets import public_dir, verify_mnist
from grader.pipeline.calibrate import reference_notebook
from grader.pipeline.execution import SandboxedRunner, base_env, copy_data_files
from grader.pipeline.grading import grade, make_options
from grader.pipeline.scheduler import default_jobs, grade_class
from grader.sandbox.bwrap import BubblewrapSandbox
from grader.sandbox.warm import WarmSandbox

REPO = Path(__file__).resolve().parent.parent
TABLE1 = ("tf_basics/tf_basics", "mnist_tf/mnist_1layer", "keras/perceptron", "concepts/cnn_architectures")
CLASS_NOTEBOOK = "mnist_tf/mnist_1layer"
MiB = 2**20

# What `jupyter nbconvert --execute` does, without nbconvert's own imports: nbclient, the
# notebook's kernel, its folder as the working directory.
PLAIN_RUN = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", timeout=None, resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[3])
"""


def course_specs() -> dict[str, tuple]:
    """'assignment/stem' -> (assignment, spec) for every reference notebook with checks."""
    specs = {}
    for folder in sorted((REPO / "solutions").iterdir()):
        if folder.is_dir() and any(folder.glob("*.checks.py")):
            assignment = load_assignment(folder)
            for spec in assignment.notebooks:
                specs[f"{folder.name}/{spec.stem}"] = (assignment, spec)
    return specs


class Bench:
    def __init__(self, root: Path):
        self.root = root
        self.options = make_options("en")
        self.faults: list[str] = []  # wrong scores, runs the warm path handed to bubblewrap
        self._n = 0

    def _fresh(self, kind: str) -> Path:
        self._n += 1
        folder = self.root / f"{kind}-{self._n}"
        folder.mkdir(parents=True)
        return folder

    def plain(self, spec) -> float:
        """Wall time of one fresh process running the reference notebook with nbclient."""
        folder = self._fresh("plain")
        nbformat.write(reference_notebook(spec), folder / spec.name)
        copy_data_files({f: spec.solution_path.parent / f for f in spec.files}, folder)
        (folder / "home").mkdir()
        # The grader's environment (its data, its check() calls skipped) but TensorFlow's
        # determinism: that needs the seed the grader's seed cell sets, which nbconvert has not.
        env = {**os.environ, **base_env(folder, public_dir())}
        env.pop("TF_DETERMINISTIC_OPS")
        argv = [sys.executable, "-c", PLAIN_RUN, spec.name, str(folder), "executed.ipynb"]
        start = time.monotonic()
        done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True)
        wall = time.monotonic() - start
        if done.returncode:  # no baseline to compare with: stop here
            error = re.sub(r"\x1b\[[0-9;]*m", "", done.stderr).strip().splitlines()[-3:]
            raise SystemExit(f"plain nbclient {spec.name}: exit {done.returncode}: " + " / ".join(error))
        shutil.rmtree(folder, ignore_errors=True)
        return wall

    def grade(self, key: str, assignment, spec, runner, mode: str):
        """(wall time of grade(), result) for the reference notebook of `spec`."""
        folder = self._fresh(mode)
        path = folder / spec.name
        nbformat.write(reference_notebook(spec), path)
        start = time.monotonic()
        result = grade(path, assignment, runner, folder / "out", self.options)
        wall = time.monotonic() - start
        self.check(f"{mode} {key}", result)
        shutil.rmtree(folder, ignore_errors=True)
        return wall, result

    def check(self, what: str, result) -> None:
        if result.score != result.max_score or result.problems:
            problems = "; ".join(p.get("message", "")[:300] for p in result.problems)
            self.faults.append(f"{what}: score {result.score}/{result.max_score} {problems}")
        handed = [c for c in (result.sandbox or {}).get("caveats", []) if "run by bubblewrap" in c]
        if handed:
            self.faults.append(f"{what}: {handed[0]}")


def own_cost(wall: float, result, spec) -> float:
    """grade() wall time minus what the student's code took."""
    t = result.timings["notebooks"][spec.name]
    return wall - t.get("student_cells_s", 0.0) - t.get("retrain_cells_s", 0.0)


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def mib(value) -> str:
    return f"{value / MiB:.0f}" if value else "-"


def rotate(items: list, n: int) -> list:
    n %= len(items)
    return items[n:] + items[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the four notebooks of table 1 only, a class of 4")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the warm path needs root")
    verify_mnist()
    specs = course_specs()
    wanted = list(TABLE1) if args.quick else list(specs)
    class_size = 4 if args.quick else 8
    root = Path(tempfile.mkdtemp(prefix="dlgrade-warm-bench-"))
    bench = Bench(root)
    cold = SandboxedRunner(BubblewrapSandbox())
    warm_sandbox = WarmSandbox()
    warm = SandboxedRunner(warm_sandbox)
    try:
        # the zygote's start, then one throwaway run so that every measured warm run is warm
        start = time.monotonic()
        warm_sandbox.zygote_pid(start=True)
        zygote_start = time.monotonic() - start
        first, _ = bench.grade("concepts/cnn_architectures", *specs["concepts/cnn_architectures"], warm, "warm")
        print(f"zygote start: {zygote_start:.1f} s; first warm run (cnn_architectures, thrown away): {first:.1f} s")
        print(f"zygote VmRSS after the first run: {rss_mib(warm_sandbox.zygote_pid()):.0f} MiB", flush=True)

        # 1 and 2: each notebook once per mode, the order of modes turning from notebook to notebook
        plain: dict[str, float] = {}
        graded: dict[str, dict[str, tuple]] = {}
        for i, key in enumerate(wanted):
            assignment, spec = specs[key]
            modes = ["plain", "cold", "warm"] if key in TABLE1 else ["cold", "warm"]
            graded[key] = {}
            for mode in rotate(modes, i):
                if mode == "plain":
                    plain[key] = bench.plain(spec)
                else:
                    graded[key][mode] = bench.grade(key, assignment, spec, cold if mode == "cold" else warm, mode)
            cells = " ".join(f"{m} {graded[key][m][0]:.1f} s" for m in ("cold", "warm"))
            print(f"  {key}: {cells}" + (f", plain {plain[key]:.1f} s" if key in plain else ""), flush=True)
        zygote_rss = rss_mib(warm_sandbox.zygote_pid()) if warm_sandbox.zygote_pid() else None
        warm_sandbox.close()

        # 3: a class of one-layer submissions; the modes' order turned as well
        assignment, spec = specs[CLASS_NOTEBOOK]
        folder = root / "class"
        folder.mkdir()
        submissions = []
        for n in range(1, class_size + 1):
            submissions.append(folder / f"student{n:02d}.ipynb")
            nbformat.write(reference_notebook(spec), submissions[-1])
        jobs = default_jobs()
        klass: dict[str, float] = {}
        for mode in ("warm", "plain", "cold"):
            start = time.monotonic()
            if mode == "plain":
                for _ in submissions:
                    bench.plain(spec)
            else:
                sandbox = WarmSandbox() if mode == "warm" else BubblewrapSandbox()
                results = grade_class(
                    submissions, assignment, SandboxedRunner(sandbox), root / f"class-{mode}", bench.options, jobs
                )
                if mode == "warm":
                    sandbox.close()
                for result in results:
                    bench.check(f"class {mode} {result.submission}", result)
            klass[mode] = time.monotonic() - start
            print(f"  class of {class_size}, {mode}: {klass[mode]:.1f} s", flush=True)
    finally:
        warm_sandbox.close()
        shutil.rmtree(root, ignore_errors=True)

    print_tables(specs, wanted, plain, graded, klass, class_size, jobs, zygote_start, zygote_rss)
    for line in bench.faults:
        print(f"FAULT {line}")
    scores = {k: {m: graded[k][m][1].score for m in graded[k]} for k in graded}
    differ = [k for k, s in scores.items() if s["cold"] != s["warm"]]
    print("scores cold == warm for every notebook" if not differ else f"scores differ: {differ} {scores}")
    print(f"load average at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")


def print_tables(specs, wanted, plain, graded, klass, class_size, jobs, zygote_start, zygote_rss) -> None:
    print(f"\n1. per notebook, reference solutions (s); warm: zygote already up (it started in {zygote_start:.1f} s)")
    print("| notebook | plain nbclient | cold | warm | cold/plain | warm/plain |")
    print("|---|---|---|---|---|---|")
    sums = [0.0, 0.0, 0.0]
    for key in TABLE1:
        p, c, w = plain[key], graded[key]["cold"][0], graded[key]["warm"][0]
        sums = [sums[0] + p, sums[1] + c, sums[2] + w]
        print(f"| {key} | {p:.1f} | {c:.1f} | {w:.1f} | {c / p:.2f} | {w / p:.2f} |")
    p, c, w = sums
    print(f"| sum | {p:.1f} | {c:.1f} | {w:.1f} | {c / p:.2f} | {w / p:.2f} |")
    print("goal: warm/plain summed <= 0.6")

    print(f"\n2. the grader's own cost: grade() wall time minus the student's cells (s), {len(wanted)} notebooks")
    print(
        "| notebook | cold total | cold cells | cold own | warm total | warm cells | warm own"
        " | warm kernel+seed | warm scoring+evaluate |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    own = {"cold": [], "warm": []}
    for key in wanted:
        spec = specs[key][1]
        row = [key]
        for mode in ("cold", "warm"):
            wall, result = graded[key][mode]
            cost = own_cost(wall, result, spec)
            own[mode].append(cost)
            row += [f"{wall:.1f}", f"{wall - cost:.1f}", f"{cost:.2f}"]
        t = graded[key]["warm"][1].timings["notebooks"][spec.name]
        row.append(f"{t.get('kernel_start_s', 0.0) + t.get('seed_cell_s', 0.0):.2f}")
        row.append(f"{t.get('score_s', 0.0):.2f}")
        print("| " + " | ".join(row) + " |")
    cm, wm = statistics.median(own["cold"]), statistics.median(own["warm"])
    print(f"| median | | | {cm:.2f} | | | {wm:.2f} | | |")
    print(f"goal: warm median <= 1.5 s: {'met' if wm <= 1.5 else 'not met'} ({wm:.2f} s)")

    s, c, w = klass["plain"], klass["cold"], klass["warm"]
    print(f"\n3. a class of {class_size} one-layer submissions (grade_class, jobs={jobs}) (s)")
    print("| | serial plain nbclient | cold | warm (zygote start included) | cold/serial | warm/serial |")
    print("|---|---|---|---|---|---|")
    print(f"| class of {class_size} | {s:.1f} | {c:.1f} | {w:.1f} | {c / s:.2f} | {w / s:.2f} |")
    print(f"goal: warm <= 0.5 x serial nbclient: {'met' if w <= 0.5 * s else 'not met'} ({w / s:.2f})")

    print("\n4. peak memory per run (MiB): the run's cgroup memory.peak (warm: the pages the fork made its own)")
    print("| notebook | cold | warm | warm/cold |")
    print("|---|---|---|---|")
    for key in wanted:
        c = graded[key]["cold"][1].resources["peak_memory_bytes"]
        w = graded[key]["warm"][1].resources["peak_memory_bytes"]
        ratio = f"{w / c:.2f}" if c and w else "-"
        print(f"| {key} | {mib(c)} | {mib(w)} | {ratio} |")
    rss = f"{zygote_rss:.0f} MiB" if zygote_rss is not None else "unknown (gone)"
    print(f"zygote VmRSS (shared copy-on-write by every warm run) after the last run: {rss}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"benchmark took {time.monotonic() - started:.0f} s")
