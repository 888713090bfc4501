"""Grade the same notebook once: results of identical work are reused within a class.

Fill-in-the-blank exercises produce many identical notebooks (the untouched template, the
answer that circulates). The key covers everything the outcome depends on, so that a change to
any of it grades again: the prepared notebook's cells; every file of the assignment's folder
(the checks file and whatever it reads: thresholds, rubrics, data); dlgrade's own code; and the
options (seed, language, limits, how notebooks are run, the data folders they see).
The cached outcome carries its notebook's part results, metrics, plots and timings.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the grader package
MAX_FOLDER_FILES = 10_000  # an assignment folder bigger than this is hashed by file metadata only
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}


def _signature(folder: Path) -> tuple:
    """(relative path, size, mtime) of every regular file under `folder`, links not followed."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(root, name)
            try:
                info = path.lstat()
            except OSError:
                continue
            if path.is_file() and not path.is_symlink():
                found.append((os.fspath(path.relative_to(folder)), info.st_size, info.st_mtime_ns))
    return tuple(found)


@functools.lru_cache(maxsize=64)
def _folder_digest(folder: Path, signature: tuple) -> str:
    digest = hashlib.sha256()
    by_content = len(signature) <= MAX_FOLDER_FILES
    for relative, size, mtime in signature:
        digest.update(relative.encode() + b"\0")
        if by_content:
            try:
                digest.update(hashlib.sha256((folder / relative).read_bytes()).digest())
            except OSError:
                digest.update(b"unreadable")
        else:
            digest.update(f"{size}:{mtime}".encode())
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """A digest of every file's name and bytes under `folder`; read again only when a file's
    size or time changes, so a class of a hundred pays for it once."""
    folder = folder.resolve()
    return _folder_digest(folder, _signature(folder))


def cache_key(spec, notebook, seed: int, lang: str, options=None, runner=None) -> str:
    digest = hashlib.sha256()
    for cell in notebook.cells:
        digest.update(cell.cell_type.encode())
        digest.update(b"\0")
        digest.update(cell.source.encode("utf-8"))
        digest.update(b"\1")
    folders = {spec.solution_path.parent}
    if spec.thresholds_path:
        folders.add(spec.thresholds_path.parent)
    for folder in sorted(folders):
        digest.update(folder_digest(folder).encode())
    digest.update(folder_digest(PACKAGE_DIR).encode())
    how = {
        "runner": type(runner).__name__ if runner is not None else "",
        "sandbox": type(getattr(runner, "sandbox", None)).__name__,
        "data": sorted(os.fspath(p) for p in getattr(options, "data_paths", []) or []),
        "max_output_bytes": getattr(options, "max_output_bytes", None),
        "keep_scoring": getattr(options, "keep_scoring", False),  # an entry without them cannot serve --db
    }
    digest.update(json.dumps([seed, lang, spec.name, spec.limits.to_dict(), how], default=str).encode())
    return digest.hexdigest()


class ResultCache:
    """A folder of JSON payloads by key; writes are atomic, so parallel graders can share it."""

    def __init__(self, root: Path):
        self.root = root

    def get(self, key: str) -> dict | None:
        try:
            return json.loads((self.root / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, payload: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, ensure_ascii=False, default=str)
        os.replace(tmp, self.root / f"{key}.json")
