"""Run one command in isolation: the only place where student code meets the operating system.

A `Sandbox` runs an argv with a writable work folder, some read-only paths, an environment and
`Limits`, and returns a `ProcessOutcome` (exit status, why it was stopped, resources used).
Two implementations:

- `Unsandboxed`: a plain child process with rlimits and a wall clock; the explicit opt-out
  (`--no-sandbox`) for a student on their own machine.
- `BubblewrapSandbox` (in `grader.sandbox.bwrap`): namespaces, read-only system, dropped uid, cgroup
  memory and process limits; the default.

Everything above this module (notebook execution, grading) talks only to the `Sandbox` protocol,
so unit tests can swap in a fake.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run; defaults suit TensorFlow on CPU."""

    cell_timeout_s: float = 300.0  # wall clock per notebook cell
    notebook_timeout_s: float = 900.0  # wall clock for the whole run
    memory_bytes: int = 3 * GiB  # cgroup memory limit (RSS + page cache)
    max_tasks: int = 512  # processes + threads (TF starts many threads)
    cpu_seconds: int = 1800  # RLIMIT_CPU
    file_size_bytes: int = 512 * MiB  # RLIMIT_FSIZE: largest file the run may write
    open_files: int = 1024  # RLIMIT_NOFILE
    tmp_bytes: int = 512 * MiB  # size of the private /tmp and /dev/shm
    work_bytes: int = 1 * GiB  # room for new files in the work folder (a tmpfs, when root)
    output_bytes: int = 16 * MiB  # stdout/stderr kept from the run
    # what comes back from the work folder (see grader.intake.copyback): apparent bytes, entries, time
    copy_back_bytes: int = 256 * MiB
    copy_back_files: int = 4096
    copy_back_s: float = 60.0

    @classmethod
    def from_dict(cls, data: dict | None) -> Limits:
        """Build limits from an assignment's config; unknown keys are an error, not ignored."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown sandbox limits: {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProcessOutcome:
    """What happened to one sandboxed process, in data."""

    returncode: int | None
    wall_s: float
    cpu_s: float = 0.0
    peak_memory_bytes: int | None = None
    stopped: str | None = None  # None, "wall-timeout", "memory", "cpu", "file-size", "signal"
    stopped_detail: str = ""  # plain words for the report, e.g. "killed: memory limit 3 GiB"
    stdout_tail: str = ""
    stderr_tail: str = ""
    sandbox: dict = field(default_factory=dict)  # name, isolation, limits in force, caveats
    copy_back: dict = field(default_factory=dict)  # what came back from the work folder (CopyReport)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.stopped is None


class Sandbox(Protocol):
    name: str

    def run(
        self,
        argv: list[str],
        *,
        workdir: Path,
        ro_paths: list[Path],
        env: dict[str, str],
        limits: Limits,
        timeout_s: float,
        keep: Sequence[str] | None = None,
    ) -> ProcessOutcome:
        """Run argv with `workdir` writable (and the cwd), `ro_paths` readable, nothing else of the
        host's files beyond the system and the Python environment; stop it after timeout_s.
        Afterwards `workdir` holds only the entries named in `keep` (everything when None), as
        regular files and folders within `Limits.copy_back_*`; `ProcessOutcome.copy_back` says
        what was left out."""


def _tail(data: bytes, limit: int) -> str:
    return data[-limit:].decode("utf-8", errors="replace")


def set_rlimits(limits: Limits) -> None:
    """Apply the per-process rlimits; runs in the child just before exec."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def describe_signal(sig: int, limits: Limits) -> tuple[str, str]:
    """(stopped, stopped_detail) for a run that ended by signal `sig`."""
    if sig == signal.SIGXCPU:
        return "cpu", f"killed: CPU time limit {limits.cpu_seconds} s"
    if sig == signal.SIGXFSZ:
        return "file-size", f"killed: file size limit {limits.file_size_bytes // MiB} MiB"
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = str(sig)
    return "signal", f"killed by signal {name}"


# Forking while another thread of this process is inside a multi-threaded BLAS call can hang both
# (OpenBLAS's fork handler waits on the call's worker threads; seen when grading a class in
# parallel). A lock around forks and checks prevented it, but made every student's spawn wait
# for any other student's checks, whose work the student sizes. Instead the trusted process's
# BLAS runs on its calling thread only: with no BLAS worker threads there is nothing for the fork
# handler to wait for (measured: 2 threads multiplying while the main thread spawns hang within
# seconds with OpenBLAS's default threads, and run 20 s, 2,400 spawns, with one). Sandboxed
# processes are started afresh (exec) and choose their own threads.
_BLAS_ONCE = threading.Lock()
_blas_limited = False


def single_thread_blas() -> None:
    """Limit the BLAS libraries loaded in this process (numpy's OpenBLAS) to one thread; once,
    before the first fork or check, and for good (never restored, so no thread can race it)."""
    global _blas_limited
    if _blas_limited:
        return
    with _BLAS_ONCE:
        if not _blas_limited:
            try:
                import numpy  # noqa: F401  (loads the BLAS library, so that it can be limited)
                from threadpoolctl import threadpool_limits
            except ImportError:  # no numpy, no BLAS threads (the sandbox's own helpers)
                return
            threadpool_limits(limits=1, user_api="blas")
            _blas_limited = True


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    limits: Limits,
    timeout_s: float,
    preexec=None,
    sandbox_info: dict | None = None,
    pass_fds: tuple[int, ...] = (),
) -> ProcessOutcome:
    """Run argv in its own session, enforce a wall clock, kill the whole process group at the end,
    and keep only the tail of its output (a submission may print gigabytes)."""
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Output goes to anonymous host files, not into cwd: a file in the run's own folder could be
    # swapped for a symlink to a host file, which the grader would then read into the report.
    # RLIMIT_FSIZE caps their size like any file the run writes.
    single_thread_blas()  # before any fork: see above
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=preexec or (lambda: set_rlimits(limits)),
            pass_fds=pass_fds,
        )
        stopped, detail = None, ""
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            stopped, detail = "wall-timeout", f"timed out after {timeout_s:.0f} s (notebook limit)"
        finally:
            _kill_group(proc)
        stdout_tail = _read_tail(out, limits.output_bytes)
        stderr_tail = _read_tail(err, limits.output_bytes)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = proc.returncode
    if stopped is None and rc is not None and rc < 0:
        stopped, detail = describe_signal(-rc, limits)
    return ProcessOutcome(
        returncode=rc,
        wall_s=time.monotonic() - start,
        cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        # ru_maxrss of RUSAGE_CHILDREN is the largest child ever, in KiB: an upper bound only.
        peak_memory_bytes=after.ru_maxrss * 1024,
        stopped=stopped,
        stopped_detail=detail,
        stdout_tail=stdout_tail,
        stderr_tail=stderr_tail,
        sandbox=sandbox_info or {},
    )


def _read_tail(fh, limit: int) -> str:
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - limit))
    return _tail(fh.read(), limit)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


class Unsandboxed:
    """No isolation: for a student grading their own notebook on their own machine."""

    name = "none"

    def run(self, argv, *, workdir, ro_paths, env, limits, timeout_s, keep=None) -> ProcessOutcome:
        from grader.intake.copyback import copy_limits, keep_only

        info = {
            "name": self.name,
            "isolated": False,
            "limits": limits.to_dict(),
            "caveats": ["no sandbox: the notebook ran with your own rights (--no-sandbox)"],
        }
        outcome = run_process(argv, cwd=workdir, env=env, limits=limits, timeout_s=timeout_s, sandbox_info=info)
        outcome.copy_back = keep_only(Path(workdir), keep, copy_limits(limits)).to_dict()
        return outcome
