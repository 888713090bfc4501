"""The worked example of docs/authoring.md ("A new exercise from scratch"), run as written: its
notebook script and checks file are taken from the page, released, and graded through the real
export cells, executed in-process (the example is numpy only and trusted: no sandbox needed)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat

from grader.assignment.spec import load_assignment
from grader.inside import kernel
from grader.notebook.release import release_assignment
from grader.pipeline.calibrate import mutant_notebook, mutants_of
from grader.pipeline.execution import ExecutionOutcome
from grader.pipeline.grading import GradeOptions, grade
from grader.sandbox.base import ProcessOutcome

DOC = Path(__file__).resolve().parents[1] / "docs/authoring.md"


def example_blocks() -> list[str]:
    section = DOC.read_text(encoding="utf-8").split("## A new exercise from scratch", 1)[1]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


class InProcessRunner:
    """Runs the injected notebook's code cells with exec, in one namespace, as a kernel would."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def execute(self, job):
        namespace: dict = {"__name__": "__main__"}
        self.monkeypatch.setattr(kernel, "_namespace", lambda: (namespace, str))
        artifacts = job.workdir / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        cells = []
        for index, cell in enumerate(job.notebook.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("dlgrade", {})
            entry = {
                "index": index,
                "grade_id": cell.metadata.get("nbgrader", {}).get("grade_id"),
                "injected": meta.get("injected", ""),
                "part": meta.get("part", ""),
                "status": "ok",
                "seconds": 0.1,
            }
            try:
                exec(compile(cell.source, f"<cell {index}>", "exec"), namespace)
            except Exception as exc:  # noqa: BLE001  (the cell's failure is its record)
                entry.update(status="error", error={"ename": type(exc).__name__, "evalue": str(exc), "traceback": []})
            cells.append(entry)
        record = {"status": "finished", "cells": cells, "kernel_start_s": 0.1}
        process = ProcessOutcome(returncode=0, wall_s=0.5, sandbox={"name": "in-process", "isolated": False})
        return ExecutionOutcome(record=record, process=process, executed_path=None, artifacts_dir=artifacts)

    def evaluate(self, spec, part_data, eval_dir, hidden, limits):
        return {}


def test_the_worked_example_releases_and_grades_as_the_page_says(tmp_path, monkeypatch):
    script, checks = example_blocks()
    sol = tmp_path / "solutions/softmax"
    sol.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    (sol / "softmax.checks.py").write_text(checks)
    (sol / "softmax.thresholds.json").write_text(
        json.dumps({"metrics": {"sm_final_loss": {"direction": "min", "threshold": 0.1302, "mean": 0.127}}})
    )
    release_assignment(sol, tmp_path / "exercises")
    assignment = load_assignment(sol)
    spec = assignment.notebooks[0]
    runner = InProcessRunner(monkeypatch)

    def score(nb, name):
        path = tmp_path / "subs" / name / "softmax.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        result = grade(path, assignment, runner, tmp_path / "out", GradeOptions())
        return {c.name: c.score for p in result.parts for c in p.checks}

    assert score(spec.solution(), "reference") == {"softmax on fixed inputs": 2, "loss goes down": 1, "final loss": 2}
    assert all(v == 0 for v in score(spec.release(), "template").values())
    lost = score(mutant_notebook(spec, mutants_of(spec)["not_normalised"]), "not_normalised")
    assert lost["softmax on fixed inputs"] == 0
