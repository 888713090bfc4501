"""Checks of Keras "classification (MNIST)": the course's 512-512 MLP with dropout 0.2, the loss
that fits integer labels, and the saved model's accuracy on the 5,000-image MNIST holdout
(pixels / 255, 784 wide), measured in the evaluate sandbox. Training runs 2 epochs (the course:
20, about 53 s here) so that the notebook stays under a minute."""

from grader.assignment import Evaluate, Limits, Part, Setup
from grader.checks import Calibrated, Equals, KerasLayers, prediction_accuracy
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

SETUP = Setup(framework="keras", limits=Limits(cell_timeout_s=180, notebook_timeout_s=400))


# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def layers(model):
    return kernel.layer_specs(model)


def dropout_rates(model):
    return [layer.get_config().get("rate") for layer in model.layers if type(layer).__name__ == "Dropout"]


def loss(model):
    return kernel.loss_name(model)


def train_accuracy(history):
    return [float(v) for v in history.history["accuracy"]]


def val_accuracy(history):
    return [float(v) for v in history.history["val_accuracy"]]


PARTS = [
    Part(
        id="mlp_layers",
        title={"en": "Layers of the network", "ja": "ネットワークの層"},
        cells=["mlp_model"],
        exports=[layers, dropout_rates],
        checks=[
            KerasLayers(
                "layers",
                2,
                expected=[
                    {"class": "Dense", "units": 512, "activation": "relu", "params": 401920},
                    {"class": "Dropout"},
                    {"class": "Dense", "units": 512, "activation": "relu", "params": 262656},
                    {"class": "Dropout"},
                    {"class": "Dense", "units": 10, "activation": "softmax", "params": 5130},
                ],
                hint="keras.Input(shape=(784,)), Dense(512, relu), Dropout(0.2), Dense(512, relu), Dropout(0.2), Dense(10, softmax)",
            ),
            Equals(
                "dropout rates",
                1,
                expected=[0.2, 0.2],
                export="dropout_rates",
                hint={"en": "Dropout(0.2) after each hidden layer", "ja": "各中間層の後に Dropout(0.2)"},
            ),
        ],
    ),
    Part(
        id="mlp_loss",
        title={"en": "Loss for integer labels", "ja": "整数ラベルの誤差関数"},
        cells=["mlp_compile"],
        exports=[loss],
        checks=[
            Equals(
                "loss",
                2,
                expected="sparse_categorical_crossentropy",
                export="loss",
                hint={
                    "en": "the labels are integers 0-9, not one-hot",
                    "ja": "ラベルは 0〜9 の整数で、one-hot ではありません",
                },
            )
        ],
    ),
    Part(
        id="mlp_accuracy",
        title={"en": "Accuracy on images you never saw", "ja": "未見の画像での正解率"},
        cells=["mlp_model", "mlp_compile"],
        after="mlp_train",
        exports=[train_accuracy, val_accuracy],
        models={"model": "model"},
        evaluate={"holdout": Evaluate(dataset="mnist", model="model", preprocess="flat")},
        curves={"accuracy": "train_accuracy", "test accuracy": "val_accuracy"},
        checks=[
            Calibrated(
                "holdout accuracy",
                5,
                metric="mlp_holdout_accuracy",
                compute=prediction_accuracy("holdout", "mnist"),
                uses=("model",),
                ok_key="accuracy.ok",
                bad_key="accuracy.low",
                hint={
                    "en": "ReLU hidden layers, softmax output, sparse_categorical_crossentropy, Adam(learning_rate=0.001)",
                    "ja": "中間層は ReLU、出力は softmax、sparse_categorical_crossentropy、Adam(learning_rate=0.001)",
                },
            )
        ],
    ),
]

_MODEL = "model = keras.Sequential([keras.Input(shape=(784,)), {layers}])\nmodel.summary()"
_COMPILE = "model.compile(loss={loss!r}, optimizer={opt}, metrics=['accuracy'])"
_ADAM = "keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999)"

MUTANTS = {
    # layers
    "no_hidden_activation": {  # a linear model in disguise: layer spec and accuracy fall
        "mlp_model": _MODEL.format(
            layers="layers.Dense(512), layers.Dropout(0.2), layers.Dense(512), layers.Dropout(0.2), "
            "layers.Dense(10, activation='softmax')"
        )
    },
    "no_dropout": {
        "mlp_model": _MODEL.format(
            layers="layers.Dense(512, activation='relu'), layers.Dense(512, activation='relu'), "
            "layers.Dense(10, activation='softmax')"
        )
    },
    "dropout_half": {
        "mlp_model": _MODEL.format(
            layers="layers.Dense(512, activation='relu'), layers.Dropout(0.5), layers.Dense(512, activation='relu'), "
            "layers.Dropout(0.5), layers.Dense(10, activation='softmax')"
        )
    },
    # loss: one-hot loss with integer labels raises in fit, the model stays untrained
    "categorical_loss_integer_labels": {"mlp_compile": _COMPILE.format(loss="categorical_crossentropy", opt=_ADAM)},
    "mse_loss": {"mlp_compile": _COMPILE.format(loss="mse", opt=_ADAM)},
    # accuracy
    "no_training": {  # epochs = 0: fit returns at once
        "mlp_compile": _COMPILE.format(loss="sparse_categorical_crossentropy", opt=_ADAM) + "\nepochs = 0"
    },
    "zero_learning_rate": {
        "mlp_compile": _COMPILE.format(
            loss="sparse_categorical_crossentropy", opt="keras.optimizers.Adam(learning_rate=0.0)"
        )
    },
}
