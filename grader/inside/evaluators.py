"""Trusted forward passes for models that exist only as exported weights (TF1 graphs), and the
ways hidden inputs are fed: `f(arrays, x) -> predictions`. The checks also call them in the
trusted process, on weights a student sized: each pass checks the weights' shapes, and the
work and memory they imply, before it multiplies anything (ValueError when they do not fit)."""

from __future__ import annotations

import numpy as np

PREPROCESS = {
    "raw": lambda x: x,
    # MNIST as the course feeds it: pixels / 255, 784 wide or 28x28x1 images
    "flat": lambda x: x.reshape(len(x), -1).astype(np.float32) / 255.0,
    "image": lambda x: x.reshape(len(x), 28, 28, 1).astype(np.float32) / 255.0,
}


MAX_FORWARD_PARAMS = 8_000_000  # weights a trusted forward pass multiplies by (course MLP: 5.6M at most)
MAX_IMAGE_FLOPS = 2e8  # multiply-adds per image of the CNN pass (the course's CNN: 1.4e7)
MAX_PATCH_BYTES = 256 * 2**20  # the im2col matrix of one batch of the CNN pass (batches shrink to fit)


def dense_chain(arrays: dict, x: np.ndarray, activation: str = "sigmoid", batch: int = 1000) -> np.ndarray:
    """Logits of an MLP given W1, b1, W2, b2, ... (hidden activation applied between layers),
    computed `batch` rows at a time so that the hidden activations stay small."""
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}[activation]
    n = sum(1 for k in arrays if k.startswith("W"))
    params = sum(int(np.size(arrays[f"W{i}"])) for i in range(1, n + 1))
    if params > MAX_FORWARD_PARAMS:
        raise ValueError(f"the weights hold {params} numbers; the grader multiplies at most {MAX_FORWARD_PARAMS}")
    out = []
    for start in range(0, len(x), batch):
        h = x[start : start + batch].astype(np.float64)
        for i in range(1, n + 1):
            h = h @ arrays[f"W{i}"] + arrays[f"b{i}"]
            if i < n:
                h = act(h)
        out.append(h)
    return np.concatenate(out) if out else np.zeros((0, np.shape(arrays[f"W{n}"])[1]))


# --- the course's TF1 CNN: conv -> relu -> max_pool, twice, then fc -> relu -> fc -> softmax ----

CNN_ARRAYS = ("W_conv1", "b_conv1", "W_conv2", "b_conv2", "W_fc1", "b_fc1", "W_fc2", "b_fc2")


def _conv2d_same(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding='SAME') + b on NHWC images, as one matmul
    over image patches (im2col) so numpy's BLAS does the work."""
    kh, kw, cin, cout = w.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2  # TF's SAME puts the odd pixel of padding at the end
    padded = np.pad(x, ((0, 0), (top, kh - 1 - top), (left, kw - 1 - left), (0, 0)))
    patches = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))  # n,h,w,c,kh,kw
    n, h, wd = patches.shape[:3]
    cols = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * wd, kh * kw * cin)
    return (cols @ w.reshape(kh * kw * cin, cout) + b).reshape(n, h, wd, cout)


def _max_pool_2x2(x: np.ndarray) -> np.ndarray:
    """tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')."""
    n, h, w, c = x.shape
    if h % 2 or w % 2:  # SAME pads odd sizes at the end; padding never wins a max
        x = np.pad(x, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=-np.inf)
        n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _pooled_twice(n: int) -> int:
    """A side of n pixels after two SAME 2x2 pools (each rounds up)."""
    return ((n + 1) // 2 + 1) // 2


def check_cnn_shapes(arrays: dict, image: tuple[int, int, int] = (28, 28, 1)) -> None:
    """Raise ValueError unless the arrays fit the course's CNN on `image` (height, width, channels):
    W_conv1 [k, k, channels, c1], W_conv2 [k, k, c1, c2], W_fc1 [(h/4) * (w/4) * c2, f],
    W_fc2 [f, classes], each bias as wide as its layer's output."""
    missing = [name for name in CNN_ARRAYS if name not in arrays]
    if missing:
        raise ValueError(f"missing arrays: {', '.join(missing)}")
    shapes = {name: tuple(np.shape(arrays[name])) for name in CNN_ARRAYS}
    height, width, channels = image
    pooled = _pooled_twice(height) * _pooled_twice(width)
    w1, w2, f1, f2 = (shapes[k] for k in ("W_conv1", "W_conv2", "W_fc1", "W_fc2"))
    if len(w1) != 4 or w1[2] != channels:
        raise ValueError(f"W_conv1 has shape {list(w1)}; it must be [kh, kw, {channels}, filters]")
    if len(w2) != 4 or w2[2] != w1[3]:
        raise ValueError(f"W_conv2 has shape {list(w2)}; it must be [kh, kw, {w1[3]}, filters]")
    if len(f1) != 2 or f1[0] != pooled * w2[3]:
        raise ValueError(f"W_fc1 has shape {list(f1)}; it must be [{pooled * w2[3]}, units]")
    if len(f2) != 2 or f2[0] != f1[1]:
        raise ValueError(f"W_fc2 has shape {list(f2)}; it must be [{f1[1]}, classes]")
    for bias, weights in (("b_conv1", w1), ("b_conv2", w2), ("b_fc1", f1), ("b_fc2", f2)):
        if shapes[bias] != (weights[-1],):
            raise ValueError(f"{bias} has shape {list(shapes[bias])}; it must be [{weights[-1]}]")
    for name in CNN_ARRAYS:
        kind = np.asarray(arrays[name]).dtype.kind if isinstance(arrays[name], np.ndarray) else "f"
        if kind not in "biuf":
            raise ValueError(f"{name} is not an array of numbers")


def cnn_cost(arrays: dict, image: tuple[int, int, int] = (28, 28, 1)) -> tuple[float, int]:
    """(multiply-adds, bytes of the larger im2col matrix) of `tf1_cnn` per image, from the
    shapes alone (checked by `check_cnn_shapes` first)."""
    w1, w2, f1, f2 = (tuple(np.shape(arrays[k])) for k in ("W_conv1", "W_conv2", "W_fc1", "W_fc2"))
    h, w, _ = image
    pixels1, pixels2 = h * w, ((h + 1) // 2) * ((w + 1) // 2)
    flops = (
        pixels1 * np.prod(w1, dtype=float)
        + pixels2 * np.prod(w2, dtype=float)
        + np.prod(f1, dtype=float)
        + np.prod(f2, dtype=float)
    )
    patch = max(pixels1 * w1[0] * w1[1] * w1[2], pixels2 * w2[0] * w2[1] * w2[2]) * 4
    return float(flops), int(patch)


def tf1_cnn(arrays: dict, x: np.ndarray, batch: int = 250) -> np.ndarray:
    """Softmax outputs (y_conv) of the course's CNN with dropout off (keep_prob 1.0): conv 'SAME'
    -> relu -> 2x2 max pool, twice; flatten; fc -> relu; fc -> softmax. x: flat (n, 784) or
    images (n, 28, 28, 1). Works in float32 and in batches to keep the patch matrix small."""
    check_cnn_shapes(arrays)
    flops, patch = cnn_cost(arrays)
    if flops > MAX_IMAGE_FLOPS or patch > MAX_PATCH_BYTES:
        raise ValueError(
            f"the network is too large to grade: {flops:.3g} multiply-adds and "
            f"{patch / 2**20:.0f} MiB of image patches per image (at most {MAX_IMAGE_FLOPS:.3g}, "
            f"{MAX_PATCH_BYTES / 2**20:.0f} MiB)"
        )
    batch = max(1, min(batch, MAX_PATCH_BYTES // max(patch, 1)))  # wide layers: fewer images at a time
    a = {k: np.asarray(arrays[k], dtype=np.float32) for k in CNN_ARRAYS}
    images = np.asarray(x, dtype=np.float32).reshape(len(x), 28, 28, 1)
    out = []
    for start in range(0, len(images), batch):
        h = images[start : start + batch]
        h = _max_pool_2x2(np.maximum(_conv2d_same(h, a["W_conv1"], a["b_conv1"]), 0))
        h = _max_pool_2x2(np.maximum(_conv2d_same(h, a["W_conv2"], a["b_conv2"]), 0))
        h = np.maximum(h.reshape(len(h), -1) @ a["W_fc1"] + a["b_fc1"], 0)
        logits = h @ a["W_fc2"] + a["b_fc2"]
        logits -= logits.max(axis=1, keepdims=True)  # stable softmax
        e = np.exp(logits)
        out.append(e / e.sum(axis=1, keepdims=True))
    return np.concatenate(out) if out else np.zeros((0, a["W_fc2"].shape[1]), np.float32)
