"""The warm sandbox: runs forked from a zygote that has imported TensorFlow once, isolated exactly
as a bubblewrap run (same file system steps, namespaces, uid, capabilities, seccomp filter,
rlimits, cgroup, private work tmpfs and copy-back), without paying for the import again.

`WarmSandbox` keeps the `Sandbox` protocol: the grader's side of a run (the work folder's tmpfs,
the cgroup, the wall clock, the copy-back) is `BubblewrapSandbox`'s own code; only the step that
started bwrap is replaced by a job sent to the zygote (`grader.sandbox.zygote`). The zygote is
started by the first run, and replaced
after `jobs_per_zygote` runs or at the first sign of trouble (it died, a run could not start).
A run whose isolation could not be built never ran any of the student's code: it is run again
by bubblewrap, and the outcome says so.

Only the root mode has a warm path: without root there is no way to build the file system
outside bubblewrap, and `make_sandbox` gives the plain bubblewrap sandbox.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from grader.sandbox.base import Limits, ProcessOutcome, _read_tail, describe_signal, single_thread_blas
from grader.sandbox.bwrap import BubblewrapSandbox, _bwrap_signal, _size
from grader.sandbox.layout import NOBODY, run_steps
from grader.sandbox.zygote import SETUP_FAILED

READY_TIMEOUT_S = 300.0  # importing TensorFlow on a loaded machine
# The environment the zygote imports under: what the import itself reads (hash seed, allocator,
# TensorFlow's logging and determinism) is the same for every run, as in a cold run's base_env.
ZYGOTE_ENV_KEYS = (
    "PYTHONHASHSEED",
    "PYTHONDONTWRITEBYTECODE",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_DETERMINISTIC_OPS",
    "MALLOC_ARENA_MAX",
    "LANG",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
ZYGOTE_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_DETERMINISTIC_OPS": "1",
    "MALLOC_ARENA_MAX": "2",
    "LANG": "C.UTF-8",
}


class ZygoteFailed(RuntimeError):
    """The zygote could not start, died, or could not start a run."""


class Zygote:
    """One zygote process and the grader's end of its control socket."""

    def __init__(self, preload: bool = True) -> None:
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._home = tempfile.mkdtemp(prefix="dlgrade-zygote-")  # Keras writes its config at import
        env = {"PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": self._home, **ZYGOTE_ENV}
        env.update({k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ})
        env["KERAS_HOME"] = os.path.join(self._home, ".keras")
        env["MPLCONFIGDIR"] = os.path.join(self._home, ".mpl")
        self._log = tempfile.TemporaryFile()
        single_thread_blas()  # before any fork of this process: see grader.sandbox.base
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", "--control", str(theirs.fileno())]
            + ([] if preload else ["--no-preload"]),
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,  # a Ctrl-C at the grader's terminal is the grader's to handle
        )
        theirs.close()
        self.jobs = 0
        self._ready = False
        self._lock = threading.Lock()

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        with self._lock:
            if self._ready:
                return
            self._control.settimeout(timeout_s)
            try:
                message = json.loads(self._control.recv(65536) or b"{}")
            except (OSError, ValueError) as exc:
                self.kill()
                raise ZygoteFailed(f"the zygote did not start: {exc}; {self._log_tail()}") from exc
            finally:
                self._control.settimeout(None)
            if not message.get("ready"):
                self.kill()
                raise ZygoteFailed(f"the zygote did not start; {self._log_tail()}")
            self._ready = True
            shutil.rmtree(self._home, ignore_errors=True)  # only its imports wrote there

    def _log_tail(self) -> str:
        return _read_tail(self._log, 2000).strip()

    def submit(self, out_fd: int, err_fd: int) -> socket.socket:
        """Start one run: returns the grader's end of its job socket."""
        self.wait_ready()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                socket.send_fds(self._control, [b"j"], [theirs.fileno(), out_fd, err_fd])
                self.jobs += 1
        except OSError as exc:
            ours.close()
            raise ZygoteFailed(f"the zygote is gone: {exc}") from exc
        finally:
            theirs.close()
        return ours

    def alive(self) -> bool:
        return self.process.poll() is None

    def retire(self) -> None:
        """Take no more runs; the zygote exits when its running ones are over."""
        with self._lock:
            self._control.close()

    def kill(self) -> None:
        self._control.close()
        shutil.rmtree(self._home, ignore_errors=True)
        try:
            self.process.kill()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass


class WarmSandbox(BubblewrapSandbox):
    """Bubblewrap's isolation, from a warm zygote; see the module docstring."""

    name = "warm"

    def __init__(
        self, *, use_cgroup: bool = True, seccomp: bool = True, jobs_per_zygote: int = 200, preload: bool = True
    ):
        """`preload=False`: a zygote that imports nothing, for runs that exec their command anyway
        (isolation tests); it starts in a fraction of a second."""
        super().__init__(use_cgroup=use_cgroup, seccomp=seccomp)
        if not self.as_root:
            raise ValueError("the warm sandbox needs root; use BubblewrapSandbox")
        self.mode = "zygote"
        self.jobs_per_zygote = jobs_per_zygote
        self.preload = preload
        self._zygote_lock = threading.Lock()
        self._zygote: Zygote | None = None  # started by the first run: a fully cached batch needs none
        self._next: Zygote | None = None
        self._broken = ""  # why runs cannot be isolated here without bubblewrap, once seen

    def _current_zygote(self) -> Zygote:
        """The zygote to fork from; its successor starts warming before it is due."""
        with self._zygote_lock:
            zygote = self._zygote
            if zygote is not None and zygote.jobs >= 0.9 * self.jobs_per_zygote and self._next is None:
                self._next = Zygote(self.preload)
            if zygote is None or not zygote.alive() or zygote.jobs >= self.jobs_per_zygote:
                if zygote is not None:
                    zygote.retire()
                zygote, self._next = self._next or Zygote(self.preload), None
                self._zygote = zygote
            return zygote

    def zygote_pid(self, start: bool = False) -> int | None:
        """The pid of the zygote runs are forked from (started and ready first when `start`), or
        None when there is none: for benchmarks and tests that look at it from outside."""
        zygote = self._current_zygote() if start else self._zygote
        if zygote is None:
            return None
        if start:
            zygote.wait_ready()
        return zygote.process.pid

    def _replace(self, zygote: Zygote) -> None:
        """Fork no more runs from `zygote` (its running ones go on; it exits after them)."""
        with self._zygote_lock:
            if self._zygote is zygote:
                zygote.retire()
                self._zygote = None

    def close(self) -> None:
        with self._zygote_lock:
            for zygote in (self._zygote, self._next):
                if zygote is not None:
                    zygote.retire()
            self._zygote = self._next = None

    def _run(self, argv, workdir, ro_paths, env, limits, timeout_s, home, caveats) -> ProcessOutcome:
        cgroup = self._make_cgroup(limits, caveats)
        if self.seccomp is None:
            caveats.append(
                "no seccomp filter for this machine: keyrings, ptrace, vsock and other kernel calls are not denied"
            )
        info = {
            "name": self.name,
            "isolated": True,
            "mode": self.mode,
            "limits": limits.to_dict(),
            "cgroup": cgroup.version if cgroup else None,
            "caveats": caveats,
        }
        full_env = {
            "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
            "TMPDIR": "/tmp",
            **env,
            "HOME": str(home),
        }
        job = {
            "argv": list(argv),
            "env": full_env,
            "workdir": str(workdir),
            "steps": [s.to_dict() for s in run_steps(workdir, ro_paths, limits.tmp_bytes)],
            "limits": limits.to_dict(),
            "cgroup_procs": cgroup.procs_paths() if cgroup else [],
            "nproc": cgroup is None or not cgroup.limits_tasks,
            "seccomp": self.seccomp.hex() if self.seccomp is not None else None,
            "uid": NOBODY,
            "gid": NOBODY,
        }
        try:
            if self._broken:
                raise ZygoteFailed(self._broken)
            outcome = self._run_job(job, limits, timeout_s, info)
        except ZygoteFailed as exc:
            # Nothing of the student's ran (a run that started is never repeated): bubblewrap it.
            if cgroup is not None:
                cgroup.close()
            caveats.append(f"run by bubblewrap: the warm worker could not start ({exc})")
            return super()._run(argv, workdir, ro_paths, env, limits, timeout_s, home, caveats)
        if cgroup is not None:
            peak, oom, cpu = cgroup.peak_memory_bytes(), cgroup.oom_killed(), cgroup.cpu_seconds()
            cgroup.close()
            if peak is not None:
                outcome.peak_memory_bytes = peak
            if cpu is not None:
                outcome.cpu_s = cpu
            if oom:
                outcome.stopped = "memory"
                outcome.stopped_detail = f"killed: memory limit {_size(limits.memory_bytes)}"
        return outcome

    def _run_job(self, job: dict, limits: Limits, timeout_s: float, info: dict) -> ProcessOutcome:
        """Send the job, wait for its end or the wall clock, and read what the monitor says."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sock, zygote = self._submit(out.fileno(), err.fileno())
            start = time.monotonic()
            with sock:
                sock.send(json.dumps(job).encode())
                messages = _Messages(sock)
                first = messages.next(deadline=start + 60)
                if "started" not in first:
                    self._replace(zygote)
                    if messages.setup_error:  # the kernel refuses: it will refuse every run
                        self._broken = messages.setup_error
                    raise ZygoteFailed(messages.setup_error or "no word from the run's monitor")
                stopped, detail = None, ""
                end = messages.until("status", deadline=start + timeout_s)
                if end is None and not messages.closed:
                    stopped, detail = "wall-timeout", f"timed out after {timeout_s:.0f} s (notebook limit)"
                    try:
                        sock.send(b"kill")
                    except OSError:  # the monitor has just ended: its status may still be there
                        pass
                    end = messages.until("status", deadline=time.monotonic() + 30)
                end = end or {}
                if messages.setup_error and not messages.running:
                    self._broken = messages.setup_error
                    raise ZygoteFailed(messages.setup_error)
            code = end.get("status")
            outcome = ProcessOutcome(
                returncode=code,
                wall_s=time.monotonic() - start,
                cpu_s=float(end.get("cpu_s") or 0.0),
                stopped=stopped,
                stopped_detail=detail,
                stdout_tail=_read_tail(out, limits.output_bytes),
                stderr_tail=_read_tail(err, limits.output_bytes),
                sandbox=info,
            )
        if stopped is None and code is not None and code < 0:  # process 1 itself was killed
            outcome.stopped, outcome.stopped_detail = describe_signal(-code, limits)
        elif code == SETUP_FAILED and not messages.running:
            outcome.stopped_detail = messages.setup_error or "the sandbox could not be set up"
        _bwrap_signal(outcome, limits)
        return outcome

    def _submit(self, out_fd: int, err_fd: int) -> tuple[socket.socket, Zygote]:
        """A job socket from a live zygote: a zygote found gone (or retired meanwhile by another
        thread) is replaced once before the run goes to bubblewrap."""
        for attempt in range(2):
            zygote = self._current_zygote()
            try:
                return zygote.submit(out_fd, err_fd), zygote
            except ZygoteFailed as exc:
                self._replace(zygote)
                if attempt:  # two zygotes in a row: the next would fail too; bubblewrap from now on
                    self._broken = str(exc)
                    raise
        raise AssertionError("unreachable")


class _Messages:
    """The monitor's messages on a job socket: started, running, setup_error, status."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.running = False
        self.closed = False
        self.setup_error = ""

    def next(self, deadline: float) -> dict:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.sock], [], [], left)[0]:
            return {}
        try:
            data = self.sock.recv(65536)
        except OSError:
            return {}
        if not data:
            self.closed = True
            return {"closed": True}
        try:
            message = json.loads(data)
        except ValueError:
            return {}
        if message.get("running"):
            self.running = True
        if message.get("setup_error"):
            self.setup_error = str(message["setup_error"])[:500]
        return message if isinstance(message, dict) else {}

    def until(self, key: str, deadline: float) -> dict | None:
        while time.monotonic() < deadline:
            message = self.next(deadline)
            if key in message:
                return message
            if message.get("closed"):
                return None
        return None


_SHARED: WarmSandbox | None = None
_SHARED_LOCK = threading.Lock()


def shared_warm_sandbox() -> WarmSandbox:
    """The process's warm sandbox: one zygote serves every runner of the process (each zygote
    holds a TensorFlow import's memory, and takes seconds to start)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = WarmSandbox()
        return _SHARED
