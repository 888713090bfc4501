"""Per-run control groups: a memory and task limit for one sandboxed run, its peak memory,
whether the kernel killed it for memory, and clean removal.

Both layouts are supported:
- cgroup v2 (unified; pure v2 has /sys/fs/cgroup/cgroup.controllers): one directory with
  memory.max, memory.swap.max, pids.max, memory.peak, memory.events, cgroup.kill, cpu.stat;
- cgroup v1 (one hierarchy per controller, e.g. /sys/fs/cgroup/memory and /sys/fs/cgroup/pids):
  memory.limit_in_bytes, memory.memsw.limit_in_bytes, memory.max_usage_in_bytes,
  memory.oom_control, pids.max, cpuacct.usage, each in its own directory.

The group also measures the run's CPU time: getrusage(RUSAGE_CHILDREN) in the grader only sees
children it waited for, not the sandbox's grandchildren (the worker, the kernel), so it reads
almost 0 for a sandboxed run.

The run's group is created *below* the group the grader itself is in (read from
/proc/self/cgroup), never at the root: limits the machine puts on the grader keep applying to
everything it starts. The child joins the group in `preexec` (before exec), so every process it
forks is born inside and counted.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CgroupUnavailable",
    "Layout",
    "RunCgroup",
    "create_run_cgroup",
    "detect_layout",
]

_PROC_CGROUP = Path("/proc/self/cgroup")
_PROC_MOUNTINFO = Path("/proc/self/mountinfo")


class CgroupUnavailable(RuntimeError):
    """No cgroup can be made for a run here; the message says why (goes into the caveats)."""


@dataclass(frozen=True)
class Layout:
    """Where this process's own groups are, per controller: the parent of a run's group."""

    version: str  # "v1" or "v2"
    memory: Path | None
    pids: Path | None
    # Where CPU time is counted (v1: the cpuacct hierarchy; v2: the memory group, whose cpu.stat
    # always has usage_usec). Not part of equality: it only adds a measurement.
    cpu: Path | None = field(default=None, compare=False)


def detect_layout(mountinfo: str | None = None, proc_cgroup: str | None = None) -> Layout | None:
    """Find this process's memory and pids groups from mountinfo and /proc/self/cgroup.

    Pure v2 wins when its cgroup2 mount offers the memory controller; otherwise v1 hierarchies
    for memory and pids; None when neither is mounted (a hybrid's empty cgroup2 mount, as on
    many older hosts, has no controllers and does not count)."""
    mountinfo = _read(_PROC_MOUNTINFO) if mountinfo is None else mountinfo
    proc_cgroup = _read(_PROC_CGROUP) if proc_cgroup is None else proc_cgroup
    v1_paths: dict[str, str] = {}
    v2_path: str | None = None
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier_id, controllers, path = parts
        if hier_id == "0" and controllers == "":
            v2_path = path
        for ctrl in controllers.split(","):
            v1_paths[ctrl] = path

    v1_mounts: dict[str, tuple[str, str]] = {}  # controller -> (mount root, mount point)
    v2_mount: tuple[str, str] | None = None
    for line in mountinfo.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fields, post_fields = pre.split(), post.split()
        if len(fields) < 5 or len(post_fields) < 3:
            continue
        fstype, options = post_fields[0], post_fields[2].split(",")
        root, mount_point = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            v2_mount = (root, mount_point)
        elif fstype == "cgroup":
            for ctrl in ("memory", "pids", "cpuacct"):
                if ctrl in options:
                    v1_mounts[ctrl] = (root, mount_point)

    if v2_mount is not None and v2_path is not None:
        own = _join(v2_mount, v2_path)
        if own is not None and "memory" in _read(own / "cgroup.controllers").split():
            return Layout("v2", memory=own, pids=own, cpu=own)

    def v1(ctrl: str) -> Path | None:
        return _join(v1_mounts[ctrl], v1_paths.get(ctrl, "/")) if ctrl in v1_mounts else None

    memory, pids = v1("memory"), v1("pids")
    if memory is None and pids is None:
        return None
    return Layout("v1", memory=memory, pids=pids, cpu=v1("cpuacct"))


def _join(mount: tuple[str, str], path: str) -> Path | None:
    """Host path of cgroup `path` in a hierarchy mounted from `root` at `mount_point`."""
    root, mount_point = mount
    root = root.rstrip("/")
    if root and not (path == root or path.startswith(root + "/")):
        return None  # our group is outside what is mounted (a container's view)
    return Path(mount_point) / path[len(root) :].lstrip("/")


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _keyed(text: str) -> dict[str, int]:
    """Parse "key value" lines (memory.events, memory.oom_control)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            pass
    return out


class RunCgroup:
    """One run's group (a directory per v1 controller, one directory on v2).

    Use: `create_run_cgroup(...)`, call `join()` in the child before exec, then after the run
    `peak_memory_bytes()`, `oom_killed()`, and finally `close()` (kills what is left, removes)."""

    def __init__(self, version: str, memory_dir: Path | None, pids_dir: Path | None, cpu_dir: Path | None = None):
        self.version = version
        self.memory_dir = memory_dir
        self.pids_dir = pids_dir
        self.cpu_dir = cpu_dir
        self._dirs = list(dict.fromkeys(d for d in (memory_dir, pids_dir, cpu_dir) if d is not None))
        # Encoded now: join() runs between fork and exec, where allocation is best kept small.
        self._procs_files = [os.fsencode(d / "cgroup.procs") for d in self._dirs]

    @property
    def limits_memory(self) -> bool:
        return self.memory_dir is not None

    @property
    def limits_tasks(self) -> bool:
        return self.pids_dir is not None

    def join(self) -> None:
        """Move the calling process into the group (called in the child, before exec)."""
        pid = str(os.getpid()).encode()
        for procs in self._procs_files:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def procs_paths(self) -> list[str]:
        """The files a process writes its pid to, to join the group (as `join` does)."""
        return [os.fsdecode(p) for p in self._procs_files]

    def peak_memory_bytes(self) -> int | None:
        """Largest memory use of the group during the run, or None when the kernel has no
        counter (v2 before Linux 5.19)."""
        if self.memory_dir is None:
            return None
        name = "memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes"
        text = _read(self.memory_dir / name).strip()
        return int(text) if text.isdigit() else None

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) of every process that ran in the group, or None when no
        CPU accounting is available. Read before `close()`."""
        if self.cpu_dir is None:
            return None
        if self.version == "v2":
            usec = _keyed(_read(self.cpu_dir / "cpu.stat")).get("usage_usec")
            return usec / 1e6 if usec is not None else None
        text = _read(self.cpu_dir / "cpuacct.usage").strip()  # nanoseconds
        return int(text) / 1e9 if text.isdigit() else None

    def oom_killed(self) -> bool:
        """Did the kernel kill a process of the group because of its memory limit?"""
        if self.memory_dir is None:
            return False
        if self.version == "v2":
            return _keyed(_read(self.memory_dir / "memory.events")).get("oom_kill", 0) > 0
        control = _keyed(_read(self.memory_dir / "memory.oom_control"))
        if "oom_kill" in control:  # Linux >= 4.13
            return control["oom_kill"] > 0
        # Older kernels only count limit hits; a hit that ended the run is an OOM kill.
        return _read(self.memory_dir / "memory.failcnt").strip() not in ("", "0")

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self._dirs:
            found.update(int(p) for p in _read(d / "cgroup.procs").split())
        return found

    def kill_all(self, timeout_s: float = 5.0) -> None:
        """SIGKILL every process still in the group and wait until it is empty."""
        if self.version == "v2" and self._dirs and (self._dirs[0] / "cgroup.kill").exists():
            try:
                _write(self._dirs[0] / "cgroup.kill", "1")  # atomic, even against fork bombs
            except OSError:
                pass
        deadline = time.monotonic() + timeout_s
        while (left := self.pids()) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def close(self) -> None:
        """Kill what is left and remove the group's directories (retrying while the kernel
        finishes tearing down the killed processes)."""
        self.kill_all()
        for d in self._dirs:
            for _ in range(200):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def create_run_cgroup(
    memory_bytes: int,
    max_tasks: int,
    *,
    layout: Layout | None = None,
    name: str | None = None,
) -> RunCgroup:
    """Make a fresh group for one run with the memory limit (swap included, so the limit is
    not dodged by swapping) and the task limit, below this process's own groups.

    Raises CgroupUnavailable with the reason when there is no usable cgroup (not mounted, not
    writable, controllers not delegated)."""
    layout = detect_layout() if layout is None else layout
    if layout is None:
        raise CgroupUnavailable("no cgroup memory or pids controller is mounted")
    name = name or f"dlgrade-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    if layout.version == "v2":
        return _create_v2(layout, name, memory_bytes, max_tasks)
    return _create_v1(layout, name, memory_bytes, max_tasks)


def _create_v2(layout: Layout, name: str, memory_bytes: int, max_tasks: int) -> RunCgroup:
    parent = layout.memory
    assert parent is not None
    wanted = {"memory", "pids"}
    enabled = set(_read(parent / "cgroup.subtree_control").split())
    if not wanted <= enabled:
        try:
            _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted - enabled)))
        except OSError as exc:
            # v2 forbids enabling controllers for children of a group that holds processes.
            raise CgroupUnavailable(
                f"cannot enable memory/pids controllers below {parent} ({exc.strerror}); run the "
                "grader in a delegated cgroup, e.g. `systemd-run --scope -p Delegate=yes dlgrade ...`"
            ) from exc
    group = parent / name
    try:
        group.mkdir()
    except OSError as exc:
        raise CgroupUnavailable(f"cannot create a cgroup in {parent}: {exc.strerror}") from exc
    cg = RunCgroup("v2", memory_dir=group, pids_dir=group, cpu_dir=group)
    try:
        _write(group / "memory.max", str(memory_bytes))
        if (group / "memory.swap.max").exists():
            _write(group / "memory.swap.max", "0")
        # One process over the limit takes the whole run down, not a random victim.
        if (group / "memory.oom.group").exists():
            _write(group / "memory.oom.group", "1")
        _write(group / "pids.max", str(max_tasks))
    except OSError as exc:
        cg.close()
        raise CgroupUnavailable(f"cannot set limits in {group}: {exc.strerror}") from exc
    return cg


def _create_v1(layout: Layout, name: str, memory_bytes: int, max_tasks: int) -> RunCgroup:
    memory_dir = pids_dir = cpu_dir = None
    made: list[Path] = []
    try:
        if layout.memory is not None:
            memory_dir = layout.memory / name
            memory_dir.mkdir()
            made.append(memory_dir)
            _write(memory_dir / "memory.limit_in_bytes", str(memory_bytes))
            # memsw (memory + swap) exists only with swap accounting; it must be >= the limit.
            if (memory_dir / "memory.memsw.limit_in_bytes").exists():
                try:
                    _write(memory_dir / "memory.memsw.limit_in_bytes", str(memory_bytes))
                except OSError:
                    pass
        if layout.pids is not None:
            pids_dir = layout.pids / name
            pids_dir.mkdir()
            made.append(pids_dir)
            _write(pids_dir / "pids.max", str(max_tasks))
    except OSError as exc:
        for d in made:
            try:
                d.rmdir()
            except OSError:
                pass
        raise CgroupUnavailable(f"cannot create a v1 cgroup ({exc.filename}: {exc.strerror})") from exc
    if layout.cpu is not None:
        try:  # a measurement only: without it the run still has its limits
            (layout.cpu / name).mkdir()
            cpu_dir = layout.cpu / name
        except OSError:
            pass
    return RunCgroup("v1", memory_dir=memory_dir, pids_dir=pids_dir, cpu_dir=cpu_dir)
