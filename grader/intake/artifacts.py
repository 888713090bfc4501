"""Read what a sandbox wrote, as data only and defensively.

Every file is opened with O_NOFOLLOW (a planted symlink must not make the trusted process read
the solutions), size-capped, and parsed without code: `np.load(allow_pickle=False)` for arrays,
`json` for the rest. Only names that the checks file declared are looked up. A part's folder is
opened the same way and its files relative to it, so a folder swapped for a symlink (to another
student's exports, say) is refused too, not just a file.

Everything read is bounded before it is parsed, so that the trusted process's time and memory
stay linear in what it was willing to read: bytes per file, per part and per submission
(`ByteBudget`); a `.npy` header's shape and dtype against the bytes actually present (a header
may lie); JSON by its number of containers before parsing and its depth after. A refusal is an
`UnsafeArtifact`; one for size is a `TooLarge`, which the scorer reports as "too large to grade".
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MiB = 1024 * 1024
MAX_ARRAY_BYTES = 64 * MiB  # one exported array (the course's largest, a CNN's W_fc1, is 13 MiB)
MAX_JSON_BYTES = 16 * MiB
MAX_PART_BYTES = 128 * MiB  # every file one part's export cell left
MAX_SUBMISSION_BYTES = 256 * MiB  # every file the exports of one notebook load
MAX_JSON_CONTAINERS = 200_000  # lists and objects in one JSON file, counted before parsing (an honest record: ~20,000)
JSON_MEMORY_FACTOR = 8  # a JSON file is charged this many times its size: parsed, it takes that much
MAX_JSON_DEPTH = 64
MAX_NPY_HEADER = 10_000
ARRAY_KINDS = "biufcSU"  # bool, integers, floats, complex, strings: never objects, records, voids
SAFE_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


class UnsafeArtifact(ValueError):
    """An artifact is a symlink, not a regular file, too large, or not plain data."""


class TooLarge(UnsafeArtifact):
    """An artifact is over a size limit: the submission is too large to grade, not wrong."""


class ByteBudget:
    """Bytes the trusted process may still read for one submission (or one part of it); each
    file is charged its size before it is read. `parent` is charged too, so a part's budget
    also draws on its submission's. Thread-safe enough: one submission is scored by one thread."""

    def __init__(self, total: int, parent: ByteBudget | None = None):
        self.left = total
        self.parent = parent

    def charge(self, size: int, name: str) -> None:
        budget = self
        while budget is not None:
            if size > budget.left:
                raise TooLarge(
                    f"{name} ({size} bytes) is over what one submission may export "
                    f"({budget.left} bytes left of the limit)"
                )
            budget = budget.parent
        budget = self
        while budget is not None:
            budget.left -= size
            budget = budget.parent


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


def read_bytes(
    path: Path, limit: int, dir_fd: int | None = None, budget: ByteBudget | None = None, weight: int = 1
) -> bytes:
    """Read a regular file without following a symlink, refusing anything over `limit` bytes
    (or over what `budget` has left, charged `weight` times the file's size). With `dir_fd`,
    `path` is a name inside that (already vetted) folder."""
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
            raise TooLarge(f"{path.name} is {info.st_size} bytes; the limit is {limit}")
        if budget is not None:
            budget.charge(info.st_size * weight, path.name)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path.name} is over {limit} bytes")
    return data


def read_json(
    path: Path, limit: int = MAX_JSON_BYTES, dir_fd: int | None = None, budget: ByteBudget | None = None
) -> Any:
    return parse_json(read_bytes(path, limit, dir_fd, budget, JSON_MEMORY_FACTOR), Path(path).name)


def parse_json(data: bytes, name: str = "data", max_containers: int = MAX_JSON_CONTAINERS) -> Any:
    """JSON as plain data, refusing (before parsing) more containers than the trusted process
    should build and (after) nesting deeper than any check reads: a value nested 900 deep
    parses, then breaks whatever recurses over it later (comparison, repr, the result file)."""
    if data.count(b"[") + data.count(b"{") > max_containers:
        raise TooLarge(f"{name} holds over {max_containers} lists and objects")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: ints of 4,300+ digits
        raise UnsafeArtifact(f"{name} is not valid JSON: {str(exc)[:200]}") from exc
    if json_depth(value) > MAX_JSON_DEPTH:
        raise UnsafeArtifact(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:  # deeper is refused anyway: no need to walk it all
                stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_array(
    path: Path, limit: int = MAX_ARRAY_BYTES, dir_fd: int | None = None, budget: ByteBudget | None = None
) -> np.ndarray:
    return parse_npy(read_bytes(path, limit, dir_fd, budget), Path(path).name)


def parse_npy(data: bytes, name: str = "array") -> np.ndarray:
    """A read-only array over `data` (a .npy file), from a header checked against the bytes
    present: never `np.load`, which allocates what the header claims before reading it."""
    fmt = np.lib.format
    fp = io.BytesIO(data)
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp, max_header_size=MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp, max_header_size=MAX_NPY_HEADER)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, TypeError, SyntaxError, EOFError, MemoryError, RecursionError) as exc:
        raise UnsafeArtifact(f"{name} is not a plain numeric array: {str(exc)[:200]}") from exc
    if (
        dtype.hasobject
        or dtype.fields is not None
        or dtype.subdtype is not None
        or dtype.kind not in ARRAY_KINDS
        or dtype.itemsize == 0
    ):
        raise UnsafeArtifact(f"{name} is not a plain numeric array (dtype {str(dtype)[:80]})")
    if (
        not isinstance(shape, tuple)
        or len(shape) > 32
        or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= MAX_ARRAY_BYTES for d in shape)
    ):
        raise UnsafeArtifact(f"{name} is not a plain numeric array (shape {str(shape)[:80]})")
    count = math.prod(shape)
    offset = fp.tell()
    if count * dtype.itemsize != len(data) - offset:
        raise UnsafeArtifact(
            f"{name} is not a plain numeric array: its header says {count * dtype.itemsize} bytes "
            f"of data, the file holds {len(data) - offset}"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def retrain_id(part_id: str) -> str:
    """The artifacts folder of a part's retraining runs."""
    return f"{part_id}__retrain"


def seeded(name: str, seed: int) -> str:
    """A model's or an evaluation's name for the run from `seed`."""
    return f"{name}__seed{seed}"


@dataclass
class PartData:
    """What one part's export cell left: values by name, and per-name errors."""

    ran: bool
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, dict] = field(default_factory=dict)  # name -> {ename, evalue} from the kernel
    unreadable: dict[str, str] = field(default_factory=dict)  # name -> why the grader refused it
    models: dict[str, Path] = field(default_factory=dict)
    too_large: set[str] = field(default_factory=set)  # names refused for their size (TooLarge)


def read_part(
    artifacts: Path, part_id: str, names: list[str], model_names: list[str] = (), budget: ByteBudget | None = None
) -> PartData:
    """What one part's export cell left. `budget` (the submission's) bounds the bytes read;
    the part has its own `MAX_PART_BYTES` within it."""
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
        return _read_part(folder, fds[-1], names, model_names, ByteBudget(MAX_PART_BYTES, budget))
    finally:
        for fd in fds:
            os.close(fd)


def _read_part(folder: Path, fd: int, names: list[str], model_names: list[str], budget: ByteBudget) -> PartData:
    try:
        index = read_json(Path("_export.json"), limit=1024 * 1024, dir_fd=fd, budget=budget)
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
                data.values[name] = read_array(Path(f"{name}.npy"), dir_fd=fd, budget=budget)
            elif kind == "json":
                data.values[name] = read_json(Path(f"{name}.json"), dir_fd=fd, budget=budget)
            else:
                data.unreadable[name] = "not exported"
        except (OSError, UnsafeArtifact) as exc:
            data.unreadable[name] = str(exc)[:500]
            if isinstance(exc, TooLarge):
                data.too_large.add(name)
    try:
        model_index = read_json(Path("_models.json"), limit=1024 * 1024, dir_fd=fd) if model_names else {}
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
