"""Checks of "classification, CNN (MNIST)": the shape of every layer's tensor and weights; that
the student's y_conv with keep_prob 1.0 equals the course's network (conv 'SAME' -> ReLU -> 2x2
max pool, twice; fc 1024 ReLU; fc 10 softmax) computed by the grader from the exported weights,
and changes with keep_prob 0.5 (dropout acts); and the trained network's accuracy on 5,000 MNIST
images that students never see, computed by the same trusted forward pass in the evaluate sandbox."""

from grader.assignment import Evaluate, Limits, Part, Setup
from grader.checks import Calibrated, Differs, ForwardMatches, Shape, mnist_test_inputs, prediction_accuracy
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too
from grader.inside.evaluators import CNN_ARRAYS, tf1_cnn

SETUP = Setup(framework="tf1", limits=Limits(cell_timeout_s=180, notebook_timeout_s=360))

PROBE = 100  # the first 100 public test images: inputs the grader can compute the network on


def _shape(name: str, points: float, expected: list, hint: str | dict) -> Shape:
    return Shape(name, points, expected=expected, hint=hint)


# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def W_conv1_shape(W_conv1):
    return kernel.shape(W_conv1)


def b_conv1_shape(b_conv1):
    return kernel.shape(b_conv1)


def h_conv1_shape(h_conv1):
    return kernel.shape(h_conv1)


def h_pool1_shape(h_pool1):
    return kernel.shape(h_pool1)


def W_conv2_shape(W_conv2):
    return kernel.shape(W_conv2)


def b_conv2_shape(b_conv2):
    return kernel.shape(b_conv2)


def h_conv2_shape(h_conv2):
    return kernel.shape(h_conv2)


def h_pool2_shape(h_pool2):
    return kernel.shape(h_pool2)


def W_fc1_shape(W_fc1):
    return kernel.shape(W_fc1)


def b_fc1_shape(b_fc1):
    return kernel.shape(b_fc1)


def h_fc1_shape(h_fc1):
    return kernel.shape(h_fc1)


def W_fc2_shape(W_fc2):
    return kernel.shape(W_fc2)


def b_fc2_shape(b_fc2):
    return kernel.shape(b_fc2)


def y_conv_shape(y_conv):
    return kernel.shape(y_conv)


def W_conv1(W_conv1, sess):
    return sess.run(W_conv1)


def b_conv1(b_conv1, sess):
    return sess.run(b_conv1)


def W_conv2(W_conv2, sess):
    return sess.run(W_conv2)


def b_conv2(b_conv2, sess):
    return sess.run(b_conv2)


def W_fc1(W_fc1, sess):
    return sess.run(W_fc1)


def b_fc1(b_fc1, sess):
    return sess.run(b_fc1)


def W_fc2(W_fc2, sess):
    return sess.run(W_fc2)


def b_fc2(b_fc2, sess):
    return sess.run(b_fc2)


def probe(y_conv, sess, x, keep_prob, mnist, n=PROBE):
    """y_conv on the probe images, without dropout."""
    return sess.run(y_conv, feed_dict={x: mnist.test.images[:n], keep_prob: 1.0})


def probe_dropout(y_conv, sess, x, keep_prob, mnist, n=PROBE):
    """y_conv on the probe images with dropout acting: it must differ from `probe`."""
    return sess.run(y_conv, feed_dict={x: mnist.test.images[:n], keep_prob: 0.5})


def batch_accuracy(accuracies):
    return [float(a) for a in accuracies]


PARTS = [
    Part(
        id="cnn_conv_shapes",
        title={"en": "Convolution and pooling layers", "ja": "畳み込み層とプーリング層"},
        cells=["cnn_conv"],
        exports=[
            W_conv1_shape,
            b_conv1_shape,
            h_conv1_shape,
            h_pool1_shape,
            W_conv2_shape,
            b_conv2_shape,
            h_conv2_shape,
            h_pool2_shape,
        ],
        checks=[
            _shape(
                "W_conv1",
                0.5,
                [5, 5, 1, 32],
                {
                    "en": "5x5 filters, 1 input channel, 32 filters",
                    "ja": "5x5 のフィルタ、入力チャネル 1、フィルタ 32 個",
                },
            ),
            _shape("b_conv1", 0.5, [32], {"en": "one bias per filter", "ja": "フィルタごとにバイアス 1 つです"}),
            _shape(
                "h_conv1",
                1,
                [None, 28, 28, 32],
                {
                    "en": "conv2d with strides [1, 1, 1, 1] and padding 'SAME' keeps 28x28",
                    "ja": "strides [1, 1, 1, 1]、padding 'SAME' の conv2d なら 28x28 のままです",
                },
            ),
            _shape(
                "h_pool1",
                1,
                [None, 14, 14, 32],
                {
                    "en": "max_pool with ksize and strides [1, 2, 2, 1] halves 28x28",
                    "ja": "ksize と strides が [1, 2, 2, 1] の max_pool で 28x28 が半分になります",
                },
            ),
            _shape(
                "W_conv2",
                0.5,
                [5, 5, 32, 64],
                {
                    "en": "5x5 filters, 32 input channels, 64 filters",
                    "ja": "5x5 のフィルタ、入力チャネル 32、フィルタ 64 個",
                },
            ),
            _shape("b_conv2", 0.5, [64], {"en": "one bias per filter", "ja": "フィルタごとにバイアス 1 つです"}),
            _shape(
                "h_conv2",
                1,
                [None, 14, 14, 64],
                {
                    "en": "the second conv2d reads h_pool1, strides 1, padding 'SAME'",
                    "ja": "2 つ目の conv2d は h_pool1 を入力とし、strides 1、padding 'SAME' です",
                },
            ),
            _shape(
                "h_pool2",
                1,
                [None, 7, 7, 64],
                {"en": "the second max_pool halves 14x14", "ja": "2 つ目の max_pool で 14x14 が半分になります"},
            ),
        ],
    ),
    Part(
        id="cnn_fc_shapes",
        title={"en": "Fully connected layers", "ja": "全結合層"},
        cells=["cnn_fc"],
        exports=[W_fc1_shape, b_fc1_shape, h_fc1_shape, W_fc2_shape, b_fc2_shape, y_conv_shape],
        checks=[
            _shape(
                "W_fc1",
                0.5,
                [7 * 7 * 64, 1024],
                {"en": "7*7*64 flattened features to 1024 units", "ja": "平坦化した 7*7*64 個の特徴を 1024 ユニットへ"},
            ),
            _shape("b_fc1", 0.5, [1024], {"en": "one bias per unit", "ja": "ユニットごとにバイアス 1 つです"}),
            _shape("h_fc1", 1, [None, 1024], "h_fc1 = relu(h_pool2_flat W_fc1 + b_fc1)"),
            _shape("W_fc2", 0.5, [1024, 10], {"en": "1024 units to 10 classes", "ja": "1024 ユニットから 10 クラスへ"}),
            _shape("b_fc2", 0.5, [10], {"en": "one bias per class", "ja": "クラスごとにバイアス 1 つです"}),
            _shape("y_conv", 1, [None, 10], {"en": "softmax over 10 classes", "ja": "10 クラスに対する softmax"}),
        ],
    ),
    Part(
        id="cnn_trained",
        title={"en": "The trained network", "ja": "学習したネットワーク"},
        cells=["cnn_conv", "cnn_fc"],
        after="cnn_train",
        exports=[W_conv1, b_conv1, W_conv2, b_conv2, W_fc1, b_fc1, W_fc2, b_fc2, probe, probe_dropout, batch_accuracy],
        curves={"mini-batch accuracy": "batch_accuracy"},
        evaluate={
            "holdout": Evaluate(
                dataset="mnist", function="grader.inside.evaluators:tf1_cnn", arrays=CNN_ARRAYS, preprocess="flat"
            )
        },
        checks=[
            ForwardMatches(
                "y_conv with keep_prob 1.0",
                3,
                export="probe",
                arrays=CNN_ARRAYS,
                function=tf1_cnn,
                inputs=mnist_test_inputs(PROBE),
                atol=1e-3,
                hint={
                    "en": "ReLU after each conv2d and after the first fully connected layer, tf.nn.max_pool 2x2 with "
                    "strides 2, dropout only through keep_prob (tf.nn.dropout(h_fc1, keep_prob)), softmax at the end",
                    "ja": "各 conv2d の後と 1 つ目の全結合層の後に ReLU、strides 2 の tf.nn.max_pool 2x2、"
                    "dropout は keep_prob を通してだけ (tf.nn.dropout(h_fc1, keep_prob))、最後に softmax",
                },
            ),
            Differs(
                "y_conv with keep_prob 0.5 vs 1.0",
                2,
                export="probe_dropout",
                other="probe",
                atol=1e-3,
                hint={
                    "en": "y_conv must be computed from h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)",
                    "ja": "y_conv は h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob) から計算してください",
                },
            ),
            Calibrated(
                "holdout accuracy",
                6,
                metric="cnn_holdout_accuracy",
                compute=prediction_accuracy("holdout", "mnist"),
                uses=CNN_ARRAYS,
                ok_key="accuracy.ok",
                bad_key="accuracy.low",
                hint={
                    "en": "the weights must be trainable tf.Variables (truncated_normal stddev 0.1, biases 0.1)",
                    "ja": "重みは学習可能な tf.Variable にします (truncated_normal stddev 0.1、バイアスは 0.1)",
                },
            ),
        ],
    ),
]

_CONV = """W_conv1 = tf.Variable(tf.truncated_normal([5, 5, 1, 32], stddev=0.1))
b_conv1 = tf.Variable(tf.constant(0.1, shape=[32]))
h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding='SAME') + b_conv1)
h_pool1 = tf.nn.max_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')
W_conv2 = tf.Variable(tf.truncated_normal([5, 5, 32, 64], stddev=0.1))
b_conv2 = tf.Variable(tf.constant(0.1, shape=[64]))
h_conv2 = tf.nn.relu(tf.nn.conv2d(h_pool1, W_conv2, strides=[1, 1, 1, 1], padding='SAME') + b_conv2)
h_pool2 = tf.nn.max_pool(h_conv2, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')
"""
_FC = """W_fc1 = tf.Variable(tf.truncated_normal([7 * 7 * 64, 1024], stddev=0.1))
b_fc1 = tf.Variable(tf.constant(0.1, shape=[1024]))
h_pool2_flat = tf.reshape(h_pool2, [-1, 7 * 7 * 64])
h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)
keep_prob = tf.placeholder(tf.float32)
h_fc1_drop = tf.nn.dropout(h_fc1, keep_prob)
W_fc2 = tf.Variable(tf.truncated_normal([1024, 10], stddev=0.1))
b_fc2 = tf.Variable(tf.constant(0.1, shape=[10]))
y_conv = tf.nn.softmax(tf.matmul(h_fc1_drop, W_fc2) + b_fc2)
"""


def _edit(source: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        if old not in source:  # a mutant that changes nothing would prove nothing
            raise ValueError(f"mutant edit not found: {old!r}")
        source = source.replace(old, new)
    return source


MUTANTS = {
    # conv part: 16 filters in the first layer (consistently carried into the second)
    "conv1_16_filters": {
        "cnn_conv": _edit(
            _CONV,
            ("[5, 5, 1, 32]", "[5, 5, 1, 16]"),
            ("shape=[32]", "shape=[16]"),
            ("[5, 5, 32, 64]", "[5, 5, 16, 64]"),
        )
    },
    # conv part: no pooling (the fc layer's reshape then mixes images and training fails)
    "no_pooling": {
        "cnn_conv": _edit(
            _CONV,
            ("tf.nn.max_pool(h_conv1, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')", "h_conv1"),
            ("tf.nn.max_pool(h_conv2, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')", "h_conv2"),
        )
    },
    # conv part: no ReLU after the convolutions (shapes still right)
    "conv_no_relu": {
        "cnn_conv": _edit(
            _CONV,
            (
                "h_conv1 = tf.nn.relu(tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding='SAME') + b_conv1)",
                "h_conv1 = tf.nn.conv2d(x_image, W_conv1, strides=[1, 1, 1, 1], padding='SAME') + b_conv1",
            ),
            (
                "h_conv2 = tf.nn.relu(tf.nn.conv2d(h_pool1, W_conv2, strides=[1, 1, 1, 1], padding='SAME') + b_conv2)",
                "h_conv2 = tf.nn.conv2d(h_pool1, W_conv2, strides=[1, 1, 1, 1], padding='SAME') + b_conv2",
            ),
        )
    },
    # conv part: average instead of max pooling (shapes still right)
    "avg_pooling": {"cnn_conv": _CONV.replace("tf.nn.max_pool", "tf.nn.avg_pool")},
    # fc part: 512 units instead of 1024
    "fc1_512_units": {
        "cnn_fc": _edit(
            _FC,
            ("[7 * 7 * 64, 1024]", "[7 * 7 * 64, 512]"),
            ("shape=[1024]", "shape=[512]"),
            ("[1024, 10]", "[512, 10]"),
        )
    },
    # fc part: keep_prob ignored, dropout fixed at 0.5 (also when evaluating)
    "keep_prob_constant": {"cnn_fc": _edit(_FC, ("tf.nn.dropout(h_fc1, keep_prob)", "tf.nn.dropout(h_fc1, 0.5)"))},
    # fc part: dropout left out of y_conv
    "dropout_unused": {"cnn_fc": _edit(_FC, ("tf.matmul(h_fc1_drop, W_fc2)", "tf.matmul(h_fc1, W_fc2)"))},
    # fc part: no ReLU on the fully connected layer
    "fc_no_relu": {
        "cnn_fc": _edit(
            _FC, ("tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)", "tf.matmul(h_pool2_flat, W_fc1) + b_fc1")
        )
    },
    # training: the weights are not trainable, so only the biases learn
    "weights_frozen": {
        "cnn_conv": _edit(_CONV, ("stddev=0.1))", "stddev=0.1), trainable=False)")),
        "cnn_fc": _edit(_FC, ("stddev=0.1))", "stddev=0.1), trainable=False)")),
    },
}
