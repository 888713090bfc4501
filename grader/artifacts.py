"""Read what a sandbox wrote, as data only and defensively.

Every file is opened with O_NOFOLLOW (a planted symlink must not make the trusted process read
the solutions), size-capped, and parsed without code: `np.load(allow_pickle=False)` for arrays,
`json` for the rest. Only names that the checks file declared are looked up. A part's folder is
opened the same way and its files relative to it, so a folder swapped for a symlink (to another
student's exports, say) is refused too, not just a file.
"""
from __future__ import annotations

import errno
import io
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_ARRAY_BYTES = 256 * 1024 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
SAFE_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


class UnsafeArtifact(ValueError):
    """An artifact is a symlink, not a regular file, too large, or not plain data."""


def open_dir(path: Path, dir_fd: int | None = None) -> int:
    """A file descriptor of the folder `path` (relative to `dir_fd` if given), refusing a
    symlink or anything that is not a folder."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a symlink, or a file where a folder should be
            try:
                link = stat.S_ISLNK(os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            except OSError:
                link = exc.errno == errno.ELOOP
            kind = "a symbolic link" if link else "not a folder"
            raise UnsafeArtifact(f"{Path(path).name} is {kind}") from exc
        raise


def read_bytes(path: Path, limit: int, dir_fd: int | None = None) -> bytes:
    """Read a regular file without following a symlink, refusing anything over `limit` bytes.
    With `dir_fd`, `path` is a name inside that (already vetted) folder."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component is a symlink
            raise UnsafeArtifact(f"{Path(path).name} is a symbolic link") from exc
        raise
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeArtifact(f"{path.name} is not a regular file")
        if info.st_size > limit:
            raise UnsafeArtifact(f"{path.name} is {info.st_size} bytes; the limit is {limit}")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeArtifact(f"{path.name} is over {limit} bytes")
    return data


def read_json(path: Path, limit: int = MAX_JSON_BYTES, dir_fd: int | None = None) -> Any:
    try:
        return json.loads(read_bytes(path, limit, dir_fd).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UnsafeArtifact(f"{Path(path).name} is not valid JSON: {exc}") from exc


def read_array(path: Path, limit: int = MAX_ARRAY_BYTES, dir_fd: int | None = None) -> np.ndarray:
    try:
        return np.load(io.BytesIO(read_bytes(path, limit, dir_fd)), allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:  # pickled object arrays, bad headers, truncated
        raise UnsafeArtifact(f"{Path(path).name} is not a plain numeric array: {exc}") from exc


@dataclass
class PartData:
    """What one part's export cell left: values by name, and per-name errors."""

    ran: bool
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict] = field(default_factory=dict)  # name -> {ename, evalue} from the kernel
    unreadable: dict[str, str] = field(default_factory=dict)  # name -> why the grader refused it
    models: dict[str, Path] = field(default_factory=dict)


def read_part(artifacts: Path, part_id: str, names: list[str], model_names: list[str] = ()) -> PartData:
    if not SAFE_NAME.match(part_id):
        raise ValueError(f"unsafe part id {part_id!r}")
    for name in [*names, *model_names]:
        if not SAFE_NAME.match(name):
            raise ValueError(f"unsafe export name {name!r}")
    folder = artifacts / part_id
    fds: list[int] = []
    try:
        try:
            fds.append(open_dir(artifacts))
            fds.append(open_dir(Path(part_id), dir_fd=fds[-1]))
        except UnsafeArtifact as exc:
            return PartData(ran=True, unreadable={n: str(exc) for n in [*names, *model_names]})
        except OSError:
            return PartData(ran=False)
        return _read_part(folder, fds[-1], names, model_names)
    finally:
        for fd in fds:
            os.close(fd)


def _read_part(folder: Path, fd: int, names: list[str], model_names: list[str]) -> PartData:
    try:
        index = read_json(Path("_export.json"), dir_fd=fd)
    except (OSError, UnsafeArtifact):
        return PartData(ran=False)
    data = PartData(ran=True)
    errors = index.get("errors", {}) if isinstance(index, dict) else {}
    saved = index.get("saved", {}) if isinstance(index, dict) else {}
    errors = errors if isinstance(errors, dict) else {}
    saved = saved if isinstance(saved, dict) else {}
    for name in names:
        if name in errors and isinstance(errors[name], dict):
            data.errors[name] = {k: str(errors[name].get(k, ""))[:500] for k in ("ename", "evalue")}
            continue
        kind = saved.get(name)
        try:
            if kind == "npy":
                data.values[name] = read_array(Path(f"{name}.npy"), dir_fd=fd)
            elif kind == "json":
                data.values[name] = read_json(Path(f"{name}.json"), dir_fd=fd)
            else:
                data.unreadable[name] = "not exported"
        except (OSError, UnsafeArtifact) as exc:
            data.unreadable[name] = str(exc)
    try:
        model_index = read_json(Path("_models.json"), dir_fd=fd) if model_names else {}
    except (OSError, UnsafeArtifact):
        model_index = {}
    model_errors = model_index.get("errors", {}) if isinstance(model_index, dict) else {}
    model_errors = model_errors if isinstance(model_errors, dict) else {}
    for name in model_names:
        if isinstance(model_errors.get(name), dict):
            data.errors[name] = {k: str(model_errors[name].get(k, ""))[:500] for k in ("ename", "evalue")}
            continue
        try:
            info = os.stat(f"{name}.keras", dir_fd=fd, follow_symlinks=False)
            if stat.S_ISREG(info.st_mode):
                # By path: the folder is vetted and the sandbox that could change it is gone.
                data.models[name] = folder / f"{name}.keras"
            else:
                data.unreadable[name] = f"{name}.keras is not a regular file"
        except OSError:
            data.unreadable.setdefault(name, "model not saved")
    return data
