"""Data that students never see: holdout inputs (for the evaluate sandbox) and labels (trusted).

Sets come from the data cache (MNIST's 5,000-image holdout) or are made by the grader from a
function in a checks file (`HIDDEN_SETS = {"name": make}` with `make() -> (x, y)`), e.g. fresh
binary-addition pairs. Generated inputs are written once per process to a folder the sandbox
user can read; their labels stay in memory.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    from grader.datasets.cache import load_holdout

    return load_holdout()


class HiddenData:
    """`holdout(name)` -> (x, y) as stored; `inputs_path(name)` -> .npy of x only, for sandboxes;
    `flat_mnist()` -> MNIST holdout as the course feeds it (float32 in [0, 1], 784 wide)."""

    def __init__(self, root: Path | None = None):
        self._makers: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {"mnist": _mnist}
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._root = root

    def register(self, name: str, make: Callable[[], tuple[np.ndarray, np.ndarray]]) -> None:
        if name in self._makers and self._makers[name] is not make:
            if name == "mnist":
                raise ValueError("the MNIST holdout cannot be replaced")
        self._makers[name] = make

    def holdout(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if name not in self._cache:
                if name not in self._makers:
                    raise KeyError(f"no hidden set named {name!r}")
                x, y = self._makers[name]()
                self._cache[name] = (np.asarray(x), np.asarray(y))
            return self._cache[name]

    def labels(self, name: str) -> np.ndarray:
        return self.holdout(name)[1]

    def flat_mnist(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.holdout("mnist")
        return x.reshape(len(x), -1).astype(np.float32) / 255.0, y.astype(np.int64)

    def inputs_path(self, name: str) -> Path:
        """A world-readable .npy of the set's inputs (never its labels)."""
        with self._lock:
            if name in self._paths:
                return self._paths[name]
        x, _ = self.holdout(name)
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="dlgrade-hidden-inputs-"))
                os.chmod(self._root, 0o755)
            path = self._root / f"{name}.npy"
            np.save(path, x, allow_pickle=False)
            os.chmod(path, 0o644)
            self._paths[name] = path
            return path
