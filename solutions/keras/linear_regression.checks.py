"""Checks of Keras "linear regression": one Dense unit fitted to d = 0.5x + 2 + noise.

The learned W and b are compared with the line the data came from; how far they may be is
calibrated (the noise moves the least-squares line by about 0.006 in W and 0.004 in b).
"""

import numpy as np

from grader.assignment import Limits, Part, Setup
from grader.checks import Calibrated, Decreasing, PredictionError

SETUP = Setup(
    framework="keras",
    limits=Limits(cell_timeout_s=240, notebook_timeout_s=300),
    # distances to the true line are tiny on every seed: allow a fixed 0.03 beyond them, and the
    # final loss (about the noise variance 0.0025) a fixed 0.001
    slack={
        "linreg_W_error": (0.0, 0.03),
        "linreg_b_error": (0.0, 0.03),
        "linreg_final_loss": (0.0, 0.001),
    },
)


def _scalar(values: dict, name: str) -> float:
    array = np.asarray(values[name], dtype=np.float64)
    if array.size != 1:
        raise PredictionError(f"{name} has shape {list(array.shape)}; one Dense unit on one input has a single {name}")
    return float(array.ravel()[0])


def _distance(name: str, true_value: float):
    def compute(values: dict, ctx) -> float:
        return abs(_scalar(values, name) - true_value)

    return compute


def _final_loss(values: dict, ctx) -> float:
    curve = np.asarray(values["losses"], dtype=np.float64).ravel()
    if curve.size == 0:
        raise PredictionError("no loss was recorded")
    return float(curve[-1])


# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def W(model):
    return model.layers[0].get_weights()[0]


def b(model):
    return model.layers[0].get_weights()[1]


def losses(losses, iters_num):
    return [float(losses[i]) for i in range(iters_num)]


PARTS = [
    Part(
        id="linreg_params",
        title={"en": "Learned weight and bias", "ja": "学習した重みとバイアス"},
        cells=["linreg_model", "linreg_train"],
        exports=[W, b],
        checks=[
            Calibrated(
                "|W - 0.5|",
                2,
                metric="linreg_W_error",
                compute=_distance("W", 0.5),
                uses=("W",),
                direction="min",
                hint={
                    "en": "one Dense unit without activation, loss 'mse', optimizer 'sgd', trained by train_on_batch(x, d)",
                    "ja": "活性化なしの Dense 1 ユニット、誤差 'mse'、optimizer 'sgd' で、train_on_batch(x, d) で学習します",
                },
            ),
            Calibrated(
                "|b - 2|",
                2,
                metric="linreg_b_error",
                compute=_distance("b", 2.0),
                uses=("b",),
                direction="min",
                hint={
                    "en": "one Dense unit without activation, loss 'mse', optimizer 'sgd', trained by train_on_batch(x, d)",
                    "ja": "活性化なしの Dense 1 ユニット、誤差 'mse'、optimizer 'sgd' で、train_on_batch(x, d) で学習します",
                },
            ),
        ],
    ),
    Part(
        id="linreg_loss",
        title={"en": "Loss during training", "ja": "学習中の誤差"},
        cells=["linreg_train"],
        # one loss per iteration: a loop that stopped early (a cell that raised) exports nothing
        exports=[losses],
        curves={"loss": "losses"},
        checks=[
            Decreasing(
                "loss",
                1,
                export="losses",
                hint={
                    "en": "keep the value train_on_batch returns in `loss`",
                    "ja": "train_on_batch が返す値を `loss` に入れてください",
                },
            ),
            Calibrated(
                "final loss",
                1,
                metric="linreg_final_loss",
                compute=_final_loss,
                uses=("losses",),
                direction="min",
                hint={
                    "en": "the mse of a line that fits is about the noise variance, 0.05 ** 2",
                    "ja": "データに合った直線の mse はノイズの分散 0.05 ** 2 程度です",
                },
            ),
        ],
    ),
]

_MODEL = "model = keras.Sequential([\n    keras.Input(shape=(1,)),\n    {layer},\n])\nmodel.compile(loss={loss!r}, optimizer={opt})\nmodel.summary()"
_TRAIN = "losses = []\nfor i in range(iters_num):\n    {step}\n    losses.append(float(loss))\n"

MUTANTS = {
    # a sigmoid output cannot exceed 1, while d lies around 2
    "sigmoid_output": {
        "linreg_model": _MODEL.format(layer="layers.Dense(1, activation='sigmoid')", loss="mse", opt="'sgd'")
    },
    # the optimizer never moves the weights
    "zero_learning_rate": {
        "linreg_model": _MODEL.format(
            layer="layers.Dense(1)", loss="mse", opt="keras.optimizers.SGD(learning_rate=0.0)"
        )
    },
    # the loss is measured but the model never trains
    "no_training": {"linreg_train": _TRAIN.format(step="loss = model.evaluate(x, d, verbose=0)")},
    # trains on the wrong target: the slope is learned against x itself
    "wrong_target": {"linreg_train": _TRAIN.format(step="loss = model.train_on_batch(x, x)")},
}
