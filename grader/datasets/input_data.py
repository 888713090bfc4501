"""TF1's `input_data.read_data_sets`, offline, on top of the dlgrade cache.

The course writes::

    from tensorflow.examples.tutorials.mnist import input_data
    mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
    x_batch, d_batch = mnist.train.next_batch(100)

With `from grader.datasets import input_data` the same lines work unchanged. Splits follow TF1
(validation = the first `validation_size` public training images, train = the rest), and
`next_batch` consumes numpy's global random state exactly as TF1 did, so `np.random.seed(...)`
before training gives the same batches as it would have there. Two deliberate differences:
nothing is downloaded (`train_dir` is ignored), and `.images` keeps its original order when
`next_batch` shuffles (TF1 reordered it in place; batches are identical either way).

Only numpy is imported: this module runs inside student notebooks.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from grader.datasets.cache import load_public_mnist

__all__ = ["DataSet", "Datasets", "read_data_sets"]


class DataSet:
    """One split: images, labels and TF1's `next_batch`."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int | None = None) -> None:
        if len(images) != len(labels):
            raise ValueError(f"images.shape: {images.shape} labels.shape: {labels.shape}")
        self._images = images
        self._labels = labels
        # Without a seed, numpy's global state: the student's np.random.seed decides the batches.
        self._rng = np.random.RandomState(seed) if seed is not None else np.random
        self._order = np.arange(len(images))  # indices of the current epoch, in batch order
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @property
    def images(self) -> np.ndarray:
        return self._images

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    @property
    def num_examples(self) -> int:
        return len(self._images)

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def next_batch(self, batch_size: int, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The next `batch_size` examples; an epoch's tail is joined to the next epoch's head.

        Mirrors TF1: shuffle before the first batch and at each epoch boundary. Permuting an
        index array (instead of the arrays, as TF1 did) draws the same random numbers.
        """
        n = self.num_examples
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._order = self._rng.permutation(n)
        if start + batch_size > n:
            self._epochs_completed += 1
            rest = self._order[start:]
            if shuffle:
                self._order = self._order[self._rng.permutation(n)]
            self._index_in_epoch = batch_size - len(rest)
            idx = np.concatenate([rest, self._order[: self._index_in_epoch]])
        else:
            self._index_in_epoch += batch_size
            idx = self._order[start : self._index_in_epoch]
        return self._images[idx], self._labels[idx]


class Datasets(NamedTuple):
    train: DataSet
    validation: DataSet
    test: DataSet


def _image_dtype(dtype: Any) -> np.dtype:
    # Accept tf.float32 / tf.uint8 without importing TensorFlow: they expose as_numpy_dtype.
    resolved = np.dtype(getattr(dtype, "as_numpy_dtype", dtype))
    if resolved not in (np.dtype(np.uint8), np.dtype(np.float32)):
        raise TypeError(f"Invalid image dtype {dtype!r}, expected uint8 or float32")
    return resolved


def read_data_sets(
    train_dir: str = "MNIST_data/",
    one_hot: bool = False,
    dtype: Any = np.float32,
    reshape: bool = True,
    validation_size: int = 5000,
    seed: int | None = None,
) -> Datasets:
    """MNIST as TF1 gave it: `.train` / `.validation` / `.test` DataSets.

    images: float32 in [0, 1] (pixel * 1/255, as TF1), or uint8 with `dtype=np.uint8`;
    (n, 784) with `reshape=True`, else (n, 28, 28, 1). labels: uint8 class ids, or float32
    one-hot (n, 10) with `one_hot=True`. `train_dir` is accepted for compatibility and ignored:
    the data comes from the local cache. Raises DatasetMissing when the cache is empty.
    """
    image_dtype = _image_dtype(dtype)
    (x_train, y_train), (x_test, y_test) = load_public_mnist()
    if not 0 <= validation_size <= len(x_train):
        raise ValueError(f"Validation size should be between 0 and {len(x_train)}. Received: {validation_size}.")

    def images(x: np.ndarray) -> np.ndarray:
        x = x.reshape(len(x), 784) if reshape else x.reshape(len(x), 28, 28, 1)
        if image_dtype == np.float32:
            x = np.multiply(x.astype(np.float32), 1.0 / 255.0)
        return x

    def labels(y: np.ndarray) -> np.ndarray:
        return np.eye(10, dtype=np.float32)[y] if one_hot else y

    x_all, y_all = images(x_train), labels(y_train)
    return Datasets(
        train=DataSet(x_all[validation_size:], y_all[validation_size:], seed),
        validation=DataSet(x_all[:validation_size], y_all[:validation_size], seed),
        test=DataSet(images(x_test), labels(y_test), seed),
    )
