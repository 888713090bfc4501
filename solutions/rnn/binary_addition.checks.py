"""Checks of "RNN: predicting binary addition": the layers of the SimpleRNN model and of the GRU /
LSTM model, and each trained model's accuracy per bit on 5,000 addition pairs that the grader
draws itself (a, b < 128 as in the course), predicted from the saved model in a fresh sandbox.

Accuracy is per bit (each of the 8 output bits of each pair counts once): an untrained model
sits near 0.5, a trained one at 1.0.
"""

import numpy as np

from grader.assignment import Evaluate, Limits, Part, Setup
from grader.checks import Calibrated, Custom, LayerSpecs, PredictionError, prediction_accuracy
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

SETUP = Setup(framework="keras", limits=Limits(cell_timeout_s=240, notebook_timeout_s=480))

HIDDEN_PAIRS = 5000
_HIDDEN_SEED = 860_207  # the grader's own draw, unrelated to any seed a notebook runs with


def make_addition_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Fresh pairs a, b < 128 encoded as the course does (lowest bit first): inputs (n, 8, 2)
    float32 bits, labels (n, 8) bits of a + b."""
    rng = np.random.default_rng(_HIDDEN_SEED)
    binary = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)[:, ::-1]
    a = rng.integers(0, 128, HIDDEN_PAIRS)
    b = rng.integers(0, 128, HIDDEN_PAIRS)
    x = np.stack([binary[a], binary[b]], axis=2).astype(np.float32)
    return x, binary[a + b].astype(np.int64)


HIDDEN_SETS = {"addition": make_addition_pairs}


def bit_accuracy(evaluation: str, dataset: str = "addition"):
    """prediction_accuracy per bit, refusing predictions that are not one value per step (a
    model without return_sequences gives one per pair) with a message instead of a crash."""
    inner = prediction_accuracy(evaluation, dataset)

    def compute(values: dict, ctx) -> float:
        predictions = ctx.predictions.get(evaluation)
        if predictions is not None and not isinstance(predictions, str):
            labels = ctx.hidden.labels(dataset)
            shape = list(np.shape(predictions))
            if np.size(predictions) != labels.size:
                raise PredictionError(
                    f"predictions of shape {shape}; one bit per step is [{labels.shape[0]}, 8, 1] "
                    "(return_sequences=True, Dense(1))"
                )
        return inner(values, ctx)

    return compute


OUTPUT_LAYER = {"class": "Dense", "output_shape": [None, 8, 1], "units": 1, "activation": "sigmoid", "params": 17}


def recurrent_spec(cls: str, params: int, activation: str | None = None) -> list[dict]:
    first = {"class": cls, "output_shape": [None, 8, 16], "units": 16, "params": params}
    if activation:
        first["activation"] = activation
    return [first, OUTPUT_LAYER]


# GRU (reset_after=True, Keras 3's default) has 3 * (16*2 + 16*16 + 2*16) weights; LSTM 4 * (16*2 + 16*16 + 16).
_SECOND = {
    "GRU": LayerSpecs("GRU/LSTM model layers", 2, expected=recurrent_spec("GRU", 960), export="rnn2_specs"),
    "LSTM": LayerSpecs("GRU/LSTM model layers", 2, expected=recurrent_spec("LSTM", 1216), export="rnn2_specs"),
}
_SECOND_HINT = {
    "en": "GRU(units=16, return_sequences=True) or LSTM(...), then Dense(1, activation='sigmoid')",
    "ja": "GRU(units=16, return_sequences=True) または LSTM(...) の後に Dense(1, activation='sigmoid')",
}
for _check in _SECOND.values():
    _check.hint = _SECOND_HINT


def gru_or_lstm(ctx):
    """The second model's layers against the GRU spec or the LSTM spec, whichever it uses
    (anything else is judged against GRU's, so the message names the first layer's class)."""
    specs = ctx.values["rnn2_specs"]
    first = specs[0].get("class") if isinstance(specs, list) and specs and isinstance(specs[0], dict) else None
    return _SECOND.get(first, _SECOND["GRU"])(ctx)


# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks see.


def rnn_specs(model):
    return kernel.layer_specs(model)


def rnn2_specs(model2):
    return kernel.layer_specs(model2)


def rnn_loss(history):
    return [float(v) for v in history.history["loss"]]


def rnn2_loss(history2):
    return [float(v) for v in history2.history["loss"]]


def accuracy_part(prefix: str, name: str, *, model: str, loss_curve, points: int, hint: str | dict) -> Part:
    """A trained model's per-bit accuracy on the grader's pairs, from the model saved after
    the model and training cells ran; the loss per epoch (the export `loss_curve`) is drawn as a curve."""
    return Part(
        id=f"{prefix}_accuracy",
        title={"en": f"{name}: accuracy on new pairs", "ja": f"{name}: 新しい組での正解率"},
        cells=[f"{prefix}_model", f"{prefix}_train"],
        exports={f"{prefix}_loss": loss_curve},
        curves={"loss": f"{prefix}_loss"},
        models={model: model},
        evaluate={model: Evaluate(dataset="addition", model=model)},
        checks=[
            Calibrated(
                "accuracy per bit on new pairs",
                points,
                metric=f"{prefix}_addition_bit_accuracy",
                compute=bit_accuracy(model),
                uses=(model,),
                ok_key="accuracy.ok",
                bad_key="accuracy.low",
                hint=hint,
            ),
        ],
    )


PARTS = [
    Part(
        id="rnn_layers",
        title={"en": "SimpleRNN model layers", "ja": "SimpleRNN モデルの層"},
        cells=["rnn_model"],
        exports=[rnn_specs],
        checks=[
            LayerSpecs(
                "SimpleRNN model layers",
                3,
                expected=recurrent_spec("SimpleRNN", 304, "relu"),
                export="rnn_specs",
                hint={
                    "en": "SimpleRNN(units=16, return_sequences=True, activation='relu'), then Dense(1, activation='sigmoid')",
                    "ja": "SimpleRNN(units=16, return_sequences=True, activation='relu') の後に Dense(1, activation='sigmoid')",
                },
            ),
        ],
    ),
    accuracy_part(
        "rnn",
        "SimpleRNN",
        model="model",
        loss_curve=rnn_loss,
        points=4,
        hint={
            "en": "compile and fit model (Adam(learning_rate=0.01), batch_size=32, epochs=3) "
            "on x_bin, d_bin.reshape(-1, 8, 1)",
            "ja": "x_bin, d_bin.reshape(-1, 8, 1) で model を compile して fit します "
            "(Adam(learning_rate=0.01), batch_size=32, epochs=3)",
        },
    ),
    Part(
        id="rnn2_layers",
        title={"en": "GRU / LSTM model layers", "ja": "GRU / LSTM モデルの層"},
        cells=["rnn2_model"],
        exports=[rnn2_specs],
        checks=[Custom("GRU/LSTM model layers", 2, fn=gru_or_lstm, uses=("rnn2_specs",))],
    ),
    accuracy_part(
        "rnn2",
        "GRU / LSTM",
        model="model2",
        loss_curve=rnn2_loss,
        points=3,
        hint={
            "en": "compile and fit model2 the same way as model",
            "ja": "model2 も model と同じように compile して fit します",
        },
    ),
]

_RNN = "keras.Sequential([\n    keras.Input(shape=(8, 2)),\n    layers.{layer},\n    layers.Dense(1, activation='{out}'),\n])\n"
# compiled, never fitted: a History with no epochs keeps the plotting cell running
_NO_FIT = "history{n} = keras.callbacks.History()\nhistory{n}.history = {{'loss': []}}\n"
_COMPILE = "model{n}.compile(loss='mean_squared_error', optimizer=keras.optimizers.Adam(learning_rate=0.01), metrics=['accuracy'])\n"

MUTANTS = {
    # rnn_layers
    "rnn_wrong_units": {
        "rnn_model": "model = "
        + _RNN.format(layer="SimpleRNN(units=8, return_sequences=True, activation='relu')", out="sigmoid")
    },
    "rnn_linear_output": {
        "rnn_model": "model = "
        + _RNN.format(layer="SimpleRNN(units=16, return_sequences=True, activation='relu')", out="linear")
    },
    # rnn_layers and rnn_accuracy: one output per pair instead of one per bit
    "rnn_no_return_sequences": {
        "rnn_model": "model = " + _RNN.format(layer="SimpleRNN(units=16, activation='relu')", out="sigmoid"),
        "rnn_train": _COMPILE.format(n="") + "history = model.fit(x_bin, d_bin[:, :1], epochs=3, batch_size=32)\n",
    },
    # rnn_accuracy
    "rnn_no_training": {"rnn_train": _COMPILE.format(n="") + _NO_FIT.format(n="")},
    "rnn_wrong_targets": {
        "rnn_train": _COMPILE.format(n="")
        + "history = model.fit(x_bin, d_bin[:, ::-1].reshape(-1, 8, 1), epochs=3, batch_size=32)\n"
    },
    # rnn2_layers
    "rnn2_still_simple_rnn": {
        "rnn2_model": "model2 = "
        + _RNN.format(layer="SimpleRNN(units=16, return_sequences=True, activation='relu')", out="sigmoid")
    },
    "rnn2_wrong_units": {
        "rnn2_model": "model2 = " + _RNN.format(layer="LSTM(units=32, return_sequences=True)", out="sigmoid")
    },
    # rnn2_accuracy
    "rnn2_no_training": {"rnn2_train": _COMPILE.format(n="2") + _NO_FIT.format(n="2")},
    "rnn2_wrong_targets": {
        "rnn2_train": _COMPILE.format(n="2")
        + "history2 = model2.fit(x_bin, d_bin[:, ::-1].reshape(-1, 8, 1), epochs=3, batch_size=32)\n"
    },
}
