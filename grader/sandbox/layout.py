"""What a sandboxed run sees of the file system, as data: one list of steps that both sandboxes
carry out, bubblewrap as its options (`bwrap_args`) and the warm workers in Python
(`grader.sandbox.isolate`), so that the two cannot drift apart.

Inside, the file system holds only: /usr (with /bin, /lib*, /sbin as links), a generated /etc,
fresh /proc and /dev, size-capped tmpfs /tmp and /dev/shm, the Python installation and the venv
read-only, the `grader` package folder read-only (not the rest of its repository), the caller's
`ro_paths` read-only and `workdir` read-write, all at their host paths.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

NOBODY = 65534  # uid and gid of every sandboxed run
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the `grader` source folder (editable install)

# The generated /etc: just enough for the C library and Python to resolve users and hosts
# without any file of the host's /etc being visible.
ETC_FILES = {
    "passwd": "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
    f"nobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/usr/sbin/nologin\n",
    "group": f"root:x:0:\nnogroup:x:{NOBODY}:\n",
    "nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
}


@dataclass(frozen=True)
class Step:
    """One step of building the sandbox's file system, at `path` inside it.

    kind: "ro-bind" / "bind" (host `path` at the same path), "symlink" (to `target`), "dir"
    (`mode`), "file" (`data`, `mode`, read-only), "tmpfs" (`mode`, `size` bytes or 0 for the
    default), "proc", "dev"."""

    kind: str
    path: str
    target: str = ""
    mode: int = 0o755
    data: str = ""
    size: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Step:
        return cls(**data)


def system_steps() -> list[Step]:
    """The system part: /usr, the /bin and /lib links, /proc, /dev, an empty /etc."""
    steps = [Step("ro-bind", "/usr")]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            steps.append(Step("symlink", str(path), target=os.readlink(path)))
        elif path.is_dir():
            steps.append(Step("ro-bind", str(path)))
    steps += [Step("proc", "/proc"), Step("dev", "/dev"), Step("dir", "/etc", mode=0o755)]
    return steps


def run_steps(workdir: Path, ro_paths: list[Path], tmp_bytes: int) -> list[Step]:
    """Every step of one run's file system, in order (the order matters: a workdir under /tmp
    must be bound after the private /tmp is mounted)."""
    steps = system_steps()
    steps += [Step("file", f"/etc/{name}", data=text, mode=0o644) for name, text in ETC_FILES.items()]
    if Path("/etc/ld.so.cache").exists():
        steps.append(Step("ro-bind", "/etc/ld.so.cache"))
    if Path("/etc/fonts").is_dir():  # font configuration only; silences fontconfig
        steps.append(Step("ro-bind", "/etc/fonts"))
    if Path("/etc/localtime").is_symlink():
        steps.append(Step("symlink", "/etc/localtime", target=os.readlink("/etc/localtime")))
    for tmp in ("/tmp", "/dev/shm"):
        steps.append(Step("tmpfs", tmp, mode=0o1777, size=tmp_bytes))
    binds = [(Path(sys.base_prefix), "ro-bind"), (Path(sys.prefix), "ro-bind"), (PACKAGE_DIR, "ro-bind")]
    binds += [(Path(p), "ro-bind") for p in ro_paths]
    binds.append((Path(workdir), "bind"))
    return steps + bind_steps(binds)


def bind_steps(binds: list[tuple[Path, str]]) -> list[Step]:
    """Bind steps, parents first, with every missing parent directory created 0755 (bwrap
    would make it 0700, and /root is 0700 on the host, so uid 65534 could not pass)."""
    steps: list[Step] = []
    made = {Path("/"), Path("/usr"), Path("/etc"), Path("/tmp"), Path("/dev"), Path("/proc")}
    bound: list[Path] = []
    for path, kind in sorted(set(binds), key=lambda b: len(b[0].parts)):
        if not path.exists():
            raise FileNotFoundError(f"sandbox path does not exist: {path}")
        if kind == "ro-bind" and path.is_relative_to("/usr"):
            continue  # already there: /usr is bound read-only (a system Python lives in it)
        for parent in reversed(path.parents):
            if parent in made or any(parent.is_relative_to(b) for b in bound):
                continue
            steps.append(Step("dir", str(parent), mode=0o755))
            made.add(parent)
        steps.append(Step(kind, str(path)))
        bound.append(path)
    return steps


def bwrap_args(steps: list[Step], data_fd: Callable[[bytes], str], tmpfs_size: bool = True) -> list[str]:
    """The steps as bubblewrap options; `data_fd` turns a file's bytes into a readable fd."""
    args: list[str] = []
    for step in steps:
        if step.kind in ("ro-bind", "bind"):
            args += [f"--{step.kind}", step.path, step.path]
        elif step.kind == "symlink":
            args += ["--symlink", step.target, step.path]
        elif step.kind == "dir":
            args += ["--perms", f"{step.mode:04o}", "--dir", step.path]
        elif step.kind == "file":
            args += ["--perms", f"{step.mode:04o}", "--ro-bind-data", data_fd(step.data.encode()), step.path]
        elif step.kind == "tmpfs":
            if tmpfs_size and step.size:
                args += ["--size", str(step.size)]
            args += ["--perms", f"{step.mode:04o}", "--tmpfs", step.path]
        elif step.kind in ("proc", "dev"):
            args += [f"--{step.kind}", step.path]
        else:
            raise ValueError(f"unknown sandbox step: {step.kind}")
    return args
