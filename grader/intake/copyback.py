"""What a run leaves on the host: only the named results, as regular files, within a budget.

A sandboxed run writes whatever it likes into its work folder: links to host files, FIFOs,
sparse files that read as gigabytes of zeros, one file under a thousand hard-linked names,
folders thousands deep. When the run is over, `copy_back` copies just the entries the grader
reads (the worker's record, the export folder, the executed notebook) into a fresh folder, and
nothing else: regular files and folders only, every file counted by its apparent size
(`st_size`) against a byte cap, a hard-linked file once, with a cap on entries, depth and time.
What it leaves out is listed in the returned `CopyReport`, so the result can say so.

Everything is opened relative to an already opened folder with O_NOFOLLOW, so a name swapped for
a link while the copy runs is refused rather than followed.
"""

from __future__ import annotations

import errno
import os
import stat
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024
_CHUNK = MiB
_SHOWN = 5  # dropped entries named per reason (link, size, ...); the rest are only counted
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class CopyLimits:
    max_bytes: int = 256 * MiB  # apparent size of all files copied
    max_files: int = 4096  # entries looked at (files, folders and what is refused)
    max_seconds: float = 60.0
    max_depth: int = 32


def copy_limits(limits) -> CopyLimits:
    """The copy-back budget of a run's `grader.sandbox.base.Limits`."""
    return CopyLimits(limits.copy_back_bytes, limits.copy_back_files, limits.copy_back_s)


@dataclass
class CopyReport:
    files: int = 0
    bytes: int = 0  # apparent size of what was copied
    seconds: float = 0.0
    dropped: list[dict] = field(default_factory=list)  # the first few per reason: {"path", "reason", "bytes"}
    dropped_count: int = 0
    dropped_bytes: int = 0  # apparent size of the regular files left out
    stopped: str = ""  # "files" or "time" when the copy ended early

    def drop(self, path: str, reason: str, size: int = 0) -> None:
        self.dropped_count += 1
        self.dropped_bytes += size
        if sum(d["reason"] == reason for d in self.dropped) < _SHOWN:
            self.dropped.append({"path": path, "reason": reason, "bytes": size})

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "dropped": self.dropped,
            "dropped_count": self.dropped_count,
            "dropped_bytes": self.dropped_bytes,
            "stopped": self.stopped,
        }


class _Stop(Exception):
    """The entry or time budget is spent: nothing more is copied."""


def copy_back(src: Path, dst: Path, keep: Sequence[str] | None, limits: CopyLimits, skip: str = "") -> CopyReport:
    """Copy the entries `keep` (names directly in `src`, in this order; None: all of them but
    `skip`) into the new folder `dst`, under the rules of the module docstring. Missing names
    are skipped quietly (a run that died early writes no record). Files keep their owner when
    run as root."""
    copier = _Copier(limits)
    os.mkdir(dst, 0o755)
    src_fd = os.open(src, _DIR_FLAGS)
    dst_fd = os.open(dst, _DIR_FLAGS)
    try:
        names = list(keep) if keep is not None else [n for n in _list(src_fd, limits.max_files) if n != skip]
        for name in names:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"not a name in the work folder: {name!r}")
            try:
                os.stat(name, dir_fd=src_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            copier.tree(src_fd, dst_fd, name)
    except _Stop:
        pass
    finally:
        os.close(src_fd)
        os.close(dst_fd)
        copier.report.seconds = time.monotonic() - copier.started
    return copier.report


class _Copier:
    def __init__(self, limits: CopyLimits):
        self.limits = limits
        self.report = CopyReport()
        self.started = time.monotonic()
        self.deadline = self.started + limits.max_seconds
        self.looked = 0  # entries looked at, copied or not
        self.seen: dict[tuple[int, int], str] = {}  # files with several names -> first path copied or dropped

    def stop(self, path: str, reason: str, size: int = 0) -> None:
        self.report.stopped = reason
        self.report.drop(path, reason, size)
        raise _Stop

    def tree(self, src_fd: int, dst_fd: int, name: str) -> None:
        """Copy one entry and what is below it; iterative, one pair of open folders per level."""
        # a frame: (source folder fd, target folder fd, its relative path, names left, depth)
        stack = [(src_fd, dst_fd, "", iter([name]), 0)]
        try:
            while stack:
                s_fd, d_fd, rel, names, depth = stack[-1]
                entry = next(names, None)
                if entry is None:
                    stack.pop()
                    if stack:  # the first frame's folders belong to the caller
                        os.close(s_fd)
                        os.close(d_fd)
                    continue
                path = f"{rel}/{entry}" if rel else entry
                self.looked += 1
                if self.looked > self.limits.max_files:
                    self.stop(path, "files")
                if time.monotonic() > self.deadline:
                    self.stop(path, "time")
                pushed = self.entry(s_fd, d_fd, entry, path, depth)
                if pushed is not None:
                    stack.append(pushed)
        finally:
            for s_fd, d_fd, *_ in stack[1:]:
                os.close(s_fd)
                os.close(d_fd)

    def entry(self, s_fd: int, d_fd: int, name: str, path: str, depth: int):
        """Copy a file, or open a folder and return its frame; refuse everything else."""
        try:
            info = os.stat(name, dir_fd=s_fd, follow_symlinks=False)
        except OSError:
            self.report.drop(path, "unreadable")
            return None
        if stat.S_ISREG(info.st_mode):
            self.file(s_fd, d_fd, name, path, info)
        elif stat.S_ISLNK(info.st_mode):
            self.report.drop(path, "link")
        elif not stat.S_ISDIR(info.st_mode):  # FIFO, socket, device
            self.report.drop(path, "special")
        elif depth >= self.limits.max_depth:
            self.report.drop(path, "depth")
        else:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=s_fd)
            except OSError:
                self.report.drop(path, "unreadable")
                return None
            try:
                # listed up to the entry budget: a folder of a million names is not read whole
                listed = _list(child, self.limits.max_files)
                os.mkdir(name, 0o755, dir_fd=d_fd)
                target = os.open(name, _DIR_FLAGS, dir_fd=d_fd)
            except OSError:
                os.close(child)
                self.report.drop(path, "unreadable")
                return None
            _own(target, info)
            return (child, target, path, iter(listed), depth + 1)
        return None

    def file(self, s_fd: int, d_fd: int, name: str, path: str, info: os.stat_result) -> None:
        report, size, key = self.report, info.st_size, (info.st_dev, info.st_ino)
        if info.st_nlink > 1 and key in self.seen:
            report.drop(path, "hard-link")  # its content is already copied under another name
            return
        if report.bytes + size > self.limits.max_bytes:
            report.drop(path, "size", size)
            if info.st_nlink > 1:  # its other names are the same bytes: count them once
                self.seen[key] = path
            return
        try:
            # O_NONBLOCK: a FIFO swapped in after the stat must not block the grader
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=s_fd)
        except OSError:
            report.drop(path, "unreadable", size)
            return
        out = None
        try:
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != key:
                report.drop(path, "special", size)
                return
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=d_fd)
            left = size  # never more than was counted, however the file grows meanwhile
            while left > 0:
                if time.monotonic() > self.deadline:
                    os.close(out)
                    out = None
                    _unlink_quietly(name, d_fd)
                    self.stop(path, "time", size)
                chunk = os.read(fd, min(_CHUNK, left))
                if not chunk:
                    break
                os.write(out, chunk)
                left -= len(chunk)
            _own(out, info)
        except OSError as exc:
            if out is not None:
                os.close(out)
                out = None
                _unlink_quietly(name, d_fd)
            report.drop(path, "disk-full" if exc.errno == errno.ENOSPC else "unreadable", size)
            return
        finally:
            os.close(fd)
            if out is not None:
                os.close(out)
        if info.st_nlink > 1:
            self.seen[key] = path
        report.files += 1
        report.bytes += size


def _list(fd: int, limit: int) -> list[str]:
    names = []
    with os.scandir(fd) as entries:
        for entry in entries:
            names.append(entry.name)
            if len(names) > limit:
                break
    return sorted(names)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def _own(fd: int, info: os.stat_result) -> None:
    """As root, copies keep the run's uid (they are what that run wrote); otherwise they are ours."""
    if os.geteuid() == 0:
        os.fchown(fd, info.st_uid, info.st_gid)


def keep_only(workdir: Path, keep: Sequence[str] | None, limits: CopyLimits) -> CopyReport:
    """For a work folder on the host's own disk: leave in `workdir` only what `copy_back` would
    copy, and remove everything else the run wrote. The copy is staged inside `workdir` itself:
    the folder around it need not be writable (a user grading without root)."""
    staging = f".dlgrade-kept-{uuid.uuid4().hex}"
    report = copy_back(workdir, workdir / staging, keep, limits, skip=staging)
    fd = os.open(workdir, _DIR_FLAGS)
    try:
        _remove_below(fd, spare=staging)
    finally:
        os.close(fd)
    for entry in os.listdir(workdir / staging):
        os.rename(workdir / staging / entry, workdir / entry)
    os.rmdir(workdir / staging)
    return report


def clear_folder(path: Path) -> None:
    """Remove everything inside `path` (see `remove_tree`), keeping the folder itself."""
    fd = os.open(path, _DIR_FLAGS)
    try:
        _remove_below(fd)
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """Remove a folder a run wrote, whatever it holds: iterative (a run may nest folders
    thousands deep, past Python's recursion limit and PATH_MAX), linear in the number of
    entries, never following links, making unreadable folders readable first."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    clear_folder(path)
    os.rmdir(path)


def _open_dir(name: str, parent: int) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:  # a folder the run made unreadable (possible without root)
        os.chmod(name, 0o700, dir_fd=parent)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _remove_below(top: int, spare: str = "") -> None:
    """Empty the folder open as `top`, but for its entry `spare`. Holds one folder open at a
    time and climbs back through '..' (nothing moves the folders: the run's processes are gone)."""
    fd = os.dup(top)
    stack = [[n for n in _unlink_files(fd, spare) if n != spare]]  # per level: subfolders left
    try:
        while stack:
            if stack[-1]:
                child = _open_dir(stack[-1][-1], fd)
                os.close(fd)
                fd = child
                stack.append(_unlink_files(fd))
                continue
            stack.pop()
            if not stack:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(stack[-1].pop(), dir_fd=fd)
    finally:
        os.close(fd)


def _unlink_files(fd: int, spare: str = "") -> list[str]:
    """Remove every entry of the folder but its subfolders, which it returns (and `spare`)."""
    subdirs = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.name == spare:
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return subdirs
