"""Hostile submissions, graded for real: every attack is contained and gets the verdict it
deserves, the host is untouched, and a class of all of them plus two honest students grades to
completion in parallel.

The cases live in `tests/hostile/cases.py`. The assignment is a copy of the one-layer MNIST
exercise with small limits (so timeouts and kills come fast) and one extra part that evaluates a
saved `.keras` model, the target of planted models.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hostile import cases as hc

from grader import reporters
from grader.assignment.spec import load_assignment
from grader.cli import main as cli
from grader.datasets import public_dir
from grader.datasets.cache import cache_root
from grader.intake import artifacts as art
from grader.pipeline.calibrate import reference_notebook
from grader.pipeline.execution import SandboxedRunner, clean_record
from grader.pipeline.grading import GradeOptions
from grader.pipeline.hidden import HiddenData
from grader.pipeline.scheduler import grade_class
from grader.results import Result
from grader.sandbox import cgroups
from grader.sandbox.bwrap import NOBODY, make_sandbox

MiB = 2**20
LIMITS = {
    "cell_timeout_s": 20,
    "notebook_timeout_s": 90,
    "memory_bytes": 1536 * MiB,
    "file_size_bytes": 64 * MiB,
    "tmp_bytes": 64 * MiB,
    "work_bytes": 64 * MiB,
    "copy_back_bytes": 48 * MiB,  # under the largest file a run may write
}
MODEL_PART = """

# --- added for the hostile-submission tests -------------------------------------------------------
from grader.checks import prediction_accuracy
from grader.assignment import Evaluate

SETUP = {"framework": "tf1", "limits": LIMITS_REPR}
PARTS = PARTS + [
    Part(
        id="mnist1_model",
        title="A saved Keras model",
        cells=["mnist1_vars"],
        after="mnist1_train",
        models={"model": "keras_model"},
        evaluate={"holdout": Evaluate(dataset="mnist", model="model", preprocess="flat")},
        checks=[Calibrated("model accuracy", 0, metric="mnist1_keras_accuracy",
                           compute=prediction_accuracy("holdout", "mnist"), uses=("model",),
                           ok_key="accuracy.ok", bad_key="accuracy.low")],
    ),
]
""".replace("LIMITS_REPR", repr(LIMITS))


# --- unit tests of the fixes (fast) ---------------------------------------------------------------
def test_clean_record_survives_a_forged_record():
    forged = {
        "status": "pwned",
        "kernel_start_s": "soon",
        "cells": [
            {"index": "0"},
            "junk",
            None,
            {"index": 4, "grade_id": ["x"], "status": "ok", "seconds": 1e300, "error": {"ename": 5, "traceback": "x"}},
            {"index": 4},
            {"index": True},
        ],
    }
    record = clean_record(forged)
    assert record["status"] == "unknown" and record["kernel_start_s"] == 0.0
    assert record["cells"] == [
        {
            "index": 4,
            "grade_id": None,
            "injected": "",
            "part": "",
            "status": "ok",
            "seconds": 0.0,
            "error": {"ename": "", "evalue": "", "traceback": []},
        }
    ]
    with pytest.raises(art.UnsafeArtifact):
        clean_record(["not", "a", "record"])


def test_read_part_refuses_a_symlinked_part_folder(tmp_path):
    stolen = tmp_path / "other" / "p"
    stolen.mkdir(parents=True)
    np.save(stolen / "W.npy", np.ones(3))
    (stolen / "_export.json").write_text(json.dumps({"saved": {"W": "npy"}, "errors": {}}))
    mine = tmp_path / "mine" / "artifacts"
    mine.mkdir(parents=True)
    (mine / "p").symlink_to(stolen)
    data = art.read_part(mine, "p", ["W"])
    assert "W" not in data.values and "symbolic link" in data.unreadable["W"]
    # the real folder reads fine: the refusal is about the link
    assert art.read_part(tmp_path / "other", "p", ["W"]).values["W"].tolist() == [1, 1, 1]
    (tmp_path / "linked").symlink_to(tmp_path / "other")
    assert "symbolic link" in art.read_part(tmp_path / "linked", "p", ["W"]).unreadable["W"]


def test_run_cgroup_reads_cpu_time_from_v1_and_v2(tmp_path):
    (tmp_path / "cpuacct.usage").write_text("2500000000\n")
    assert cgroups.RunCgroup("v1", None, None, cpu_dir=tmp_path).cpu_seconds() == pytest.approx(2.5)
    (tmp_path / "cpu.stat").write_text("usage_usec 1250000\nuser_usec 1000000\nsystem_usec 250000\n")
    assert cgroups.RunCgroup("v2", None, None, cpu_dir=tmp_path).cpu_seconds() == pytest.approx(1.25)
    assert cgroups.RunCgroup("v1", None, None).cpu_seconds() is None


def test_copy_out_drops_symlinks_and_fifos(tmp_path):
    from grader.intake.copyback import CopyLimits, copy_back

    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    (src / "link").symlink_to("/etc/shadow")
    os.mkfifo(src / "fifo")
    report = copy_back(src, tmp_path / "dst", None, CopyLimits())
    assert (tmp_path / "dst" / "sub" / "a.txt").read_text() == "a"
    assert not os.path.lexists(tmp_path / "dst" / "link") and not os.path.lexists(tmp_path / "dst" / "fifo")
    assert {d["path"]: d["reason"] for d in report.dropped} == {"link": "link", "fifo": "special"}


def test_worker_cuts_a_single_huge_stream_message_to_the_cap():
    from grader.inside.worker import TRUNCATED, CappedClient

    client = CappedClient(nbformat.v4.new_notebook())
    client.max_output_bytes = 64 * 1024
    client.reset_execution_trackers()
    client.clear_before_next_output = False  # set per cell when nbclient executes one
    outs: list = []
    for i in range(3):  # the kernel batches writes: one message may carry many megabytes
        msg = {
            "msg_type": "stream",
            "parent_header": {"msg_id": "m"},
            "header": {"msg_id": f"o{i}", "msg_type": "stream"},
            "content": {"name": "stdout", "text": "x" * (4 * MiB)},
        }
        client.output(outs, msg, None, 0)
    assert len(json.dumps(outs)) < 70 * 1024
    assert outs[-1]["text"] == TRUNCATED and sum(o["text"] == TRUNCATED for o in outs) == 1


def _dummy_host(tmp_path: Path) -> hc.Host:
    return hc.Host(
        1,
        2,
        ("127.0.0.1",),
        tmp_path,
        tmp_path,
        tmp_path,
        tmp_path,
        tmp_path,
        tmp_path,
        tmp_path,
        tmp_path / "nb.ipynb",
        tmp_path / "a" / "b" / "c",
        tmp_path,
        b"PK",
        b"PK",
    )


def test_every_case_is_a_notebook_whose_cells_compile(tmp_path, repo):
    release = nbformat.read(repo / "exercises/mnist_tf/mnist_1layer.ipynb", as_version=4)
    for make in hc.CASES:
        c = make(_dummy_host(tmp_path))
        data = hc.build(c, release)
        if c.raw is not None:
            continue
        nb = nbformat.reads(data.decode(), as_version=4)
        added = len(nb.cells) - len(release.cells)
        assert added == (c.after_vars is not None) + (c.after_train is not None), c.name
        for cell in nb.cells:
            if cell.cell_type == "code" and "%matplotlib" not in cell.source:
                compile(cell.source, c.name, "exec")


# --- the class of hostile submissions (slow) ----------------------------------------------------
@dataclass
class Graded:
    results: dict[str, Result]
    cases: dict[str, hc.Case]
    host: hc.Host
    outdir: Path
    tcp_connections: list
    udp_received: list
    before: dict[str, tuple]
    leftover_processes: list[int]
    leftover_cgroups: list[str]
    leftover_mounts: list[str]
    seconds: float
    class_error: str = ""  # what writing the class files raised, if anything


class Listener:
    """TCP and UDP sockets on all of the host's addresses that record whoever reaches them."""

    def __init__(self):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.udp.setblocking(False)
        self.connections: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.tcp.accept()
            except OSError:
                continue
            self.connections.append(peer)
            conn.close()

    def close(self) -> list:
        self._stop.set()
        self._thread.join()
        received = []
        while True:
            try:
                received.append(self.udp.recvfrom(65536))
            except BlockingIOError:
                break
        self.tcp.close()
        self.udp.close()
        return received


def _host_addresses() -> tuple[str, ...]:
    found = ["127.0.0.1"]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the outgoing address
        found.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    return tuple(dict.fromkeys(found))


def _make_assignment(repo: Path, root: Path) -> Path:
    """solutions/ and exercises/ with only the one-layer notebook, its checks (small limits, the
    model part) and its thresholds (plus the model part's)."""
    sol, ex = root / "solutions" / "mnist_tf", root / "exercises" / "mnist_tf"
    sol.mkdir(parents=True)
    ex.mkdir(parents=True)
    shutil.copy(repo / "solutions/mnist_tf/mnist_1layer.ipynb", sol)
    shutil.copy(repo / "exercises/mnist_tf/mnist_1layer.ipynb", ex)
    checks = (repo / "solutions/mnist_tf/mnist_1layer.checks.py").read_text()
    (sol / "mnist_1layer.checks.py").write_text(checks + MODEL_PART)
    thresholds = json.loads((repo / "solutions/mnist_tf/mnist_1layer.thresholds.json").read_text())
    thresholds["metrics"]["mnist1_keras_accuracy"] = {"direction": "max", "threshold": 0.5, "mean": 0.9}
    (sol / "mnist_1layer.thresholds.json").write_text(json.dumps(thresholds))
    return sol


def _keras_models(workdir: Path, canary: Path) -> tuple[bytes, bytes]:
    """A real Lambda-layer model whose code would touch `canary` if anything ran it, and a
    plain Dense model with zero weights."""
    import keras

    path = os.fspath(canary)
    inputs = keras.Input((784,))
    hostile = keras.Model(inputs, keras.layers.Lambda(lambda t: t[:, :10] * 0 + len(open(path, "a").name) * 0)(inputs))
    plain = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros")]
    )
    hostile.save(workdir / "lambda.keras")
    plain.save(workdir / "plain.keras")
    canary.unlink(missing_ok=True)  # building the model called the Lambda once, here
    return (workdir / "lambda.keras").read_bytes(), (workdir / "plain.keras").read_bytes()


def _snapshot(*roots: Path) -> dict[str, tuple]:
    """Contents and metadata of every file under roots (to prove nothing changed)."""
    seen = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            info = path.lstat()
            digest = path.read_bytes() if stat.S_ISREG(info.st_mode) and info.st_size < 64 * MiB else info.st_size
            seen[str(path)] = (info.st_mode, info.st_mtime_ns, info.st_uid, hash(digest))
    return seen


def _sandbox_processes(outdir: Path) -> list[int]:
    """Host pids of uid-65534 processes that belong to this class's runs."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = int(
                next(line for line in (entry / "status").read_text().splitlines() if line.startswith("Uid:")).split()[1]
            )
            if uid != NOBODY:
                continue
            cwd = os.readlink(entry / "cwd")
            environ = (entry / "environ").read_bytes()
        except (OSError, StopIteration, ValueError):
            continue
        if cwd.startswith(str(outdir)) or str(outdir).encode() in environ:
            found.append(int(entry.name))
    return found


def _our_cgroups() -> list[str]:
    layout = cgroups.detect_layout()
    prefix = f"dlgrade-{os.getpid()}-"
    dirs = [d for d in (layout.memory, layout.pids, layout.cpu) if d] if layout else []
    return [str(p) for d in dirs if d.is_dir() for p in d.iterdir() if p.name.startswith(prefix)]


@pytest.fixture(scope="module")
def graded(repo, tmp_path_factory) -> Graded:
    if shutil.which("bwrap") is None or os.geteuid() != 0:
        pytest.skip("needs bubblewrap and root (the grading server's setup)")
    tmp = tmp_path_factory.mktemp("hostile")
    sol = _make_assignment(repo, tmp / "assignment")
    assignment = load_assignment(sol)
    spec = assignment.notebook(hc.NOTEBOOK)
    canary = tmp / "canary"
    canary.mkdir(mode=0o755)
    (canary / "secret.txt").write_text("the canary: nobody may read or change this\n")
    steal = canary / "steal"
    steal.mkdir()
    np.save(steal / "W.npy", np.random.RandomState(1).randn(784, 10))
    np.save(steal / "b.npy", np.zeros(10))
    (steal / "_export.json").write_text(json.dumps({"saved": {"W": "npy", "b": "npy"}, "errors": {}}))
    lambda_model, plain_model = _keras_models(tmp, canary / "pwned-lambda")
    outdir = tmp / "out"
    class_dir = tmp / "class"
    listener = Listener()
    host = hc.Host(
        tcp_port=listener.tcp.getsockname()[1],
        udp_port=listener.udp.getsockname()[1],
        addresses=_host_addresses(),
        solutions_dir=sol,
        repo=repo,
        labels_dir=cache_root() / "labels",
        hidden_dir=cache_root() / "hidden",
        public_dir=public_dir(),
        canary_dir=canary,
        outdir=outdir,
        other_submission=class_dir / "honest_reference" / hc.NOTEBOOK,
        other_artifacts=outdir / "honest_reference" / "work" / "mnist_1layer" / "artifacts" / "mnist1_accuracy",
        steal_dir=steal,
        lambda_model=lambda_model,
        plain_model=plain_model,
    )
    only = set(filter(None, os.environ.get("DLGRADE_HOSTILE_ONLY", "").split(",")))  # to debug a few
    cases = hc.write_class(host, spec.release(), reference_notebook(spec), class_dir, only)
    before = _snapshot(canary, sol, public_dir(), cache_root() / "labels")
    # the submissions as `dlgrade grade * --assignment ... --out ...` in the class folder gives them
    # (a folder named --no-sandbox among them), honest students first, so that attacks on their
    # folders find something to aim at
    here = os.getcwd()
    os.chdir(class_dir)
    try:
        argv = ["grade", *sorted(os.listdir()), "--assignment", str(sol), "--out", str(outdir)]
        args = cli.build_parser().parse_args(cli.paths_not_options(argv))
    finally:
        os.chdir(here)
    assert not args.no_sandbox
    order = sorted((class_dir / s for s in args.submissions), key=lambda p: (not p.name.startswith("honest"), p.name))
    # keep_work: the tests below look at what each run left (without it, work/ and eval/ go)
    options = GradeOptions(data_paths=[public_dir()], hidden=HiddenData(), keep_work=True)
    formats = list(reporters.REPORTERS)  # every file, through the same calls as `dlgrade grade`
    started = time.monotonic()
    results = grade_class(
        order,
        assignment,
        SandboxedRunner(make_sandbox(False)),
        outdir,
        options,
        jobs=2,
        on_done=lambda r, *_: reporters.write_submission(r, outdir, formats, "en"),
    )
    seconds = time.monotonic() - started
    class_error = ""
    try:
        reporters.write_class(results, outdir, formats, "en", 0.6)
    except Exception as exc:
        class_error = f"{type(exc).__name__}: {exc}"
    by_path = {hc.submission_path(c, class_dir): name for name, c in cases.items()}
    time.sleep(0.5)
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if str(tmp) in line]
    return Graded(
        results={by_path.get(p, p.name): r for p, r in zip(order, results)},  # by case name
        cases=cases,
        host=host,
        outdir=outdir,
        tcp_connections=listener.connections,
        udp_received=listener.close(),
        before=before,
        leftover_processes=_sandbox_processes(outdir),
        leftover_cgroups=_our_cgroups(),
        leftover_mounts=mounts,
        seconds=seconds,
        class_error=class_error,
    )


def _explain(result: Result) -> str:
    lines = [f"{result.submission}: {result.score}/{result.max_score} problems={result.problems}"]
    for part in result.parts:
        lines.append(f"  {part.id} {part.score}/{part.max_score} stopped={part.stopped!r}")
        lines += [f"    {c.name}: {c.status.value} {c.message[:300]}" for c in part.checks]
    return "\n".join(lines)


CASE_NAMES = [make.__name__ for make in hc.CASES]


def _needs(graded: Graded, name: str) -> None:
    if name not in graded.results:
        pytest.skip(f"{name} not graded (DLGRADE_HOSTILE_ONLY)")


@pytest.mark.slow
def test_there_are_enough_hostile_cases():
    assert len(CASE_NAMES) >= 22 and len(set(CASE_NAMES)) == len(CASE_NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_submission_gets_the_verdict_it_deserves(graded, name):
    _needs(graded, name)
    case, result = graded.cases[name], graded.results[name]
    why = _explain(result)
    assert not result.problems, why  # contained: never a crash of the grader
    parts = {p.id: p for p in result.parts if p.id in case.scores}
    assert {pid: p.score for pid, p in parts.items()} == case.scores, why
    for pid, text in case.stopped.items():
        assert text in parts[pid].stopped, why
    for pid, text in case.messages.items():
        assert any(text in c.message for c in parts[pid].checks), why
    if case.status:
        assert result.notebooks[0]["status"] == case.status, why


@pytest.mark.slow
def test_honest_submissions_in_the_same_class_get_their_marks(graded):
    expected = {"honest_reference": hc.FULL, "honest_wrong_bias": {hc.SHAPES: 3, hc.ACCURACY: 6, hc.MODEL: 0}}
    for name, scores in expected.items():
        result = graded.results[name]
        assert {p.id: p.score for p in result.parts if p.id in scores} == scores, _explain(result)
        assert result.notebooks[0]["status"] == "finished" and not result.problems
        # measured from the run's cgroup: RUSAGE_CHILDREN saw about 0 s of the sandbox's work
        assert result.resources["cpu_s"] > 1.0
        assert result.resources["peak_memory_bytes"] > 100 * MiB
    assert graded.seconds < 600


@pytest.mark.slow
def test_nothing_reached_the_hosts_listeners(graded):
    assert graded.tcp_connections == []
    assert graded.udp_received == []


@pytest.mark.slow
def test_host_files_are_unread_and_unchanged(graded):
    h = graded.host
    after = _snapshot(h.canary_dir, h.solutions_dir, h.public_dir, h.labels_dir)
    assert after == graded.before
    assert not list(h.canary_dir.glob("pwned-*"))  # no pickle or Lambda code ever ran on the host
    assert not (h.repo / "grader" / "planted.py").exists()


@pytest.mark.slow
def test_no_result_holds_a_host_files_bytes(graded):
    secret = (graded.host.canary_dir / "secret.txt").read_text().strip()
    for name, result in graded.results.items():
        assert secret not in json.dumps(result.to_dict(), ensure_ascii=False), name


@pytest.mark.slow
def test_nothing_was_written_outside_the_submissions_work_folders(graded):
    out = graded.outdir
    folders = {r.submission for r in graded.results.values()}
    assert {p.name for p in out.iterdir()} <= folders | {"index.html", "grades.csv", "summary.md", "junit.xml"}
    for folder in (out / name for name in folders):
        # a submission's folder holds only what the grader made: its run, its evaluation, plots, reports
        reports = {"report.html", "result.json", "gradescope.json"}
        # and each notebook as it ran: the kept copy and its feedback page (grader.pipeline.feedback)
        stems = {n["name"].removesuffix(".ipynb") for r in graded.results.values() for n in r.notebooks}
        reports |= {stem + suffix for stem in stems for suffix in (".executed.ipynb", ".feedback.html")}
        assert {p.name for p in folder.iterdir()} <= {"work", "eval", "plots", "scoring"} | reports, folder.name
        # and what each notebook's checks read, to score it again (grader.pipeline.kept)
        kept = {p.name for p in (folder / "scoring").iterdir()} if (folder / "scoring").is_dir() else set()
        assert kept <= {f"{stem}.npz" for stem in stems}, folder.name
    # a symlinked executed notebook does not make the grader read another student's plots
    if "symlink_export" in graded.results:
        assert graded.results["symlink_export"].plots == []


@pytest.mark.slow
def test_every_class_file_is_written_and_valid(graded):
    """A class mixing attacks with honest work: every class file, each parsing, one entry per
    submission, every submission in its own folder and sandboxed, no terminal escape anywhere."""
    import csv
    import io
    import xml.etree.ElementTree as ET

    from markdown_it import MarkdownIt

    assert graded.class_error == ""
    out, results = graded.outdir, list(graded.results.values())
    names = [r.submission for r in results]
    assert len({n.casefold() for n in names}) == len(names)  # one output folder each
    # --no-sandbox was a submission, not an option: nothing ran without isolation
    assert not [r.submission for r in results if r.sandbox.get("isolated", True) is not True]
    if "out_named_no_sandbox" in graded.results:
        assert graded.results["out_named_no_sandbox"].sandbox["isolated"] is True
    for name in ("index.html", "grades.csv", "summary.md", "junit.xml"):
        assert (out / name).is_file(), name
        assert "\x1b" not in (out / name).read_text(encoding="utf-8-sig"), name
    assert "</html>" in (out / "index.html").read_text()
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + len(results)
    assert not [
        c for row in rows for c in row if c.startswith(("=", "+", "@")) or c.startswith("-") and not c[1:2].isdigit()
    ]
    suites = ET.parse(out / "junit.xml").getroot().findall("testsuite")
    assert sorted(s.get("name") for s in suites) == sorted(names)
    tokens = MarkdownIt("gfm-like").parse((out / "summary.md").read_text())
    inline = [c for t in tokens for c in (t.children or [])]
    assert not [t for t in inline if t.type in ("link_open", "image", "html_inline")]
    for r in results:
        assert json.loads((out / r.submission / "result.json").read_text())["submission"] == r.submission
        assert json.loads((out / r.submission / "gradescope.json").read_text())["output_format"] == "text"


@pytest.mark.slow
def test_filling_the_disk_fills_only_the_work_folder(graded):
    _needs(graded, "disk_fill")
    # the run filled its tmpfs; only its record, exports and executed notebook come back
    used = sum(p.lstat().st_size for p in (graded.outdir / "disk_fill").rglob("*") if p.is_file())
    assert used < 8 * MiB


def _apparent(folder: Path, skip: tuple[str, ...] = ()) -> int:
    return sum(
        p.lstat().st_size
        for p in folder.rglob("*")
        if p.is_file() and not set(p.relative_to(folder).parts[:1]) & set(skip)
    )


@pytest.mark.slow
def test_every_run_was_warm(graded):
    """The class is graded with the default sandbox, the warm workers: every hostile case above
    was met by them, and none fell back to bubblewrap."""
    ran = {name: r.sandbox for name, r in graded.results.items() if r.sandbox}
    assert len(ran) > len(graded.results) // 2
    assert {name: s.get("name") for name, s in ran.items() if s.get("name") != "warm"} == {}
    assert [name for name, s in ran.items() if any("bubblewrap" in c for c in s.get("caveats", []))] == []


@pytest.mark.slow
def test_runs_leave_only_regular_files_within_the_caps(graded):
    """Whatever a run wrote (links, FIFOs, sockets, sparse and hard-linked files), the class
    output holds regular files and folders only, each file once, within the budgets."""
    for dirpath, dirnames, filenames in os.walk(graded.outdir):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(dirpath, name))
            assert stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode) and info.st_nlink == 1, (dirpath, name)
    for name, result in graded.results.items():
        folder = graded.outdir / name
        # what stays by default (without --keep-work): the reports and figures
        assert _apparent(folder, ("work", "eval")) <= GradeOptions().max_output_bytes, name
        for kind in ("work", "eval"):
            assert _apparent(folder / kind) <= LIMITS["copy_back_bytes"], (name, kind)
        for timings in result.timings.get("notebooks", {}).values():
            assert timings.get("copy_back_s", 0) < 10, name
    if "copyback_junk" in graded.results:
        work = graded.outdir / "copyback_junk" / "work" / "mnist_1layer"
        assert sorted(p.name for p in work.iterdir()) == ["artifacts", "executed.ipynb", "record.json"]
        assert [p.name for p in (work / "artifacts").rglob("small*.bin")] == ["small0.bin"]  # once
        assert not list(work.rglob("sparse*.bin")) and not list(work.rglob("hard*.bin"))
        kept = next(p for p in graded.results["copyback_junk"].parts if p.id.endswith("-output"))
        said = " ".join(c.message for c in kept.checks)
        for text in ("symbolic link", "not a regular file", "hard link", "does not fit"):
            assert text in said, said


@pytest.mark.slow
def test_a_flood_of_output_is_capped(graded):
    _needs(graded, "print_flood")
    executed = graded.outdir / "print_flood" / "work" / "mnist_1layer" / "executed.ipynb"
    assert executed.stat().st_size < 8 * MiB
    assert "output truncated" in executed.read_text()


@pytest.mark.slow
def test_no_process_cgroup_or_mount_survives(graded):
    assert graded.leftover_processes == []
    assert graded.leftover_cgroups == []
    assert graded.leftover_mounts == []
