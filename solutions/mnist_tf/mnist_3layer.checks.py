"""Checks of "classification, 3 layers (MNIST)": the shapes of x and d, the chain W1, b1 .. W3, b3
with the student's own hidden sizes (16..2000 each), and the trained network's accuracy on 5,000
MNIST images that students never see, computed here from the exported weights with the course's
sigmoid hidden layers and dropout off."""

from grader.assignment import Limits, Part, Setup
from grader.checks import Calibrated, DenseChainShapes, HiddenSizes, Shape, dense_chain_accuracy
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

HIDDEN = (16, 2000)  # the limits stated in the notebook; they also bound the grader's forward pass
LAYER_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")

# The course's 3000 iterations of 1500 / 800 take about 20 s on a quiet machine, 2000 / 2000 about
# twice that; a loaded grading machine can triple it.
SETUP = Setup(framework="tf1", limits=Limits(cell_timeout_s=240, notebook_timeout_s=360))

# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def x_shape(x):
    return kernel.shape(x)


def d_shape(d):
    return kernel.shape(d)


def W1_shape(W1):
    return kernel.shape(W1)


def b1_shape(b1):
    return kernel.shape(b1)


def W2_shape(W2):
    return kernel.shape(W2)


def b2_shape(b2):
    return kernel.shape(b2)


def W3_shape(W3):
    return kernel.shape(W3)


def b3_shape(b3):
    return kernel.shape(b3)


def W1(W1, sess):
    return sess.run(W1)


def b1(b1, sess):
    return sess.run(b1)


def W2(W2, sess):
    return sess.run(W2)


def b2(b2, sess):
    return sess.run(b2)


def W3(W3, sess):
    return sess.run(W3)


def b3(b3, sess):
    return sess.run(b3)


def test_accuracy(accuracies):
    return [float(a) for a in accuracies]


PARTS = [
    Part(
        id="mnist3_shapes",
        title={"en": "Placeholders and variables", "ja": "プレースホルダーと変数"},
        cells=["mnist3_vars"],
        exports=[x_shape, d_shape, W1_shape, b1_shape, W2_shape, b2_shape, W3_shape, b3_shape],
        checks=[
            Shape("x", 1, expected=[None, 784], hint="x = tf.placeholder(tf.float32, [None, 784])"),
            Shape(
                "d",
                1,
                expected=[None, 10],
                hint={
                    "en": "one-hot labels: 10 columns, any batch size",
                    "ja": "one-hot ラベル: 10 列、バッチサイズは任意です",
                },
            ),
            DenseChainShapes(
                "W1, b1, W2, b2, W3, b3",
                3,
                layers=3,
                inputs=784,
                outputs=10,
                hint={
                    "en": "W1 [784, hidden_layer_size_1], W2 [hidden_layer_size_1, hidden_layer_size_2], "
                    "W3 [hidden_layer_size_2, 10]; each b as wide as its W's columns",
                    "ja": "W1 [784, hidden_layer_size_1]、W2 [hidden_layer_size_1, hidden_layer_size_2]、"
                    "W3 [hidden_layer_size_2, 10]。各 b の幅は対応する W の列数と同じです",
                },
            ),
            HiddenSizes(
                "hidden layer sizes",
                1,
                layers=3,
                low=HIDDEN[0],
                high=HIDDEN[1],
                hint={
                    "en": f"choose hidden_layer_size_1 and hidden_layer_size_2 between {HIDDEN[0]} and {HIDDEN[1]}",
                    "ja": f"hidden_layer_size_1 と hidden_layer_size_2 は {HIDDEN[0]} 以上 {HIDDEN[1]} 以下にしてください",
                },
            ),
        ],
    ),
    Part(
        id="mnist3_accuracy",
        title={"en": "Trained network's accuracy", "ja": "学習したネットワークの正解率"},
        cells=["mnist3_vars", "mnist3_optimizer"],
        after="mnist3_train",
        exports=[W1, b1, W2, b2, W3, b3, test_accuracy],
        curves={"test accuracy": "test_accuracy"},
        checks=[
            Calibrated(
                "holdout accuracy",
                6,
                metric="mnist3_holdout_accuracy",
                compute=dense_chain_accuracy(
                    layers=3, dataset="mnist", activation="sigmoid", outputs=10, hidden=HIDDEN
                ),
                uses=LAYER_NAMES,
                ok_key="accuracy.ok",
                bad_key="accuracy.low",
                hint={
                    "en": "W1..W3 must be trainable tf.Variables with small random values (zeros keep every hidden "
                    "unit the same); the optimizer needs a learning rate that trains in 3000 steps",
                    "ja": "W1..W3 は小さな乱数で初期化した学習可能な tf.Variable にします (0 だと中間ユニットがすべて"
                    "同じままです)。optimizer には 3000 ステップで学習できる学習率が必要です",
                },
            ),
        ],
    ),
]

_VARS = """hidden_layer_size_1 = {h1}
hidden_layer_size_2 = {h2}

x = tf.placeholder(tf.float32, [None, 784])
d = tf.placeholder(tf.float32, [None, 10])

W1 = tf.Variable({init}([784, hidden_layer_size_1]{std}))
W2 = tf.Variable({init}([hidden_layer_size_1, hidden_layer_size_2]{std}))
W3 = tf.Variable({init}([hidden_layer_size_2, 10]{std}))
b1 = tf.Variable(tf.zeros([hidden_layer_size_1]))
b2 = tf.Variable(tf.zeros([hidden_layer_size_2]))
b3 = tf.Variable(tf.zeros([10]))
"""
_RANDOM = {"init": "tf.random_normal", "std": ", stddev=0.01"}

MUTANTS = {
    # shapes: W1 transposed (the model cell's matmul then fails, so nothing trains)
    "w1_transposed": {
        "mnist3_vars": _VARS.format(h1=1500, h2=800, **_RANDOM).replace(
            "[784, hidden_layer_size_1]", "[hidden_layer_size_1, 784]"
        )
    },
    # shapes: hidden sizes outside the stated limits (8 < 16)
    "hidden_too_small": {"mnist3_vars": _VARS.format(h1=8, h2=8, **_RANDOM)},
    # shapes: labels declared with one column
    "d_one_column": {"mnist3_vars": _VARS.format(h1=1500, h2=800, **_RANDOM).replace("[None, 10]", "[None, 1]")},
    # accuracy: no training (learning rate 0)
    "learning_rate_zero": {"mnist3_optimizer": "optimizer = tf.train.GradientDescentOptimizer(0.0)"},
    # accuracy: all weights start at zero, so every hidden unit stays the same
    "zero_init": {"mnist3_vars": _VARS.format(h1=1500, h2=800, init="tf.zeros", std="")},
}
