"""Rescoring a class of 100 from kept scoring inputs, after a threshold change: no notebook runs.

    python benchmarks/rescore.py [--students 100] [--db URL] [--sizes [FOLDER/STEM ...]] [--keep DIR]

The reference solution of mnist_1layer is graded once, for real (bubblewrap sandbox, TensorFlow);
its kept inputs (scoring/mnist_1layer.npz) are copied for each student, with W moved by noise of
a growing size so that holdout accuracies spread over the threshold, and recorded in a gradebook
(SQLite in the folder, or --db URL). Then the calibrated threshold is raised and the whole class
is rescored (`rescore_assignment`: every verdict computed again, the MNIST holdout forward pass
included) and recorded as new runs with their reports (`save`); both times are printed.
--sizes also grades the reference solutions of other notebooks (default mnist_tf/mnist_3layer and
mnist_tf/mnist_cnn; any solutions/<folder>/<stem>) and prints the kept file's size per notebook.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from grader import reporters
from grader.assignment.spec import load_assignment
from grader.datasets import public_dir, verify_mnist
from grader.gradebook import Gradebook, RosterRow
from grader.pipeline import kept as kp
from grader.pipeline.calibrate import reference_notebook
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import GradeOptions, grade
from grader.pipeline.hidden import HiddenData
from grader.pipeline.rescore import rescore_assignment, save
from grader.reporters import json_report
from grader.sandbox.bwrap import BubblewrapSandbox

REPO = Path(__file__).resolve().parent.parent
STEM = "mnist_1layer"


def assignment_of(root: Path, stems: tuple[str, ...], folder: str = "mnist_tf") -> Path:
    """solutions/<folder> with only the notebooks `stems` (and exercises/ beside it)."""
    sol, ex = root / "solutions" / folder, root / "exercises" / folder
    sol.mkdir(parents=True)
    ex.mkdir(parents=True)
    for stem in stems:
        for suffix in (".ipynb", ".checks.py", ".thresholds.json"):
            if (REPO / "solutions" / folder / f"{stem}{suffix}").exists():
                shutil.copy(REPO / "solutions" / folder / f"{stem}{suffix}", sol)
        shutil.copy(REPO / "exercises" / folder / f"{stem}.ipynb", ex)
    for extra in (REPO / "solutions" / folder).iterdir():  # rubrics, data files the checks read
        if extra.is_file() and not extra.name.endswith((".ipynb", ".checks.py", ".thresholds.json")):
            shutil.copy(extra, sol)
    return sol


def grade_reference(root: Path, stem: str, hidden, folder: str = "mnist_tf") -> tuple[Path, object]:
    """The reference solution of `stem`, graded in the sandbox; its output folder and result."""
    sol = assignment_of(root / stem, (stem,), folder)
    assignment = load_assignment(sol)
    spec = assignment.notebook(f"{stem}.ipynb")
    submission = root / stem / "submission" / f"{stem}.ipynb"
    submission.parent.mkdir(parents=True)
    nbformat.write(reference_notebook(spec), submission)
    options = GradeOptions(data_paths=[public_dir()], hidden=hidden, keep_scoring=True)
    started = time.monotonic()
    result = grade(submission, assignment, SandboxedRunner(BubblewrapSandbox()), root / stem / "out", options)
    print(f"graded {stem} in {time.monotonic() - started:.0f} s: {result.score:g}/{result.max_score:g}", flush=True)
    reporters.write_submission(result, root / stem / "out", ["html", "json"], "en")
    return root / stem / "out" / f"{stem}", result


def make_class(root: Path, graded: Path, sol: Path, book: Gradebook, students: int, hidden) -> None:
    """`students` copies of the graded folder, W moved by noise, each recorded in `book`."""
    spec = load_assignment(sol).notebook(f"{STEM}.ipynb")
    template = json_report.read(graded / "result.json")
    entry = template.notebooks[0]["scoring"]
    kept = kp.load(graded / entry["path"], entry["sha256"])
    w = np.array(kept.inputs.part_data["mnist1_accuracy"].values["W"])
    rng = np.random.default_rng(0)
    book.import_roster([RosterRow(f"s{i:03d}", f"Student {i}", None) for i in range(students)])
    for i in range(students):
        name = f"s{i:03d}"
        folder = root / "class" / name
        shutil.copytree(graded, folder)
        noisy = (w + rng.normal(0.0, 0.002 * i, w.shape)).astype(w.dtype)
        kept.inputs.part_data["mnist1_accuracy"].values["W"] = noisy
        raw = kp.dump(spec, kept.outcome, kept.inputs, hidden)
        result = json_report.read(graded / "result.json")
        result.notebooks[0]["scoring"] = kp.write(kp.kept_path(folder, STEM), raw)
        json_report.write_submission(result, folder, "en")
        sub = book.record_submission(name, "mnist_tf", {f"{STEM}.ipynb": noisy.tobytes()})
        book.record_run(result, sub, options={"lang": "en", "seed": 0}, result_path=str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--db", help="gradebook URL (default: a SQLite file in the work folder)")
    parser.add_argument("--sizes", nargs="*", metavar="FOLDER/STEM", help="also grade these for sizes")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    args = parser.parse_args()
    verify_mnist()
    root = args.keep or Path(tempfile.mkdtemp(prefix="dlgrade-rescore-"))
    hidden = HiddenData()
    others = ["mnist_tf/mnist_3layer", "mnist_tf/mnist_cnn"] if args.sizes == [] else args.sizes or []
    graded = {}
    for name in [f"mnist_tf/{STEM}", *others]:
        folder, stem = name.split("/")
        graded[stem], _ = grade_reference(root, stem, hidden, folder)
    print("\nkept scoring inputs per notebook (scoring/<stem>.npz, compressed):")
    for stem, folder in graded.items():
        path = kp.kept_path(folder, stem)
        with kp.zipfile.ZipFile(path) as zf:
            raw = sum(i.file_size for i in zf.infolist())
        print(f"  {stem:24s} {path.stat().st_size / 2**10:9.1f} KiB on disk ({raw / 2**10:.1f} KiB before compression)")

    sol = assignment_of(root / "class-assignment", (STEM,))
    book = Gradebook(args.db or f"sqlite:///{root / 'course.db'}")
    started = time.monotonic()
    make_class(root, graded[STEM], sol, book, args.students, hidden)
    print(f"\n{args.students} stored scorings made and recorded in {time.monotonic() - started:.1f} s")

    thresholds = sol / f"{STEM}.thresholds.json"
    data = json.loads(thresholds.read_text())
    data["metrics"]["mnist1_holdout_accuracy"]["threshold"] = 0.885  # raised: some lose the accuracy points
    thresholds.write_text(json.dumps(data))
    assignment = load_assignment(sol)
    hidden.flat_mnist()  # the holdout loaded once, as a rescore command does before the first check
    started = time.monotonic()
    done, failed = rescore_assignment(book, assignment, hidden)
    scored_s = time.monotonic() - started
    started = time.monotonic()
    for item in done:
        save(book, assignment, item)
    saved_s = time.monotonic() - started
    lost = sum(i.new_total < i.old_total for i in done)
    print(f"rescored {len(done)} ({len(failed)} failed, {lost} lose points) in {scored_s:.2f} s")
    print(f"recorded {len(done)} rescore runs with result.json and report.html in {saved_s:.2f} s")
    print(
        f"total {scored_s + saved_s:.2f} s for {len(done)}: {(scored_s + saved_s) / max(1, len(done)) * 1000:.0f} ms each"
    )
    print(f"load average at the end: {open('/proc/loadavg').read().split()[:3]}")
    book.close()
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
