"""Classes to report on, for the reporter, CLI and browser tests.

`sample_results()` are Results as grading makes them (built by hand, instant): every status,
a hidden check, an old-API note, a stopped part, no sandbox, a grader problem, a hostile
string, and the verdicts of broken submissions. `graded_class()` grades a real class once per
test session with the real CLI and sandbox (slow): the demo's four students plus a file that is
not a notebook and a notebook of another exercise.
"""

from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.i18n import t
from grader.results import CheckResult, PartResult, Result, Status

REPO = Path(__file__).resolve().parent.parent
SECRET = "0.987654"  # the expected value of a hidden check: must never reach a student's report
HOSTILE = "<script>alert('x')</script>|pipe"


def _png() -> bytes:
    """A valid 2x2 grey PNG (a student's figure stand-in)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG = _png()


def _shape(name: str, ok: bool, expected, got, hint: str = "", hidden: bool = False, hints=None) -> CheckResult:
    key = "shape.ok" if ok else "shape.wrong"
    args = {"name": name, "expected": expected, "got": got}
    return CheckResult(
        name,
        Status.PASS if ok else Status.FAIL,
        1.0 if ok else 0.0,
        1.0,
        message=t(key, "en", **args),
        expected=None if hidden else expected,
        got=got,
        hint=hint,
        hidden=hidden,
        message_key=key,
        message_args=args,
        hints=hints or {},
    )


def _cell_raised(name: str, points: float) -> CheckResult:
    args = {"cell": "vars", "ename": "AttributeError", "evalue": HOSTILE}
    return CheckResult(
        name,
        Status.ERROR,
        0.0,
        points,
        message=t("cell_raised", "en", **args),
        message_key="cell_raised",
        message_args=args,
    )


def _result(name: str, parts: list[PartResult], isolated: bool = True, **kw) -> Result:
    sandbox = {"name": "bubblewrap" if isolated else "none", "isolated": isolated, "limits": {}, "caveats": []}
    return Result(
        submission=name,
        assignment="sample",
        parts=parts,
        sandbox=sandbox,
        notebooks=[{"name": "sample.ipynb", "file": "sample.ipynb", "status": "finished"}],
        **kw,
    )


def sample_results() -> list[Result]:
    """Five students of a two-part assignment (shapes: 3 points; quiz: 2 points)."""

    def shapes(b_ok: bool, hidden_ok: bool, extra=()):
        checks = [
            _shape("W", True, [784, 10], [784, 10]),
            _shape(
                "b",
                b_ok,
                [10],
                [10] if b_ok else [1],
                hint="one bias per class",
                hints={"en": "one bias per class", "ja": "クラスごとにバイアスは 1 つです"},
            ),
            CheckResult(
                "secret shape",
                Status.PASS if hidden_ok else Status.FAIL,
                1.0 if hidden_ok else 0.0,
                1.0,
                message=f"value is 1.0, expected {SECRET}",
                expected=None,
                got=1.0,
                hint=f"think of {SECRET}",
                hints={"en": f"think of {SECRET}", "ja": f"{SECRET} を考えよう"},
                hidden=True,
                message_key="value.wrong",
                message_args={"name": "secret", "expected": SECRET, "got": 1.0},
            ),
            *extra,
        ]
        return PartResult.from_checks(
            "shapes",
            "Shapes",
            checks,
            notebook="sample.ipynb",
            titles={"en": "Shapes", "ja": "形状"},
            timings={"cells_s": 1.5},
            curves={"loss": [2.3, 1.2, 0.7, 0.5]},
        )

    def quiz(status: Status, score: float):
        return PartResult.from_checks(
            "quiz",
            "Quiz",
            [CheckResult("why softmax", status, score, 2.0, message="answer read", got="確率にするため")],
            notebook="sample.ipynb",
        )

    legacy = CheckResult(
        "legacy-api/placeholder (cell vars, line 1)",
        Status.PASS,
        0.0,
        0.0,
        message="tf.placeholder is TF1 API",
        hint="keras.Input(shape=...)",
        kind="legacy-api",
    )
    resources = {"wall_s": 12.5, "cpu_s": 10.0, "peak_memory_bytes": 700 * 2**20}
    alice = _result(
        "alice",
        [shapes(True, True, [legacy]), quiz(Status.PASS, 2.0)],
        resources=resources,
        plots=[{"notebook": "sample", "cell": "plot", "path": "sample-1.png"}],
    )
    bob = _result(
        "bob",
        [shapes(False, False), quiz(Status.NEEDS_REVIEW, 0.0)],
        resources={**resources, "wall_s": 30.0, "peak_memory_bytes": 900 * 2**20},
    )
    stopped = PartResult.from_checks(
        "quiz",
        "Quiz",
        [_cell_raised("why softmax", 2.0)],
        notebook="sample.ipynb",
        stopped="memory limit of 3 GiB reached",
    )
    carol = _result(
        "carol",
        [
            PartResult.from_checks(
                "shapes", "Shapes", [_cell_raised(n, 1.0) for n in ("W", "b", "secret shape")], notebook="sample.ipynb"
            ),
            stopped,
        ],
        isolated=False,
        resources={"wall_s": 5.0},
        problems=[{"kind": "grader", "message": "KeyError: 'x'\nTraceback ..."}],
    )
    invalid_args = {"reason": "eve.ipynb is not a Jupyter notebook: Expecting value"}
    eve = _result(
        "eve",
        [
            PartResult.from_checks(
                pid,
                title,
                [
                    CheckResult(
                        name,
                        Status.ERROR,
                        0.0,
                        pts,
                        message=t("nb.invalid", "en", **invalid_args),
                        message_key="nb.invalid",
                        message_args=invalid_args,
                    )
                    for name, pts in checks
                ],
                notebook="sample.ipynb",
            )
            for pid, title, checks in (
                ("shapes", "Shapes", (("W", 1.0), ("b", 1.0), ("secret shape", 1.0))),
                ("quiz", "Quiz", (("why softmax", 2.0),)),
            )
        ],
    )
    eve.sandbox, eve.notebooks = {}, [{"name": "sample.ipynb", "file": "eve.ipynb", "status": "invalid"}]
    wrong_args = {"name": "other.ipynb"}
    frank = _result(
        "frank",
        [
            PartResult.from_checks(
                "shapes",
                "Shapes",
                [
                    CheckResult(
                        "W",
                        Status.FAIL,
                        0.0,
                        3.0,
                        message=t("nb.wrong_exercise", "en", **wrong_args),
                        message_key="nb.wrong_exercise",
                        message_args=wrong_args,
                    )
                ],
                notebook="sample.ipynb",
            )
        ],
    )
    frank.sandbox = {}
    return [alice, bob, carol, eve, frank]


def write_plots(outdir: Path, results: list[Result]) -> None:
    for r in results:
        for plot in r.plots:
            (outdir / r.submission / "plots").mkdir(parents=True, exist_ok=True)
            (outdir / r.submission / "plots" / plot["path"]).write_bytes(PNG)


@dataclass
class GradedClass:
    outdir: Path
    returncode: int
    stdout: str
    stderr: str
    step_summary: Path


def _broken_submissions(class_dir: Path) -> None:
    (class_dir / "eve").mkdir()
    (class_dir / "eve" / "mnist_1layer.ipynb").write_text("this is not a notebook {")
    (class_dir / "frank").mkdir()
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('another course')")])
    nbformat.write(other, class_dir / "frank" / "other.ipynb")


def one_layer_assignment(root: Path) -> Path:
    """A copy of the one-layer MNIST exercise as an assignment of its own (solution, checks,
    thresholds and released twin), so that these tests do not change when notebooks are added
    to solutions/mnist_tf."""
    solution = root / "solutions" / "mnist1"
    released = root / "exercises" / "mnist1"
    solution.mkdir(parents=True)
    released.mkdir(parents=True)
    source = REPO / "solutions" / "mnist_tf"
    for name in ("mnist_1layer.ipynb", "mnist_1layer.checks.py", "mnist_1layer.thresholds.json"):
        shutil.copy(source / name, solution / name)
    shutil.copy(REPO / "exercises" / "mnist_tf" / "mnist_1layer.ipynb", released / "mnist_1layer.ipynb")
    return solution


@functools.cache
def graded_class() -> GradedClass:
    """The demo class plus eve (not a notebook) and frank (another exercise), graded by the CLI
    with every format, in CI mode with a pass mark of 50 %."""
    from grader.cli.demo import build_sample_class

    root = Path(tempfile.mkdtemp(prefix="dlgrade-class-"))
    assignment = one_layer_assignment(root)
    class_dir = build_sample_class(assignment, root / "class")
    _broken_submissions(class_dir)
    outdir = root / "reports"
    summary = root / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "DLGRADE_LANG": "en", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli.main",
            "grade",
            *sorted(str(p) for p in class_dir.iterdir()),
            "--assignment",
            str(assignment),
            "--out",
            str(outdir),
            "--format",
            "all",
            "--ci",
            "--pass-mark",
            "0.5",
            "--lang",
            "en",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return GradedClass(outdir, proc.returncode, proc.stdout, proc.stderr, summary)
