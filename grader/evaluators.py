"""Trusted forward passes for models that exist only as exported weights (TF1 graphs), and the
ways hidden inputs are fed. They run in the evaluate sandbox: `f(arrays, x) -> predictions`."""
from __future__ import annotations

import numpy as np

PREPROCESS = {
    "raw": lambda x: x,
    # MNIST as the course feeds it: pixels / 255, 784 wide or 28x28x1 images
    "flat": lambda x: x.reshape(len(x), -1).astype(np.float32) / 255.0,
    "image": lambda x: x.reshape(len(x), 28, 28, 1).astype(np.float32) / 255.0,
}


def dense_chain(arrays: dict, x: np.ndarray, activation: str = "sigmoid") -> np.ndarray:
    """Logits of an MLP given W1, b1, W2, b2, ... (hidden activation applied between layers)."""
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    h = x.astype(np.float64)
    n = sum(1 for k in arrays if k.startswith("W"))
    for i in range(1, n + 1):
        h = h @ arrays[f"W{i}"] + arrays[f"b{i}"]
        if i < n:
            h = act(h)
    return h
