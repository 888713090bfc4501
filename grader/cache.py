"""Grade the same notebook once: results of identical work are reused within a class.

Fill-in-the-blank exercises produce many identical notebooks (the untouched template, the
answer that circulates). The key covers everything the outcome depends on: the prepared
notebook's cells, the seed, the language, the checks file, the thresholds and dlgrade's version.
The cached outcome carries its notebook's part results, metrics, plots and timings.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from . import __version__


def cache_key(spec, notebook, seed: int, lang: str) -> str:
    digest = hashlib.sha256()
    for cell in notebook.cells:
        digest.update(cell.cell_type.encode())
        digest.update(b"\0")
        digest.update(cell.source.encode("utf-8"))
        digest.update(b"\1")
    checks = spec.solution_path.with_name(spec.stem + ".checks.py")
    for path in (checks, spec.thresholds_path):
        if path and path.exists():
            digest.update(path.read_bytes())
    digest.update(json.dumps([seed, lang, spec.name, __version__, spec.limits.to_dict()]).encode())
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
