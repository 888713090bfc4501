"""The warm sandbox beyond what tests/test_sandbox.py checks on both sandboxes: what one run forked
from the zygote can leave for the next (nothing), what the zygote keeps (nothing of a run), its
replacement, and the fall-back to bubblewrap."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.pipeline.execution import ExecutionJob, SandboxedRunner
from grader.sandbox.base import Limits

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None or os.geteuid() != 0, reason="the warm sandbox needs root and bubblewrap"
)

PLANT = r"""
import builtins, json, os, socket, subprocess, sys, time
import numpy
import grader.inside.kernel as helpers
numpy.dlgrade_leak = "secret"  # module state, in the kernel (a fork of the warm worker)
helpers.dlgrade_leak = "secret"
builtins.dlgrade_leak = "secret"
os.environ["DLGRADE_LEAK"] = "secret"
for folder in ("/tmp", "/dev/shm", os.environ["HOME"], os.getcwd()):
    with open(os.path.join(folder, "dlgrade-leak"), "w") as fh:
        fh.write("secret")
left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
left.bind("\0dlgrade-leak")  # an abstract socket: per network namespace
left.listen(1)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
assert libc.shmget(0x646C67, 4096, 0o1000 | 0o666) >= 0  # a SysV segment, IPC_CREAT: per ipc namespace
subprocess.Popen(["sleep", "600"], start_new_session=True)  # a process meant to outlive the run
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
print("planted")
"""

LOOK = r"""
import builtins, json, os, socket, sys
import numpy
import grader.inside.kernel as helpers
found = {
    "numpy": getattr(numpy, "dlgrade_leak", None),
    "helpers": getattr(helpers, "dlgrade_leak", None),
    "builtins": getattr(builtins, "dlgrade_leak", None),
    "environ": os.environ.get("DLGRADE_LEAK"),
    "files": [f for f in ("/tmp", "/dev/shm", os.environ["HOME"], os.getcwd())
              if os.path.exists(os.path.join(f, "dlgrade-leak"))],
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "sleepers": [p for p in os.listdir("/proc") if p.isdigit()
                 and b"sleep" in open(f"/proc/{p}/cmdline", "rb").read()],
}
found["proc_owner"] = os.stat("/proc/self/fd").st_uid  # the kernel's /proc is its own, as when exec'd
import keras
found["keras_home"] = keras.src.backend.config.keras_home() == os.environ["KERAS_HOME"]
import ctypes
found["sysv"] = ctypes.CDLL(None).shmget(0x646C67, 0, 0)
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0dlgrade-leak")
    found["socket"] = "connected"
except OSError as exc:
    found["socket"] = type(exc).__name__
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def warm():
    from grader.sandbox.warm import WarmSandbox

    sandbox = WarmSandbox()
    yield sandbox
    sandbox.close()


def _execute(sandbox, source: str, workdir: Path):
    nb = new_notebook(cells=[new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    outcome = SandboxedRunner(sandbox).execute(
        ExecutionJob(notebook=nb, workdir=workdir, limits=Limits(cell_timeout_s=60, notebook_timeout_s=120))
    )
    assert outcome.executed_path is not None, outcome.process.stderr_tail
    cell = nbformat.read(outcome.executed_path, as_version=4).cells[0]
    texts = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    return "".join(texts), outcome


@pytest.mark.slow
def test_a_run_leaves_nothing_for_the_next(warm, tmp_path):
    planted, first = _execute(warm, PLANT, tmp_path / "a")
    assert "planted" in planted
    assert first.process.sandbox["name"] == "warm" and not first.process.sandbox["caveats"]
    seen, _ = _execute(warm, LOOK, tmp_path / "b")
    found = json.loads(seen.strip().splitlines()[-1])
    assert found["numpy"] is None and found["helpers"] is None and found["builtins"] is None
    assert found["environ"] is None
    assert found["files"] == []
    assert found["sysv"] == -1
    assert found["proc_owner"] == 65534
    assert found["keras_home"]  # the run's, not the zygote's (read by Keras at import)
    assert found["socket"] in ("ConnectionRefusedError", "FileNotFoundError")
    assert found["sleepers"] == []  # the first run's processes died with it
    # only the run's own processes: its process 1, the worker's and the kernel's (and children)
    assert len(found["processes"]) <= 6, found["processes"]


@pytest.mark.slow
def test_the_zygote_keeps_nothing_of_a_run(warm, tmp_path):
    _execute(warm, "print('hello')", tmp_path / "a")
    pid = warm.zygote_pid()
    deadline = time.monotonic() + 10
    while True:  # the monitor reports the run's end just before it exits: give it a moment
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if not children or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert children == []  # every monitor has ended and been reaped
    fds = sorted(os.listdir(f"/proc/{pid}/fd"), key=int)
    targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
    # stdin, stdout, stderr and its control socket: no job socket, no run's file left open
    assert len(fds) == 4, targets
    assert sum(t.startswith("socket:") for t in targets) == 1


def test_the_zygote_is_replaced_after_its_runs_and_when_it_dies(tmp_path):
    from grader.sandbox.warm import WarmSandbox

    sandbox = WarmSandbox(jobs_per_zygote=2, preload=False)  # the runs exec: nothing to preload
    try:

        def run(name: str):
            work = tmp_path / name
            work.mkdir()
            outcome = sandbox.run(
                [sys.executable, "-c", "print('ok')"],
                workdir=work,
                ro_paths=[],
                env={},
                limits=Limits(),
                timeout_s=60,
            )
            assert outcome.returncode == 0 and outcome.stdout_tail.strip() == "ok", outcome.stderr_tail
            assert not outcome.sandbox["caveats"]
            return sandbox._zygote.process  # the Popen: to wait for it

        first = run("1")
        assert run("2") is first
        second = run("3")  # the first has had its two runs: retired, and it exits
        assert second is not first
        first.wait(timeout=30)
        os.kill(second.pid, signal.SIGKILL)
        second.wait(timeout=10)
        third = run("4")  # found dead: a new one, and the run is still warm
        assert third is not second
    finally:
        sandbox.close()


def test_a_run_that_cannot_be_isolated_warm_goes_to_bubblewrap(tmp_path):
    from grader.sandbox.warm import WarmSandbox

    sandbox = WarmSandbox()
    sandbox._broken = "mount: operation not permitted"  # as when the kernel refuses a step
    work = tmp_path / "work"
    work.mkdir()
    started = time.monotonic()
    outcome = sandbox.run(
        [sys.executable, "-c", "import os; print(os.getuid())"],
        workdir=work,
        ro_paths=[],
        env={},
        limits=Limits(),
        timeout_s=60,
    )
    assert outcome.returncode == 0 and outcome.stdout_tail.strip() == "65534"
    assert any("run by bubblewrap" in c and "operation not permitted" in c for c in outcome.sandbox["caveats"])
    assert sandbox._zygote is None  # no zygote was started for it
    assert time.monotonic() - started < 30
