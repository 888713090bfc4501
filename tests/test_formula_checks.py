"""Formula: a loss the student wrote, called on fixed inputs in their kernel, judged against the
trusted formula here (DCGAN's losses as the example). The exported results are the student's
data: any type or shape must give a failed check with a message, never a grader error."""

from pathlib import Path

import numpy as np
import pytest

from grader.assignment.spec import load_checks_module
from grader.checks import CheckContext, Formula, probe_export
from grader.results import Status

DCGAN = load_checks_module(Path(__file__).resolve().parents[1] / "solutions/dcgan/dcgan.checks.py")
PART = next(p for p in DCGAN.PARTS if p.id == "dcgan_losses")
D_CHECK, G_CHECK = PART.checks


def sp(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


def d_results(fn):
    return [fn(np.asarray(r, dtype=np.float64), np.asarray(f, dtype=np.float64)) for r, f in DCGAN.D_PROBES]


def g_results(fn):
    return [fn(np.asarray(f, dtype=np.float64)) for (f,) in DCGAN.G_PROBES]


def run(check, value, lang="en"):
    return check(CheckContext("dcgan_losses", {check.export: value}, {}, lang=lang))


CORRECT_D = {
    "mean": lambda r, f: np.mean(sp(-r)) + np.mean(sp(f)),
    "sum over the batch": lambda r, f: np.sum(sp(-r)) + np.sum(sp(f)),
    "half of the sum of terms": lambda r, f: 0.5 * (np.mean(sp(-r)) + np.mean(sp(f))),
    "float32": lambda r, f: float(np.float32(np.mean(sp(-r)) + np.mean(sp(f)))),
}


@pytest.mark.parametrize("how", sorted(CORRECT_D))
def test_correct_discriminator_losses_get_the_points(how):
    res = run(D_CHECK, [float(v) for v in d_results(CORRECT_D[how])])
    assert res.status is Status.PASS and res.score == D_CHECK.points, res.message


def test_correct_generator_loss_gets_the_points_also_as_an_array_export():
    res = run(G_CHECK, np.array(g_results(lambda f: np.sum(sp(-f)))))
    assert res.status is Status.PASS and res.score == G_CHECK.points, res.message


WRONG_D = {
    "no_fake_term": (lambda r, f: np.mean(sp(-r)), "fake images' term", "生成画像の項"),
    "no_real_term": (lambda r, f: np.mean(sp(f)), "real images' term", "本物の画像の項"),
    "swapped_labels": (lambda r, f: np.mean(sp(r)) + np.mean(sp(-f)), "swapped labels", "ラベルを入れ替え"),
    "fake_term_subtracted": (lambda r, f: np.sum(sp(-r)) - np.sum(sp(f)), "minus the fake term", "引いた"),
}


@pytest.mark.parametrize("wrong", sorted(WRONG_D))
def test_a_wrong_discriminator_loss_loses_the_points_and_says_which_term(wrong):
    fn, en, ja = WRONG_D[wrong]
    values = [float(v) for v in d_results(fn)]
    res = run(D_CHECK, values)
    assert res.status is Status.FAIL and res.score == 0
    assert res.message_key == "formula.known" and res.message_args["wrong"] == wrong
    assert en in res.message
    assert ja in run(D_CHECK, values, lang="ja").message


def test_generator_label_0_and_the_saturating_form_are_named():
    res = run(G_CHECK, g_results(lambda f: np.mean(sp(f))))
    assert res.score == 0 and res.message_args["wrong"] == "label_0"
    res = run(G_CHECK, g_results(lambda f: np.mean(np.log(1 - 1 / (1 + np.exp(-f))))))
    assert res.score == 0 and res.message_args["wrong"] == "saturating"


def test_a_formula_on_probabilities_fed_logits_loses_the_points():
    def on_probabilities(r, f):  # Keras' BinaryCrossentropy() without from_logits clips the logits
        r, f = np.clip(r, 1e-7, 1 - 1e-7), np.clip(f, 1e-7, 1 - 1e-7)
        return np.mean(-np.log(r)) + np.mean(-np.log(1 - f))

    res = run(D_CHECK, d_results(on_probabilities))
    assert res.score == 0 and res.message_key == "formula.wrong_multiple"
    assert "real_output=" in res.message and "fake_output=" in res.message


def test_the_opposite_sign_and_a_factor_out_of_range_lose_the_points():
    assert run(G_CHECK, [-v for v in g_results(lambda f: np.mean(sp(-f)))]).message_key == "formula.sign"
    res = run(G_CHECK, [1e-4 * v for v in g_results(lambda f: np.mean(sp(-f)))])
    assert res.score == 0 and res.message_key == "formula.scale"
    assert run(G_CHECK, [0.0] * len(DCGAN.G_PROBES)).score == 0


def test_nan_and_inf_are_said_with_the_input_that_gave_them():
    values = d_results(CORRECT_D["mean"])
    values[2] = float("nan")
    res = run(D_CHECK, values)
    assert res.score == 0 and res.message_key == "formula.non_finite" and "nan" in res.message
    assert "real_output=[1.5, -2.0, 0.5, 4.0, 1.5, -2.0, 0.5, 4.0, ... (64 values)]" in res.message
    values[2] = float("inf")
    assert run(D_CHECK, values).message_key == "formula.non_finite"


@pytest.mark.parametrize(
    "value, key",
    [
        ([[0.1] * 64] * 5, "formula.not_scalar"),  # per-example losses, not reduced
        (np.ones((5, 64, 1)), "formula.not_scalar"),
        ([1.0, 2.0], "formula.not_numbers"),  # too few results
        ([1.0] * 7, "formula.not_numbers"),
        ("1.386", "formula.not_numbers"),
        ({"a": 1}, "formula.not_numbers"),
        (None, "formula.not_numbers"),
        (True, "formula.not_numbers"),
        (["a", "b", "c", "d", "e"], "formula.not_numbers"),
        ([[1.0], [2.0, 3.0], 1.0, 1.0, 1.0], "formula.not_scalar"),
        ([{"x": 1}, 1.0, 1.0, 1.0, 1.0], "formula.not_numbers"),
        (np.array(["x"] * 5), "formula.not_numbers"),
        (np.zeros(10**6), "formula.not_numbers"),  # too large to be five results
        ([], "formula.not_numbers"),
    ],
)
def test_garbage_exports_fail_with_a_message_never_an_error(value, key):
    res = run(D_CHECK, value)
    assert res.status is Status.FAIL and res.score == 0 and res.message_key == key, res.message
    assert res.message and "{" not in res.message
    assert "{" not in run(D_CHECK, value, lang="ja").message


def test_without_a_factor_only_the_formula_itself_passes():
    check = Formula(
        "mse",
        1,
        export="e",
        formula=lambda y, d: float(np.mean((np.asarray(y) - np.asarray(d)) ** 2)),
        probes=[([1.0, 2.0], [0.0, 0.0]), ([0.5, 0.0], [1.0, 3.0])],
    )
    good = [2.5, 4.625]
    assert check(CheckContext("p", {"e": good}, {})).score == 1
    res = check(CheckContext("p", {"e": [2 * v for v in good]}, {}))
    assert res.score == 0 and res.message_key == "formula.wrong"


def test_probe_export_calls_the_function_on_each_probe_and_returns_plain_numbers():
    expr = probe_export("f", [([1.0, 2.0],), ([3.0],)], framework="numpy")
    assert eval(expr, {"f": lambda a: a.sum()}) == [3.0, 3.0]  # noqa: S307  (our own expression)
    assert "tensorflow" in probe_export("f", [([1.0],)])


def test_kernel_probe_gives_what_the_probe_export_expression_gives():
    from grader.inside import kernel

    probes = [([1.0, 2.0],), ([3.0],)]
    f = lambda a: a.sum()  # noqa: E731
    assert kernel.probe(f, probes, framework="numpy") == eval(probe_export("f", probes, "numpy"), {"f": f})  # noqa: S307


def test_the_dcgan_exports_are_built_from_the_probes_the_checks_use():
    assert PART.exports["d_loss_probe"].constants == {"probes": DCGAN.D_PROBES}
    assert PART.exports["g_loss_probe"].constants == {"probes": DCGAN.G_PROBES}
    assert PART.exports["d_loss_probe"].variables == ("discriminator_loss",)
    assert D_CHECK.probes is DCGAN.D_PROBES and G_CHECK.probes is DCGAN.G_PROBES


def test_tf_regression_loss_probe_of_garbage_is_a_failed_check():
    """The regression exercise's own fixed-input loss check (mean squared error on probe data)."""
    module = load_checks_module(Path(__file__).resolve().parents[1] / "solutions/tf_basics/tf_regression.checks.py")
    check = next(c for p in module.PARTS for c in p.checks if type(c).__name__ == "LossIsMeanSquaredError")
    y = [[1.0], [2.0], [3.0], [4.0]]
    mse = float(np.mean((np.ravel(y) - np.ravel(check.targets)) ** 2))
    assert check(CheckContext("p", {"y_probe": y, "loss_probe": mse}, {})).score == check.points
    assert check(CheckContext("p", {"y_probe": y, "loss_probe": 2 * mse}, {})).score == 0
    for garbage in ("abc", [[1.0], [2.0, 3.0]], {"a": 1}, None):
        res = check(CheckContext("p", {"y_probe": y, "loss_probe": garbage}, {}))
        assert res.status is Status.FAIL and res.score == 0
