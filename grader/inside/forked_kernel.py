"""The notebook's kernel as a fork of the worker, not a fresh interpreter.

nbclient starts a kernel by exec'ing `python -m ipykernel_launcher -f CONNECTION_FILE`: a new
interpreter that imports again what the worker already has (TensorFlow: seconds per notebook).
`ForkProvisioner` forks the worker instead and starts ipykernel's `IPKernelApp` in the child, so
every module the worker imported before the fork is already in the kernel's `sys.modules`.

The child is made to look like the exec'd kernel: its own session and process group (interrupts
go to the group by SIGINT), the notebook's folder as working directory, the environment
jupyter_client hands over (with JPY_PARENT_PID, so the kernel ends with the worker), `sys.argv`
and `sys.path` as the launcher leaves them, stdin /dev/null, and no descriptor of the worker's
above 2 (exec'd kernels start with none either: a pipe the worker shares with whoever started it
is not the student's). What the fork cannot undo: the worker's memory is copied, and so are its
hash seed and any state its imports created.

The fork happens inside nbclient's running asyncio loop, so the child drops that loop (and the
signal wake-up pipe that still points at it) and never unwinds into the worker's stack: it ends
with os._exit. Anything of the worker's the child still references (zmq contexts and sockets,
the event loop's epoll set, shared with the worker) stays untouched: `gc.freeze()` keeps the
collector from finalizing the worker's garbage in the child, whose finalizers would act on it.

Any other launch command (a kernel spec for another interpreter) is exec'd as usual.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import importlib.util
import os
import pathlib
import signal
import subprocess
import sys
import time
import traceback
from typing import Any

from ipykernel.kernelapp import IPKernelApp  # imported here, before any fork: the kernels share it
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner

LAUNCHER = "ipykernel_launcher"


class ForkedProcess:
    """The small part of `subprocess.Popen` that LocalProvisioner uses, for a forked pid."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def _reap(self, flags: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # reaped elsewhere: as Popen, call it a clean exit
                self.returncode = 0
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reap(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            return self._reap(0)  # type: ignore[return-value]
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired([LAUNCHER], timeout)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        # A reaped pid may already belong to someone else: never signal it.
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """A LocalProvisioner whose ipykernel is a fork of this process."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        args = launcher_args(cmd)
        if args is None:
            return await super().launch_kernel(cmd, **kwargs)
        pid = fork_kernel(
            args,
            cwd=kwargs.get("cwd"),
            env=dict(kwargs.get("env") or os.environ),
            stdin=kwargs.get("stdin"),
            stdout=kwargs.get("stdout"),
            stderr=kwargs.get("stderr"),
        )
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid  # the child is its own session leader (see _set_up_child)
        self.cwd = kwargs.get("cwd", pathlib.Path.cwd())
        return self.connection_info


def launcher_args(cmd: list[str]) -> list[str] | None:
    """The arguments after `-m ipykernel_launcher` when `cmd` runs this interpreter's launcher,
    else None (then only an exec runs it faithfully)."""
    if len(cmd) >= 3 and cmd[0] == sys.executable and cmd[1:3] == ["-m", LAUNCHER]:
        return list(cmd[3:])
    return None


def fork_kernel(
    args: list[str],
    *,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str],
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
) -> int:
    """Fork; the child becomes `python -m ipykernel_launcher ARGS`. Returns the child's pid once
    it is set up (its own session, cwd, stdio); raises OSError if that failed, as Popen would."""
    env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it
    for stream in (sys.stdout, sys.stderr):  # or the child would write the worker's buffer again
        if stream is not None:
            stream.flush()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            _set_up_child(args, cwd, env, (stdin, stdout, stderr), keep=ready_w)
        except BaseException as exc:  # noqa: BLE001 - report it to the parent, never unwind
            try:
                os.write(ready_w, f"{type(exc).__name__}: {exc}".encode()[:4000] or b"?")
            finally:
                os._exit(1)
        os.close(ready_w)  # EOF: the parent knows the kernel is set up
        _serve_and_exit()
    os.close(ready_w)
    try:
        failure = b""
        while chunk := os.read(ready_r, 4096):  # EOF: the child closed it, set up
            failure += chunk
    finally:
        os.close(ready_r)
    if failure:
        os.waitpid(pid, 0)
        raise OSError(f"forked kernel failed to start: {failure.decode(errors='replace')}")
    return pid


def _set_up_child(args: list[str], cwd, env: dict[str, str], stdio: tuple, keep: int) -> None:
    """What exec and the launcher would have done; any failure is the parent's OSError."""
    gc.freeze()  # the worker's objects, garbage included, are never finalized here
    os.setsid()
    _reset_signals()
    atexit._clear()  # the worker's exit handlers (nbclient's kernel clean-up) are not ours
    if cwd is not None:
        os.chdir(cwd)
    _redirect(stdio)
    os.environ.clear()
    os.environ.update(env)
    # `python -m` puts the working directory first and ipykernel_launcher removes it again
    # (IPython adds '' before site-packages): the kernel keeps none of the worker's own entry.
    if sys.path and not sys.flags.safe_path:
        del sys.path[0]
    sys.argv = [importlib.util.find_spec(LAUNCHER).origin or LAUNCHER, *args]
    _reseed()
    _close_inherited_fds(keep)


def _serve_and_exit() -> None:
    """Run the kernel until it shuts down, then end the process as an interpreter would."""
    code = 1
    try:
        # Forget nbclient's running loop: the kernel's tornado loop is a new asyncio loop (made
        # after the descriptors are closed: its epoll set and wake-up pipe are descriptors too).
        asyncio.events._set_running_loop(None)
        asyncio.set_event_loop(asyncio.new_event_loop())
        code = _run_kernel_app()
        atexit._run_exitfuncs()  # IPython's clears the user's namespace: their files get flushed
        gc.collect()  # as interpreter shutdown does: finalizers of the user's cycles run
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            if stream is not None:
                stream.flush()
    finally:
        os._exit(code)


def _run_kernel_app() -> int:
    try:
        # The trait's default read JPY_PARENT_PID when ipykernel was imported, before this fork.
        IPKernelApp.launch_instance(parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0))
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:  # noqa: BLE001 - as an interpreter would: print, exit 1
        traceback.print_exc()
        return 1
    return 0


def _reset_signals() -> None:
    """Handlers as a fresh interpreter has them: the worker's loop installed its own (which
    would write to the worker's wake-up pipe, shared after the fork)."""
    signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        if callable(handler) and handler is not signal.default_int_handler:
            signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)


def _redirect(stdio: tuple) -> None:
    """stdin from /dev/null unless given; stdout and stderr as given, else inherited."""
    stdin, stdout, stderr = stdio
    for fd, target in ((0, stdin if stdin is not None else subprocess.DEVNULL), (1, stdout), (2, stderr)):
        if target is None:
            continue
        if target == subprocess.DEVNULL:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, fd)
            os.close(null)
        elif isinstance(target, int) and target >= 0:
            os.dup2(target, fd)
        elif hasattr(target, "fileno"):
            os.dup2(target.fileno(), fd)
        else:
            raise ValueError(f"unsupported stdio target for a forked kernel: {target!r}")


def _reseed() -> None:
    """Python's `random` reseeds itself after a fork; numpy's global generator does not, and an
    exec'd kernel would draw a fresh seed at import."""
    random = sys.modules.get("numpy.random")  # not imported yet: the kernel seeds it at import
    if random is not None:
        random.seed()


def _close_inherited_fds(keep: int) -> None:
    """Close every descriptor above stdio but `keep`, as exec with close_fds would."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: every number up to the limit
        os.closerange(3, keep)
        os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))
        return
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor, already closed
