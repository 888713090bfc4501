"""The evaluate phase's sandbox side: load each vetted model (or exported weights with a trusted
forward function) and predict on hidden inputs; write the predictions and a status file.

    python -m grader.inside.predict job.json

It runs in a fresh sandbox that sees copies of the models and the hidden inputs, never the
labels; the trusted side (`grader.pipeline.evaluate`) reads what it writes as data.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np


def _predict(task: dict) -> np.ndarray:
    from grader.inside.evaluators import PREPROCESS

    x = np.load(task["inputs"], allow_pickle=False)
    x = PREPROCESS[task["preprocess"]](x)
    if task["kind"] == "keras":
        import keras

        model = keras.saving.load_model(task["model"], safe_mode=True, compile=False)
        return np.asarray(model.predict(x, batch_size=500, verbose=0))
    module, _, name = task["function"].partition(":")
    if not module.startswith("grader."):
        raise ValueError("evaluation functions must live in the grader package")
    function = getattr(importlib.import_module(module), name)
    arrays = {k: np.load(v, allow_pickle=False) for k, v in task["arrays"].items()}
    return np.asarray(function(arrays, x))


def main(argv: list[str] | None = None) -> int:
    """Sandbox side: run every task of job.json, write predictions and status.json."""
    job = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    status = {}
    for task in job["tasks"]:
        key = f"{task['part']}/{task['name']}"
        started = time.monotonic()
        try:
            predictions = _predict(task)
            np.save(task["out"], predictions.astype(np.float32), allow_pickle=False)
            status[key] = {"ok": True, "seconds": round(time.monotonic() - started, 3)}
        except Exception as exc:  # the student's model may be broken in any way
            status[key] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:400]}"}
        Path("status.json").write_text(json.dumps(status))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
