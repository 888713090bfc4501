"""Tests for grader.checks.legacy: old TF1 / Keras 2 API found by scanning code and by reading errors."""

from __future__ import annotations

import re
import textwrap

import pytest

from grader.checks import legacy
from grader.checks.legacy import CODES, Finding, diagnose_error, findings_to_checks, scan_notebook, scan_source
from grader.results import CheckResult, PartResult, Status

TF1_FIX = "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()"

# (old code, code, expected modern call): every row of REFERENCE.md's breakage table and more.
SCAN_CASES = [
    ("import tensorflow as tf\nx = tf.placeholder(tf.float32)\ns = tf.Session()", "tf1-api", TF1_FIX),
    ("import tensorflow as tf\nopt = tf.train.GradientDescentOptimizer(0.1)", "tf1-api", TF1_FIX),
    (
        "import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)",
        "tf-eager-placeholder",
        "tf.disable_v2_behavior()",
    ),
    (
        "import tensorflow as tf\nx = tf.compat.v1.placeholder(tf.float32)",
        "tf-eager-placeholder",
        "tf.disable_v2_behavior()",
    ),
    (
        "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\ny = tf.layers.dense(x, 3, activation=tf.nn.relu)",
        "tf-layers-keras3",
        "keras.layers.Dense(3, activation=tf.nn.relu)(x)",
    ),
    (
        "import tensorflow.compat.v1 as tf\ncell = tf.nn.rnn_cell.BasicRNNCell(4)",
        "tf-layers-keras3",
        "keras.layers.SimpleRNNCell",
    ),
    (
        "import tensorflow as tf\nl = tf.reduce_sum(d * y, reduction_indices=[1])",
        "tf-reduction-indices",
        "tf.reduce_sum(d * y, axis=[1])",
    ),
    (
        "from tensorflow.examples.tutorials.mnist import input_data",
        "tf-examples-mnist",
        "from grader.datasets import input_data",
    ),
    ("from MNIST_data.mnist import load_mnist", "course-load-mnist", "from grader.datasets.mnist import load_mnist"),
    ("from data.mnist import load_mnist", "course-load-mnist", "from grader.datasets.mnist import load_mnist"),
    ("opt = SGD(lr=0.1)", "keras-optimizer-lr", "SGD(learning_rate=0.1)"),
    ("opt = keras.optimizers.Adam(lr=1e-3)", "keras-optimizer-lr", "keras.optimizers.Adam(learning_rate=0.001)"),
    ("opt = Adam(Ir=0.001)", "keras-optimizer-lr", "Adam(learning_rate=0.001)"),
    (
        "opt = SGD(lr=0.01, decay=1e-6, momentum=0.9)",
        "keras-optimizer-decay",
        "SGD(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, "
        "decay_rate=1e-06), momentum=0.9)",
    ),
    ("opt = Adam(learning_rate=0.001, decay=0.0)", "keras-optimizer-decay", "Adam(learning_rate=0.001)"),
    (
        "opt = Adam(learning_rate=0.001, epsilon=None)",
        "keras-adam-epsilon-none",
        "Adam(learning_rate=0.001, epsilon=1e-07)",
    ),
    (
        "model.add(Dense(input_dim=1, output_dim=1))",
        "keras-dense-output-dim",
        "model.add(keras.Input(shape=(1,))); model.add(Dense(units=1))",
    ),
    ("layer = Dense(10, init='uniform')", "keras-layer-init", "Dense(10, kernel_initializer='uniform')"),
    ("model.add(Dense(8, input_dim=2))", "keras-input-arg", "model.add(keras.Input(shape=(2,))); model.add(Dense(8))"),
    (
        "m = Sequential([Flatten(input_shape=(28, 28)), Dense(10)])",
        "keras-input-arg",
        "keras.Input(shape=(28, 28)), Flatten()",
    ),
    ("y = model.predict_classes(x)", "keras-predict-classes", "np.argmax(model.predict(x), axis=-1)"),
    ("model.fit_generator(gen, steps_per_epoch=10)", "keras-generator-methods", "model.fit(gen, steps_per_epoch=10)"),
    ("h = model.fit(x, y, nb_epoch=2)", "keras-fit-nb-epoch", "model.fit(x, y, epochs=2)"),
    ("plt.plot(history.history['acc'])", "keras-history-acc", "history.history['accuracy']"),
    ("plt.plot(hist['val_acc'])", "keras-history-acc", "hist['val_accuracy']"),
    (
        "from keras.layers.core import Dense, Dropout",
        "keras-layers-submodule",
        "from keras.layers import Dense, Dropout",
    ),
    (
        "from keras.layers.recurrent import SimpleRNN, LSTM",
        "keras-layers-submodule",
        "from keras.layers import SimpleRNN, LSTM",
    ),
    (
        "from tensorflow.keras.layers.wrappers import TimeDistributed",
        "keras-layers-submodule",
        "from tensorflow.keras.layers import TimeDistributed",
    ),
    ("from keras.utils import np_utils", "keras-np-utils", "from keras.utils import to_categorical"),
    ("y = keras.utils.np_utils.to_categorical(y, 10)", "keras-np-utils", "keras.utils.to_categorical"),
    (
        "model.compile(loss='binary crossentropy', optimizer='sgd')",
        "keras-loss-space",
        "model.compile(loss='binary_crossentropy', optimizer='sgd')",
    ),
    (
        "from sklearn.cross_validation import train_test_split",
        "sklearn-cross-validation",
        "from sklearn.model_selection import train_test_split",
    ),
    ("print(model.layers[0].output_shape)", "keras-output-shape", "model.layers[0].output.shape"),
    ("for layer in model.layers:\n    print(layer.output_shape)", "keras-output-shape", "layer.output.shape"),
]

# (ename, evalue, code, old, new): the exact texts of REFERENCE.md's table, measured here.
ERROR_CASES = [
    ("AttributeError", "module 'tensorflow' has no attribute 'placeholder'", "tf1-api", "tf.placeholder", TF1_FIX),
    (
        "AttributeError",
        "module 'tensorflow._api.v2.train' has no attribute 'AdamOptimizer'",
        "tf1-api",
        "tf.train.AdamOptimizer",
        TF1_FIX,
    ),
    (
        "RuntimeError",
        "tf.placeholder() is not compatible with eager execution.",
        "tf-eager-placeholder",
        "tf.placeholder()",
        "tf.disable_v2_behavior()",
    ),
    (
        "AttributeError",
        "`dense` is not available with Keras 3.",
        "tf-layers-keras3",
        "tf.layers.dense",
        "keras.layers.Dense",
    ),
    (
        "AttributeError",
        "`BasicRNNCell` is not available with Keras 3.",
        "tf-layers-keras3",
        "tf.nn.rnn_cell.BasicRNNCell",
        "keras.layers.SimpleRNNCell",
    ),
    (
        "AttributeError",
        "module 'tensorflow._api.v2.nn' has no attribute 'rnn_cell'",
        "tf-layers-keras3",
        "tf.nn.rnn_cell",
        "keras.layers",
    ),
    (
        "TypeError",
        "Got an unexpected keyword argument 'reduction_indices'",
        "tf-reduction-indices",
        "reduction_indices=",
        "axis=",
    ),
    (
        "ModuleNotFoundError",
        "No module named 'tensorflow.examples'",
        "tf-examples-mnist",
        "tensorflow.examples",
        "from grader.datasets import input_data",
    ),
    (
        "ModuleNotFoundError",
        "No module named 'MNIST_data'",
        "course-load-mnist",
        "MNIST_data.mnist",
        "from grader.datasets.mnist import load_mnist",
    ),
    ("ValueError", "Argument(s) not recognized: {'lr': 0.1}", "keras-optimizer-lr", "lr=0.1", "learning_rate=0.1"),
    (
        "UserWarning",
        "Argument `decay` is no longer supported and will be ignored.",
        "keras-optimizer-decay",
        "decay=...",
        "learning_rate=keras.optimizers.schedules.InverseTimeDecay(...)",
    ),
    (
        "TypeError",
        "Dense.__init__() missing 1 required positional argument: 'units'",
        "keras-dense-output-dim",
        "Dense(output_dim=...)",
        "Dense(units=...)",
    ),
    (
        "ValueError",
        "Unrecognized keyword arguments passed to Dense: {'init': 'uniform'}",
        "keras-layer-init",
        "init='uniform'",
        "kernel_initializer='uniform'",
    ),
    (
        "UserWarning",
        "Do not pass an `input_shape`/`input_dim` argument to a layer. When using "
        "Sequential models, prefer using an `Input(shape)` object as the first layer in the model "
        "instead.",
        "keras-input-arg",
        "input_dim=...",
        "keras.Input(shape=(...,))",
    ),
    (
        "AttributeError",
        "'Sequential' object has no attribute 'predict_classes'",
        "keras-predict-classes",
        "model.predict_classes(x)",
        "np.argmax(model.predict(x), axis=-1)",
    ),
    (
        "AttributeError",
        "'Sequential' object has no attribute 'fit_generator'",
        "keras-generator-methods",
        "model.fit_generator(...)",
        "model.fit(...)",
    ),
    (
        "TypeError",
        "TensorFlowTrainer.fit() got an unexpected keyword argument 'nb_epoch'",
        "keras-fit-nb-epoch",
        "nb_epoch=",
        "epochs=",
    ),
    ("KeyError", "'acc'", "keras-history-acc", "history.history['acc']", "history.history['accuracy']"),
    ("KeyError", "'val_acc'", "keras-history-acc", "history.history['val_acc']", "history.history['val_accuracy']"),
    (
        "ModuleNotFoundError",
        "No module named 'keras.layers.core'",
        "keras-layers-submodule",
        "keras.layers.core",
        "from keras.layers import ...",
    ),
    (
        "ImportError",
        "cannot import name 'np_utils' from 'keras.utils' (/x/keras/utils/__init__.py)",
        "keras-np-utils",
        "np_utils",
        "from keras.utils import to_categorical",
    ),
    (
        "ValueError",
        "Could not interpret loss identifier: binary crossentropy",
        "keras-loss-space",
        "'binary crossentropy'",
        "'binary_crossentropy'",
    ),
    (
        "ModuleNotFoundError",
        "No module named 'sklearn.cross_validation'",
        "sklearn-cross-validation",
        "sklearn.cross_validation",
        "from sklearn.model_selection import ...",
    ),
    (
        "AttributeError",
        "'Dense' object has no attribute 'output_shape'",
        "keras-output-shape",
        "layer.output_shape",
        "layer.output.shape",
    ),
]

MODERN_CODE = [
    "opt = SGD(learning_rate=0.1)",
    "opt = keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)",
    "lr = 0.1\nopt = SGD(learning_rate=lr)\nprint(lr)",
    "opt = SGD(learning_rate=0.1)  # was SGD(lr=0.1), nb_epoch=2, tf.placeholder",
    "print('use SGD(lr=0.1) no more')",
    "plt.plot(history.history['accuracy'])\nplt.plot(history.history['val_accuracy'])",
    "scores = {'acc': 1}\nprint(scores['acc'])",
    "model.compile(metrics=['acc'])\nh = model.fit(x, y)\nplt.plot(h.history['acc'])",
    "from keras.layers import Dense, SimpleRNN\nfrom keras.utils import to_categorical",
    "from sklearn.model_selection import train_test_split",
    "model = keras.Sequential([keras.Input(shape=(2,)), Dense(8), Dense(1)])\nprint(model.output_shape)",
    "y = np.argmax(model.predict(x), axis=-1)\nmodel.fit(x, y, epochs=3)",
    "km = KMeans(n_clusters=3, init='k-means++')\np = clf.predict_proba(x)",
    "model.compile(loss='binary_crossentropy', optimizer='sgd')",
    "import tensorflow as tf\nx = tf.random.normal([2])\ny = tf.reduce_sum(x, axis=0)\ntf.math.log(y)",
    "import numpy as np\ns = np.sum(x, axis=1)",
    textwrap.dedent("""\
        import tensorflow.compat.v1 as tf
        tf.disable_v2_behavior()
        x = tf.placeholder(tf.float32, [None, 784])
        W = tf.Variable(tf.random_normal([784, 10], stddev=0.01))
        loss = -tf.reduce_sum(tf.log(x), reduction_indices=[1])
        train = tf.train.AdamOptimizer(1e-4).minimize(loss)
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())"""),
    "%matplotlib inline\n!pip list\nimport numpy as np",
    "%%bash\necho SGD(lr=0.1)",
]


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_every_code_has_a_scan_case_and_an_error_case():
    assert {c for _, c, _ in SCAN_CASES} == set(CODES)
    assert {c for _, _, c, _, _ in ERROR_CASES} | {"keras-adam-epsilon-none"} == set(CODES)


@pytest.mark.parametrize("old, code, new", SCAN_CASES, ids=[f"{c}:{o[:30]}" for o, c, _ in SCAN_CASES])
def test_scan_finds_old_api_and_names_the_modern_call(old, code, new):
    found = [f for f in scan_source(old) if f.code == code]
    assert found, scan_source(old)
    assert found[0].new.endswith(new) or found[0].new == new
    assert found[0].source == "scan" and found[0].line is not None


@pytest.mark.parametrize(
    "ename, evalue, code, old, new", ERROR_CASES, ids=[f"{c}:{v[:30]}" for _, v, c, _, _ in ERROR_CASES]
)
def test_error_text_maps_to_finding(ename, evalue, code, old, new):
    found = diagnose_error(ename, evalue)
    assert [(f.code, f.old, f.new, f.source) for f in found] == [(code, old, new, "error")]


@pytest.mark.parametrize("source", MODERN_CODE, ids=range(len(MODERN_CODE)))
def test_modern_code_is_not_flagged(source):
    assert scan_source(source) == []


def test_unrelated_errors_give_no_finding():
    assert diagnose_error("NameError", "name 'x_train' is not defined") == []
    assert diagnose_error("KeyError", "'loss_typo'") == []
    assert diagnose_error("ValueError", "Could not interpret loss identifier: binary_crossentropyy") == []
    assert diagnose_error("ModuleNotFoundError", "No module named 'keras.lavers'") == []
    assert diagnose_error("AttributeError", "module 'tensorflow' has no attribute 'reduce_mena'") == []
    # `data` alone is a student's own module unless the traceback shows the course's loader.
    assert diagnose_error("ModuleNotFoundError", "No module named 'data'") == []
    assert codes(
        diagnose_error("ModuleNotFoundError", "No module named 'data'", "----> 1 from data.mnist import load_mnist")
    ) == ["course-load-mnist"]


def test_epsilon_none_is_recognised_only_with_the_call_in_the_traceback():
    assert diagnose_error("ValueError", "None values not supported.") == []
    tb = (
        "Cell In[5], line 3\n      1 m = Sequential([keras.Input((2,)), Dense(1)])\n"
        "      2 m.compile(loss='mse', optimizer=Adam(learning_rate=0.01, epsilon=None))\n"
        "----> 3 m.fit(x, t)\n"
    )
    found = diagnose_error("ValueError", "None values not supported.", tb)
    assert codes(found) == ["keras-adam-epsilon-none"]
    assert found[0].line == 2 and found[0].new == "Adam(learning_rate=0.01, epsilon=1e-07)"


def test_tf1_names_are_reported_once_per_cell_with_the_first_line():
    src = (
        "import tensorflow as tf\n\nx = tf.placeholder(tf.float32)\ny = tf.placeholder(tf.float32)\n"
        "sess = tf.Session()\nsaver = tf.train.Saver.restore\n"
    )
    (f,) = scan_source(src)
    assert (f.code, f.line, f.old) == ("tf1-api", 3, "tf.placeholder, tf.Session, tf.train.Saver")
    assert "`tf.placeholder`, `tf.Session`" in f.message["en"]


def test_notebook_tracks_how_tf_was_imported_across_cells():
    setup = "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()"
    use = "x = tf.placeholder(tf.float32)\nsess = tf.Session()"
    assert scan_notebook([setup, use]) == []
    # The same use on its own cell is TF1 code on plain TensorFlow 2.
    assert codes(scan_source(use)) == ["tf1-api"]
    # compat.v1 without disable_v2_behavior(): placeholder fails in eager mode.
    (f,) = scan_notebook(["import tensorflow.compat.v1 as tf", use], ids=["imports", "graph"])
    assert (f.code, f.cell, f.line) == ("tf-eager-placeholder", "graph", 1)
    # Disabling after the placeholder is too late.
    late = scan_notebook(
        [
            "import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32)\n"
            "tf.disable_v2_behavior()\ny = tf.placeholder(tf.float32)"
        ]
    )
    assert [(f.code, f.line) for f in late] == [("tf-eager-placeholder", 2)]
    # A later plain import switches back to TensorFlow 2.
    again = scan_notebook([setup, "import tensorflow as tf", use])
    assert [(f.code, f.cell) for f in again] == [("tf1-api", "2")]


def test_joined_notebook_code_is_read_like_a_notebook():
    joined = "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n\nx = tf.placeholder(tf.float32)"
    assert scan_source(joined) == []


def test_layer_input_shape_is_only_suggested_for_the_first_layer():
    src = "model = Sequential()\nmodel.add(Dense(12, input_dim=4))\nmodel.add(Dense(3, input_dim=12))"
    first, second = scan_source(src)
    assert first.new == "model.add(keras.Input(shape=(4,))); model.add(Dense(12))"
    assert second.new == "model.add(Dense(3))"


def test_predict_classes_uses_a_threshold_after_a_sigmoid_output():
    src = (
        "model.add(Dense(input_dim=2, units=1))\nmodel.add(Activation('sigmoid'))\n"
        "Y = model.predict_classes(X, batch_size=1)"
    )
    (f,) = [f for f in scan_source(src) if f.code == "keras-predict-classes"]
    assert f.new == "(model.predict(X, batch_size=1) > 0.5).astype('int32')"


def test_one_call_with_several_old_arguments_gives_one_modern_call():
    src = "optimizer=Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, amsgrad=False)"
    found = scan_source(src)
    assert codes(found) == ["keras-optimizer-lr", "keras-optimizer-decay", "keras-adam-epsilon-none"]
    assert {f.new for f in found} == {
        "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False)"
    }


def test_nested_calls_are_modernised_together():
    (loss, lr) = scan_source("model.compile(loss='binary crossentropy', optimizer=SGD(lr=0.1))")
    assert loss.new == "model.compile(loss='binary_crossentropy', optimizer=SGD(learning_rate=0.1))"
    assert (lr.old, lr.new) == ("SGD(lr=0.1)", "SGD(learning_rate=0.1)")


def test_code_that_does_not_parse_is_still_read_line_by_line():
    # Copied from the course text: a `.` for a `,`, a cut-off line, `Ir` for `lr`, `input data`.
    src = textwrap.dedent("""\
        from tensorflow.examples.tutorials.mnist import input data
        x = tf.placeholder(tf.float32. shape=[None, 784])
        model.add(Dense(512. activation='relu'))  # was SGD(lr=0.1), history['acc']
        model.compile(loss='sparse_categorical_crossentropy',
               optimizer=Adam(Ir=0.001, beta_1=0.9, epsilon=None, decay=0.0, amsgrad=Fal
               metrics=['accuracy'])
        opt = SGD(lr=0.1)  # SGD(lr=0.2) in a comment
        plt.plot(history.history['acc'])""")
    found = [(f.line, f.code) for f in scan_source(src)]
    assert found == [
        (1, "tf-examples-mnist"),
        (2, "tf1-api"),
        (5, "keras-optimizer-lr"),
        (5, "keras-optimizer-decay"),
        (5, "keras-adam-epsilon-none"),
        (7, "keras-optimizer-lr"),
        (8, "keras-history-acc"),
    ]
    assert scan_source(src)[-2].old == "SGD(lr=0.1)"


def test_ipython_lines_keep_line_numbers():
    src = "%matplotlib inline\n!pip install x\nimport numpy as np\nopt = SGD(lr=0.1)"
    assert [(f.code, f.line) for f in scan_source(src)] == [("keras-optimizer-lr", 4)]


def test_traceback_from_the_kernel_gives_the_line_and_the_exact_call():
    # An IPython traceback as nbclient reports it (ANSI colours included), trimmed.
    tb = [
        "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
        "\x1b[31mValueError\x1b[39m                                Traceback (most recent call last)",
        "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 2\x1b[39m\n"
        "\x1b[32m      1\x1b[39m \x1b[38;5;28;01mfrom\x1b[39;00m keras.optimizers \x1b[38;5;28;01m"
        "import\x1b[39;00m SGD\n\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m opt = SGD(lr=0.1,\n"
        "\x1b[32m      3\x1b[39m           momentum=0.9)\n",
        "\x1b[36mFile \x1b[39m\x1b[32m/venv/keras/src/optimizers/base_optimizer.py:90\x1b[39m, in "
        "\x1b[36mBaseOptimizer.__init__\x1b[39m\n\x1b[32m---> \x1b[39m\x1b[32m90\x1b[39m     raise "
        'ValueError(f"Argument(s) not recognized: {kwargs}")\n',
        "\x1b[31mValueError\x1b[39m: Argument(s) not recognized: {'lr': 0.1}",
    ]
    (f,) = diagnose_error("ValueError", "Argument(s) not recognized: {'lr': 0.1}", tb)
    assert (f.code, f.line, f.source) == ("keras-optimizer-lr", 2, "error")
    assert (f.old, f.new) == ("SGD(lr=0.1, momentum=0.9)", "SGD(learning_rate=0.1, momentum=0.9)")


def test_messages_exist_in_both_languages_and_are_filled_in():
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    findings = [f for src, _, _ in SCAN_CASES for f in scan_source(src)]
    findings += [f for e, v, *_ in ERROR_CASES for f in diagnose_error(e, v)]
    assert {f.code for f in findings} == set(CODES)
    for f in findings:
        assert set(f.message) == {"en", "ja"}
        assert japanese.search(f.message["ja"]) and not japanese.search(f.message["en"])
        for text in f.message.values():
            assert f.new in text and "{" not in text.replace(f.new, "").replace(f.old, "")
    (lr,) = scan_source("SGD(lr=0.1)")
    assert (
        lr.message["ja"] == "Keras 3 では `lr=` は使えません。`learning_rate=` を使ってください"
        "（例: `SGD(learning_rate=0.1)`）。"
    )


def test_findings_become_zero_point_legacy_checks():
    scanned = scan_notebook(["from keras.optimizers import SGD\nopt = SGD(lr=0.1)"], ids=["q1"])
    error = [
        Finding(**{**f.__dict__, "cell": "q1"})
        for f in diagnose_error("ValueError", "Argument(s) not recognized: {'lr': 0.1}")
    ]
    other = diagnose_error("KeyError", "'acc'")
    checks = findings_to_checks(scanned + error + other, lang="ja")
    # The error duplicate of the scanned finding (same code, same cell) is dropped.
    assert [c.name for c in checks] == [
        "legacy-api/keras-optimizer-lr (cell q1, line 2)",
        "legacy-api/keras-history-acc",
    ]
    lr = checks[0]
    assert (lr.kind, lr.status, lr.score, lr.max_score) == ("legacy-api", Status.PASS, 0.0, 0.0)
    assert lr.hint == "SGD(learning_rate=0.1)"
    assert lr.message.startswith("Keras 3 では")
    assert lr.message_key == "legacy.keras-optimizer-lr"
    assert lr.message_args["old"] == "SGD(lr=0.1)" and lr.message_args["line"] == 2
    # Hints change neither the points nor the status of a part.
    failing = CheckResult("accuracy", Status.FAIL, 0.0, 2.0)
    part = PartResult.from_checks("p1", "Perceptron", [failing, *checks])
    assert (part.score, part.max_score, part.status) == (0.0, 2.0, Status.FAIL)
    ok = PartResult.from_checks("p2", "Perceptron", [CheckResult("acc", Status.PASS, 2.0, 2.0), *checks])
    assert (ok.score, ok.status) == (2.0, Status.PASS)


def test_unknown_language_falls_back_to_english():
    (check,) = findings_to_checks(scan_source("SGD(lr=0.1)"), lang="fr")
    assert check.message.startswith("Keras 3 does not accept")


# -- against the installed TensorFlow / Keras -------------------------------------------------

SETUP = textwrap.dedent("""\
    import os, warnings
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np
    import keras
    import tensorflow as tf
    from keras.models import Sequential
    from keras.layers import Dense, Activation
    from keras.optimizers import SGD, Adam
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    t = np.array([[0], [1], [1], [1]], dtype="float32")
    model = Sequential([keras.Input((2,)), Dense(1, activation='sigmoid')])
    model.compile(loss='binary_crossentropy', optimizer='sgd', metrics=['accuracy'])
    history = model.fit(x, t, epochs=1, verbose=0, validation_data=(x, t))
    def gen():
        while True:
            yield x, t""")
# (code, snippet that fails on the installed stack). Warnings are raised as errors.
REAL_CASES = [
    ("tf1-api", "v = tf.placeholder(tf.float32)"),
    ("tf1-api", "opt = tf.train.GradientDescentOptimizer(0.1)"),
    ("tf-reduction-indices", "s = tf.reduce_sum(tf.ones([2, 2]), reduction_indices=[1])"),
    ("tf-examples-mnist", "from tensorflow.examples.tutorials.mnist import input_data"),
    ("course-load-mnist", "from MNIST_data.mnist import load_mnist"),
    ("course-load-mnist", "from data.mnist import load_mnist"),
    ("keras-optimizer-lr", "opt = SGD(lr=0.1)"),
    ("keras-optimizer-lr", "opt = Adam(Ir=0.001, beta_1=0.9)"),
    ("keras-optimizer-decay", "opt = SGD(learning_rate=0.1, decay=1e-6)"),
    (
        "keras-adam-epsilon-none",
        "m = Sequential([keras.Input((2,)), Dense(1)])\n"
        "m.compile(loss='mse', optimizer=Adam(learning_rate=0.01, epsilon=None))\nm.fit(x, t, verbose=0)",
    ),
    ("keras-dense-output-dim", "layer = Dense(input_dim=1, output_dim=1)"),
    ("keras-layer-init", "layer = Dense(10, init='uniform')"),
    ("keras-input-arg", "m = Sequential()\nm.add(Dense(8, input_dim=2))"),
    ("keras-predict-classes", "y = model.predict_classes(x)"),
    ("keras-generator-methods", "model.fit_generator(gen(), steps_per_epoch=1, shuffle=False, verbose=0)"),
    ("keras-fit-nb-epoch", "h = model.fit(x, t, nb_epoch=2, verbose=0)"),
    ("keras-history-acc", "a = history.history['acc']"),
    ("keras-history-acc", "a = history.history['val_acc']"),
    ("keras-layers-submodule", "from keras.layers.core import Dense, Activation"),
    ("keras-layers-submodule", "from keras.layers.recurrent import SimpleRNN"),
    ("keras-layers-submodule", "from keras.layers.wrappers import TimeDistributed"),
    ("keras-np-utils", "from keras.utils import np_utils"),
    (
        "keras-loss-space",
        "m = Sequential([keras.Input((2,)), Dense(1)])\n"
        "m.compile(loss='binary crossentropy', optimizer='sgd')\nm.fit(x, t, verbose=0)",
    ),
    ("sklearn-cross-validation", "from sklearn.cross_validation import train_test_split"),
    ("keras-output-shape", "s = model.layers[0].output_shape"),
    # Graph mode changes the whole kernel: these come last.
    ("tf-eager-placeholder", "import tensorflow.compat.v1 as v1\nv = v1.placeholder(v1.float32)"),
    (
        "tf-layers-keras3",
        "v1.disable_v2_behavior()\np = v1.placeholder(v1.float32, [None, 2])\ny = v1.layers.dense(p, 3)",
    ),
    ("tf-layers-keras3", "cell = v1.nn.rnn_cell.BasicRNNCell(4)"),
]
# Codes whose `new` is a drop-in replacement for `old`: the fixed cell must run without a warning.
DROP_IN = {
    "tf-reduction-indices",
    "keras-optimizer-lr",
    "keras-optimizer-decay",
    "keras-adam-epsilon-none",
    "keras-dense-output-dim",
    "keras-layer-init",
    "keras-input-arg",
    "keras-predict-classes",
    "keras-generator-methods",
    "keras-fit-nb-epoch",
    "keras-history-acc",
    "keras-layers-submodule",
    "keras-np-utils",
    "keras-loss-space",
    "sklearn-cross-validation",
    "keras-output-shape",
}


def _strict(code: str) -> str:
    """The cell with warnings turned into errors, so that a warning shows as an error output."""
    body = textwrap.indent(code, "    ")
    return f"with warnings.catch_warnings():\n    warnings.simplefilter('error', UserWarning)\n{body}"


def _scanned() -> list[list[Finding]]:
    """Scan findings per REAL_CASES cell, read as one notebook after SETUP."""
    found = scan_notebook([SETUP, *(s for _, s in REAL_CASES)])
    return [[f for f in found if f.cell == str(i + 1)] for i in range(len(REAL_CASES))]


def _fixed(snippet: str, found: list[Finding]) -> str:
    for f in found:
        snippet = snippet.replace(f.old, f.new)
    return snippet


@pytest.fixture(scope="module")
def kernel_run():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cases = list(REAL_CASES)
    fixes = [(c, _fixed(s, found)) for (c, s), found in zip(REAL_CASES, _scanned()) if c in DROP_IN]
    cells = [SETUP] + [_strict(s) for _, s in cases]
    # The fixed versions run before the graph-mode cases.
    split = next(i for i, (c, _) in enumerate(cases) if c == "tf-eager-placeholder") + 1
    cells[split:split] = [_strict(f) for _, f in fixes]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()

    def error_of(cell):
        return next((o for o in cell.outputs if o.output_type == "error"), None)

    outputs = [error_of(c) for c in nb.cells]
    assert outputs[0] is None, outputs[0]
    broken = outputs[1:split] + outputs[split + len(fixes) :]
    return list(zip(cases, broken)), list(zip(fixes, outputs[split : split + len(fixes)]))


@pytest.mark.slow
def test_real_errors_are_recognised(kernel_run):
    broken, _ = kernel_run
    for ((code, snippet), err), scanned in zip(broken, _scanned()):
        assert err is not None, f"{snippet!r} no longer fails: update REFERENCE.md and the table"
        found = diagnose_error(err.ename, err.evalue, err.traceback)
        assert code in codes(found), (snippet, err.ename, err.evalue)
        assert any(f.line is not None for f in found if f.code == code), (snippet, err.traceback)
        assert code in codes(scanned), snippet


@pytest.mark.slow
def test_suggested_modern_calls_run(kernel_run):
    _, fixes = kernel_run
    for (code, fixed), err in fixes:
        assert err is None, (code, fixed, err and f"{err.ename}: {err.evalue}")


@pytest.mark.slow
def test_tables_match_the_installed_tensorflow_and_keras():
    import inspect

    import keras
    import tensorflow as tf

    def has(module, dotted):
        for part in dotted.split("."):
            if not hasattr(module, part):
                return False
            module = getattr(module, part)
        return True

    for name in legacy._TF1_ONLY:
        assert not has(tf, name) and has(tf.compat.v1, name), name
    for name, lr in legacy._OPTIMIZERS.items():
        default = inspect.signature(getattr(keras.optimizers, name)).parameters["learning_rate"].default
        assert default == lr, name
    for name in [*legacy._KERAS_LAYERS, *legacy._TF_TO_KERAS.values()]:
        assert hasattr(keras.layers, name), name
    params = set(inspect.signature(keras.layers.Dense).parameters) | set(
        inspect.signature(keras.layers.Conv2D).parameters
    )
    assert set(legacy._LAYER_RENAMES.values()) <= params


def test_a_call_over_several_lines_is_reported_on_one_line_without_its_comments():
    src = "model.add(SimpleRNN(units=16,  # or GRU, LSTM\n    return_sequences=True,\n    input_shape=[8, 2]))"
    (f,) = scan_source(src)
    assert f.old == "model.add(SimpleRNN(units=16, return_sequences=True, input_shape=[8, 2]))"
    assert f.new == "model.add(keras.Input(shape=[8, 2])); model.add(SimpleRNN(units=16, return_sequences=True))"
