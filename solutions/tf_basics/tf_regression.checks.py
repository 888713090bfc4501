"""Checks of "linear regression", "non-linear regression" and its "try" (TensorFlow 1 style).

The data is made in locked cells from known coefficients, so the grader compares the fitted
coefficients with the true ones (which no student's data shows exactly), checks that the student's
loss is the mean squared error by feeding it the grader's own probe data, and judges convergence
from the recorded loss curve against thresholds calibrated on the reference solution.
"""

# No `from __future__ import annotations` here: the checks loader does not put this module in
# sys.modules, and dataclasses then cannot resolve string annotations.
from dataclasses import dataclass

import numpy as np

from grader.assignment import Limits, Part, Setup
from grader.checks import Calibrated, Check, Decreasing, PredictionError
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

# Absolute slack per metric: five calibration seeds cannot show the tail of the data noise. A
# simulation of 20,000 draws of the same data with the reference's fit (300 gradient-descent steps
# for the line, the least-squares optimum Adam converges to for the polynomials) gives these maxima:
# |W-3| 0.44, |b-2| 0.28, linear final loss 0.146; cubic coefficients 0.050, loss 0.0040;
# try coefficients 0.042, loss 0.0041. Each slack lifts the calibrated threshold above that maximum,
# while every mutant stays far beyond it (coefficient errors of 0.5 and more, or a broken model).
SETUP = Setup(
    framework="tf1",
    limits=Limits(cell_timeout_s=120, notebook_timeout_s=300),
    slack={
        "lin_W_error": (0.02, 0.15),
        "lin_b_error": (0.02, 0.17),
        "lin_final_loss": (0.02, 0.015),
        "cubic_coef_error": (0.02, 0.03),
        "cubic_final_loss": (0.02, 0.0007),
        "try_coef_error": (0.02, 0.025),
        "try_final_loss": (0.02, 0.0006),
    },
)

TRY_BUDGET = 20000  # iterations allowed in the "try" (stated in the notebook)

# Probe data fed to the student's graph: deliberately off the true curves, so that a mean absolute
# error or a sum gives a different number than the mean squared error.
LIN_PROBE_X = [[0.0], [0.5], [1.0], [2.0]]
LIN_PROBE_D = [[1.0], [2.0], [6.0], [7.5]]
CUBIC_PROBE_X = [[1.0, x, x**2, x**3] for x in (-1.5, -0.5, 0.5, 1.5)]
CUBIC_PROBE_D = [[4.0], [-1.0], [0.5], [2.0]]

# Exports. Each first checks that W, y and loss belong to the graph the part's locked cell started
# (tf.reset_default_graph()), so that a part whose cell did not run never shows values left over
# from an earlier part (kernel.same_graph). The try's locked cell defines W, y and loss itself: it
# is the student's numbers (iters_num, learning_rate) that must be set there.


def fitted_W(W, y, loss, sess):
    kernel.same_graph(W, y, loss)
    return sess.run(W)


def fitted_b(b, W, y, loss, sess):
    kernel.same_graph(W, y, loss)
    return sess.run(b)


def loss_curve(losses, W, y, loss):
    kernel.same_graph(W, y, loss)
    return [float(v) for v in losses]


def lin_y_probe(y, xt, W, loss, sess, probe_x=LIN_PROBE_X):
    kernel.same_graph(W, y, loss)
    return sess.run(y, feed_dict={xt: probe_x})


def lin_loss_probe(loss, xt, dt, W, y, sess, probe_x=LIN_PROBE_X, probe_d=LIN_PROBE_D):
    kernel.same_graph(W, y, loss)
    return sess.run(loss, feed_dict={xt: probe_x, dt: probe_d})


def cubic_y_probe(y, xt, W, loss, sess, probe_x=CUBIC_PROBE_X):
    kernel.same_graph(W, y, loss)
    return sess.run(y, feed_dict={xt: probe_x})


def cubic_loss_probe(loss, xt, dt, W, y, sess, probe_x=CUBIC_PROBE_X, probe_d=CUBIC_PROBE_D):
    kernel.same_graph(W, y, loss)
    return sess.run(loss, feed_dict={xt: probe_x, dt: probe_d})


def try_iters_num(iters_num, learning_rate, W, y, loss):
    int(iters_num), float(learning_rate)  # both set to numbers
    kernel.same_graph(W, y, loss)
    return iters_num


def try_learning_rate(iters_num, learning_rate, W, y, loss):
    int(iters_num), float(learning_rate)
    kernel.same_graph(W, y, loss)
    return float(learning_rate)


def try_W(iters_num, learning_rate, W, y, loss, sess):
    int(iters_num), float(learning_rate)
    kernel.same_graph(W, y, loss)
    return sess.run(W)


def try_losses(iters_num, learning_rate, W, y, loss, losses):
    int(iters_num), float(learning_rate)
    kernel.same_graph(W, y, loss)
    return [float(v) for v in losses]


def coefficient_error(name: str, true: tuple[float, ...]):
    """compute() for max |fitted - true| over a model's coefficients (W's rows are x^0, x^1, ...)."""

    def compute(values: dict, ctx) -> float:
        got = np.asarray(values[name], dtype=np.float64).ravel()
        if got.size != len(true):
            raise PredictionError(f"{name} holds {got.size} numbers; this model has {len(true)} coefficients")
        return float(np.max(np.abs(got - np.asarray(true))))

    return compute


def final_loss(values: dict, ctx) -> float:
    curve = np.asarray(values["losses"], dtype=np.float64).ravel()
    if curve.size == 0:
        raise PredictionError("no loss was recorded")
    return float(curve[-1])


@dataclass
class LossIsMeanSquaredError(Check):
    """The student's `loss`, fed the grader's probe targets, equals the mean squared error of the
    student's own `y` on the probe inputs (whatever the model is)."""

    targets: list | None = None
    hint: str | dict = ""

    @property
    def needs(self):
        return ("y_probe", "loss_probe")

    def __call__(self, ctx):
        try:  # what the student's graph gave: a string or ragged list is a failed check, not ours
            y = np.asarray(ctx.values["y_probe"], dtype=np.float64)
            loss = np.asarray(ctx.values["loss_probe"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            return self._result(
                ctx, False, "value.wrong", "numbers", "not numbers", self.hint, name="y and loss on the probe data"
            )
        d = np.asarray(self.targets, dtype=np.float64).ravel()
        if y.size != d.size:
            return self._result(
                ctx,
                False,
                "value.wrong",
                f"{d.size} predictions",
                f"{y.size} predictions",
                self.hint,
                name=f"y for {d.size} probe inputs",
            )
        if loss.size != 1:
            return self._result(
                ctx, False, "value.wrong", "one number", f"shape {list(loss.shape)}", self.hint, name="loss"
            )
        expected = float(np.mean((y.ravel() - d) ** 2))
        got = float(loss.ravel()[0])
        ok = bool(np.isclose(got, expected, rtol=1e-4, atol=1e-6))
        return self._result(
            ctx,
            ok,
            "value.ok" if ok else "close.wrong",
            expected,
            got,
            self.hint,
            tol="0.01 %",
            name="your loss on the probe data",
        )


@dataclass
class AtMost(Check):
    """A whole number of at least 1 and at most `limit` (an iteration budget)."""

    limit: int = 0
    export: str = ""
    hint: str | dict = ""

    @property
    def needs(self):
        return (self.export or self.name,)

    def __call__(self, ctx):
        got = ctx.values[self.needs[0]]
        ok = isinstance(got, int) and not isinstance(got, bool) and 1 <= got <= self.limit
        return self._result(ctx, ok, "value.ok" if ok else "value.wrong", f"1 .. {self.limit}", got, self.hint)


MSE_HINT = {
    "en": "loss = tf.reduce_mean(tf.square(y - dt)): the mean (not the sum) of the squared errors",
    "ja": "loss = tf.reduce_mean(tf.square(y - dt)): 二乗誤差の (和ではなく) 平均です",
}

PARTS = [
    Part(
        id="lin_regression",
        title={"en": "Linear regression", "ja": "線形回帰"},
        cells=["lin_model"],
        after="lin_train",
        exports={
            "W": fitted_W,
            "b": fitted_b,
            "losses": loss_curve,
            "y_probe": lin_y_probe,
            "loss_probe": lin_loss_probe,
        },
        curves={"loss": "losses"},
        checks=[
            Calibrated(
                "|W - 3|",
                2,
                metric="lin_W_error",
                compute=coefficient_error("W", (3.0,)),
                uses=("W",),
                direction="min",
                hint={
                    "en": "y = W * xt + b with W and b of shape [1], trained by the optimizer",
                    "ja": "y = W * xt + b (W と b の shape は [1])、optimizer で学習します",
                },
            ),
            Calibrated(
                "|b - 2|",
                2,
                metric="lin_b_error",
                compute=coefficient_error("b", (2.0,)),
                uses=("b",),
                direction="min",
                hint={
                    "en": "y = W * xt + b: without b the line must pass through 0",
                    "ja": "y = W * xt + b: b がないと直線は必ず 0 を通ります",
                },
            ),
            LossIsMeanSquaredError(
                "loss is the mean squared error (grader's probe data)", 1, targets=LIN_PROBE_D, hint=MSE_HINT
            ),
            Decreasing(
                "loss goes down",
                1,
                export="losses",
                hint={"en": "a learning rate of 0.1 makes it go down", "ja": "学習率 0.1 なら下がります"},
            ),
            Calibrated(
                "final loss",
                2,
                metric="lin_final_loss",
                compute=final_loss,
                uses=("losses",),
                direction="min",
                hint={
                    "en": "GradientDescentOptimizer(0.1) on the mean squared error converges in 300 steps",
                    "ja": "平均二乗誤差に GradientDescentOptimizer(0.1) を使えば 300 ステップで収束します",
                },
            ),
        ],
    ),
    Part(
        id="cubic_regression",
        title={"en": "Non-linear regression (cubic)", "ja": "非線形回帰 (3 次式)"},
        cells=["cubic_model"],
        after="cubic_train",
        exports={"W": fitted_W, "losses": loss_curve, "y_probe": cubic_y_probe, "loss_probe": cubic_loss_probe},
        curves={"loss": "losses"},
        checks=[
            Calibrated(
                "max |W - (1, -2.8, 1.6, -0.4)|",
                3,
                metric="cubic_coef_error",
                compute=coefficient_error("W", (1.0, -2.8, 1.6, -0.4)),
                uses=("W",),
                direction="min",
                hint={
                    "en": "W of shape [4, 1] (one weight per column 1, x, x^2, x^3), y = tf.matmul(xt, W)",
                    "ja": "W の shape は [4, 1] (列 1, x, x^2, x^3 ごとに重み 1 つ)、y = tf.matmul(xt, W)",
                },
            ),
            LossIsMeanSquaredError(
                "loss is the mean squared error (grader's probe data)", 1, targets=CUBIC_PROBE_D, hint=MSE_HINT
            ),
            Decreasing(
                "loss goes down",
                1,
                export="losses",
                hint={"en": "AdamOptimizer(0.001) makes it go down", "ja": "AdamOptimizer(0.001) なら下がります"},
            ),
            Calibrated(
                "final loss",
                2,
                metric="cubic_final_loss",
                compute=final_loss,
                uses=("losses",),
                direction="min",
                hint={
                    "en": "AdamOptimizer(0.001) on the mean squared error converges in 10,000 steps",
                    "ja": "平均二乗誤差に AdamOptimizer(0.001) を使えば 10,000 ステップで収束します",
                },
            ),
        ],
    ),
    Part(
        id="try_quadratic",
        title={"en": "try: y = 30x^2 + 0.5x + 0.2", "ja": "try: y = 30x^2 + 0.5x + 0.2"},
        cells=["try_params"],
        after="try_train",
        exports={"iters_num": try_iters_num, "learning_rate": try_learning_rate, "W": try_W, "losses": try_losses},
        curves={"loss": "losses"},
        checks=[
            AtMost(
                "iters_num",
                1,
                limit=TRY_BUDGET,
                hint={
                    "en": f"the budget is {TRY_BUDGET} iterations: raise learning_rate instead",
                    "ja": f"反復回数の上限は {TRY_BUDGET} 回です: 代わりに learning_rate を大きくしてください",
                },
            ),
            Calibrated(
                "max |W - (0.2, 0.5, 30)|",
                3,
                metric="try_coef_error",
                compute=coefficient_error("W", (0.2, 0.5, 30.0)),
                uses=("W",),
                direction="min",
                hint={
                    "en": "Adam moves each weight by about learning_rate per step: reaching 30 takes many steps or a larger rate",
                    "ja": "Adam は 1 ステップで各重みを learning_rate 程度しか動かしません: 30 に届くには多くのステップか"
                    "大きな学習率が必要です",
                },
            ),
            Decreasing(
                "loss goes down",
                1,
                export="losses",
                hint={"en": "try a larger learning_rate", "ja": "learning_rate を大きくしてみてください"},
            ),
            Calibrated(
                "final loss",
                2,
                metric="try_final_loss",
                compute=final_loss,
                uses=("losses",),
                direction="min",
                hint={
                    "en": "the loss must level off near the noise (0.05^2): more iterations or a larger learning_rate",
                    "ja": "誤差はノイズ (0.05^2) 付近で横ばいになるはずです: 反復回数を増やすか learning_rate を大きくしてください",
                },
            ),
        ],
    ),
]

_LIN = """W = tf.Variable(tf.zeros([1]))
b = tf.Variable(tf.zeros([1]))
y = W * xt + b
loss = tf.reduce_mean(tf.square(y - dt))
optimizer = tf.train.GradientDescentOptimizer(0.1)"""
_CUBIC = """W = tf.Variable(tf.random_normal([4, 1], stddev=0.01))
y = tf.matmul(xt, W)
loss = tf.reduce_mean(tf.square(y - dt))
optimizer = tf.train.AdamOptimizer(0.001)"""

MUTANTS = {
    # linear regression
    "lin_learning_rate_0": {
        "lin_model": _LIN.replace("GradientDescentOptimizer(0.1)", "GradientDescentOptimizer(0.0)")
    },
    "lin_mean_absolute_error": {"lin_model": _LIN.replace("tf.square(y - dt)", "tf.abs(y - dt)")},
    "lin_sum_not_mean": {"lin_model": _LIN.replace("tf.reduce_mean(", "tf.reduce_sum(")},
    "lin_no_bias": {"lin_model": _LIN.replace("y = W * xt + b", "y = W * xt")},
    "lin_W_wrong_shape": {
        "lin_model": _LIN.replace("W = tf.Variable(tf.zeros([1]))", "W = tf.Variable(tf.zeros([2]))")
    },
    # non-linear regression
    "cubic_mean_absolute_error": {"cubic_model": _CUBIC.replace("tf.square(y - dt)", "tf.abs(y - dt)")},
    "cubic_tiny_learning_rate": {"cubic_model": _CUBIC.replace("AdamOptimizer(0.001)", "AdamOptimizer(0.00001)")},
    "cubic_W_wrong_shape": {"cubic_model": _CUBIC.replace("[4, 1]", "[4, 4]")},
    "cubic_missing_x3_term": {
        "cubic_model": _CUBIC.replace("[4, 1]", "[3, 1]").replace("tf.matmul(xt, W)", "tf.matmul(xt[:, :3], W)")
    },
    # try
    "try_over_budget": {"try_params": "iters_num = 30000\nlearning_rate = 0.005"},
    "try_too_few_iterations": {"try_params": "iters_num = 1000\nlearning_rate = 0.005"},
    "try_tiny_learning_rate": {"try_params": "iters_num = 13750\nlearning_rate = 0.0001"},
}
