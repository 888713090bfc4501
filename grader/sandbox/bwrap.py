"""The default sandbox: bubblewrap namespaces, a read-only system, an unprivileged uid, cgroup
memory and task limits, a seccomp filter, and everything killed at the end.

Layout of one run (root, the normal case on a grading server):

    dlgrade (root) -> bwrap (root, fresh net/pid/ipc/uts/cgroup namespaces, own mounts)
        -> setpriv (drops to uid/gid 65534, no capabilities, no_new_privs) -> argv

What the run sees of the file system is `grader.sandbox.layout`'s list of steps, given to
bubblewrap as options (the warm workers carry out the same steps themselves).

As root, `workdir` itself is a size-capped tmpfs during the run (`Limits.work_bytes`), so a run
that writes without end fills its own folder, not the host's disk. When it is over only the
entries the caller names come back, as regular files within a budget (`grader.intake.copyback`); the
rest goes with the tmpfs. Without the tmpfs the same selection is made in place.

Not root: bubblewrap makes a user namespace instead (`mode="userns"`); cgroups are usually not
delegated to ordinary users, so limits fall back to rlimits and the outcome says so in caveats.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from grader.errors import SandboxUnavailable
from grader.intake.copyback import CopyLimits, CopyReport, copy_back, copy_limits, keep_only, remove_tree
from grader.sandbox.base import (
    Limits,
    MiB,
    ProcessOutcome,
    Sandbox,
    Unsandboxed,
    describe_signal,
    run_process,
    set_rlimits,
)
from grader.sandbox.cgroups import CgroupUnavailable, RunCgroup, create_run_cgroup
from grader.sandbox.layout import NOBODY, bwrap_args, run_steps, system_steps
from grader.sandbox.seccomp import seccomp_program

__all__ = ["BubblewrapSandbox", "SandboxUnavailable", "make_sandbox", "seccomp_program", "NOBODY"]

GiB = 1024 * MiB
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_SETPRIV = ("/usr/bin/setpriv", "/bin/setpriv")

_MISSING_BWRAP = (
    "bubblewrap is not installed: `apt-get install bubblewrap`, or pass --no-sandbox to grade "
    "without isolation on your own machine"
)


def make_sandbox(no_sandbox: bool, cold: bool = False) -> Sandbox:
    """The sandbox the CLI uses: as root, warm workers forked from a zygote (isolated as
    bubblewrap isolates); bubblewrap for each run with `cold` or without root; no isolation
    when explicitly asked for."""
    if no_sandbox:
        return Unsandboxed()
    if cold or os.geteuid() != 0:
        return BubblewrapSandbox()
    if shutil.which("bwrap") is None:  # the warm sandbox is shared and made once: ask every time
        raise SandboxUnavailable(_MISSING_BWRAP)
    from grader.sandbox.warm import shared_warm_sandbox  # here: warm imports this module

    return shared_warm_sandbox()


# --- the sandbox -------------------------------------------------------------------------------
class BubblewrapSandbox:
    """Runs argv under bubblewrap; see the module docstring for what the run can see and do."""

    name = "bubblewrap"

    def __init__(self, *, use_cgroup: bool = True, seccomp: bool = True):
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable(_MISSING_BWRAP)
        self.bwrap = bwrap
        self.as_root = os.geteuid() == 0
        self.mode = "root-setpriv" if self.as_root else "userns"
        self.setpriv: str | None = None
        if self.as_root:
            # As root bwrap makes no user namespace, so the uid must be dropped inside.
            # Only /usr is visible inside, so it must be the system's setpriv.
            self.setpriv = next((p for p in _SETPRIV if os.access(p, os.X_OK)), None)
            if self.setpriv is None:
                raise SandboxUnavailable(
                    "setpriv (from util-linux, under /usr) is needed to drop privileges inside "
                    "the sandbox: `apt-get install util-linux`, or pass --no-sandbox"
                )
        self.use_cgroup = use_cgroup
        self.seccomp = seccomp_program() if seccomp else None
        options = subprocess.run([bwrap, "--help"], capture_output=True, text=True).stdout
        self._tmpfs_size = "--size" in options  # bubblewrap >= 0.8
        self._disable_userns = "--disable-userns" in options
        self._probe()

    def _probe(self) -> None:
        """Fail now, with the reason, if namespaces cannot be made here (e.g. inside an
        unprivileged container) rather than once per notebook later."""
        system = bwrap_args(system_steps(), lambda data: "")
        argv = [self.bwrap, *self._namespace_args(), *system, "--", "/usr/bin/true"]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SandboxUnavailable(
                f"bubblewrap cannot create a sandbox here: {proc.stderr.strip()}; run the grader "
                "where namespaces are allowed, or pass --no-sandbox on your own machine"
            )

    def _namespace_args(self) -> list[str]:
        args = [
            "--unshare-net",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            "--new-session",
        ]
        if not self.as_root:
            args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
            if self._disable_userns:
                args.append("--disable-userns")
        return args

    def command(
        self, argv: list[str], *, workdir: Path, ro_paths: list[Path], limits: Limits
    ) -> tuple[list[str], list[int]]:
        """The full bwrap command line for argv, and the file descriptors it reads (the
        generated /etc files and the seccomp program), which the caller must pass and close."""
        steps = run_steps(workdir, ro_paths, limits.tmp_bytes)  # first: it raises on a missing path, before fds exist
        fds: list[int] = []

        def data_fd(data: bytes) -> str:
            # A pipe holds 64 KiB before a writer blocks; these are a few hundred bytes.
            r, w = os.pipe()
            os.write(w, data)
            os.close(w)
            fds.append(r)
            return str(r)

        args = [self.bwrap, *self._namespace_args(), *bwrap_args(steps, data_fd, self._tmpfs_size)]
        args += ["--chdir", str(workdir)]
        if self.seccomp is not None:
            args += ["--seccomp", data_fd(self.seccomp)]
        args.append("--")
        if self.as_root:
            args += [
                self.setpriv,
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "--",
            ]
        return args + list(argv), fds

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
        """Run argv in the sandbox (see `Sandbox.run`). `workdir` is handed to uid 65534; the
        caller removes it afterwards. `ro_paths` must be readable by uid 65534. HOME is the
        caller's when it lies inside workdir, else `workdir/.home`. Afterwards `workdir` holds
        only the entries `keep` (all when None), copied under `grader.intake.copyback`'s rules."""
        workdir = Path(workdir).resolve()
        ro_paths = [Path(p).resolve() for p in ro_paths]
        home = Path(env.get("HOME", ""))
        if not (home.is_absolute() and home.resolve().is_relative_to(workdir)):
            home = workdir / ".home"  # the caller's HOME is elsewhere: not visible inside
        home.mkdir(parents=True, exist_ok=True)
        caveats: list[str] = []
        mounted = False
        if self.as_root:
            try:
                mount_work_tmpfs(workdir, limits.work_bytes)
                mounted = True
            except OSError as exc:
                caveats.append(f"the work folder is on the host's disk ({exc}): its size is not limited")
            _chown_tree(workdir, NOBODY, NOBODY)
        else:
            caveats.append("not run as root: the work folder's size is not limited")
        copied = None
        try:
            outcome = self._run(argv, workdir, ro_paths, env, limits, timeout_s, home, caveats)
        finally:
            if mounted:
                copied = unmount_work_tmpfs(workdir, keep, copy_limits(limits))
        if copied is None:  # the work folder is on the host's disk: the same selection, in place
            copied = keep_only(workdir, keep, copy_limits(limits))
        outcome.copy_back = copied.to_dict()
        return outcome

    def _run(self, argv, workdir, ro_paths, env, limits, timeout_s, home, caveats) -> ProcessOutcome:
        cgroup = self._make_cgroup(limits, caveats)
        if not self.as_root:
            caveats.append("not run as root: user-namespace mode; files are written with your own uid")
        if self.seccomp is None:
            caveats.append(
                f"no seccomp filter for {platform.machine()}: keyrings, ptrace, vsock and other kernel calls are not denied"
            )
        if not self._tmpfs_size:
            caveats.append("this bubblewrap cannot size a tmpfs: /tmp is bounded only by the memory limit")
        info = {
            "name": self.name,
            "isolated": True,
            "mode": self.mode,
            "limits": limits.to_dict(),
            "cgroup": cgroup.version if cgroup else None,
            "caveats": caveats,
        }
        full_env = {"PATH": f"{sys.prefix}/bin:{_DEFAULT_PATH}", "TMPDIR": "/tmp", **env, "HOME": str(home)}
        cmd, fds = self.command(argv, workdir=workdir, ro_paths=ro_paths, limits=limits)
        cmd = self._hide_args(cmd, fds)
        try:
            outcome = run_process(
                cmd,
                cwd=workdir,
                env=full_env,
                limits=limits,
                timeout_s=timeout_s,
                preexec=_preexec(limits, cgroup),
                sandbox_info=info,
                pass_fds=tuple(fds),
            )
        finally:
            for fd in fds:
                os.close(fd)
            if cgroup is not None:
                peak, oom, cpu = cgroup.peak_memory_bytes(), cgroup.oom_killed(), cgroup.cpu_seconds()
                cgroup.close()
        _bwrap_signal(outcome, limits)
        if cgroup is not None:
            if peak is not None:
                outcome.peak_memory_bytes = peak
            if cpu is not None:  # getrusage misses the sandbox's grandchildren; the group does not
                outcome.cpu_s = cpu
            if oom:
                outcome.stopped = "memory"
                outcome.stopped_detail = f"killed: memory limit {_size(limits.memory_bytes)}"
        return outcome

    def _hide_args(self, cmd: list[str], fds: list[int]) -> list[str]:
        """bwrap stays pid 1 inside the sandbox, where any process can read its command line:
        hand it the options through a pipe (`--args FD`) so that the host paths, limits and
        layout are not on display (the command after `--` must stay on the command line). Falls
        back to the plain command line when they do not fit in a pipe."""
        end = cmd.index("--")
        data = b"".join(os.fsencode(a) + b"\0" for a in cmd[1:end])
        if len(data) > 60 * 1024:  # a pipe holds 64 KiB before a writer blocks
            return cmd
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        fds.append(r)
        return [cmd[0], "--args", str(r), *cmd[end:]]

    def _make_cgroup(self, limits: Limits, caveats: list[str]) -> RunCgroup | None:
        if not self.use_cgroup:
            caveats.append("cgroups disabled: memory is not limited, tasks limited by RLIMIT_NPROC (per uid)")
            return None
        try:
            cgroup = create_run_cgroup(limits.memory_bytes, limits.max_tasks)
        except CgroupUnavailable as exc:
            caveats.append(
                f"no cgroup ({exc}): memory is not limited and tasks are limited by RLIMIT_NPROC, "
                "which counts every process and thread of the uid"
            )
            return None
        if not cgroup.limits_memory:
            caveats.append("no memory cgroup: memory is not limited")
        if not cgroup.limits_tasks:
            caveats.append("no pids cgroup: tasks are limited by RLIMIT_NPROC, which counts every process of the uid")
        return cgroup


def _preexec(limits: Limits, cgroup: RunCgroup | None):
    """Child setup between fork and exec (as the caller's uid, before bwrap starts)."""

    def preexec() -> None:
        if cgroup is not None:
            cgroup.join()
        set_rlimits(limits)
        if cgroup is None or not cgroup.limits_tasks:
            # Root ignores RLIMIT_NPROC; it bites after setpriv drops to uid 65534.
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_tasks, limits.max_tasks))

    return preexec


# --- the work folder on a tmpfs -----------------------------------------------------------------
_MS_NOSUID, _MS_NODEV = 0x2, 0x4
_MNT_DETACH = 0x2
_MAX_WORK_INODES = 65536  # files and folders a run may create in its work folder
_libc = None


def _libc_call(name: str, *args) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def mount_work_tmpfs(workdir: Path, size_bytes: int) -> None:
    """Put `workdir` on a fresh tmpfs with `size_bytes` of room beyond what it holds now,
    keeping its contents (the grader's own files, written just before). Needs root
    (CAP_SYS_ADMIN); raises OSError where mounting is not allowed, leaving `workdir` as it was."""
    keep = Path(tempfile.mkdtemp(prefix=".dlgrade-in-", dir=workdir.parent))
    try:
        entries = list(workdir.iterdir())
        used = sum(_tree_bytes(e) for e in entries)
        for entry in entries:
            os.rename(entry, keep / entry.name)
        options = f"size={size_bytes + used + MiB},nr_inodes={_MAX_WORK_INODES},mode=0755"
        try:
            _libc_call(
                "mount", b"dlgrade-work", os.fsencode(workdir), b"tmpfs", _MS_NOSUID | _MS_NODEV, options.encode()
            )
        except OSError:
            for entry in entries:
                os.rename(keep / entry.name, entry)
            raise
        for entry in entries:
            if (keep / entry.name).is_dir():
                shutil.copytree(keep / entry.name, entry, symlinks=True)
            else:
                shutil.copy2(keep / entry.name, entry, follow_symlinks=False)
    finally:
        remove_tree(keep)


def unmount_work_tmpfs(workdir: Path, keep: Sequence[str] | None, limits: CopyLimits) -> CopyReport:
    """Copy the entries `keep` of what the run left onto the disk (see `grader.intake.copyback`) and
    drop the tmpfs with everything else. Runs when every process of the sandbox is gone."""
    staging = Path(tempfile.mkdtemp(prefix=".dlgrade-out-", dir=workdir.parent))
    try:
        try:
            report = copy_back(workdir, staging / "kept", keep, limits)
        finally:
            unmount(workdir)  # even when the copy fails: no mount is ever left behind
        for entry in os.listdir(staging / "kept"):
            os.rename(staging / "kept" / entry, workdir / entry)
    finally:
        remove_tree(staging)
    return report


def unmount(path: Path) -> None:
    """Detach a mount (lazily: a stale process holding it open does not block the grader)."""
    _libc_call("umount2", os.fsencode(path), _MNT_DETACH)


def _tree_bytes(path: Path) -> int:
    """Bytes of the regular files at or below `path` (symlinks not followed)."""
    info = os.lstat(path)
    if stat.S_ISREG(info.st_mode):
        return info.st_size
    if not stat.S_ISDIR(info.st_mode):
        return 0
    return sum(_tree_bytes(Path(e.path)) for e in os.scandir(path))


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    """Hand the work folder to the sandbox user; never follows symlinks out of it."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _bwrap_signal(outcome: ProcessOutcome, limits: Limits) -> None:
    """bwrap reports a child killed by signal N as exit status 128+N: turn that back into the
    negative return code and `stopped` reason that `run_process` gives for a plain child.
    (A program that itself exits with 128+N looks the same; bwrap does not tell them apart.)"""
    rc = outcome.returncode
    if outcome.stopped is None and rc is not None and 128 < rc < 128 + signal.NSIG:
        outcome.returncode = -(rc - 128)
        outcome.stopped, outcome.stopped_detail = describe_signal(rc - 128, limits)


def _size(n: int) -> str:
    if n % GiB == 0:
        return f"{n // GiB} GiB"
    return f"{n / MiB:.0f} MiB"
