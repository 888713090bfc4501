"""Hostile submissions of the one-layer MNIST exercise, each built from the released notebook.

A case names what it puts into the blank cell `mnist1_vars` (and into cells it adds after that
cell or after the training cell), or the whole file for a broken notebook, and the verdict it
deserves: the points per part, and text that a part's `stopped` reason or check messages must
hold. Attacks that can tell whether they worked run *before* the answer in `mnist1_vars` and
raise when they did, so a breach also costs the submission its points and shows in its verdict.

`Host` carries the host-side targets (listening ports, canary files, other students' folders),
which the test creates before the class is built.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.notebook import format as nbf

NOTEBOOK = "mnist_1layer.ipynb"
SHAPES, ACCURACY, MODEL = "mnist1_shapes", "mnist1_accuracy", "mnist1_model"
FULL = {SHAPES: 4, ACCURACY: 6, MODEL: 0}  # the model part is only for planted .keras files
SHAPES_ONLY = {SHAPES: 4, ACCURACY: 0, MODEL: 0}
NOTHING = {SHAPES: 0, ACCURACY: 0, MODEL: 0}

XD = "x = tf.placeholder(tf.float32, [None, 784])\nd = tf.placeholder(tf.float32, [None, 10])\n"
CORRECT = XD + "W = tf.Variable(tf.random_normal([784, 10], stddev=0.01))\nb = tf.Variable(tf.zeros([10]))\n"
# Right shapes, nothing learnt from the pixels: W stays 0, only the bias trains (~11 %).
UNTRAINED = XD + ("W = tf.Variable(tf.zeros([784, 10]), trainable=False)\nb = tf.Variable(tf.zeros([10]))\n")
WRONG_BIAS = XD + (
    "W = tf.Variable(tf.random_normal([784, 10], stddev=0.01))\n"
    "b = tf.Variable(tf.zeros([1]))  # one bias for every class\n"
)

# Attacks that can see their own success call _breach() before the answer is defined.
PRELUDE = """\
import os, sys, socket, time, json

def _breach(what):
    raise RuntimeError("BREACH: " + str(what))

def _readable(path):
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False
"""


@dataclass(frozen=True)
class Host:
    """What a hostile cell aims at on the host; nothing of it may be reachable from inside."""

    tcp_port: int  # a listener on all of the host's addresses
    udp_port: int
    addresses: tuple[str, ...]  # the host's own addresses, loopback first
    solutions_dir: Path  # the assignment being graded (checks, solution, thresholds)
    repo: Path
    labels_dir: Path  # the holdout labels (~/.cache/dlgrade/labels)
    hidden_dir: Path  # the holdout inputs
    public_dir: Path  # the public data, mounted read-only into the sandbox
    canary_dir: Path  # files the run must neither read nor change; `pwned-*` must never appear
    outdir: Path  # the class's output folder
    other_submission: Path  # another student's notebook file
    other_artifacts: Path  # another student's export folder (on the host)
    steal_dir: Path  # perfect-looking artifacts on the host, a target for a symlinked folder
    lambda_model: bytes  # a real .keras whose Lambda layer touches canary_dir/pwned-lambda
    plain_model: bytes  # a real .keras of one Dense layer with zero weights


@dataclass(frozen=True)
class Case:
    name: str
    scores: dict[str, float]
    vars: str | None = None  # source of mnist1_vars; None keeps the released stub
    after_vars: str | None = None  # a cell the student added right after mnist1_vars
    after_train: str | None = None  # a cell added right after mnist1_train
    raw: Callable[[nbformat.NotebookNode], bytes] | None = None  # the whole file instead
    stopped: dict[str, str] = field(default_factory=dict)  # part -> text its `stopped` holds
    messages: dict[str, str] = field(default_factory=dict)  # part -> text in a check message
    status: str | None = None  # the notebook's status in the result (finished, timeout, ...)
    # extra entries of the submission folder (links, FIFOs, other files), made after the notebook
    plant: Callable[[Path, Host], None] | None = None
    # the submission's own name in the class folder when it is not `name` (a folder named
    # index.html or --no-sandbox); a name ending in .ipynb is a notebook file, not a folder
    folder: str | None = None


def submission_path(c: Case, target: Path) -> Path:
    """Where case `c` sits in the class folder `target`."""
    return target / (c.folder or c.name)


CASES: list[Callable[[Host], Case]] = []


def case(fn: Callable[[Host], Case]) -> Callable[[Host], Case]:
    CASES.append(fn)
    return fn


# --- the network -------------------------------------------------------------------------------
@case
def net_tcp(h: Host) -> Case:
    attack = f"""
for host in {list(h.addresses)!r}:
    try:
        conn = socket.create_connection((host, {h.tcp_port}), timeout=3)
    except OSError:
        continue
    conn.sendall(b"hello from the sandbox")
    _breach("tcp to " + host)
"""
    return Case("net_tcp", FULL, vars=PRELUDE + attack + CORRECT, status="finished")


@case
def net_udp(h: Host) -> Case:
    attack = f"""
for host in {list(h.addresses)!r}:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"hello from the sandbox", (host, {h.udp_port}))
    except OSError:
        pass
"""
    return Case("net_udp", FULL, vars=PRELUDE + attack + CORRECT)


@case
def net_dns(h: Host) -> Case:
    attack = """
for name in ("pypi.org", "example.com"):
    try:
        socket.getaddrinfo(name, 443)
    except OSError:
        continue
    _breach("resolved " + name)
query = b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01"
for server in ("8.8.8.8", "1.1.1.1", "127.0.0.53", "127.0.0.11"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(query, (server, 53))
        s.recvfrom(512)
    except OSError:
        continue
    _breach("dns answer from " + server)
"""
    return Case("net_dns", FULL, vars=PRELUDE + attack + CORRECT)


@case
def net_other_families(h: Host) -> Case:
    attack = """
for family, kind in ((40, socket.SOCK_STREAM), (socket.AF_PACKET, socket.SOCK_RAW)):  # 40: AF_VSOCK
    try:
        socket.socket(family, kind)
    except OSError:
        continue
    _breach("opened a socket of family %d" % family)
interfaces = [name for _, name in socket.if_nameindex()]
if interfaces != ["lo"]:
    _breach("network interfaces " + str(interfaces))
"""
    return Case("net_other_families", FULL, vars=PRELUDE + attack + CORRECT)


# --- reading what is not theirs ------------------------------------------------------------------
@case
def read_solutions(h: Host) -> Case:
    files = [h.solutions_dir / f"mnist_1layer{s}" for s in (".checks.py", ".ipynb", ".thresholds.json")]
    files += [h.repo / "solutions/mnist_tf/mnist_1layer.checks.py", h.repo / "solutions/mnist_tf/mnist_1layer.ipynb"]
    attack = f"""
for path in {[str(p) for p in files]!r}:
    if _readable(path):
        _breach("read " + path)
for folder in {[str(h.solutions_dir), str(h.repo)]!r}:
    try:
        names = set(os.listdir(folder))
    except OSError:
        continue
    if names & {{"solutions", "tests", "exercises", "mnist_1layer.checks.py"}}:
        _breach("listed " + folder)
"""
    return Case("read_solutions", FULL, vars=PRELUDE + attack + CORRECT)


@case
def read_labels(h: Host) -> Case:
    files = [h.labels_dir / "mnist/y_holdout.npy", h.hidden_dir / "mnist/x_holdout.npy"]
    attack = f"""
for path in {[str(p) for p in files]!r}:
    if _readable(path):
        _breach("read " + path)
cache = os.path.dirname(os.environ.get("DLGRADE_DATA", "/nonexistent").rstrip("/"))
for root, dirs, names in os.walk(cache):
    for name in names:
        if "holdout" in name:
            _breach("found " + os.path.join(root, name))
"""
    return Case("read_labels", FULL, vars=PRELUDE + attack + CORRECT)


@case
def read_other_students(h: Host) -> Case:
    attack = f"""
if _readable({str(h.other_submission)!r}) or _readable({str(h.other_artifacts / "W.npy")!r}):
    _breach("read another submission")
try:
    others = set(os.listdir({str(h.outdir)!r})) - {{"read_other_students"}}
except OSError:
    others = set()
if others:
    _breach("saw other submissions " + str(sorted(others)))
for pid in os.listdir("/proc"):  # the pid namespace shows only the sandbox's own processes
    if pid.isdigit() and _readable(f"/proc/{{pid}}/cmdline"):
        args = open(f"/proc/{{pid}}/cmdline", "rb").read().split(b"\\0")
        program = [a.rsplit(b"/", 1)[-1] for a in args[:3]]  # python -m pytest, pytest, dlgrade
        if b"pytest" in program or b"dlgrade" in program:
            _breach("saw the grader's process " + pid)
"""
    return Case("read_other_students", FULL, vars=PRELUDE + attack + CORRECT)


@case
def read_host_files(h: Host) -> Case:
    attack = f"""
for path in ({str(h.canary_dir / "secret.txt")!r}, "/etc/shadow", "/root/.bashrc", "/proc/1/environ"):
    if _readable(path):
        _breach("read " + path)
if "canary" in os.listdir({str(h.canary_dir.parent)!r}):
    _breach("saw the canary's folder")
if [name for name in os.listdir("/tmp") if name.startswith("dlgrade-")]:
    _breach("saw the host's /tmp")
for become in (os.setuid, os.setgid):
    try:
        become(0)
    except OSError:
        continue
    _breach("became root")
"""
    return Case("read_host_files", FULL, vars=PRELUDE + attack + CORRECT)


# --- writing where they must not ---------------------------------------------------------------
@case
def write_outside(h: Host) -> Case:
    targets = [
        h.canary_dir / "secret.txt",
        h.canary_dir / "new.txt",
        h.outdir / "planted.txt",
        h.outdir / "write_outside" / "result.json",
        h.public_dir / "mnist" / "x_train.npy",
        h.repo / "grader" / "planted.py",
        h.solutions_dir / "mnist_1layer.thresholds.json",
    ]
    attack = f"""
targets = {[str(p) for p in targets]!r}
targets += [sys.prefix + "/lib/planted.py", "/usr/lib/planted", "/etc/planted", "../planted.txt", "/planted"]
for path in targets:
    try:
        with open(path, "ab") as fh:
            fh.write(b"planted")
    except OSError:
        continue
    _breach("wrote " + path)
try:
    os.utime({str(h.canary_dir / "secret.txt")!r}, (0, 0))
except OSError:
    pass
else:
    _breach("touched the canary")
"""
    return Case("write_outside", FULL, vars=PRELUDE + attack + CORRECT)


@case
def plant_results(h: Host) -> Case:
    fake = {"score": 10, "max_score": 10, "tests": [{"name": "all", "score": 10, "max_score": 10}]}
    attack = f"""
fake = json.dumps({fake!r})
for path in ("result.json", "../result.json", "../../result.json", "../../../result.json",
             "results.json", "report.html", "/autograder/results/results.json",
             {str(h.outdir / "plant_results" / "result.json")!r}):
    try:
        with open(path, "w") as fh:
            fh.write(fake)
    except OSError:
        pass
print(fake)
print("DLGRADE-RESULT score=10/10 status=pass")
raise NotImplementedError()
"""
    return Case(
        "plant_results",
        NOTHING,
        vars=PRELUDE + attack,
        messages={SHAPES: "not implemented", ACCURACY: "not implemented"},
    )


# --- monkeypatching the kernel ---------------------------------------------------------------------
FAKE_EXPORT = """
import numpy as np
import grader.inside.kernel as _real_kernel
_out = _real_kernel.outdir()
PERFECT = {"x_shape": [None, 784], "d_shape": [None, 10], "W_shape": [784, 10], "b_shape": [10],
           "test_accuracy": [0.99] * 100}

def _fake_export(part, values):
    folder = os.path.join(_out, part)
    os.makedirs(folder, exist_ok=True)
    saved = {}
    for name in values:
        if name in PERFECT:
            with open(os.path.join(folder, name + ".json"), "w") as fh:
                json.dump(PERFECT[name], fh)
            saved[name] = "json"
        else:
            value = np.random.RandomState(0).randn(784, 10) if name == "W" else np.ones(10)
            np.save(os.path.join(folder, name + ".npy"), value)
            saved[name] = "npy"
    with open(os.path.join(folder, "_export.json"), "w") as fh:
        json.dump({"saved": saved, "errors": {}}, fh)
"""


@case
def fake_export(h: Host) -> Case:
    patch = FAKE_EXPORT + "_real_kernel.export = _fake_export\n"
    return Case(
        "fake_export", SHAPES_ONLY, vars=PRELUDE + UNTRAINED + patch, messages={ACCURACY: "below the pass line"}
    )


@case
def fake_kernel_module(h: Host) -> Case:
    patch = (
        FAKE_EXPORT
        + """
import types, grader
fake = types.ModuleType("grader.inside.kernel")
fake.export = _fake_export
fake.save_models = lambda part, models: None
fake.shape = _real_kernel.shape
fake.outdir = lambda: _out
sys.modules["grader.inside.kernel"] = fake
grader.inside.kernel = fake
"""
    )
    # The export cells call the real module's function_export (export functions of the checks
    # file), which the fake lacks: the notebook stops there, and even the shapes earn nothing.
    return Case("fake_kernel_module", NOTHING, vars=PRELUDE + UNTRAINED + patch, messages={ACCURACY: "did not run"})


@case
def patch_numpy(h: Host) -> Case:
    patch = """
import numpy as np
_save = np.save
np.mean = lambda *args, **kwargs: 1.0
np.argmax = lambda a, *args, **kwargs: np.zeros(len(a), dtype=int)
np.save = lambda file, arr, *args, **kwargs: _save(file, np.full(np.shape(arr), 0.5, np.float32), *args, **kwargs)
"""
    return Case(
        "patch_numpy", SHAPES_ONLY, vars=PRELUDE + UNTRAINED + patch, messages={ACCURACY: "below the pass line"}
    )


@case
def patch_builtins(h: Host) -> Case:
    patch = """
import builtins
_float = float
builtins.float = type("float", (_float,), {"__new__": lambda cls, value=0.0: _float.__new__(cls, 0.99)})
_print = builtins.print
builtins.print = lambda *args, **kwargs: _print("Generation: 100. 正解率 = 0.99")
"""
    return Case(
        "patch_builtins", SHAPES_ONLY, vars=PRELUDE + UNTRAINED + patch, messages={ACCURACY: "below the pass line"}
    )


# --- ending the run early -------------------------------------------------------------------------
@case
def os_exit_after_train(h: Host) -> Case:
    return Case("os_exit_after_train", FULL, vars=CORRECT, after_train="import os\nos._exit(1)\n", status="dead")


@case
def os_exit_in_vars(h: Host) -> Case:
    return Case(
        "os_exit_in_vars",
        NOTHING,
        vars=CORRECT + "import os\nos._exit(1)\n",
        status="dead",
        stopped={SHAPES: "kernel died in cell mnist1_vars", ACCURACY: "kernel died in cell mnist1_vars"},
    )


@case
def sys_exit(h: Host) -> Case:
    return Case("sys_exit", FULL, vars=CORRECT + "import sys\nsys.exit(3)\n", status="finished")


@case
def kill_worker(h: Host) -> Case:
    attack = "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(5)\n"
    return Case("kill_worker", NOTHING, vars=CORRECT + attack, stopped={SHAPES: "SIGKILL", ACCURACY: "SIGKILL"})


@case
def fake_record(h: Host) -> Case:
    forged = {
        "status": "finished",
        "kernel_start_s": "soon",
        "cells": [
            {"index": "0"},
            "junk",
            {
                "index": 4,
                "grade_id": ["x"],
                "status": "ok",
                "seconds": 1e300,
                "error": {"ename": 5, "traceback": "x" * 10**6},
            },
            {"index": 4},
            {"index": 10**30, "status": "pwned"},
            None,
        ],
    }
    attack = f"""
import signal
with open("record.json", "w") as fh:
    json.dump({forged!r}, fh)
os.kill(os.getppid(), signal.SIGKILL)
time.sleep(5)
"""
    return Case("fake_record", NOTHING, vars=PRELUDE + CORRECT + attack, stopped={SHAPES: "SIGKILL"})


# --- time ------------------------------------------------------------------------------------------
@case
def loop_before_train(h: Host) -> Case:
    # cell 5 of the student's notebook: intro, setup, task, vars, this loop
    return Case(
        "loop_before_train",
        SHAPES_ONLY,
        vars=CORRECT,
        after_vars="while True:\n    pass\n",
        status="timeout",
        stopped={ACCURACY: "timed out after 20 s in cell #5"},
    )


@case
def loop_after_train(h: Host) -> Case:
    return Case("loop_after_train", FULL, vars=CORRECT, after_train="while True:\n    pass\n", status="timeout")


@case
def sleep_in_vars(h: Host) -> Case:
    return Case(
        "sleep_in_vars",
        NOTHING,
        vars=CORRECT + "import time\ntime.sleep(10**6)\n",
        status="timeout",
        stopped={SHAPES: "timed out after 20 s in cell mnist1_vars"},
    )


# --- resources -------------------------------------------------------------------------------------
@case
def memory_hog(h: Host) -> Case:
    hog = "import numpy as np\nhog = []\nwhile True:\n    hog.append(np.ones(16 * 2**20))  # 128 MiB, every page touched\n"
    return Case(
        "memory_hog",
        SHAPES_ONLY,
        vars=CORRECT,
        after_vars=hog,
        status="dead",
        stopped={ACCURACY: "killed: memory limit"},
    )


@case
def fork_bomb(h: Host) -> Case:
    bomb = """
import subprocess, sys, time
bomb = "import os, time\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        time.sleep(0.5)\\n"
subprocess.Popen([sys.executable, "-c", bomb])
time.sleep(5)
"""
    return Case("fork_bomb", FULL, vars=CORRECT, after_train=bomb)


@case
def disk_fill(h: Host) -> Case:
    fill = """
import os
chunk = b"\\1" * 2**20
written = 0
for folder in (".", "/tmp", "/dev/shm", os.environ["HOME"], "artifacts"):
    for i in range(10**5):
        try:
            with open(os.path.join(folder, "fill-%d" % i), "wb") as fh:
                for _ in range(32):  # 32 MiB files: under the file size limit, so only room stops it
                    fh.write(chunk)
            written += 32
        except OSError:
            break
print("wrote", written, "MiB")
"""
    return Case("disk_fill", FULL, vars=CORRECT, after_train=fill)


@case
def deep_folders(h: Host) -> Case:
    # deeper than PATH_MAX and than Python's recursion limit: copying the folder back must cope
    nest = """
import os
start = os.getcwd()
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
os.chdir(start)
"""
    return Case("deep_folders", FULL, vars=CORRECT, after_train=nest)


@case
def print_flood(h: Host) -> Case:
    flood = """
import os, sys
line = "x" * (2**20 - 1)
for _ in range(96):
    print(line)
    sys.stderr.write(line + "\\n")
for _ in range(96):
    os.write(1, b"y" * 2**20)
    os.write(2, b"z" * 2**20)
"""
    return Case("print_flood", FULL, vars=CORRECT, after_train=flood)


# --- planted artifacts ---------------------------------------------------------------------------
@case
def symlink_export(h: Host) -> Case:
    plant = f"""
import os, grader.inside.kernel as _k
folder = os.path.join(_k.outdir(), "mnist1_accuracy")
for name, target in (("W.npy", "/etc/shadow"), ("b.npy", {str(h.labels_dir / "mnist/y_holdout.npy")!r})):
    os.remove(os.path.join(folder, name))
    os.symlink(target, os.path.join(folder, name))
# the worker writes the executed notebook last: make the grader read another student's instead
os.symlink({str(h.other_artifacts.parent.parent / "executed.ipynb")!r}, "executed.ipynb")
"""
    # the links never leave the sandbox: the part that names what of the run was not kept says so
    return Case(
        "symlink_export",
        {**SHAPES_ONLY, "mnist_1layer-output": 0},
        vars=CORRECT,
        after_train=plant,
        messages={"mnist_1layer-output": "symbolic link"},
    )


@case
def symlink_dir_steal(h: Host) -> Case:
    plant = f"""
import os, shutil, grader.inside.kernel as _k
folder = os.path.join(_k.outdir(), "mnist1_accuracy")
shutil.rmtree(folder)
os.symlink({str(h.steal_dir)!r}, folder)  # a folder of perfect-looking exports on the host
"""
    return Case(
        "symlink_dir_steal",
        {**SHAPES_ONLY, "mnist_1layer-output": 0},
        vars=UNTRAINED,
        after_train=plant,
        messages={"mnist_1layer-output": "symbolic link"},
    )


@case
def pickle_export(h: Host) -> Case:
    plant = f"""
import os, numpy as np, grader.inside.kernel as _k

class Payload:
    def __reduce__(self):
        return (os.system, ("touch " + {str(h.canary_dir / "pwned-pickle")!r},))

folder = os.path.join(_k.outdir(), "mnist1_accuracy")
np.save(os.path.join(folder, "W.npy"), np.array([Payload()], dtype=object), allow_pickle=True)
"""
    return Case(
        "pickle_export", SHAPES_ONLY, vars=CORRECT, after_train=plant, messages={ACCURACY: "not a plain numeric array"}
    )


def _plant_model(data: bytes) -> str:
    return f"""
import os, json, base64, grader.inside.kernel as _k
folder = os.path.join(_k.outdir(), "mnist1_model")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "model.keras"), "wb") as fh:
    fh.write(base64.b64decode({base64.b64encode(data).decode()!r}))
with open(os.path.join(folder, "_models.json"), "w") as fh:
    json.dump({{"saved": {{"model": "keras"}}, "errors": {{}}}}, fh)
"""


@case
def lambda_keras(h: Host) -> Case:
    return Case(
        "lambda_keras", FULL, vars=CORRECT, after_train=_plant_model(h.lambda_model), messages={MODEL: "Lambda"}
    )


@case
def plain_keras(h: Host) -> Case:
    # A built-in model is evaluated for real (in a fresh sandbox): it predicts, and predicts badly.
    return Case(
        "plain_keras",
        FULL,
        vars=CORRECT,
        after_train=_plant_model(h.plain_model),
        messages={MODEL: "below the pass line"},
    )


# --- broken files ----------------------------------------------------------------------------------
@case
def malformed_json(h: Host) -> Case:
    return Case(
        "malformed_json",
        NOTHING,
        raw=lambda nb: nbformat.writes(nb).encode()[:2000],
        messages={SHAPES: "not a Jupyter notebook"},
        status="invalid",
    )


@case
def huge_notebook(h: Host) -> Case:
    def build(nb) -> bytes:
        nb = copy.deepcopy(nb)
        nb.cells.append(nbformat.v4.new_markdown_cell("x" * (21 * 2**20)))
        return nbformat.writes(nb).encode()

    return Case("huge_notebook", NOTHING, raw=build, messages={SHAPES: "MiB"}, status="invalid")


@case
def non_utf8(h: Host) -> Case:
    def build(nb) -> bytes:
        text = nbformat.writes(nb)
        return text.encode("utf-8").replace("分類".encode(), "分類".encode("shift_jis"))

    return Case("non_utf8", NOTHING, raw=build, messages={SHAPES: "not UTF-8"}, status="invalid")


# --- building ------------------------------------------------------------------------------------
def build(c: Case, release: nbformat.NotebookNode) -> bytes:
    """The submitted file of case `c`, made from the released notebook."""
    if c.raw is not None:
        return c.raw(release)
    nb = copy.deepcopy(release)
    cells = []
    for cell in nb.cells:
        gid = nbf.grade_id(cell)
        if gid == "mnist1_vars" and c.vars is not None:
            cell.source = c.vars
        cells.append(cell)
        added = {"mnist1_vars": c.after_vars, "mnist1_train": c.after_train}.get(gid or "")
        if added:
            cells.append(nbformat.v4.new_code_cell(added))
    nb.cells = cells
    return nbformat.writes(nb).encode()


def honest(release: nbformat.NotebookNode, reference: nbformat.NotebookNode) -> dict[str, tuple[bytes, dict]]:
    """Two honest students: the reference solution, and a bias of the wrong shape (one point off)."""
    return {
        "honest_reference": (nbformat.writes(reference).encode(), FULL),
        "honest_wrong_bias": (build(Case("x", {}, vars=WRONG_BIAS), release), {SHAPES: 3, ACCURACY: 6, MODEL: 0}),
    }


def write_class(host: Host, release, reference, target: Path, only: set[str] = frozenset()) -> dict[str, Case]:
    """One folder per submission (hostile and honest) under `target`; returns the hostile cases.
    `only`: just these hostile cases (all when empty)."""
    cases = {}
    for make in CASES:
        if only and make.__name__ not in only:
            continue
        c = make(host)
        cases[c.name] = c
        where = submission_path(c, target)
        if where.suffix == ".ipynb":
            target.mkdir(parents=True, exist_ok=True)
            where.write_bytes(build(c, release))
            continue
        where.mkdir(parents=True)
        (where / NOTEBOOK).write_bytes(build(c, release))
        if c.plant is not None:
            c.plant(where, host)
    for name, (data, _) in honest(release, reference).items():
        (target / name).mkdir(parents=True)
        (target / name / NOTEBOOK).write_bytes(data)
    return cases


def dump(c: Case) -> str:
    """A case as text, for a failing assertion's message."""
    return json.dumps({"name": c.name, "scores": c.scores, "stopped": c.stopped, "messages": c.messages})


# The cases of each edge of the sandbox live in their own module; importing them registers them.
from hostile import cases_intake, cases_outputs, cases_sandbox, cases_trusted  # noqa: E402,F401
