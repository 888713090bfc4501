"""Data sets from a local, verified cache: MNIST and the course's loaders on top of it.

- `cache`: where the data lives, `fetch_mnist` / `describe_cache` (behind `dlgrade data ...`),
  the holdout for the grader, and the error classes.
- `input_data`: TF1's `read_data_sets(...)` with `next_batch`, for the course's notebooks.
- `mnist`: the course's `load_mnist(normalize, flatten, one_hot_label)`.

Importing this package costs only numpy: notebooks import it inside the sandbox.
"""

from grader.datasets.cache import (
    DatasetCorrupt,
    DatasetMissing,
    FetchFailed,
    cache_root,
    describe_cache,
    fetch_mnist,
    hidden_dir,
    labels_dir,
    load_holdout,
    load_holdout_inputs,
    public_dir,
    verify_mnist,
)

__all__ = [
    "DatasetCorrupt",
    "DatasetMissing",
    "FetchFailed",
    "cache_root",
    "describe_cache",
    "fetch_mnist",
    "hidden_dir",
    "labels_dir",
    "load_holdout",
    "load_holdout_inputs",
    "public_dir",
    "verify_mnist",
]
