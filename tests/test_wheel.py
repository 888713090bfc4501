"""dlgrade as instructors and Gradescope run it: the built wheel, installed outside the checkout,
holds every file a run needs (report templates, schemas, the gradebook's migrations) and renders the
reports and creates a gradebook from there."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent

RENDER = """
import json, sys, grader
from pathlib import Path
from grader.reporters import REPORTERS, write_submission, write_class
from grader.results import CheckResult, PartResult, Result, Status
assert Path(grader.__file__).is_relative_to(Path(sys.argv[1])), grader.__file__
check = CheckResult("W", Status.FAIL, 0.0, 1.0, message="W is wrong", message_key="value.wrong",
                    message_args={"name": "W", "got": 1, "expected": 2})
result = Result("alice", "mnist_tf", parts=[PartResult.from_checks("p", "Part", [check])])
out = Path(sys.argv[2])
write_submission(result, out, list(REPORTERS), "ja")
write_class([result], out, list(REPORTERS), "ja", 0.6)
print(sorted(p.name for p in out.rglob("*") if p.is_file()))
from grader.gradebook import Gradebook  # migrates a new course.db with the wheel's own migrations
from grader.gradebook.models import Run
with Gradebook(f"sqlite:///{out / 'course.db'}") as book:
    book.record_run(result, book.record_submission(None, "mnist_tf", {"alice.ipynb": b"{}"}))
    print("gradebook runs:", book.count(Run))
"""


def test_the_installed_wheel_renders_every_report_outside_the_checkout(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("dlgrade-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "grader/reporters/templates/report.html.j2",
        "grader/reporters/templates/index.html.j2",
        "grader/reporters/templates/base.css.j2",
        "grader/reporters/templates/summary.md.j2",
        "grader/schemas/result.schema.json",
        "grader/inside/worker.py",
        "grader/inside/predict.py",
        "grader/gradebook/migrations/env.py",
        "grader/gradebook/migrations/script.py.mako",
        "grader/gradebook/migrations/versions/0001_baseline.py",
    ):
        assert needed in names, needed
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", RENDER, str(site), str(tmp_path / "out")],
        cwd=elsewhere,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = (tmp_path / "out" / "alice" / "report.html").read_text()
    assert "W is wrong" not in report and "期待される値" in report  # rendered, in Japanese, from the wheel's templates
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "summary.md").is_file()
    assert "gradebook runs: 1" in run.stdout
