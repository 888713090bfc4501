"""Time limits against what a correct submission may cost: per notebook of the course, grade the
reference solution and the slowest correct choices its exercise allows (SLOW_CHOICES: answer
cells replaced, as MUTANTS do), in the real sandbox with generous limits, and print the slowest
cell and the whole run beside the notebook's limits. The rule (docs/authoring.md): each limit is
at least 2x the slowest correct choice measured here.

    .venv/bin/python benchmarks/cell_limits.py [--notebook STEM]... [--reference-only] [--record]

--record merges the times into benchmarks/cell_times.json, which tests/test_time_limits.py holds
the limits in SETUP against.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import nbformat

from grader.assignment.spec import Assignment, load_assignment
from grader.pipeline.calibrate import mutant_notebook
from grader.pipeline.execution import SandboxedRunner
from grader.pipeline.grading import grade, make_options
from grader.sandbox.bwrap import make_sandbox

REPO = Path(__file__).resolve().parent.parent
RECORD = REPO / "benchmarks" / "cell_times.json"
MEASURE = {"cell_timeout_s": 1800, "notebook_timeout_s": 3600, "cpu_seconds": 14400}  # never the limit measured

# Correct choices the exercises leave open that cost the most time (the course's own settings
# where the notes give them). Notebooks whose exercise fixes every size are measured as the
# reference only.
_RNN_COURSE = (
    "model{n}.compile(loss='mean_squared_error', optimizer=keras.optimizers.SGD(learning_rate=0.1), "
    "metrics=['accuracy'])\nhistory{n} = model{n}.fit(x_bin, d_bin.reshape(-1, 8, 1), epochs=5, batch_size=2)\n"
)
SLOW_CHOICES: dict[str, dict[str, dict[str, str]]] = {
    "binary_addition": {
        # day 4 notes: SimpleRNN(16), SGD(lr=0.1), epochs=5, batch_size=2; GRU in the try
        "course_settings": {"rnn_train": _RNN_COURSE.format(n=""), "rnn2_train": _RNN_COURSE.format(n="2")},
        "course_settings_lstm": {
            "rnn_train": _RNN_COURSE.format(n=""),
            "rnn2_train": _RNN_COURSE.format(n="2"),
            "rnn2_model": "model2 = keras.Sequential([keras.Input(shape=(8, 2)), layers.LSTM(units=16, return_sequences=True),\n"
            "                     layers.Dense(1, activation='sigmoid')])\n",
        },
    },
    "mnist_3layer": {
        # the exercise allows 16 ... 2000 units per hidden layer
        "hidden_2000_2000": {
            "mnist3_vars": (
                "hidden_layer_size_1 = 2000\nhidden_layer_size_2 = 2000\n"
                "x = tf.placeholder(tf.float32, [None, 784])\nd = tf.placeholder(tf.float32, [None, 10])\n"
                "W1 = tf.Variable(tf.random_normal([784, hidden_layer_size_1], stddev=0.01))\n"
                "W2 = tf.Variable(tf.random_normal([hidden_layer_size_1, hidden_layer_size_2], stddev=0.01))\n"
                "W3 = tf.Variable(tf.random_normal([hidden_layer_size_2, 10], stddev=0.01))\n"
                "b1 = tf.Variable(tf.zeros([hidden_layer_size_1]))\nb2 = tf.Variable(tf.zeros([hidden_layer_size_2]))\n"
                "b3 = tf.Variable(tf.zeros([10]))\n"
            )
        },
    },
    "tf_regression": {
        # the try allows iters_num <= 20000
        "iters_20000": {"try_params": "iters_num = 20000\nlearning_rate = 0.005\n"},
    },
    "perceptron": {
        # the XOR try leaves epochs and batch size open: 10x the suggested epochs, the course's batch_size=1
        "xor_1000_epochs_batch_1": {
            "percep_xor_model": (
                "model_xor = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(8, activation='tanh'),\n"
                "                          layers.Dense(1, activation='sigmoid')])\n"
                "model_xor.compile(loss='binary_crossentropy', optimizer=keras.optimizers.Adam(learning_rate=0.1))\n"
                "model_xor.fit(X, T_xor, epochs=1000, batch_size=1, verbose=0)\n"
            )
        },
    },
    "linear_regression": {
        # one step per iteration written with fit() instead of train_on_batch(): same result, more overhead
        "fit_per_iteration": {
            "linreg_train": (
                "losses = []\nfor i in range(iters_num):\n"
                "    loss = model.fit(x, d, batch_size=len(x), epochs=1, verbose=0).history['loss'][0]\n"
                "    losses.append(float(loss))\n"
            )
        },
    },
}


class Recording:
    """The sandboxed runner, keeping the last execution's record."""

    def __init__(self, inner):
        self.inner, self.record = inner, {}

    def execute(self, job):
        outcome = self.inner.execute(job)
        self.record = outcome.record
        return outcome

    def evaluate(self, *args):
        return self.inner.evaluate(*args)


def slowest(record: dict) -> tuple[str, float, float]:
    """(cell, seconds) of the slowest cell, and the whole run's seconds (kernel start + cells)."""
    cells = record.get("cells", [])
    top = max(cells, key=lambda c: c.get("seconds", 0.0), default={})
    name = top.get("grade_id") or (f"[{top['injected']}]" if top.get("injected") else f"#{top.get('index', '?')}")
    total = (record.get("kernel_start_s") or 0.0) + sum(c.get("seconds", 0.0) for c in cells)
    return name, top.get("seconds", 0.0), total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notebook", action="append", help="a notebook's stem, e.g. binary_addition")
    parser.add_argument("--reference-only", action="store_true")
    parser.add_argument("--record", action="store_true", help=f"merge the times into {RECORD.name}")
    args = parser.parse_args()
    recorded = json.loads(RECORD.read_text()) if RECORD.exists() else {"notebooks": {}}
    runner = Recording(SandboxedRunner(make_sandbox(False)))
    print(
        f"{'notebook / choice':44} {'score':>9} {'slowest cell':>18} {'s':>6} {'limit':>6} {'x':>5}"
        f" {'run s':>6} {'limit':>6} {'x':>5}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for folder in sorted(p for p in (REPO / "solutions").iterdir() if any(p.glob("*.checks.py"))):
            for spec in load_assignment(folder).notebooks:
                if args.notebook and spec.stem not in args.notebook:
                    continue
                limits = spec.limits
                measured = dataclasses.replace(spec, limits=dataclasses.replace(limits, **MEASURE))
                one = Assignment(folder.name, folder, [measured])
                choices = {"reference": {}, **({} if args.reference_only else SLOW_CHOICES.get(spec.stem, {}))}
                for choice, replacements in choices.items():
                    path = Path(tmp) / choice / spec.name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    nbformat.write(mutant_notebook(spec, replacements), path)
                    result = grade(path, one, runner, Path(tmp) / "out" / choice, make_options("en"))
                    cell, seconds, total = slowest(runner.record)
                    print(
                        f"{spec.stem + ' / ' + choice:44} {result.score:>4g}/{result.max_score:<4g} {cell:>18} "
                        f"{seconds:6.1f} {limits.cell_timeout_s:6.0f} {limits.cell_timeout_s / max(seconds, 0.1):5.1f}"
                        f" {total:6.1f} {limits.notebook_timeout_s:6.0f} {limits.notebook_timeout_s / max(total, 0.1):5.1f}",
                        flush=True,
                    )
                    recorded["notebooks"].setdefault(spec.stem, {})[choice] = {
                        "score": result.score,
                        "max_score": result.max_score,
                        "cell": cell,
                        "cell_s": round(seconds, 1),
                        "run_s": round(total, 1),
                    }
    if args.record:
        RECORD.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
