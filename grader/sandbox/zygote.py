"""The zygote: a process that has imported TensorFlow, Keras, numpy, ipykernel and nbclient, and
done nothing else, so that each run forked from it starts warm.

    python -m grader.sandbox.zygote --control FD

The grader (`grader.sandbox.warm`) starts it, as root, in its own session, and talks to it over
one control socket. Each message carries three descriptors and no data: a job socket, and the
run's stdout and stderr files. The zygote never reads a job: it forks, closes its copies and goes
back to waiting. Everything else happens in the forked processes, and none of them ever returns
to the zygote:

    zygote (root, host namespaces, holds nothing of any run)
      -> monitor (root, host pid namespace): reads the job from the job socket, joins the run's
         cgroup, sets the rlimits, unshares the namespaces, reports the run's end to the grader
        -> init (process 1 of the run's pid namespace, root without capabilities): builds the
           file system (`grader.sandbox.isolate`), reaps, exits with the payload's status
          -> payload (uid 65534, no capabilities, no_new_privs, seccomp, own session): runs
             `grader.inside.worker` or `grader.inside.predict` in-process, warm; any other
             command is exec'd, isolated the same way.

The grader only ever hears from the monitor, which is out of the run's reach (another pid
namespace, another uid). When the control socket closes, the zygote stops taking jobs and exits
once its last monitor has. A monitor ends its run when the grader's end of the job socket closes
(the grader asked, or died).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import resource
import select
import signal
import socket
import sys
import traceback

from grader.sandbox import isolate
from grader.sandbox.base import Limits, set_rlimits
from grader.sandbox.layout import Step

# Imported once by the zygote (what a notebook's run costs in imports). Missing ones are skipped:
# a course without TensorFlow still forks warm, without it.
WARM_IMPORTS = (
    "numpy",
    "tensorflow",
    "keras",
    "IPython",
    "ipykernel.kernelapp",
    "jupyter_client",
    "zmq",
    "nbclient",
    "nbformat",
    "grader.inside.kernel",
    "grader.inside.evaluators",
    "grader.inside.forked_kernel",
    "grader.inside.worker",
    "grader.inside.predict",
)
# Commands run in-process, warm, with the options their warm form takes. Anything else is exec'd.
WARM_MODULES = {"grader.inside.worker": ("--fork-kernel",), "grader.inside.predict": ()}
MAX_JOB_BYTES = 1 << 20
SETUP_FAILED = 125  # the status of a run whose isolation could not be built: it never started


def _send(sock: socket.socket, message: dict) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:  # the grader has gone: nobody to tell
        pass


# --- the zygote ---------------------------------------------------------------------------------
def serve(control: socket.socket) -> None:
    """Fork one monitor per message until the control socket closes; then wait for them."""
    children: set[int] = set()

    def reap(*_args) -> None:
        for pid in list(children):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.discard(pid)

    signal.signal(signal.SIGCHLD, reap)
    while True:
        try:
            _data, fds, _flags, _addr = socket.recv_fds(control, 16, 3)
        except OSError:
            break
        if not _data and not fds:
            break  # the grader closed the socket: retire
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 70  # EX_SOFTWARE: nothing reads it, but a crash should not look like success
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                control.close()
                monitor(*fds)
                code = 0
            except BaseException:  # noqa: BLE001 - a monitor must never return into the zygote's loop
                traceback.print_exc()
            finally:
                os._exit(code)
        children.add(pid)
        for fd in fds:
            os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


# --- the monitor --------------------------------------------------------------------------------
def monitor(job_fd: int, out_fd: int, err_fd: int) -> None:
    """Outlives the zygote if need be: its run ends with the grader (the job socket's end of
    file), not with the zygote."""
    job = socket.socket(fileno=job_fd)
    spec = json.loads(job.recv(MAX_JOB_BYTES))
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (out_fd, 1), (err_fd, 2)):
        os.dup2(fd, target)
        os.close(fd)
    for procs in spec["cgroup_procs"]:  # every process of the run is born inside the group
        with open(procs, "w") as fh:
            fh.write(str(os.getpid()))
    limits = Limits.from_dict(spec["limits"])
    set_rlimits(limits)
    if spec["nproc"]:  # no pids group: root ignores RLIMIT_NPROC, it bites after the uid drops
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_tasks, limits.max_tasks))
    try:
        isolate.unshare_namespaces()
    except OSError as exc:
        _send(job, {"setup_error": str(exc)})
        os._exit(SETUP_FAILED)
    pid = os.fork()
    if pid == 0:
        try:
            init(job, spec)
        finally:
            os._exit(SETUP_FAILED)
    _send(job, {"started": pid})
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(job, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    killed = False
    while True:
        ready = dict(poller.poll())
        if pidfd in ready:
            break
        if job.fileno() in ready and not killed:
            # "kill", or the grader gone (end of file): either way the run ends now
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            killed = True
            poller.unregister(job)
    _pid, status = os.waitpid(pid, 0)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    _send(job, {"status": os.waitstatus_to_exitcode(status), "cpu_s": usage.ru_utime + usage.ru_stime})


# --- process 1 of the run -----------------------------------------------------------------------
def init(job: socket.socket, spec: dict) -> None:
    isolate.die_with_parent(signal.SIGKILL)
    try:
        isolate.set_hostname("sandbox")
        isolate.loopback_up()
        isolate.build_root([Step.from_dict(s) for s in spec["steps"]])
        os.chdir(spec["workdir"])
    except Exception as exc:  # noqa: BLE001 - whatever failed, the run must not start
        _send(job, {"setup_error": f"{type(exc).__name__}: {exc}"})
        os._exit(SETUP_FAILED)
    payload = os.fork()
    if payload == 0:
        try:
            run_payload(job, spec)
        finally:
            os._exit(SETUP_FAILED)
    job.close()
    isolate.drop_capabilities()
    isolate.prctl(isolate.PR_SET_DUMPABLE, 0)
    while True:  # reap every process the run leaves; end with the payload, as bubblewrap does
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == payload:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


# --- the run itself -----------------------------------------------------------------------------
def run_payload(job: socket.socket, spec: dict) -> None:
    os.setsid()  # bubblewrap's --new-session: no way back to a terminal
    isolate.die_with_parent(signal.SIGKILL)
    os.environ.clear()
    os.environ.update(spec["env"])
    try:
        isolate.drop_to_nobody(spec["uid"], spec["gid"])
        if spec["seccomp"]:
            isolate.load_seccomp(bytes.fromhex(spec["seccomp"]))
    except OSError as exc:
        _send(job, {"setup_error": str(exc)})
        os._exit(SETUP_FAILED)
    # Changing uid made the process non-dumpable, which exec would undo: its /proc files would
    # stay root's (a cold run's are its own). Nothing outside the run can reach it either way.
    isolate.prctl(isolate.PR_SET_DUMPABLE, 1)
    _send(job, {"running": True})
    job.close()
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # nothing of the zygote's stays open
    random.seed()  # the zygote's random state is every run's: draw a fresh one, as a new process has
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    _follow_run_environment()
    argv = spec["argv"]
    if len(argv) >= 3 and argv[0] == sys.executable and argv[1] == "-m" and argv[2] in WARM_MODULES:
        module = importlib.import_module(argv[2])  # imported already by the zygote
        sys.argv = [module.__file__, *argv[3:]]
        code = 1
        try:
            code = module.main([*argv[3:], *WARM_MODULES[argv[2]]]) or 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - reported on the run's stderr, as a crash would be
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    os.execve(argv[0], argv, os.environ)


def _follow_run_environment() -> None:
    """What an import read from the environment, read again for this run: Keras keeps its home
    (KERAS_HOME: its cache and config folder) from import time, the zygote's, which the run cannot
    see; a cold run's Keras has the run's own."""
    config = sys.modules.get("keras.src.backend.config")
    if config is not None and hasattr(config, "_KERAS_DIR") and os.environ.get("KERAS_HOME"):
        config._KERAS_DIR = os.environ["KERAS_HOME"]


def warm_up() -> list[str]:
    """Import what runs need; return what was imported."""
    done = []
    for name in WARM_IMPORTS:
        try:
            importlib.import_module(name)
            done.append(name)
        except ImportError:
            pass
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.sandbox.zygote")
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--no-preload", action="store_true", help="import nothing (runs that exec)")
    args = parser.parse_args(argv)
    # No parent-death signal: it would follow the grader's thread that started the zygote, not
    # the grader. The grader's end of the control socket closes with the grader, and ends this.
    control = socket.socket(fileno=args.control)
    imported = [] if args.no_preload else warm_up()
    _send(control, {"ready": True, "pid": os.getpid(), "imported": imported})
    serve(control)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
