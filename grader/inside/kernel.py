"""Helpers that the grader's injected cells call inside the student's kernel.

This module runs next to untrusted code, so nothing it writes is believed: it only turns kernel
objects into plain data files (arrays as .npy, the rest as JSON, Keras models as .keras) that the
trusted process checks against data the kernel never saw. Imports stay light (no TensorFlow
unless the notebook uses it).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path

_out: Path | None = None
_seed = 0
_framework = "numpy"
_started = 0.0
_cell_seconds: dict[int, float] = {}  # hash of a cell's source -> how long it last ran


def start(seed: int, framework: str, outdir: str) -> None:
    """The seed cell: fix the random state before the student's first line."""
    global _out, _seed, _framework, _started
    _out, _seed, _framework = Path(outdir), seed, framework
    _started = time.monotonic()
    _out.mkdir(parents=True, exist_ok=True)
    _reseed(seed)
    if framework in ("tf1", "keras"):
        _seed_tf1_graphs()
    _time_cells()


def _reseed(seed: int) -> None:
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    if _framework in ("tf1", "keras"):
        import keras

        keras.utils.set_random_seed(seed)


def _time_cells() -> None:
    """Remember how long each cell ran, by its source, so that retraining (`retrain`) knows what
    a run costs before it starts one."""
    try:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        return
    began: dict[str, float] = {}

    def pre(info=None, *_args) -> None:
        began["t"] = time.monotonic()

    def post(result=None, *_args) -> None:
        source = getattr(getattr(result, "info", None), "raw_cell", None)
        if isinstance(source, str) and "t" in began:
            _cell_seconds[hash(source)] = time.monotonic() - began.pop("t")

    ip.events.register("pre_run_cell", pre)
    ip.events.register("post_run_cell", post)


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


# Activation names as the checks expect them, for the built-in functions that Keras and TensorFlow
# give other names (tf.nn.softmax is softmax_v2) or spell two ways.
_ACTIVATION_ALIASES = {"softmax_v2": "softmax", "log_softmax_v2": "log_softmax", "swish": "silu", "identity": "linear"}
_PROBE = [[-3.0, -1.5, -0.5, 0.0, 0.25, 1.0, 7.0], [0.5, -2.0, 3.0, -0.1, 0.0, 1.5, -1.0]]


def _reference_activations() -> dict:
    import numpy as np

    def softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
        "tanh": np.tanh,
        "softmax": softmax,
        "softplus": lambda x: np.log1p(np.exp(x)),
        "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    }


def activation_name(fn) -> str | None:
    """The activation a callable computes, named as Keras names it ('relu', 'softmax', ...),
    however it was written: a name, tf.nn.relu, keras.activations.softmax, a lambda, a ReLU()
    layer. Functions of Keras and TensorFlow are named by their own name; anything else by what it
    computes on fixed inputs; 'custom <name>' when it matches no known activation."""
    if fn is None:
        return "linear"
    if isinstance(fn, str):
        return _ACTIVATION_ALIASES.get(fn.lower(), fn.lower())
    name = getattr(fn, "__name__", None) or type(fn).__name__
    module = getattr(fn, "__module__", "") or ""
    # a function of Keras or TensorFlow is what its name says (a student's own `def relu` is not)
    builtin = module.split(".")[0] in ("keras", "tensorflow", "tf_keras") and hasattr(fn, "__name__")
    canonical = _ACTIVATION_ALIASES.get(name, name)
    if builtin and (canonical in _reference_activations() or ".activations" in module):
        return canonical
    try:  # by outcome: what it does to fixed numbers
        import numpy as np

        probe = np.asarray(_PROBE, dtype=np.float32)
        out = fn(probe)
        out = np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float64)
        for known, ref in _reference_activations().items():
            if out.shape == probe.shape and np.allclose(out, ref(probe.astype(np.float64)), atol=1e-5):
                return known
    except Exception:  # a function that does not take an array: said as custom below
        pass
    return canonical if builtin else f"custom {name}"


def _layer_activation(layer, config: dict) -> str | None:
    """A layer's activation: its `activation` (Dense, Conv2D, SimpleRNN, Activation), or what a
    ReLU() / Softmax() layer with default settings computes; None for layers without one."""
    cls = type(layer).__name__
    if cls == "ReLU":
        plain = config.get("max_value") is None and not config.get("negative_slope") and not config.get("threshold")
        return "relu" if plain else None
    if cls == "Softmax":
        return "softmax" if config.get("axis", -1) == -1 else None
    if "activation" not in config:
        return None
    return activation_name(getattr(layer, "activation", None) or config.get("activation"))


def layer_specs(model) -> list[dict]:
    """Normalised Keras layer specs: class, output shape, parameter count, activation, units.
    Activations are named however they were given (see `activation_name`)."""
    specs = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":  # functional models list it, Sequential ones do not
            continue
        config = layer.get_config()
        try:
            shape = [None if d is None else int(d) for d in layer.output.shape]
        except (AttributeError, ValueError, TypeError):
            shape = None
        specs.append(
            {
                "class": type(layer).__name__,
                "output_shape": shape,
                "params": int(layer.count_params()) if layer.built else None,
                "activation": _layer_activation(layer, config),
                "units": config.get("units") or config.get("filters"),
            }
        )
    return specs


# Loss names Keras accepts as short forms, as their full snake_case names.
_LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "bce": "binary_crossentropy",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "huber_loss": "huber",
    "log_cosh": "logcosh",
}


def loss_name(model) -> str:
    """The loss given to compile() as Keras' snake_case name, however it was written: a name
    ('sparse_categorical_crossentropy', 'SparseCategoricalCrossentropy', 'mse'), a loss object
    (its .name) or a function (its __name__); 'not compiled' when compile() never ran."""
    import re

    loss = getattr(model, "loss", None)
    if loss is None:
        return "not compiled"
    if not isinstance(loss, str):
        loss = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(loss)).lower()
    return _LOSS_ALIASES.get(name, name)


def export(part: str, values: dict) -> None:
    """Evaluate each thunk and save what it returns; errors are recorded per name."""
    folder = _part_dir(part)
    errors: dict[str, dict] = {}
    saved: dict[str, str] = {}
    for name, thunk in values.items():
        try:
            saved[name] = _save(folder, name, thunk())
        except MissingVariable as exc:  # the notebook lacks a variable: not the function failing
            errors[name] = {"ename": "MissingVariable", "evalue": str(exc.args[0])[:200] if exc.args else ""}
        except Exception as exc:  # the student's state can fail in any way; record and go on
            errors[name] = {"ename": type(exc).__name__, "evalue": str(exc)[:500]}
    (folder / "_export.json").write_text(json.dumps({"saved": saved, "errors": errors}))


def _builtin_activations(model) -> list:
    """Give each layer whose activation is a function Keras cannot name in a .keras file
    (tf.nn.softmax is 'softmax_v2' of module builtins, a lambda is code) the Keras built-in it
    computes (`activation_name`), so that the grader, which opens only Keras built-ins, can load
    the model. Returns what was replaced, to put back once the file is written."""
    import keras

    replaced: list = []
    try:
        stack = list(getattr(model, "layers", []))
    except Exception:  # not a model we can look into: saved as it is
        return replaced
    while stack:
        layer = stack.pop()
        try:
            stack.extend(getattr(layer, "layers", []) or [])
        except Exception:
            pass
        for owner in (layer, getattr(layer, "cell", None)):
            for attr in ("activation", "recurrent_activation"):
                try:
                    fn = getattr(owner, attr, None) if owner is not None else None
                    if fn is None or not callable(fn) or owner is layer and hasattr(layer, "cell"):
                        continue
                    if isinstance(keras.activations.serialize(fn), str):
                        continue  # Keras names it already
                    builtin = keras.activations.get(activation_name(fn))
                    setattr(owner, attr, builtin)
                except Exception:  # not a built-in: saved as it is (the grader will say it cannot load it)
                    continue
                replaced.append((owner, attr, fn))
    return replaced


def save_models(part: str, models: dict) -> None:
    """Save Keras models in the .keras format (the only one the grader will open), activations
    written as Keras built-ins (`_builtin_activations`)."""
    folder = _part_dir(part)
    saved, errors = _save_models(folder, models)
    (folder / "_models.json").write_text(json.dumps({"saved": saved, "errors": errors}))


def _save_models(folder: Path, models: dict) -> tuple[dict, dict]:
    errors, saved = {}, {}
    for name, thunk in models.items():
        replaced = []
        try:
            model = thunk()
            replaced = _builtin_activations(model)
            model.save(folder / f"{name}.keras")
            saved[name] = "keras"
        except Exception as exc:
            errors[name] = {"ename": type(exc).__name__, "evalue": str(exc)[:500]}
        finally:
            for owner, attr, fn in replaced:  # the student's model as it was
                setattr(owner, attr, fn)
    return saved, errors


def computes(model, inputs, labels) -> bool:
    """Whether a Keras model gives `labels` for `inputs` (one sigmoid column read at 0.5, or class
    scores read by argmax): a `Retrain(until=...)` test, never a verdict."""
    import numpy as np

    out = np.asarray(model.predict(np.asarray(inputs, dtype=np.float32), verbose=0))
    labels = np.asarray(labels).reshape(-1)
    guess = np.argmax(out, axis=-1) if out.ndim > 1 and out.shape[-1] > 1 else (out.reshape(-1) > 0.5).astype(int)
    return guess.shape == labels.shape and bool(np.all(guess == labels))


def probe(function, probes, framework: str = "tf") -> list:
    """`function` (the student's) called on each probe, a tuple of arguments given as nested lists
    of numbers (float32 tensors for "tf", arrays for "numpy"), each result as plain numbers: the
    export a `Formula` check reads (the function form of grader.checks.probe_export)."""
    import numpy as np

    if framework == "tf":
        import tensorflow as tf

        make = lambda a: tf.constant(a, "float32")  # noqa: E731
    else:
        make = lambda a: np.asarray(a, "float32")  # noqa: E731
    return [np.asarray(function(*[make(a) for a in args]), "float64").tolist() for args in probes]


def same_graph(*tensors) -> None:
    """Raise unless every tensor belongs to TF1's current default graph: a part whose own
    `tf.reset_default_graph()` cell did not run must not export an earlier part's tensors."""
    import tensorflow.compat.v1 as tf

    graph = tf.get_default_graph()
    for t in tensors:
        graph.as_graph_element(t)


class MissingVariable(NameError):
    """An export function's parameter names a variable the student's notebook never defined."""


# What an export function sees besides its arguments, taken when this module is imported (the seed
# cell, before the student's first line): the builtins as they were then, and the helpers below
# under the one name `kernel`. A student's variable named `len`, `kernel` or `np`, or a builtin
# the student rebinds later, cannot change what the function calls.
_BUILTINS = dict(vars(__import__("builtins")))
HELPERS = ("shape", "dtype", "layer_specs", "loss_name", "activation_name", "computes", "probe", "same_graph")


def function_export(source: str, name: str, variables: list, constants: dict):
    """A thunk for an export written as a function in the checks file (grader.assignment.exports):
    `source` is defined in a namespace of its own, and each call looks the student's `variables`
    up by name in the student's namespace (and nowhere else) and passes `constants` as given.
    A variable the notebook lacks raises MissingVariable, recorded apart from the function failing."""
    helpers = type(sys)("kernel", "the grader's helpers for export functions")
    for helper in HELPERS:
        setattr(helpers, helper, _HELPER_FUNCTIONS[helper])
    own = {"__builtins__": dict(_BUILTINS), "__name__": "dlgrade_export", "kernel": helpers}
    exec(compile(source, f"<export {name}>", "exec"), own)
    fn = own[name]
    variables, constants = list(variables), dict(constants)

    def thunk():
        namespace = _namespace()[0]
        args = {}
        for var in variables:
            if var not in namespace:
                raise MissingVariable(var)
            args[var] = namespace[var]
        return fn(**args, **constants)

    return thunk


def _namespace() -> tuple[dict, object]:
    """The student's namespace, and what turns a cell's source into Python (IPython's magics)."""
    try:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821
        return ip.user_ns, ip.transform_cell
    except NameError:  # a plain Python process: the script's own namespace
        return sys.modules["__main__"].__dict__, str


def _run_source(source: str) -> None:
    """Run a cell's source in the student's namespace, as the kernel would, with its printing
    thrown away."""
    namespace, transform = _namespace()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        exec(compile(transform(source), "<retrain>", "exec"), namespace)


def retrain(
    part: str,
    seeds: list,
    cells: list,
    models: dict,
    until=None,
    budget_s: float = 60.0,
    notebook_budget_s: float | None = None,
) -> None:
    """Run a part's cells again from each seed (spec.Retrain), saving each run's models as
    `<name>__seed<seed>`, until `until()` is true. A run starts only if the longest run so far
    (the first: the cells' own time) fits in what is left of `budget_s` and of the notebook's
    `notebook_budget_s` since the seed cell, so that retraining never costs a time limit."""
    folder = _part_dir(f"{part}__retrain")
    runs: list[dict] = []
    state = {"runs": runs, "stopped": ""}
    saved: dict = {}
    errors: dict = {}

    def done() -> bool:
        try:
            return until is not None and bool(until())
        except Exception:  # a model the predicate cannot use is not done
            return False

    known = [_cell_seconds.get(hash(src)) for src in cells]
    longest = sum(known) if all(k is not None for k in known) else None
    spent = 0.0
    if done():
        state["stopped"] = "passed"
    elif longest is None:
        state["stopped"] = "time"
    for seed in seeds if not state["stopped"] else []:
        left = budget_s - spent
        if notebook_budget_s is not None:
            left = min(left, notebook_budget_s - (time.monotonic() - _started))
        if longest > left:
            state["stopped"] = "time"
            break
        _reseed(int(seed))
        began = time.monotonic()
        run: dict = {"seed": int(seed), "error": ""}
        try:
            for src in cells:
                _run_source(src)
        except (Exception, SystemExit) as exc:  # the student's code failing again is this run's result
            run["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        run["seconds"] = round(time.monotonic() - began, 3)
        spent += run["seconds"]
        longest = max(longest, run["seconds"])
        if not run["error"]:
            ok, failed = _save_models(folder, {f"{name}__seed{seed}": thunk for name, thunk in models.items()})
            saved.update(ok)
            errors.update(failed)
        runs.append(run)
        if not run["error"] and done():
            state["stopped"] = "passed"
            break
    (folder / "_models.json").write_text(json.dumps({"saved": saved, "errors": errors}))
    export(f"{part}__retrain", {"runs": lambda: state})


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


_HELPER_FUNCTIONS = {helper: globals()[helper] for helper in HELPERS}  # as imported, before any student code
