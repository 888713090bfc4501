"""Checks of "classification, 1 layer (MNIST)": the shapes of x, d, W, b and the trained model's
accuracy on 5,000 MNIST images that students never see, computed here from the exported weights."""

from grader.assignment import Limits, Part, Setup
from grader.checks import Calibrated, Shape, softmax_accuracy
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

SETUP = Setup(framework="tf1", limits=Limits(cell_timeout_s=120, notebook_timeout_s=300))

# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def x_shape(x):
    return kernel.shape(x)


def d_shape(d):
    return kernel.shape(d)


def W_shape(W):
    return kernel.shape(W)


def b_shape(b):
    return kernel.shape(b)


def W(W, sess):
    return sess.run(W)


def b(b, sess):
    return sess.run(b)


def test_accuracy(accuracies):
    return [float(a) for a in accuracies]


PARTS = [
    Part(
        id="mnist1_shapes",
        title={"en": "Placeholders and variables", "ja": "プレースホルダーと変数"},
        cells=["mnist1_vars"],
        exports=[x_shape, d_shape, W_shape, b_shape],
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
            Shape(
                "W",
                1,
                expected=[784, 10],
                hint={"en": "W maps 784 pixels to 10 classes", "ja": "W は 784 ピクセルを 10 クラスに対応させます"},
            ),
            Shape("b", 1, expected=[10], hint={"en": "one bias per class", "ja": "クラスごとにバイアス 1 つです"}),
        ],
    ),
    Part(
        id="mnist1_accuracy",
        title={"en": "Trained model's accuracy", "ja": "学習したモデルの正解率"},
        cells=["mnist1_vars"],
        after="mnist1_train",
        exports=[W, b, test_accuracy],
        curves={"test accuracy": "test_accuracy"},
        checks=[
            Calibrated(
                "holdout accuracy",
                6,
                metric="mnist1_holdout_accuracy",
                compute=softmax_accuracy("W", "b", "mnist"),
                uses=("W", "b"),
                ok_key="accuracy.ok",
                bad_key="accuracy.low",
                hint={
                    "en": "W must be a trainable tf.Variable; small random W and zero b train well",
                    "ja": "W は学習可能な tf.Variable にします。W を小さな乱数、b を 0 にするとよく学習します",
                },
            ),
        ],
    ),
]


_XD = "x = tf.placeholder(tf.float32, [None, 784])\nd = tf.placeholder(tf.float32, [None, 10])\n"
MUTANTS = {
    # W of the wrong shape: the training cell cannot even build the model
    "w_wrong_shape": {
        "mnist1_vars": _XD + "W = tf.Variable(tf.random_normal([784, 5], stddev=0.01))\nb = tf.Variable(tf.zeros([10]))"
    },
    # weights that are not trained: a frozen W leaves the model near chance
    "w_not_trainable": {
        "mnist1_vars": _XD + "W = tf.Variable(tf.zeros([784, 10]), trainable=False)\nb = tf.Variable(tf.zeros([10]))"
    },
    # labels of the wrong width
    "d_wrong_shape": {
        "mnist1_vars": "x = tf.placeholder(tf.float32, [None, 784])\nd = tf.placeholder(tf.float32, [None, 1])\n"
        "W = tf.Variable(tf.random_normal([784, 10], stddev=0.01))\nb = tf.Variable(tf.zeros([10]))"
    },
}
