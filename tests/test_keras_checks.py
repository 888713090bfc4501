"""TruthTable and KerasLayers: the Keras checks of the course's perceptron, iris and MNIST
exercises, over data as the evaluate phase and the kernel helpers produce it."""

import numpy as np
import pytest

from grader.checks import CheckContext, KerasLayers, TruthTable, fold_keras_layers
from grader.pipeline.hidden import HiddenData
from grader.results import Status

XOR = (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32), np.array([0, 1, 1, 0]))


def _ctx(predictions=None, values=None) -> CheckContext:
    hidden = HiddenData()
    hidden.register("xor_test", lambda: XOR)
    return CheckContext(part_id="p", values=values or {}, thresholds={}, hidden=hidden, predictions=predictions or {})


def _xor(ctx):
    return TruthTable("XOR", 3, evaluation="xor", dataset="xor_test", model="m")(ctx)


def test_truth_table_passes_only_when_every_row_is_right():
    right = _xor(_ctx({"xor": np.array([[0.1], [0.9], [0.8], [0.2]])}))
    assert right.status is Status.PASS and right.score == 3
    wrong = _xor(_ctx({"xor": np.array([[0.1], [0.9], [0.8], [0.7]])}))  # what a linear model can do
    assert wrong.status is Status.FAIL and wrong.score == 0
    assert wrong.message_args["right"] == 3
    assert "[1.0, 1.0] -> 1 (expected 0)" in wrong.message


def test_truth_table_reads_class_scores_and_reports_failed_evaluations():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    assert _xor(_ctx({"xor": scores})).status is Status.PASS
    failed = _xor(_ctx({"xor": "ValueError: bad model"}))
    assert failed.status is Status.FAIL and "bad model" in failed.message
    assert _xor(_ctx({})).message_key == "predict.failed"
    assert _xor(_ctx({"xor": np.zeros((3, 1))})).message_key == "predict.failed"


def test_truth_table_needs_the_saved_model():
    assert TruthTable("XOR", 1, evaluation="xor", dataset="xor_test", model="xor_model").needs == ("xor_model",)


DENSE12 = {"class": "Dense", "units": 12, "activation": "linear", "params": 60, "output_shape": [None, 12]}
RELU = {"class": "Activation", "units": None, "activation": "relu", "params": 0, "output_shape": [None, 12]}


def test_fold_merges_activation_layers_and_drops_input_layers():
    inp = {"class": "InputLayer", "activation": None}
    folded = fold_keras_layers([inp, DENSE12, RELU])
    assert folded == [{**DENSE12, "activation": "relu"}]
    # an activation after a layer that already has one stays a layer of its own
    tanh = {**DENSE12, "activation": "tanh"}
    assert fold_keras_layers([tanh, RELU]) == [tanh, RELU]


@pytest.mark.parametrize(
    "specs, ok",
    [
        ([DENSE12, RELU], True),  # the course's Dense + Activation
        ([{**DENSE12, "activation": "relu"}], True),  # Dense(12, activation='relu')
        ([DENSE12], False),  # the activation is missing
        ([{**DENSE12, "units": 8, "activation": "relu"}], False),
    ],
)
def test_keras_layers_accepts_either_way_of_writing_an_activation(specs, ok):
    check = KerasLayers("layers", 1, expected=[{"class": "Dense", "units": 12, "activation": "relu"}])
    assert (check(_ctx(values={"layers": specs})).status is Status.PASS) is ok


@pytest.mark.slow
def test_loss_name_reads_every_way_of_giving_the_loss():
    import keras

    from grader.inside.kernel import loss_name

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="softmax")])
    for loss in (
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
        keras.losses.SparseCategoricalCrossentropy(),
        keras.losses.sparse_categorical_crossentropy,
    ):
        model.compile(loss=loss, optimizer="adam")
        assert loss_name(model) == "sparse_categorical_crossentropy", loss
    model.compile(loss="CategoricalCrossentropy", optimizer="adam")
    assert loss_name(model) == "categorical_crossentropy"


def test_a_bilingual_hint_follows_the_report_language():
    from grader.checks import Equals

    check = Equals(
        "loss", 1, expected="mse", export="loss", hint={"en": "use mean squared error", "ja": "二乗誤差を使おう"}
    )
    for lang, text in (("en", "use mean squared error"), ("ja", "二乗誤差を使おう"), ("fr", "use mean squared error")):
        ctx = CheckContext(part_id="p", values={"loss": "mae"}, thresholds={}, lang=lang)
        assert check(ctx).hint == text
        assert check(ctx).hints == {"en": "use mean squared error", "ja": "二乗誤差を使おう"}  # to re-render later


def test_diverged_training_is_said_so():
    from grader.checks import Decreasing

    nan_rows = np.array([[np.nan], [np.nan], [np.nan], [np.nan]])
    result = _xor(_ctx({"xor": nan_rows}))
    assert result.message_key == "diverged" and "diverged" in result.message and "nan" in result.message
    curve = {"loss": [0.7, 0.5, float("nan"), float("nan")]}
    result = Decreasing("loss", 1)(_ctx(values=curve))
    assert result.message_key == "loss.diverged" and "step 3" in result.message and "nan" in result.message


def test_dcgan_losses_of_nan_logits_are_divergence():
    from pathlib import Path

    from grader.assignment.spec import load_checks_module
    from grader.checks import Calibrated

    dcgan = load_checks_module(Path(__file__).resolve().parents[1] / "solutions/dcgan/dcgan.checks.py")
    logits = {k: np.zeros((64, 1)) for k in ("real_0", "fake_0", "real_1", "fake_1", "fake_2")}
    logits["fake_1"] = np.full((64, 1), np.nan)
    check = Calibrated("d drop", 1, metric="m", compute=dcgan.discriminator_loss_drop, uses=tuple(logits))
    result = check(_ctx(values=logits))
    assert result.message_key == "diverged" and "nan" in result.message
