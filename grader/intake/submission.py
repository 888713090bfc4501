"""Intake: list a submission and read its files without following links.

The trusted process reads a submission before any sandbox, as whoever runs the grader (often
root). Everything inside a submission is the student's, and git, tar and zip all keep symbolic
links (tar also makes FIFOs and device nodes). So:

- Only regular files are read. Every path component inside the submission is opened relative to
  its parent's descriptor with O_NOFOLLOW, so neither a link nor a folder swapped for one leads
  outside it. A file is checked with lstat before it is opened, opened O_NONBLOCK (a FIFO raced
  in cannot block), checked again and sized with fstat, then read with a bound.
- The path the grader is given is trusted up to its parent folder; the entry itself is not: a
  `submissions/*` glob over a class folder unpacked from an LMS zip hands over entries that
  students made, so a top-level symbolic link is refused like any other (to grade a folder you
  linked yourself, pass its real path).
- The walk is bounded: MAX_DEPTH folders deep, MAX_ENTRIES entries looked at; of the notebooks
  found, those nearest the top are kept up to MAX_NOTEBOOKS and MAX_TOTAL_BYTES (each may be
  read and parsed in the trusted process, about 1.5 s per 100 MiB); `.ipynb_checkpoints`, `.git`
  and `__MACOSX` are not entered.
- Hard links cannot be told apart from regular files and are read: making one needs the right
  to read and write the target already (fs.protected_hardlinks), git and zip do not keep them,
  and tar only between its own members.

What is refused becomes a `Refused` (a catalogue key and its arguments) in the submission's
result. Its message names the entry as the student named it, never anything read through it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import NotANotebook
from grader.i18n import t

MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024  # larger notebook files are refused before parsing
MAX_DEPTH = 8  # folders below the submission that are searched for notebooks
MAX_ENTRIES = 10_000  # files and folders looked at in one submission
MAX_NOTEBOOKS = 16  # notebooks kept: each may be read and matched in the trusted process
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # their sizes together
MAX_REPORTED = 20  # refusals named one by one in the result; the rest are counted
SKIP_DIRS = frozenset({".ipynb_checkpoints", ".git", "__MACOSX"})
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class Refused(NotANotebook):
    """An entry that intake does not read (or, for a report folder, write through), with the
    catalogue key and arguments that say why."""

    def __init__(self, key: str, lang: str = "en", **args):
        self.key, self.details = key, args
        super().__init__(t(key, lang, **args))

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.details)


@dataclass
class Listing:
    """What intake found in one submission: notebooks to read (below `base`) and refusals."""

    base: Path  # the folder the submission lives in (trusted)
    notebooks: list[Path] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    more_refused: int = 0  # refusals past MAX_REPORTED
    top: Refused | None = None  # the submission itself was refused
    single: bool = False  # the submission is one file, not a folder

    def refuse(self, exc: Refused) -> None:
        if len(self.refused) < MAX_REPORTED:
            self.refused.append(exc)
        else:
            self.more_refused += 1


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "special"


def _refusal(kind: str, name: str) -> Refused:
    return Refused("intake.symlink" if kind == "link" else "intake.not_regular", name=name)


def _from_oserror(exc: OSError, name: str) -> Refused:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
        return Refused("intake.symlink", name=name)
    if exc.errno == errno.ENOENT:
        return Refused("intake.missing", name=name)
    return Refused("intake.unreadable", name=name, reason=exc.strerror or type(exc).__name__)


def _open_dir(base: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of `base/parts...`: `base` is trusted, each part is opened relative to its
    parent without following a link. Raises Refused."""
    try:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise _from_oserror(exc, base.name) from None
    for i, part in enumerate(parts):
        name = "/".join(parts[: i + 1])
        try:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            kind = None
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                try:
                    kind = _kind(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
                except OSError:
                    pass
            os.close(fd)
            if kind == "file":
                raise Refused("intake.not_a_folder", name=name) from None
            raise (_refusal(kind, name) if kind in ("link", "special") else _from_oserror(exc, name)) from None
        os.close(fd)
        fd = child
    return fd


def list_submission(submission: Path) -> Listing:
    """The notebooks of a submission (a notebook, or a folder searched for *.ipynb) and what
    was refused on the way. Never raises for anything a student can make."""
    submission = Path(os.path.abspath(submission))
    listing = Listing(base=submission.parent)
    try:
        info = os.lstat(submission)
    except OSError:
        return listing  # missing: the result says the notebook was not submitted
    kind = _kind(info.st_mode)
    if kind == "dir":
        _walk(submission, listing)
    elif kind == "file" and info.st_size > MAX_NOTEBOOK_BYTES:
        listing.top = _too_large(submission.name, info.st_size, MAX_NOTEBOOK_BYTES)
        listing.refused.append(listing.top)
    elif kind == "file":
        listing.single = True
        listing.notebooks.append(submission)
    else:
        listing.top = _refusal(kind, submission.name)
        listing.refused.append(listing.top)
    return listing


def _walk(root: Path, listing: Listing) -> None:
    """Breadth first, so that the notebooks at the top are found before a deep or wide folder
    uses up the bounds; only folders are queued, as names, and reopened link-free from the base."""
    queue: deque[tuple[str, ...]] = deque([()])
    seen = 0
    too_deep = False
    found: list[tuple[int, Path, int]] = []  # (depth, path, size) of every notebook seen
    while queue:
        rel = queue.popleft()
        try:
            fd = _open_dir(listing.base, (root.name, *rel))
        except Refused as exc:  # swapped for a link since it was listed, or gone
            listing.refuse(exc)
            continue
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        listing.refuse(Refused("intake.too_many_entries", count=MAX_ENTRIES))
                        queue.clear()
                        break
                    name = "/".join((*rel, entry.name))
                    try:
                        info = entry.stat(follow_symlinks=False)
                        kind = _kind(info.st_mode)
                    except OSError as exc:
                        listing.refuse(_from_oserror(exc, name))
                        continue
                    if kind == "link":
                        listing.refuse(_refusal(kind, name))  # a link to a folder may hide notebooks
                    elif kind == "dir":
                        if entry.name in SKIP_DIRS:
                            continue
                        if len(rel) + 1 > MAX_DEPTH:
                            if not too_deep:
                                listing.refuse(Refused("intake.too_deep", name=name, depth=MAX_DEPTH))
                            too_deep = True
                            continue
                        queue.append((*rel, entry.name))
                    elif entry.name.endswith(".ipynb"):
                        if kind == "special":
                            listing.refuse(_refusal(kind, name))
                        elif info.st_size > MAX_NOTEBOOK_BYTES:
                            listing.refuse(_too_large(name, info.st_size, MAX_NOTEBOOK_BYTES))
                        else:
                            found.append((len(rel), root.joinpath(*rel, entry.name), info.st_size))
        except OSError as exc:
            listing.refuse(_from_oserror(exc, "/".join(rel) or root.name))
        finally:
            os.close(fd)
    _keep_notebooks(root, found, listing)


def _keep_notebooks(root: Path, found: list[tuple[int, Path, int]], listing: Listing) -> None:
    """The notebooks nearest the top (then by name) within MAX_NOTEBOOKS and MAX_TOTAL_BYTES;
    the order does not depend on the order the file system lists a folder in."""
    total, dropped = 0, []
    for _, path, size in sorted(found):
        if len(listing.notebooks) >= MAX_NOTEBOOKS or total + size > MAX_TOTAL_BYTES:
            dropped.append(path)
            continue
        total += size
        listing.notebooks.append(path)
    listing.notebooks.sort()
    if dropped:
        listing.refuse(
            Refused(
                "intake.too_many_notebooks",
                name=os.fspath(dropped[0].relative_to(root)),
                count=len(dropped),
                most=MAX_NOTEBOOKS,
                mib=MAX_TOTAL_BYTES // 2**20,
            )
        )


def read_regular(path: Path, limit: int, within: Path | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `limit`. Every component below `within`
    (default: the file's own folder) is opened without following a link. Raises Refused for a
    link, anything but a regular file, a file over `limit` or one that cannot be read."""
    path = Path(os.path.abspath(path))
    base = Path(os.path.abspath(within)) if within is not None else path.parent
    parts = path.relative_to(base).parts
    if not parts:
        raise Refused("intake.not_regular", name=path.name)
    name = "/".join(parts)
    dir_fd = _open_dir(base, parts[:-1])
    try:
        try:
            kind = _kind(os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False).st_mode)
            if kind != "file":  # never open a device, FIFO or socket: opening alone may act
                raise _refusal(kind, name)
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _from_oserror(exc, name) from None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):  # swapped between the lstat and the open
            raise Refused("intake.not_regular", name=name)
        if info.st_size > limit:
            raise _too_large(name, info.st_size, limit)
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise _from_oserror(exc, name) from None
    if len(data) > limit:
        raise _too_large(name, len(data), limit)
    return data


def _too_large(name: str, size: int, limit: int) -> Refused:
    return Refused("intake.too_large", name=name, size=f"{size / 2**20:.1f}", limit=f"{limit / 2**20:g}")


def check_regular(path: Path, lang: str = "en") -> None:
    """Raise Refused unless `path` itself is a regular file (or cannot be looked at: the caller
    then fails to read it and says so)."""
    try:
        kind = _kind(os.lstat(path).st_mode)
    except OSError:
        return
    if kind != "file":
        raise Refused("intake.symlink" if kind == "link" else "intake.not_regular", lang, name=Path(path).name)


def checked_folder(path: Path, walk: bool = True, lang: str = "en") -> None:
    """Refuse a folder that dlgrade is about to write into when it (or, with `walk`, anything
    already in it) is a link or anything but a regular file or folder: a write would follow a
    planted link. A missing folder is fine; one too large to look through is refused."""
    path = Path(os.path.abspath(path))
    try:
        kind = _kind(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    if kind != "dir":
        raise Refused("intake.unsafe_write", lang, name=os.fspath(path))
    if not walk:
        return
    queue: deque[tuple[str, ...]] = deque([()])
    seen = 0
    while queue:
        rel = queue.popleft()
        fd = _open_dir(path.parent, (path.name, *rel))
        try:
            with os.scandir(fd) as entries:
                for entry in entries:
                    seen += 1
                    name = os.fspath(path.joinpath(*rel, entry.name))  # the user finds and deletes it
                    if seen > MAX_ENTRIES or len(rel) >= MAX_DEPTH:
                        raise Refused(
                            "intake.folder_too_big", lang, name=os.fspath(path), count=MAX_ENTRIES, depth=MAX_DEPTH
                        )
                    try:
                        kind = _kind(entry.stat(follow_symlinks=False).st_mode)
                    except FileNotFoundError:
                        continue
                    if kind == "dir":
                        queue.append((*rel, entry.name))
                    elif kind != "file":
                        raise Refused("intake.unsafe_write", lang, name=name)
        finally:
            os.close(fd)
