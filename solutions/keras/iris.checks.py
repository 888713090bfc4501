"""Checks of Keras "classification (iris)": a 4-12-3 network, its training curve, and its
accuracy on 30 flowers the notebook leaves out.

The 30 flowers (10 per species) are fixed rows of scikit-learn's iris set, chosen once with
`np.random.default_rng(20190404)` and written out below and in the notebook's locked set-up
cell, which drops them before training. A student could still read all 150 flowers from
scikit-learn; at these stakes that is accepted. With 30 flowers one flower is 3.3 points of
accuracy (standard error about 0.04), so the pass line comes from calibration over seeds.
"""

import numpy as np

from grader.assignment import Evaluate, Limits, Part, Setup
from grader.checks import Calibrated, Decreasing, KerasLayers, prediction_accuracy
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

SETUP = Setup(
    framework="keras",
    limits=Limits(cell_timeout_s=120, notebook_timeout_s=300),
    # 30 flowers: one flower is 0.033, the standard error about 0.04. The reference misses 0 or 1
    # flower on most seeds; allow a fixed 0.05 below its spread, so 27 of 30 still pass.
    slack={"iris_holdout_accuracy": (0.0, 0.05)},
)

GRADER_HOLDOUT = [
    1,
    5,
    12,
    19,
    25,
    28,
    36,
    37,
    41,
    42,
    50,
    51,
    52,
    60,
    68,
    69,
    75,
    90,
    92,
    97,
    107,
    111,
    113,
    120,
    122,
    124,
    128,
    132,
    135,
    149,
]


def _iris_holdout():
    from sklearn import datasets

    iris = datasets.load_iris()
    return iris.data[GRADER_HOLDOUT].astype(np.float64), iris.target[GRADER_HOLDOUT].astype(np.int64)


HIDDEN_SETS = {"iris_holdout": _iris_holdout}

# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def layers(model):
    return kernel.layer_specs(model)


def train_loss(history):
    return [float(v) for v in history.history["loss"]]


def train_accuracy(history):
    return [float(v) for v in history.history["accuracy"]]


PARTS = [
    Part(
        id="iris_layers",
        title={"en": "Layers of the network", "ja": "ネットワークの層"},
        cells=["iris_model"],
        exports=[layers],
        checks=[
            KerasLayers(
                "layers",
                2,
                expected=[
                    {"class": "Dense", "units": 12, "activation": "relu", "params": 60},
                    {"class": "Dense", "units": 3, "activation": "softmax", "params": 39},
                ],
                hint="keras.Input(shape=(4,)), Dense(12) + ReLU, Dense(3) + softmax",
            )
        ],
    ),
    Part(
        id="iris_accuracy",
        title={"en": "Accuracy on flowers you never saw", "ja": "未見の花での正解率"},
        cells=["iris_model"],
        after="iris_train",
        exports=[train_loss, train_accuracy],
        models={"model": "model"},
        evaluate={"holdout": Evaluate(dataset="iris_holdout", model="model")},
        curves={"loss": "train_loss", "accuracy": "train_accuracy"},
        checks=[
            Decreasing(
                "training loss",
                1,
                export="train_loss",
                hint={"en": "the loss must go down during fit", "ja": "fit の間に誤差が下がっていく必要があります"},
            ),
            Calibrated(
                "holdout accuracy",
                4,
                metric="iris_holdout_accuracy",
                compute=prediction_accuracy("holdout", "iris_holdout"),
                uses=("model",),
                ok_key="accuracy.ok",
                bad_key="accuracy.low",
                hint={
                    "en": "integer labels need 'sparse_categorical_crossentropy'; Adam(learning_rate=0.01) trains stably",
                    "ja": "整数ラベルには 'sparse_categorical_crossentropy' が必要です。Adam(learning_rate=0.01) なら安定して学習します",
                },
            ),
        ],
    ),
]

_MODEL = (
    "model = keras.Sequential([keras.Input(shape=(4,)), {layers}])\n"
    "model.compile(optimizer={opt}, loss={loss!r}, metrics=['accuracy'])\nmodel.summary()"
)
_ADAM = "keras.optimizers.Adam(learning_rate=0.01)"
_GOOD = "layers.Dense(12), layers.Activation('relu'), layers.Dense(3), layers.Activation('softmax')"

MUTANTS = {
    # layers
    "no_hidden_activation": {
        "iris_model": _MODEL.format(
            layers="layers.Dense(12), layers.Dense(3, activation='softmax')",
            opt=_ADAM,
            loss="sparse_categorical_crossentropy",
        )
    },
    "hidden_layer_too_small": {
        "iris_model": _MODEL.format(
            layers="layers.Dense(4, activation='relu'), layers.Dense(3, activation='softmax')",
            opt=_ADAM,
            loss="sparse_categorical_crossentropy",
        )
    },
    # accuracy: one-hot loss on integer labels raises in fit, so the model stays untrained
    "categorical_loss_integer_labels": {
        "iris_model": _MODEL.format(layers=_GOOD, opt=_ADAM, loss="categorical_crossentropy")
    },
    "zero_learning_rate": {
        "iris_model": _MODEL.format(
            layers=_GOOD, opt="keras.optimizers.Adam(learning_rate=0.0)", loss="sparse_categorical_crossentropy"
        )
    },
}
