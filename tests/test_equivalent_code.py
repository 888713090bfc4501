"""Equivalent code is graded alike: every course check that reads a Keras model's configuration
(layer specs, the loss) is given at least three spellings of the same model (activations as
names, TensorFlow or Keras functions, lambdas, Activation / ReLU() / Softmax() layers; losses as
names, functions, objects). The in-kernel helper runs here on real small models and the trusted
check judges its export, without a sandbox (the model is never trained: configuration only)."""

from pathlib import Path

import pytest

from grader.assignment.spec import load_checks_module
from grader.checks import CheckContext, fold_keras_layers
from grader.inside.kernel import activation_name, layer_specs, loss_name
from grader.results import Status

pytestmark = pytest.mark.filterwarnings("ignore:The object being serialized includes a `lambda`")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
L = keras.layers

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def _check(path: str, part: str, name: str):
    module = load_checks_module(SOLUTIONS / path)
    return next(c for p in module.PARTS if p.id == part for c in p.checks if c.name == name)


def _judge(check, export: str, value):
    result = check(CheckContext(part_id="p", values={export: value}, thresholds={}))
    return result[0] if isinstance(result, list) else result


def _model(shape, *layers):
    return keras.Sequential([keras.Input(shape=shape), *layers])


def my_relu(x):  # a student's own function: judged by what it computes, not by its name
    return tf.maximum(x, 0.0)


RELU = [
    "relu",
    tf.nn.relu,
    keras.activations.relu,
    keras.activations.get("relu"),
    keras.ops.relu,
    lambda x: tf.nn.relu(x),
    my_relu,
]
SOFTMAX = [
    "softmax",
    tf.nn.softmax,
    keras.activations.softmax,
    tf.keras.activations.softmax,
    lambda x: tf.nn.softmax(x),
]
SIGMOID = ["sigmoid", tf.nn.sigmoid, tf.math.sigmoid, keras.activations.sigmoid, lambda x: 1 / (1 + tf.exp(-x))]
TANH = ["tanh", tf.nn.tanh, tf.math.tanh, keras.activations.tanh]


def _dense(units, activation):
    """Dense with `activation` given as an argument, or as a layer after a linear Dense."""
    if activation == "Activation(relu)":
        return [L.Dense(units), L.Activation("relu")]
    if activation == "Activation(tf.nn.relu)":
        return [L.Dense(units), L.Activation(tf.nn.relu)]
    if activation == "ReLU()":
        return [L.Dense(units), L.ReLU()]
    if activation == "Softmax()":
        return [L.Dense(units), L.Softmax()]
    if activation == "Activation(softmax)":
        return [L.Dense(units), L.Activation(keras.activations.softmax)]
    return [L.Dense(units, activation=activation)]


HIDDEN = RELU + ["Activation(relu)", "Activation(tf.nn.relu)", "ReLU()"]
OUTPUT = SOFTMAX + ["Softmax()", "Activation(softmax)"]


@pytest.mark.parametrize(
    "fn, name",
    [(f, "relu") for f in RELU]
    + [(f, "softmax") for f in SOFTMAX]
    + [(f, "sigmoid") for f in SIGMOID]
    + [(f, "tanh") for f in TANH]
    + [(None, "linear"), ("linear", "linear"), (tf.identity, "linear")],
)
def test_an_activation_is_named_however_it_is_written(fn, name):
    assert activation_name(L.Dense(2, activation=fn).activation) == name


def test_an_activation_is_not_named_by_its_name_alone():
    def relu(x):  # named relu, computes the identity
        return x

    def odd(x):
        return x * 2.0

    assert activation_name(relu) == "linear"
    assert activation_name(odd) == "custom odd"
    assert activation_name(tf.nn.relu6) == "relu6"  # 7.0 in the probe tells it from relu
    assert activation_name(L.LeakyReLU(negative_slope=0.2)) == "custom LeakyReLU"


@pytest.mark.parametrize("hidden, output", list(zip(HIDDEN, OUTPUT + OUTPUT[:3])))
def test_iris_layers(hidden, output):
    model = _model((4,), *_dense(12, hidden), *_dense(3, output))
    check = _check("keras/iris.checks.py", "iris_layers", "layers")
    assert _judge(check, "layers", layer_specs(model)).status is Status.PASS


@pytest.mark.parametrize("hidden, output", list(zip(HIDDEN, OUTPUT + OUTPUT[:3])))
def test_mnist_mlp_layers(hidden, output):
    model = _model(
        (784,), *_dense(512, hidden), L.Dropout(0.2), *_dense(512, hidden), L.Dropout(0.2), *_dense(10, output)
    )
    check = _check("keras/mnist_mlp.checks.py", "mlp_layers", "layers")
    assert _judge(check, "layers", layer_specs(model)).status is Status.PASS


def test_wrong_activations_still_fail_however_written():
    check = _check("keras/iris.checks.py", "iris_layers", "layers")
    for hidden in ("tanh", tf.nn.sigmoid, lambda x: x, L.LeakyReLU()):
        model = _model((4,), L.Dense(12, activation=hidden), L.Dense(3, activation="softmax"))
        result = _judge(check, "layers", layer_specs(model))
        assert result.status is Status.FAIL and "activation" in result.message
    # ReLU() after a layer that already has an activation is a layer of its own: not folded
    model = _model((4,), L.Dense(12, activation="tanh"), L.ReLU(), L.Dense(3, activation="softmax"))
    assert _judge(check, "layers", layer_specs(model)).status is Status.FAIL


@pytest.mark.parametrize(
    "loss",
    [
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
        keras.losses.sparse_categorical_crossentropy,
        tf.keras.losses.sparse_categorical_crossentropy,
        keras.losses.SparseCategoricalCrossentropy(),
        keras.losses.get("sparse_categorical_crossentropy"),
    ],
)
@pytest.mark.parametrize("optimizer", ["adam", keras.optimizers.Adam(learning_rate=0.001)])
def test_mnist_mlp_loss(loss, optimizer):
    model = _model((784,), L.Dense(10, activation=tf.nn.softmax))
    model.compile(loss=loss, optimizer=optimizer, metrics=["accuracy"])
    check = _check("keras/mnist_mlp.checks.py", "mlp_loss", "loss")
    assert _judge(check, "loss", loss_name(model)).status is Status.PASS


def test_loss_short_names_and_a_model_never_compiled():
    model = _model((3,), L.Dense(1))
    for loss in ("mse", "mean_squared_error", keras.losses.MeanSquaredError(), keras.losses.mean_squared_error):
        model.compile(loss=loss, optimizer="sgd")
        assert loss_name(model) == "mean_squared_error", loss
    assert loss_name(_model((3,), L.Dense(1))) == "not compiled"  # not 'none_type'
    wrong = _model((784,), L.Dense(10, activation="softmax"))
    wrong.compile(loss=keras.losses.CategoricalCrossentropy(), optimizer="adam")
    check = _check("keras/mnist_mlp.checks.py", "mlp_loss", "loss")
    assert _judge(check, "loss", loss_name(wrong)).status is Status.FAIL


@pytest.mark.parametrize(
    "relu, sigmoid",
    [
        ("relu", "sigmoid"),
        (tf.nn.relu, tf.nn.sigmoid),
        (keras.activations.relu, keras.activations.sigmoid),
        (lambda x: tf.nn.relu(x), "Activation(sigmoid)"),
    ],
)
def test_rnn_layers(relu, sigmoid):
    out = (
        [L.Dense(1), L.Activation(tf.nn.sigmoid)]
        if sigmoid == "Activation(sigmoid)"
        else [L.Dense(1, activation=sigmoid)]
    )
    model = _model((8, 2), L.SimpleRNN(units=16, return_sequences=True, activation=relu), *out)
    check = _check("rnn/binary_addition.checks.py", "rnn_layers", "SimpleRNN model layers")
    assert _judge(check, "rnn_specs", layer_specs(model)).status is Status.PASS
    for layer in (L.GRU(16, return_sequences=True), L.LSTM(16, return_sequences=True, activation=tf.nn.tanh)):
        model2 = _model((8, 2), layer, *[L.Dense(1, activation=sigmoid)] if sigmoid != "Activation(sigmoid)" else out)
        second = _check("rnn/binary_addition.checks.py", "rnn2_layers", "GRU/LSTM model layers")
        assert _judge(second, "rnn2_specs", layer_specs(model2)).status is Status.PASS


def test_rnn_activation_layer_after_the_recurrent_layer_is_not_its_activation():
    model = _model(
        (8, 2),
        L.SimpleRNN(units=16, return_sequences=True, activation="linear"),
        L.Activation("relu"),
        L.Dense(1, activation="sigmoid"),
    )
    check = _check("rnn/binary_addition.checks.py", "rnn_layers", "SimpleRNN model layers")
    assert _judge(check, "rnn_specs", layer_specs(model)).status is Status.FAIL


def _generator(tanh):
    last = (
        [L.Conv2DTranspose(1, 5, strides=2, padding="same"), L.Activation(tf.nn.tanh)]
        if tanh == "layer"
        else [L.Conv2DTranspose(1, 5, strides=2, padding="same", activation=tanh)]
    )
    return _model(
        (100,),
        L.Dense(7 * 7 * 128, use_bias=False),
        L.BatchNormalization(),
        L.LeakyReLU(),
        L.Reshape((7, 7, 128)),
        L.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        L.BatchNormalization(),
        L.LeakyReLU(),
        *last,
    )


@pytest.mark.parametrize("tanh", ["tanh", tf.nn.tanh, keras.activations.tanh, "layer"])
def test_dcgan_generator_layers(tanh):
    check = _check("dcgan/dcgan.checks.py", "dcgan_generator", "generator layers")
    specs = layer_specs(_generator(tanh))
    assert _judge(check, "gen_specs", specs).status is Status.PASS


@pytest.mark.parametrize("logit", [None, "linear", keras.activations.linear, lambda x: x])
def test_dcgan_discriminator_layers(logit):
    model = _model(
        (28, 28, 1),
        L.Conv2D(64, 5, strides=2, padding="same"),
        L.LeakyReLU(),
        L.Dropout(0.3),
        L.Conv2D(128, 5, strides=2, padding="same"),
        L.LeakyReLU(),
        L.Dropout(0.3),
        L.Flatten(),
        L.Dense(1, activation=logit),
    )
    check = _check("dcgan/dcgan.checks.py", "dcgan_discriminator", "discriminator layers")
    assert _judge(check, "disc_specs", layer_specs(model)).status is Status.PASS


def test_fold_is_bounded_and_keeps_what_is_not_layer_specs():
    assert fold_keras_layers(["x", 1]) == ["x", 1]
    specs = [{"class": "Dense", "activation": "linear"}, {"class": "ReLU", "activation": None}]
    assert fold_keras_layers(specs) == specs  # a ReLU with settings of its own is not plain relu


def test_saved_models_load_however_activations_are_written(tmp_path):
    """The evaluate phase opens only Keras built-ins: tf.nn.softmax ('softmax_v2' of module
    builtins) or a lambda are saved as the built-in they compute, and the student's model is
    left as it was."""
    import numpy as np

    from grader.inside import kernel
    from grader.intake.keras_files import inspect_keras_file

    kernel.start(0, "numpy", str(tmp_path))
    hidden = lambda x: tf.nn.relu(x)  # noqa: E731
    model = _model(
        (4,),
        L.Dense(5, activation=hidden),
        L.Dense(3),
        L.Activation(tf.nn.softmax),
        L.Dense(3, activation=tf.nn.softmax),
    )
    rnn = _model(
        (8, 2), L.SimpleRNN(4, return_sequences=True, activation=tf.nn.relu), L.Dense(1, activation=tf.nn.sigmoid)
    )
    kernel.save_models("p", {"m": lambda: model, "rnn": lambda: rnn})
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    for name, original, inputs in (("m", model, x), ("rnn", rnn, np.ones((1, 8, 2), np.float32))):
        path = tmp_path / "p" / f"{name}.keras"
        inspect_keras_file(path)
        loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
        assert np.allclose(loaded.predict(inputs, verbose=0), original.predict(inputs, verbose=0), atol=1e-6)
    assert model.layers[0].activation is hidden


@pytest.mark.slow
def test_a_course_notebook_in_other_spellings_gets_full_marks(tmp_path):
    """The iris exercise written with TensorFlow functions as activations, an Activation layer
    holding tf.nn.softmax, and a loss object: graded in the sandbox, full marks."""
    import nbformat

    from grader.assignment.spec import load_assignment
    from grader.datasets import public_dir
    from grader.notebook import format as nbf
    from grader.pipeline.calibrate import reference_notebook
    from grader.pipeline.execution import SandboxedRunner
    from grader.pipeline.grading import GradeOptions
    from grader.pipeline.hidden import HiddenData
    from grader.pipeline.scheduler import grade_class
    from grader.sandbox.bwrap import make_sandbox

    assignment = load_assignment(SOLUTIONS / "keras")
    spec = next(s for s in assignment.notebooks if s.name == "iris.ipynb")
    nb = reference_notebook(spec)
    model_cell = next(c for c in nb.cells if nbf.grade_id(c) == "iris_model")
    model_cell.source = (
        "import tensorflow as tf\n"
        "model = keras.Sequential([\n"
        "    keras.Input(shape=(4,)),\n"
        "    layers.Dense(12, activation=tf.nn.relu),\n"
        "    layers.Dense(3),\n"
        "    layers.Activation(tf.nn.softmax),\n"
        "])\n"
        "model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(), metrics=['accuracy'])\n"
        "model.summary()\n"
    )
    folder = tmp_path / "class" / "spellings"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / spec.name)
    options = GradeOptions(data_paths=[public_dir()], hidden=HiddenData())
    [result] = grade_class(
        [folder], assignment, SandboxedRunner(make_sandbox(False)), tmp_path / "out", options, jobs=1
    )
    parts = [p for p in result.parts if p.notebook == spec.name and not p.id.endswith("-notebook")]
    lost = [f"{p.id}/{c.name}: {c.message}" for p in parts for c in p.checks if c.score < c.max_score]
    assert parts and not lost, lost
