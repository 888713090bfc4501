"""The evaluate phase: exported models meet hidden inputs in a fresh sandbox.

The student's kernel is gone by now. Its exported `.keras` files (vetted by `keras_files`) or
weight arrays (with a trusted forward function from `grader.inside.evaluators`) are copied into a new
folder, and `python -m grader.inside.predict job.json` runs in a new sandbox that sees those copies and
the hidden inputs, never the labels. Predictions come back as .npy and are read as data.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from grader.intake import artifacts as art
from grader.intake.artifacts import seeded
from grader.intake.keras_files import UnsafeModel, inspect_keras_file

MAX_MODEL_BYTES = 256 * 1024 * 1024
EVALUATE_STARTUP_S = 60  # importing TensorFlow and loading models, on top of the cell time limit


class EvaluationFailed(str):
    """A failed prediction, as the message to show (stored where the array would be)."""


def _evaluations(part, data):
    """A part's evaluations, and one more per retraining run whose model was saved (spec.Retrain),
    named `<evaluation>__seed<seed>`."""
    retrain = getattr(part, "retrain", None)
    for name, ev in getattr(part, "evaluate", {}).items():
        yield name, ev
        if retrain and ev.model and data is not None:
            for seed in retrain.seeds:
                if seeded(ev.model, seed) in data.models:
                    yield seeded(name, seed), replace(ev, model=seeded(ev.model, seed))


def prepare_tasks(spec, part_data: dict, eval_dir: Path, hidden) -> tuple[list[dict], dict, list[Path]]:
    """Copy what each evaluation needs into eval_dir; return tasks, early failures, read-only paths."""
    inputs = eval_dir / "in"
    inputs.mkdir(parents=True, exist_ok=True)
    tasks, failed, ro = [], {}, []
    for part in spec.parts:
        data = part_data.get(part.id)
        for name, ev in _evaluations(part, data):
            key = (part.id, name)
            task = {"part": part.id, "name": name, "preprocess": ev.preprocess, "out": f"{part.id}-{name}.npy"}
            try:
                task["inputs"] = os.fspath(hidden.inputs_path(ev.dataset))
            except (KeyError, OSError, ValueError) as exc:
                failed[key] = EvaluationFailed(f"hidden set {ev.dataset!r} unavailable: {exc}")
                continue
            if os.path.dirname(task["inputs"]) not in map(os.fspath, ro):
                ro.append(Path(task["inputs"]).parent)
            if ev.model:
                source = data.models.get(ev.model) if data else None
                if source is None:
                    failed[key] = EvaluationFailed(
                        (data.unreadable.get(ev.model) if data else None) or "the model was not saved"
                    )
                    continue
                target = inputs / f"{part.id}-{name}.keras"
                try:
                    target.write_bytes(art.read_bytes(source, MAX_MODEL_BYTES))
                    inspect_keras_file(target)
                except (OSError, art.UnsafeArtifact, UnsafeModel) as exc:
                    failed[key] = EvaluationFailed(str(exc))
                    continue
                task.update(kind="keras", model=os.fspath(target))
            else:
                arrays = {}
                for array in ev.arrays:
                    value = data.values.get(array) if data else None
                    if value is None:
                        break
                    path = inputs / f"{part.id}-{name}-{array}.npy"
                    np.save(path, np.asarray(value), allow_pickle=False)
                    arrays[array] = os.fspath(path)
                else:
                    task.update(kind="function", function=ev.function, arrays=arrays)
                    tasks.append(task)
                    continue
                failed[key] = EvaluationFailed("the weights were not exported")
                continue
            tasks.append(task)
    return tasks, failed, ro


def run_evaluations(spec, part_data: dict, sandbox, eval_dir: Path, hidden, limits, env: dict) -> tuple[dict, dict]:
    """Predictions per part: {part_id: {name: ndarray | EvaluationFailed}}, and the process info."""
    from grader.pipeline.execution import fresh_workdir  # here: the sandbox side of this module needs none of it

    fresh_workdir(eval_dir)
    tasks, failed, ro = prepare_tasks(spec, part_data, eval_dir, hidden)
    out: dict[str, dict] = {}
    for (part, name), why in failed.items():
        out.setdefault(part, {})[name] = why
    if not tasks:
        return out, {}
    job = eval_dir / "job.json"
    job.write_text(json.dumps({"tasks": tasks}))
    process = sandbox.run(
        [sys.executable, "-m", "grader.inside.predict", os.fspath(job)],
        workdir=eval_dir,
        ro_paths=ro,
        env=env,
        limits=limits,
        timeout_s=limits.cell_timeout_s + EVALUATE_STARTUP_S,
        keep=["status.json"] + [task["out"] for task in tasks],  # never the models or inputs
    )
    try:
        status = art.read_json(eval_dir / "status.json")
    except (OSError, art.UnsafeArtifact):
        status = {}
    for task in tasks:
        entry = status.get(f"{task['part']}/{task['name']}", {}) if isinstance(status, dict) else {}
        slot = out.setdefault(task["part"], {})
        if entry.get("ok"):
            try:
                slot[task["name"]] = art.read_array(eval_dir / task["out"])
                continue
            except (OSError, art.UnsafeArtifact) as exc:
                slot[task["name"]] = EvaluationFailed(str(exc))
                continue
        reason = entry.get("error") or process.stopped_detail or "the evaluation did not finish"
        slot[task["name"]] = EvaluationFailed(str(reason)[:500])
    return out, {
        "wall_s": round(process.wall_s, 3),
        "peak_memory_bytes": process.peak_memory_bytes,
        "copy_back": process.copy_back,
    }
