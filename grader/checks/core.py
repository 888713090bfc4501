"""Check functions: small callables over exported data that return a CheckResult.

A check names the exports it `needs`; when one is missing the scorer explains why (not
implemented, your code raised, the sandbox stopped it) before the check runs, so checks only
handle present data. Calibrated checks measure a metric and compare it with the threshold that
`dlgrade calibrate` derived from the reference solution.

Checks run in the trusted process on values a student exported, of any type and size the
artifact reader let through (see `grader.intake.artifacts`). So each check looks at a value's type and
shape before it works on it (`as_shape`, `_numbers`, the forward passes' shape checks), and a
value of the wrong kind is the student's failed check, never the grader's error. What a result
shows of a value is bounded too (`_fmt`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.i18n import LANGS, t
from grader.results import CheckResult, Status


@dataclass
class CheckContext:
    part_id: str
    values: dict[str, Any]
    thresholds: dict[str, dict]
    lang: str = "en"
    measured: dict[str, float] = field(default_factory=dict)
    hidden: Any = None  # grader.pipeline.hidden.HiddenData: labels and inputs students never saw
    answers: dict[str, str] = field(default_factory=dict)  # grade id -> markdown answer
    predictions: dict[str, Any] = field(default_factory=dict)  # from the evaluate phase
    calibrating: bool = False
    retrained: dict[str, Any] = field(default_factory=dict)  # the part's runs from other seeds (scoring.retrained)
    cells: dict[str, dict] = field(default_factory=dict)  # the run record's entry per grade id (checks.nbgrader)


MAX_SHOWN = 300  # characters of a student's value that a message may show


def _fmt(value: Any) -> Any:
    """A value as a result shows it: small values as they are, anything else summarised."""
    if isinstance(value, bool) or value is None or isinstance(value, int) and abs(value) < 10**15:
        return value
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, np.ndarray):
        if value.size <= 20 and value.dtype.kind in "biuf":
            return np.round(value, 4).tolist()
        return f"array{list(value.shape)}"
    if isinstance(value, str):
        return value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "..."
    if isinstance(value, (list, dict)):
        from grader.intake.artifacts import json_depth

        if len(value) <= 20 and json_depth(value) <= 3:
            shown = repr(value)  # bounded: at most 20 items of depth 3 of what is itself bounded
            if len(shown) <= MAX_SHOWN:
                return value
        return f"{type(value).__name__} of {len(value)} items"
    return str(value)[:MAX_SHOWN]


def as_shape(value: Any) -> list | None:
    """A tensor shape as exported (`_dlgrade_kernel.shape`): a list of dimension sizes, None
    for unknown ones; None for an unknown rank. Raises ValueError for anything that is not a
    shape (a string, a dict, nested lists, bools, fractions, NaN, sizes no tensor has)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu" and value.size <= 32:
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or len(value) > 32:
        raise ValueError("not a shape")
    dims = []
    for d in value:
        if d is None:
            dims.append(None)
        elif isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and 0 <= d < 2**53:
            dims.append(int(d))
        elif isinstance(d, float) and d.is_integer() and 0 <= d < 2**53:
            dims.append(int(d))
        else:
            raise ValueError("not a shape")
    return dims


class NotNumbers(ValueError):
    """An exported value is not an array of plain numbers (of the size a check can take)."""


def _numbers(value: Any, name: str, max_size: int | None = None) -> np.ndarray:
    """`value` as a float64 array, checked before it is converted: numeric dtype (no strings,
    complex, objects), at most `max_size` elements; JSON lists must be rectangular numbers."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise NotNumbers(f"{name} is an array of {value.dtype}, not numbers")
        if max_size is not None and value.size > max_size:
            raise NotNumbers(f"{name} has {value.size} numbers; at most {max_size} are expected")
        return value.astype(np.float64)
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise NotNumbers(f"{name} is a {type(value).__name__}, not numbers")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise NotNumbers(f"{name} is not a rectangular array of numbers") from None
    if max_size is not None and array.size > max_size:
        raise NotNumbers(f"{name} has {array.size} numbers; at most {max_size} are expected")
    return array


@dataclass
class Check:
    """A graded check. Subclasses take a `hint`, shown when the check fails: a string, or
    {"en": ..., "ja": ...} to give it per language (both are kept in the result)."""

    name: str
    points: float
    hidden: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        return ()

    def __call__(self, ctx: CheckContext) -> CheckResult:
        raise NotImplementedError

    def _result(self, ctx, ok: bool, key: str, expected=None, got=None, hint: str | dict = "", **args) -> CheckResult:
        args = {"name": self.name, "expected": _fmt(expected), "got": _fmt(got), **args}
        hints = dict(hint) if isinstance(hint, dict) and not ok else {}  # kept to re-render in another language
        if isinstance(hint, dict):  # {"en": ..., "ja": ...}: the report's language, else English
            hint = hint.get(ctx.lang) or hint.get("en", "")
        return CheckResult(
            name=self.name,
            status=Status.PASS if ok else Status.FAIL,
            score=self.points if ok else 0.0,
            max_score=self.points,
            message=t(key, ctx.lang, **args),
            expected=None if self.hidden else _fmt(expected),
            got=_fmt(got),
            hint=hint if not ok else "",
            hints=hints,
            hidden=self.hidden,
            message_key=key,
            message_args={k: v for k, v in args.items() if isinstance(v, (str, int, float, list, type(None)))},
        )


@dataclass
class Shape(Check):
    """A tensor's static shape, `None` for the batch dimension."""

    expected: list = field(default_factory=list)
    export: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export or f"{self.name}_shape",)

    def __call__(self, ctx):
        raw = ctx.values[self.needs[0]]
        try:
            got = as_shape(raw)
        except ValueError:
            return self._result(ctx, False, "shape.wrong", self.expected, _fmt(raw), self.hint)
        ok = got == list(self.expected)
        return self._result(ctx, ok, "shape.ok" if ok else "shape.wrong", self.expected, got, self.hint)


@dataclass
class Equals(Check):
    """An exact value (lists, numbers, strings), e.g. the 1 -> 10 -> 100 of Variable.assign."""

    expected: Any = None
    export: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export or self.name,)

    def __call__(self, ctx):
        got = ctx.values[self.needs[0]]
        if isinstance(got, np.ndarray):
            # an array far larger than what is expected is not it: do not make it a Python list
            limit = 10 * max(1, np.size(self.expected)) if not isinstance(self.expected, str) else 10
            got = got.tolist() if got.size <= limit else _fmt(got)
        ok = got == self.expected
        return self._result(ctx, ok, "value.ok" if ok else "value.wrong", self.expected, got, self.hint)


@dataclass
class Close(Check):
    """Numbers near expected values (np.allclose with rtol / atol)."""

    expected: Any = None
    rtol: float = 0.0
    atol: float = 0.1
    export: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export or self.name,)

    def __call__(self, ctx):
        expected = np.asarray(self.expected, dtype=float)
        try:
            got = _numbers(ctx.values[self.needs[0]], self.needs[0], max_size=expected.size)
            if _non_finite(got):
                return self._result(ctx, False, "diverged", expected, _non_finite(got), self.hint)
            ok = bool(np.allclose(got.reshape(expected.shape), expected, rtol=self.rtol, atol=self.atol))
        except NotNumbers:
            got, ok = ctx.values[self.needs[0]], False
        except ValueError:
            ok = False
        tol = self.atol if not self.rtol else f"rtol {self.rtol}, atol {self.atol}"
        return self._result(ctx, ok, "value.ok" if ok else "close.wrong", expected, got, self.hint, tol=tol)


@dataclass
class Calibrated(Check):
    """A metric computed by the grader from exported data, judged against its calibrated threshold.

    `compute(values, ctx) -> float` runs in the trusted process; `direction` says whether bigger
    ("max", accuracy) or smaller ("min", loss) is better."""

    metric: str = ""
    compute: Callable[[dict, CheckContext], float] | None = None
    uses: tuple[str, ...] = ()
    direction: str = "max"
    ok_key: str = "metric.ok"
    bad_key: str = "metric.bad"
    hint: str | dict = ""

    @property
    def needs(self):
        return tuple(self.uses)

    def __call__(self, ctx):
        try:
            value = float(self.compute(ctx.values, ctx))
        except Diverged as exc:
            return self._result(ctx, False, "diverged", None, exc.got, self.hint)
        except PredictionError as exc:
            return self._result(ctx, False, "predict.failed", None, None, self.hint, reason=str(exc))
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as exc:
            # The student's data, when one of the values is not plain numbers; else the grader's.
            odd = next((n for n in self.uses if n in ctx.values and not _plain_numbers(ctx.values[n])), None)
            if odd is None:
                raise
            reason = f"{odd} is not an array of numbers ({type(exc).__name__})"
            return self._result(ctx, False, "predict.failed", None, None, self.hint, reason=reason)
        if not math.isfinite(value):
            return self._result(ctx, False, "diverged", None, str(value), self.hint)
        ctx.measured[self.metric] = value
        entry = ctx.thresholds.get(self.metric)
        if ctx.calibrating:
            return self._result(ctx, True, "calibrating", None, value)
        if entry is None:
            res = self._result(ctx, False, "not_calibrated", None, value)
            res.status = Status.ERROR
            return res
        threshold = entry["threshold"]
        ok = value >= threshold if self.direction == "max" else value <= threshold
        shown = f">= {threshold:.4g}" if self.direction == "max" else f"<= {threshold:.4g}"
        return self._result(
            ctx,
            ok,
            self.ok_key if ok else self.bad_key,
            shown,
            value,
            self.hint,
            threshold=shown,
            mean=round(entry.get("mean", threshold), 4),
        )


class PredictionError(ValueError):
    """The grader cannot compute predictions from the student's exported model."""


class Diverged(PredictionError):
    """A model's outputs (or a loss) hold NaN or inf: training diverged. Said as such, not as a
    low score."""

    def __init__(self, got: str = "nan"):
        super().__init__(f"the values hold {got}: training diverged")
        self.got = got


def _non_finite(values: np.ndarray) -> str | None:
    """'nan' or 'inf' when a float array holds one (checked before it is read as a score)."""
    if values.dtype.kind != "f" or np.all(np.isfinite(values)):
        return None
    return "nan" if np.any(np.isnan(values)) else "inf"


def _plain_numbers(value: Any) -> bool:
    if isinstance(value, np.ndarray):  # by dtype: no copy of a large array just to ask
        return value.dtype.kind in "biuf"
    try:
        _numbers(value, "value")
    except NotNumbers:
        return False
    return True


MAX_CURVE = 10_000_000  # numbers in one loss curve (a step-by-step curve of a long run is ~1e5)


@dataclass
class Decreasing(Check):
    """A loss curve that ends lower than it starts and stays finite."""

    export: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export or self.name,)

    def __call__(self, ctx):
        try:
            curve = _numbers(ctx.values[self.needs[0]], self.needs[0], max_size=MAX_CURVE).ravel()
        except NotNumbers as exc:
            return self._result(ctx, False, "loss.not_decreasing", None, str(exc), self.hint, first="-", last="-")
        if curve.size < 2:
            return self._result(ctx, False, "loss.not_decreasing", None, _fmt(curve), self.hint, first="-", last="-")
        if not np.all(np.isfinite(curve)):
            step = int(np.argmin(np.isfinite(curve)))
            return self._result(ctx, False, "loss.diverged", None, _non_finite(curve), self.hint, step=step + 1)
        first, last = float(curve[0]), float(curve[-1])
        ok = last < first
        return self._result(
            ctx,
            ok,
            "pass" if ok else "loss.not_decreasing",
            None,
            None,
            self.hint,
            first=round(first, 4),
            last=round(last, 4),
        )


MAX_LAYERS = 10_000  # layer specs folded before they are compared (a course model has < 20)


@dataclass
class LayerSpecs(Check):
    """A Keras model's layers against a spec: the number of layers first, then per layer the
    keys given in `expected` (class, output_shape, params, activation, units). Activations are
    compared as the model computes them (`fold_keras_layers`), so every way of writing one
    (a name, a function, an `Activation` or `ReLU()` layer after a linear layer) is the same."""

    expected: list = field(default_factory=list)
    export: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export or self.name,)

    def __call__(self, ctx):
        got = ctx.values[self.needs[0]]
        if isinstance(got, list) and len(got) <= MAX_LAYERS:
            got = fold_keras_layers(got)  # Dense(12) + Activation('relu') is Dense(12, 'relu')
        if not isinstance(got, list) or len(got) != len(self.expected):
            n = len(got) if isinstance(got, list) else None
            return self._result(
                ctx,
                False,
                "value.wrong",
                f"{len(self.expected)} layers",
                f"{n} layers",
                self.hint,
                name=f"{self.name}: number of layers",
            )
        for index, (want, have) in enumerate(zip(self.expected, got)):
            have = have if isinstance(have, dict) else {}
            for key, value in want.items():
                if have.get(key) != value:
                    return self._result(
                        ctx,
                        False,
                        "value.wrong",
                        value,
                        _fmt(have.get(key)),
                        self.hint,
                        name=f"{self.name}: layer {index + 1} {key}",
                    )
        return self._result(ctx, True, "value.ok", None, None)


@dataclass
class Custom(Check):
    """Anything else: `fn(ctx) -> CheckResult | list[CheckResult]` (quiz rubrics, specs)."""

    fn: Callable[[CheckContext], Any] | None = None
    uses: tuple[str, ...] = ()

    @property
    def needs(self):
        return tuple(self.uses)

    def __call__(self, ctx):
        return self.fn(ctx)


def softmax_accuracy(weights: str = "W", bias: str = "b", dataset: str = "mnist"):
    """compute() for a linear softmax model y = softmax(xW + b) on a holdout set."""

    def compute(values: dict, ctx: CheckContext) -> float:
        x, y = ctx.hidden.flat_mnist() if dataset == "mnist" else ctx.hidden.holdout(dataset)
        classes = int(np.max(y)) + 1
        # Shapes before any work: the product below is as large as W is wide.
        W_shape, b_shape = _array_shape(values[weights], weights), _array_shape(values[bias], bias)
        if W_shape != (x.shape[1], classes):
            raise PredictionError(f"{weights} has shape {list(W_shape)}; it must be [{x.shape[1]}, {classes}]")
        if math.prod(b_shape) not in (1, classes):  # a single shared bias broadcasts: still a model
            raise PredictionError(f"{bias} has shape {list(b_shape)}; it must be [{classes}]")
        W, b = _weights(values[weights], weights), _weights(values[bias], bias)
        logits = x @ W + b.reshape(1, -1)
        return float(np.mean(np.argmax(logits, axis=1) == y))

    return compute


def _array_shape(value: Any, name: str) -> tuple:
    """The shape of an exported array (or rectangular JSON list of numbers), without converting
    an ndarray; PredictionError for anything else."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise PredictionError(f"{name} is an array of {value.dtype}, not numbers")
        return value.shape
    try:
        return _numbers(value, name).shape
    except NotNumbers as exc:
        raise PredictionError(str(exc)) from None


def _weights(value: Any, name: str) -> np.ndarray:
    try:
        return _numbers(value, name)
    except NotNumbers as exc:
        raise PredictionError(str(exc)) from None


def prediction_accuracy(evaluation: str, dataset: str):
    """compute() for the share of hidden examples a model predicts right, from the evaluate
    phase's predictions: class scores (argmax), one sigmoid column (> 0.5), or per-step bits."""

    def compute(values: dict, ctx: CheckContext) -> float:
        predictions = ctx.predictions.get(evaluation)
        if predictions is None:
            raise PredictionError("no predictions were made")
        if isinstance(predictions, str):
            raise PredictionError(predictions)
        labels = np.asarray(ctx.hidden.labels(dataset))
        p = np.asarray(predictions)
        if p.dtype.kind not in "biuf":
            raise PredictionError(f"predictions of dtype {p.dtype} are not numbers")
        if _non_finite(p):
            raise Diverged(_non_finite(p))
        if p.ndim == 0 or p.shape[0] != labels.shape[0]:
            raise PredictionError(f"{p.shape[0]} predictions for {labels.shape[0]} examples")
        if p.ndim == labels.ndim + 1 and p.shape[-1] > 1:
            guess = np.argmax(p, axis=-1)
        else:
            try:
                guess = (p.reshape(labels.shape) > 0.5).astype(labels.dtype)
            except ValueError:
                raise PredictionError(
                    f"predictions of shape {list(p.shape)} do not match labels {list(labels.shape)}"
                ) from None
        if guess.shape != labels.shape:
            raise PredictionError(f"predictions of shape {list(p.shape)} do not match labels {list(labels.shape)}")
        return float(np.mean(guess == labels))

    return compute


@dataclass
class QuizAnswer(Check):
    """A quiz question answered in a markdown cell of the notebook (`cell`), scored by a rubric
    or a multiple-choice key from a rubrics file (`grader.checks.quiz.load_rubrics`). Free text gives
    one CheckResult per concept; uncertain ones are needs-review."""

    cell: str = ""
    item: Any = None  # grader.checks.quiz.Rubric | grader.checks.quiz.Choice

    def __call__(self, ctx):
        from grader.checks.quiz import score_answer

        results = score_answer(ctx.answers.get(self.cell, ""), self.item, lang=ctx.lang)
        for r in results:
            r.hidden = r.hidden or self.hidden
        return results


# --- multi-layer perceptrons as W1, b1, ..., Wn, bn (TF1 variables) ------------------------------


def _dense_chain_problem(shapes: dict[str, Any], layers: int, inputs: int, outputs: int) -> tuple | None:
    """The first tensor of W1, b1, ..., Wn, bn whose shape breaks the chain `inputs` -> hidden
    sizes -> `outputs`, as (name, expected, got); None when every shape fits. Hidden sizes are
    the student's: W_i's columns, shown as "[784, h1]" (a string) in what is expected."""
    width: Any = inputs
    for i in range(1, layers + 1):
        w = _shape_or_none(shapes.get(f"W{i}"))
        out: Any = outputs if i == layers else f"h{i}"
        if w is None or len(w) != 2 or w[0] != width or (i == layers and w[1] != outputs) or w[1] is None:
            return f"W{i}", [width, out] if i == layers else f"[{width}, {out}]", w
        b = _shape_or_none(shapes.get(f"b{i}"))
        if b != [w[1]]:
            return f"b{i}", [w[1]], b
        width = w[1]
    return None


def _shape_or_none(value: Any) -> list | None:
    try:
        return as_shape(value)
    except ValueError:
        return None


@dataclass
class DenseChainShapes(Check):
    """W1, b1, ..., Wn, bn (exported as `W1_shape`, ...) chain `inputs` -> h1 -> ... -> `outputs`:
    each layer takes what the one before gives, with hidden sizes of the student's choice."""

    layers: int = 3
    inputs: int = 784
    outputs: int = 10
    hint: str | dict = ""

    @property
    def needs(self):
        return tuple(f"{p}{i}_shape" for i in range(1, self.layers + 1) for p in ("W", "b"))

    def __call__(self, ctx):
        shapes = {name.removesuffix("_shape"): ctx.values[name] for name in self.needs}
        problem = _dense_chain_problem(shapes, self.layers, self.inputs, self.outputs)
        if problem is not None:
            name, expected, got = problem
            return self._result(ctx, False, "shape.wrong", expected, got, self.hint, name=name)
        widths = [self.inputs] + [int(shapes[f"W{i}"][1]) for i in range(1, self.layers + 1)]
        return self._result(ctx, True, "value.ok", None, None, name=f"{self.name} ({' -> '.join(map(str, widths))})")


@dataclass
class HiddenSizes(Check):
    """The hidden sizes (columns of W1 .. W(n-1), exported as `W<i>_shape`) lie in [low, high]."""

    layers: int = 3
    low: int = 1
    high: int = 1000
    hint: str | dict = ""

    @property
    def needs(self):
        return tuple(f"W{i}_shape" for i in range(1, self.layers))

    def __call__(self, ctx):
        sizes = []
        for name in self.needs:
            shape = _shape_or_none(ctx.values[name])
            sizes.append(shape[1] if shape is not None and len(shape) == 2 else None)
        ok = all(s is not None and self.low <= s <= self.high for s in sizes)
        expected = f"each in {self.low}..{self.high}"
        return self._result(ctx, ok, "value.ok" if ok else "value.wrong", expected, sizes, self.hint)


MAX_HIDDEN_UNITS = 4096  # widest hidden layer the trusted forward pass takes when a check sets none


def dense_chain_accuracy(
    layers: int = 3,
    dataset: str = "mnist",
    activation: str = "sigmoid",
    outputs: int = 10,
    hidden: tuple[int, int] | None = None,
):
    """compute() for an MLP from exported W1, b1, ..., Wn, bn on a holdout set: the trusted forward
    pass `grader.inside.evaluators.dense_chain` with `activation` between layers and no dropout (as at
    test time, keep_prob 1.0). Shapes are checked first, before any conversion; hidden sizes
    outside `hidden` (low, high; default 1..MAX_HIDDEN_UNITS) are refused, which also bounds the
    work done here."""
    from grader.inside.evaluators import dense_chain

    low, high = hidden if hidden is not None else (1, MAX_HIDDEN_UNITS)

    def compute(values: dict, ctx: CheckContext) -> float:
        x, y = ctx.hidden.flat_mnist() if dataset == "mnist" else ctx.hidden.holdout(dataset)
        names = [f"{p}{i}" for i in range(1, layers + 1) for p in ("W", "b")]
        shapes = {n: list(_array_shape(values[n], n)) for n in names}
        problem = _dense_chain_problem(shapes, layers, x.shape[1], outputs)
        if problem is not None:
            name, expected, got = problem
            raise PredictionError(f"{name} has shape {got}; it must be {expected}")
        sizes = [shapes[f"W{i}"][1] for i in range(1, layers)]
        if not all(low <= s <= high for s in sizes):
            raise PredictionError(f"hidden sizes {sizes} are outside {low}..{high}")
        arrays = {n: _weights(values[n], n) for n in names}
        logits = dense_chain(arrays, x, activation)
        return float(np.mean(np.argmax(logits, axis=1) == y))

    return compute


# --- a network's own output against a trusted forward pass over its exported weights ------------


def mnist_test_inputs(n: int = 100) -> Callable[[], np.ndarray]:
    """The first n public MNIST test images as the course feeds them (float32 pixel * 1/255, 784
    wide, like `input_data`'s `mnist.test.images[:n]`): known inputs for ForwardMatches."""

    def make() -> np.ndarray:
        from grader.datasets.cache import load_public_mnist

        x = load_public_mnist()[1][0][:n]
        return np.multiply(x.reshape(len(x), -1).astype(np.float32), 1.0 / 255.0)

    return make


@dataclass
class ForwardMatches(Check):
    """The student's network output on known inputs (export `export`, e.g. y_conv on
    mnist.test.images[:100] with keep_prob 1.0) equals a trusted forward pass `function(arrays,
    x)` over the exported weights `arrays`: the graph computes the architecture the course asks for
    (activations, pooling, dropout off at test time), so the holdout accuracy measured with that
    pass is the student's."""

    export: str = ""
    arrays: tuple[str, ...] = ()
    function: Callable[[dict, np.ndarray], np.ndarray] | None = None
    inputs: Callable[[], np.ndarray] | None = None
    atol: float = 1e-3
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export, *self.arrays)

    def __call__(self, ctx):
        try:
            # the function checks the weights' shapes (and the work they imply) before it works
            arrays = {k: ctx.values[k] for k in self.arrays}
            expected = np.asarray(self.function(arrays, self.inputs()), dtype=np.float64)
        except ValueError as exc:  # the weights do not fit the architecture
            return self._result(ctx, False, "predict.failed", None, None, self.hint, reason=str(exc)[:500])
        try:
            got = _numbers(ctx.values[self.export], self.export, max_size=expected.size)
        except NotNumbers as exc:
            return self._result(ctx, False, "predict.failed", None, None, self.hint, reason=str(exc))
        if got.shape != expected.shape:
            return self._result(ctx, False, "shape.wrong", list(expected.shape), list(got.shape), self.hint)
        if not np.all(np.isfinite(got)):
            return self._result(ctx, False, "diverged", None, _non_finite(got), self.hint)
        diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
        ok = diff <= self.atol
        return self._result(
            ctx,
            ok,
            "value.ok" if ok else "close.wrong",
            "the course network's output",
            f"{diff:.3g} apart",
            self.hint,
            tol=self.atol,
        )


MAX_COMPARED = 1_000_000  # numbers per output that Differs compares (the course's: 100 x 10)


@dataclass
class Differs(Check):
    """Two exported outputs differ somewhere by more than `atol`, e.g. y_conv with keep_prob 0.5
    and with keep_prob 1.0 on the same images: dropout is applied and follows keep_prob."""

    export: str = ""
    other: str = ""
    atol: float = 1e-3
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export, self.other)

    def __call__(self, ctx):
        try:
            a = _numbers(ctx.values[self.export], self.export, max_size=MAX_COMPARED)
            b = _numbers(ctx.values[self.other], self.other, max_size=MAX_COMPARED)
        except NotNumbers as exc:
            return self._result(ctx, False, "value.wrong", f"more than {self.atol} apart", str(exc), self.hint)
        diff = float(np.max(np.abs(a - b))) if a.shape == b.shape and a.size else None
        ok = diff is not None and math.isfinite(diff) and diff > self.atol
        got = f"shapes {list(a.shape)} and {list(b.shape)}" if diff is None else f"{diff:.3g} apart"
        key = "value.ok" if ok else "value.wrong"
        return self._result(ctx, ok, key, f"more than {self.atol} apart", got, self.hint)


# --- a function the student wrote, on fixed inputs, against the trusted formula -------------------


def probe_export(function: str, probes: list, framework: str = "tf") -> str:
    """The export expression for `Formula`: calls the student's `function` on each probe (a tuple
    of arguments, nested lists of numbers, passed as float32 tensors for "tf", arrays for "numpy")
    and returns each result as plain numbers. The probes are built here from literals, so the
    export needs no data and no name of the student's but the function's."""
    make = (
        "__import__('tensorflow').constant(a, 'float32')"
        if framework == "tf"
        else "__import__('numpy').asarray(a, 'float32')"
    )
    return (
        f"[__import__('numpy').asarray({function}(*[{make} for a in args]), 'float64').tolist() "
        f"for args in {[tuple(p) for p in probes]!r}]"
    )


MAX_PROBES = 100  # fixed inputs per Formula check


def _fit_factor(got: np.ndarray, want: np.ndarray, low: float, high: float) -> float:
    """The constant c that brings c * want nearest to got (least squares); 1 when no factor is
    allowed (low == high == 1)."""
    if low == high:
        return float(low)
    norm = float(want @ want)
    return float(got @ want) / norm if norm > 0 else 0.0


def _matches(got: np.ndarray, want: np.ndarray, factor: float, rtol: float, atol: float) -> bool:
    scaled = factor * want
    return bool(np.max(np.abs(got - scaled)) <= atol * max(abs(factor), 1.0) + rtol * np.max(np.abs(scaled)))


@dataclass
class Formula(Check):
    """A function the student wrote (a loss), called in their kernel on fixed inputs by the export
    `export` (made with `probe_export(function, probes)`), against the trusted `formula` on the
    same inputs: whatever a training curve did, the code computes what the exercise asks.

    `scale` (low, high) is the positive constant factor a correct answer may differ by (a mean or
    a sum over the batch, 0.5 * (a + b)); (1, 1) allows none. `wrong` names known wrong formulas,
    {name: (function, {"en": ..., "ja": ...})}, so that a result which matches one (up to the same
    factor) is told what it computes (a term left out, swapped labels). `labels` name the
    function's arguments when a message shows a fixed input."""

    export: str = ""
    formula: Callable[..., float] | None = None
    probes: list = field(default_factory=list)
    labels: tuple[str, ...] = ()
    scale: tuple[float, float] = (1.0, 1.0)
    rtol: float = 1e-3
    atol: float = 1e-5
    wrong: dict = field(default_factory=dict)
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export,)

    def _case(self, index: int) -> str:
        args = self.probes[index]
        names = list(self.labels) or [f"x{i + 1}" for i in range(len(args))]
        shown = []
        for n, a in zip(names, args):
            flat = np.round(np.asarray(a, dtype=float).ravel(), 3).tolist()
            more = f", ... ({len(flat)} values)" if len(flat) > 8 else ""
            shown.append(f"{n}=[{', '.join(map(str, flat[:8]))}{more}]")
        return ", ".join(shown)

    def __call__(self, ctx):
        n = len(self.probes)
        want = np.array([float(self.formula(*p)) for p in self.probes], dtype=np.float64)
        raw = ctx.values[self.export]
        if isinstance(raw, list) and len(raw) == n:  # one result per call: each must be one number
            for item in raw:
                try:
                    size = _numbers(item, "a result", max_size=MAX_PROBES).size
                except NotNumbers as exc:
                    return self._result(ctx, False, "formula.not_numbers", None, None, self.hint, reason=str(exc))
                if size != 1:
                    return self._result(ctx, False, "formula.not_scalar", None, None, self.hint, size=size)
        try:
            got = _numbers(raw, self.export, max_size=n * MAX_PROBES).ravel()
        except NotNumbers as exc:
            return self._result(ctx, False, "formula.not_numbers", None, None, self.hint, reason=str(exc))
        if got.size != n:
            if got.size and got.size % n == 0:
                return self._result(ctx, False, "formula.not_scalar", None, None, self.hint, size=got.size // n)
            reason = f"{got.size} results for {n} fixed inputs"
            return self._result(ctx, False, "formula.not_numbers", None, None, self.hint, reason=reason)
        bad = np.flatnonzero(~np.isfinite(got))
        if bad.size:
            i = int(bad[0])
            return self._result(
                ctx, False, "formula.non_finite", want, got, self.hint, case=self._case(i), value=str(got[i])
            )
        low, high = self.scale
        factor = _fit_factor(got, want, low, high)
        if _matches(got, want, factor, self.rtol, self.atol):
            if low <= factor * (1 + self.rtol) and factor <= high * (1 + self.rtol):
                return self._result(ctx, True, "formula.ok", None, None, n=n)
            key = "formula.sign" if factor < 0 else "formula.scale"
            return self._result(ctx, False, key, want, got, self.hint, factor=f"{factor:.4g}", low=low, high=high)
        for what, (function, label) in self.wrong.items():
            other = np.array([float(function(*p)) for p in self.probes], dtype=np.float64)
            f = _fit_factor(got, other, low, high)
            if f > 0 and _matches(got, other, f, self.rtol, self.atol):
                return self._result(
                    ctx,
                    False,
                    "formula.known",
                    want,
                    got,
                    self.hint,
                    wrong=what,
                    what_en=label.get("en", what),
                    what_ja=label.get("ja") or label.get("en", what),
                )
        # the input where the result is farthest from the formula (times the nearest allowed factor)
        nearest = min(max(factor, low), high)
        i = int(np.argmax(np.abs(got - nearest * want)))
        return self._result(
            ctx,
            False,
            "formula.wrong" if low == high else "formula.wrong_multiple",
            want,
            got,
            self.hint,
            case=self._case(i),
            want=round(float(want[i]), 4),
            value=round(float(got[i]), 4),
        )


# --- Keras models: layer specs however activations are written, truth tables ---------------------


# Layers that only apply an activation (the kernel names it: ReLU() is 'relu'), and the layers
# whose output they may follow as if given as `activation=` (not recurrent ones: their activation
# acts inside the recurrence).
_ACTIVATION_LAYERS = ("Activation", "ReLU", "Softmax")
_FOLDS_ONTO = ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose")


def fold_keras_layers(specs: list) -> list:
    """Layer specs (from `_dlgrade_kernel.layer_specs`) as the model computes: an activation
    layer (`Activation`, `ReLU()`, `Softmax()`) right after a Dense or convolution layer without
    activation is folded into it, so `Dense(12)` + `Activation('relu')` (the course's style),
    `Dense(12)` + `ReLU()` and `Dense(12, activation=tf.nn.relu)` give the same spec;
    `InputLayer` (listed by functional models) is dropped."""
    out: list = []
    for spec in specs:
        if not isinstance(spec, dict):
            return list(specs)  # not layer specs: let the comparison report it as it is
        if spec.get("class") == "InputLayer":
            continue
        previous = out[-1] if out else None
        if (
            spec.get("class") in _ACTIVATION_LAYERS
            and isinstance(spec.get("activation"), str)
            and previous is not None
            and previous.get("class") in _FOLDS_ONTO
            and previous.get("activation") in (None, "linear")
        ):
            out[-1] = {**previous, "activation": spec.get("activation"), "output_shape": spec.get("output_shape")}
            continue
        out.append(dict(spec))
    return out


@dataclass
class KerasLayers(LayerSpecs):
    """LayerSpecs (kept as a name for checks files): an activation written as its own layer or
    as Dense's argument passes alike."""


def _predicted_labels(predictions: Any, labels: np.ndarray) -> np.ndarray:
    """Class guesses from a model's output, read as `prediction_accuracy` reads it: class
    scores (argmax) or one sigmoid column (> 0.5)."""
    p = np.asarray(predictions)
    if p.dtype.kind not in "biuf":
        raise PredictionError(f"predictions of dtype {p.dtype} are not numbers")
    if _non_finite(p):
        raise Diverged(_non_finite(p))
    if p.ndim == 0 or p.shape[0] != labels.shape[0]:
        raise PredictionError(f"predictions of shape {list(p.shape)} for {labels.shape[0]} examples")
    if p.ndim == labels.ndim + 1 and p.shape[-1] > 1:
        guess = np.argmax(p, axis=-1)
    elif p.size == labels.size:
        guess = (p.reshape(labels.shape) > 0.5).astype(labels.dtype)
    else:
        raise PredictionError(f"predictions of shape {list(p.shape)} do not match labels {list(labels.shape)}")
    return guess


@dataclass
class TruthTable(Check):
    """Every row of a small grader-made table (a logic gate: `HIDDEN_SETS`) is predicted right by
    a model in the evaluate phase (`evaluation`, a name in Part.evaluate). The table is no secret,
    so wrong rows are named. `model` (a name in Part.models) is what the check needs: a model that
    was never saved reads as not implemented. When the part was trained again from other seeds
    (spec.Retrain), the best run counts, and the message says how many runs computed the table."""

    evaluation: str = ""
    dataset: str = ""
    model: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.model,) if self.model else ()

    def _judge(self, ctx, predictions, x, labels):
        """The wrong rows' indexes and the guesses, or the failed result."""
        if predictions is None or isinstance(predictions, str):
            reason = str(predictions) if predictions is not None else "no predictions were made"
            return self._result(ctx, False, "predict.failed", None, None, self.hint, reason=reason)
        try:
            guess = _predicted_labels(predictions, labels)
        except Diverged as exc:
            return self._result(ctx, False, "diverged", None, exc.got, self.hint)
        except PredictionError as exc:
            return self._result(ctx, False, "predict.failed", None, None, self.hint, reason=str(exc))
        return [i for i in range(len(labels)) if guess[i] != labels[i]], guess

    def __call__(self, ctx):
        from grader.intake.artifacts import seeded

        x, labels = ctx.hidden.holdout(self.dataset)
        labels = np.asarray(labels)
        runs = ctx.retrained.get("runs", [])  # a run whose code raised is counted, not judged
        judged = [self._judge(ctx, ctx.predictions.get(self.evaluation), x, labels)]
        judged += [
            self._judge(ctx, ctx.predictions.get(seeded(self.evaluation, r["seed"])), x, labels)
            for r in runs
            if not r.get("error")
        ]
        tables = [j for j in judged if not isinstance(j, CheckResult)]
        if not tables:
            return judged[0]
        wrong, guess = min(tables, key=lambda j: len(j[0]))
        rows = {
            f"rows_{lang}": ", ".join(  # in every language: a report re-renders the message in either
                t(
                    "truth_table.row",
                    lang,
                    row=np.asarray(x[i]).tolist(),
                    got=np.asarray(guess[i]).tolist(),
                    expected=np.asarray(labels[i]).tolist(),
                )
                for i in wrong
            )
            for lang in LANGS
        }
        n, right = len(labels), len(labels) - len(wrong)
        ok = not wrong
        key = "truth_table.ok" if ok else "truth_table.wrong"
        if runs:
            key = "truth_table.ok.retrained" if ok else "truth_table.wrong.retrained"
        elif not ok and ctx.retrained.get("stopped") == "time":
            key = "truth_table.wrong.no_time"
        passed = sum(1 for j in tables if not j[0])
        return self._result(
            ctx,
            ok,
            key,
            f"{n} of {n} rows",
            f"{right} of {n} rows",
            self.hint,
            n=n,
            right=right,
            runs=1 + len(runs),
            passed=passed,
            **rows,
        )
