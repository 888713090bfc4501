"""A fake NotebookRunner for unit tests of grading logic: no kernel, no sandbox.

A scenario says, per code cell grade id, whether it ran ok or raised, and what each part's
export cell left behind; the fake writes the same record and artifacts a real run would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.pipeline.execution import ExecutionJob, ExecutionOutcome
from grader.sandbox.base import ProcessOutcome


@dataclass
class Scenario:
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)  # grade id -> (ename, evalue)
    exports: dict[str, dict] = field(default_factory=dict)  # part -> {name: value}
    export_errors: dict[str, dict] = field(default_factory=dict)  # part -> {name: (ename, evalue)}
    stop_at: str | None = None  # grade id where the run stops
    stop_status: str = "timeout"  # "timeout" or "dead"
    stopped_detail: str = ""
    predictions: dict = field(default_factory=dict)


class FakeRunner:
    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.jobs: list[ExecutionJob] = []

    def execute(self, job: ExecutionJob) -> ExecutionOutcome:
        self.jobs.append(job)
        s = self.scenario
        artifacts = job.workdir / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        cells, stopped = [], False
        status = "finished"
        for index, cell in enumerate(job.notebook.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("dlgrade", {})
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            entry = {
                "index": index,
                "grade_id": gid,
                "injected": meta.get("injected", ""),
                "part": meta.get("part", ""),
                "status": "not-run",
                "seconds": 0.0,
            }
            cells.append(entry)
            if stopped:
                continue
            entry["seconds"] = 0.5
            if gid and gid == s.stop_at:
                entry["status"] = s.stop_status
                status, stopped = s.stop_status, True
                continue
            if gid in s.errors:
                ename, evalue = s.errors[gid]
                entry.update(status="error", error={"ename": ename, "evalue": evalue, "traceback": []})
                continue
            entry["status"] = "ok"
            if meta.get("injected") == "export":
                self._export(artifacts / meta["part"], meta["part"])
        (job.workdir / "record.json").write_text(json.dumps({"status": status, "cells": cells, "kernel_start_s": 0.1}))
        process = ProcessOutcome(
            returncode=0,
            wall_s=1.0,
            stopped="memory" if s.stopped_detail else None,
            stopped_detail=s.stopped_detail,
            sandbox={"name": "fake", "isolated": True},
        )
        return ExecutionOutcome(
            record=json.loads((job.workdir / "record.json").read_text()),
            process=process,
            executed_path=None,
            artifacts_dir=artifacts,
        )

    def _export(self, folder: Path, part: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        saved, errors = {}, {}
        for name, value in self.scenario.exports.get(part, {}).items():
            if isinstance(value, np.ndarray):
                np.save(folder / f"{name}.npy", value)
                saved[name] = "npy"
            else:
                (folder / f"{name}.json").write_text(json.dumps(value))
                saved[name] = "json"
        for name, (ename, evalue) in self.scenario.export_errors.get(part, {}).items():
            errors[name] = {"ename": ename, "evalue": evalue}
        (folder / "_export.json").write_text(json.dumps({"saved": saved, "errors": errors}))

    def evaluate(self, spec, part_data, eval_dir, hidden, limits) -> dict:
        return self.scenario.predictions
