"""Read what a sandbox wrote, as data only and defensively.

Every file is opened with O_NOFOLLOW (a planted symlink must not make the trusted process read
the solutions), size-capped, and parsed without code: `np.load(allow_pickle=False)` for arrays,
`json` for the rest. Only names that the checks file declared are looked up.
"""
from __future__ import annotations

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


def read_bytes(path: Path, limit: int) -> bytes:
    """Read a regular file without following a symlink, refusing anything over `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symlink
            raise UnsafeArtifact(f"{path.name} is a symbolic link") from exc
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


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    try:
        return json.loads(read_bytes(path, limit).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeArtifact(f"{path.name} is not valid JSON: {exc}") from exc


def read_array(path: Path, limit: int = MAX_ARRAY_BYTES) -> np.ndarray:
    try:
        return np.load(io.BytesIO(read_bytes(path, limit)), allow_pickle=False)
    except ValueError as exc:  # pickled object arrays, bad headers
        raise UnsafeArtifact(f"{path.name} is not a plain numeric array: {exc}") from exc


@dataclass
class PartData:
    """What one part's export cell left: values by name, and per-name errors."""

    ran: bool
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict] = field(default_factory=dict)  # name -> {ename, evalue} from the kernel
    unreadable: dict[str, str] = field(default_factory=dict)  # name -> why the grader refused it
    models: dict[str, Path] = field(default_factory=dict)


def read_part(artifacts: Path, part_id: str, names: list[str], model_names: list[str] = ()) -> PartData:
    folder = artifacts / part_id
    if not SAFE_NAME.match(part_id):
        raise ValueError(f"unsafe part id {part_id!r}")
    try:
        index = read_json(folder / "_export.json")
    except (OSError, UnsafeArtifact):
        return PartData(ran=False)
    data = PartData(ran=True)
    errors = index.get("errors", {}) if isinstance(index, dict) else {}
    saved = index.get("saved", {}) if isinstance(index, dict) else {}
    for name in names:
        if not SAFE_NAME.match(name):
            raise ValueError(f"unsafe export name {name!r}")
        if name in errors and isinstance(errors[name], dict):
            data.errors[name] = {k: str(errors[name].get(k, ""))[:500] for k in ("ename", "evalue")}
            continue
        kind = saved.get(name)
        try:
            if kind == "npy":
                data.values[name] = read_array(folder / f"{name}.npy")
            elif kind == "json":
                data.values[name] = read_json(folder / f"{name}.json")
            else:
                data.unreadable[name] = "not exported"
        except (OSError, UnsafeArtifact) as exc:
            data.unreadable[name] = str(exc)
    try:
        model_index = read_json(folder / "_models.json") if model_names else {}
    except (OSError, UnsafeArtifact):
        model_index = {}
    model_errors = model_index.get("errors", {}) if isinstance(model_index, dict) else {}
    for name in model_names:
        if isinstance(model_errors.get(name), dict):
            data.errors[name] = {k: str(model_errors[name].get(k, ""))[:500] for k in ("ename", "evalue")}
            continue
        path = folder / f"{name}.keras"
        try:
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                data.models[name] = path
            else:
                data.unreadable[name] = f"{path.name} is not a regular file"
        except OSError:
            data.unreadable.setdefault(name, "model not saved")
    return data
