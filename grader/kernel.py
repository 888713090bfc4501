"""Helpers that the grader's injected cells call inside the student's kernel.

This module runs next to untrusted code, so nothing it writes is believed: it only turns kernel
objects into plain data files (arrays as .npy, the rest as JSON, Keras models as .keras) that the
trusted process checks against data the kernel never saw. Imports stay light (no TensorFlow
unless the notebook uses it).
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

_out: Path | None = None
_seed = 0


def start(seed: int, framework: str, outdir: str) -> None:
    """The seed cell: fix the random state before the student's first line."""
    global _out, _seed
    _out, _seed = Path(outdir), seed
    _out.mkdir(parents=True, exist_ok=True)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    if framework in ("tf1", "keras"):
        import keras

        keras.utils.set_random_seed(seed)
        _seed_tf1_graphs()


def _seed_tf1_graphs() -> None:
    """TF1 graph mode reads its seed from the default graph, which the student creates (or
    resets) after this cell: seed every new default graph before each cell runs."""
    try:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        return

    def seed_graph(*_args) -> None:
        tf = sys.modules.get("tensorflow")
        if tf is None or tf.executing_eagerly():
            return
        graph = tf.compat.v1.get_default_graph()
        if graph.seed is None:
            graph.seed = _seed

    ip.events.register("pre_run_cell", seed_graph)


def shape(value) -> list | None:
    """A shape as a list with None for unknown dimensions (tensors, variables, arrays)."""
    s = getattr(value, "shape", None)
    if s is None:
        raise TypeError(f"{type(value).__name__} has no shape")
    if hasattr(s, "as_list"):
        try:
            return s.as_list()
        except ValueError:  # unknown rank
            return None
    return [None if d is None else int(d) for d in s]


def dtype(value) -> str:
    d = getattr(value, "dtype", None)
    name = getattr(getattr(d, "base_dtype", d), "name", None) or str(d)
    return name


def layer_specs(model) -> list[dict]:
    """Normalised Keras layer specs: class, output shape, parameter count, activation, units."""
    specs = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":  # functional models list it, Sequential ones do not
            continue
        config = layer.get_config()
        try:
            shape = [None if d is None else int(d) for d in layer.output.shape]
        except (AttributeError, ValueError, TypeError):
            shape = None
        activation = config.get("activation")
        specs.append(
            {
                "class": type(layer).__name__,
                "output_shape": shape,
                "params": int(layer.count_params()) if layer.built else None,
                "activation": activation if isinstance(activation, str) else None,
                "units": config.get("units") or config.get("filters"),
            }
        )
    return specs


def loss_name(model) -> str:
    """The loss given to compile() as Keras' snake_case name, however it was written: a name
    ('sparse_categorical_crossentropy' or 'SparseCategoricalCrossentropy'), a loss object
    (its .name) or a function (its __name__)."""
    import re

    loss = model.loss
    if not isinstance(loss, str):
        loss = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(loss)).lower()


def export(part: str, values: dict) -> None:
    """Evaluate each thunk and save what it returns; errors are recorded per name."""
    folder = _part_dir(part)
    errors: dict[str, dict] = {}
    saved: dict[str, str] = {}
    for name, thunk in values.items():
        try:
            saved[name] = _save(folder, name, thunk())
        except Exception as exc:  # the student's state can fail in any way; record and go on
            errors[name] = {"ename": type(exc).__name__, "evalue": str(exc)[:500]}
    (folder / "_export.json").write_text(json.dumps({"saved": saved, "errors": errors}))


def save_models(part: str, models: dict) -> None:
    """Save Keras models in the .keras format (the only one the grader will open)."""
    folder = _part_dir(part)
    errors, saved = {}, {}
    for name, thunk in models.items():
        try:
            thunk().save(folder / f"{name}.keras")
            saved[name] = "keras"
        except Exception as exc:
            errors[name] = {"ename": type(exc).__name__, "evalue": str(exc)[:500]}
    (folder / "_models.json").write_text(json.dumps({"saved": saved, "errors": errors}))


def _part_dir(part: str) -> Path:
    if _out is None:
        raise RuntimeError("the grader's seed cell did not run")
    folder = _out / part
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _save(folder: Path, name: str, value) -> str:
    import numpy as np

    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError("object arrays are not exported")
        np.save(folder / f"{name}.npy", arr, allow_pickle=False)
        return "npy"
    (folder / f"{name}.json").write_text(json.dumps(_plain(value)))
    return "json"


def _plain(value):
    """Python data only: what JSON can hold, with numpy scalars and sequences converted."""
    import numpy as np

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, range)):
        return [_plain(v) for v in value]
    if hasattr(value, "numpy"):
        return _plain(value.numpy())
    raise TypeError(f"cannot export a {type(value).__name__}")


def outdir() -> str:
    return os.fspath(_out) if _out else ""
