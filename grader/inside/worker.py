"""Execute one notebook with nbclient; runs inside the sandbox, next to the student's kernel.

    python -m grader.inside.worker IN.ipynb OUT.ipynb RECORD.json --cell-timeout S --max-output BYTES
        [--fork-kernel]

With --fork-kernel the kernel is a fork of this process (inside/forked_kernel.py), not a fresh
interpreter: what the worker imported before (TensorFlow, in a warm worker) costs the kernel nothing.

The record (JSON) says per code cell: index, grade id, whether the grader injected it, seconds,
status (ok / error / timeout / dead / not-run), and the error's name and value. It is rewritten
after every cell, so a run the sandbox kills still leaves what had finished. Nothing in it is
taken as a verdict: it explains, checks decide from exported data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

MAX_TRACEBACK = 40


SEED_CELL_TIMEOUT_S = 120  # the grader's first cell imports TensorFlow: slow on a busy machine


class CappedClient(NotebookClient):
    """A client that keeps at most `max_output_bytes` of output per cell: a submission that
    prints gigabytes must not take the grader's memory or disk with it. The kernel batches
    stream writes, so a single message can itself be huge: it is cut to the room left."""

    max_output_bytes = 2 * 1024 * 1024

    def output(self, outs, msg, display_id, cell_index):
        if outs and outs[-1].get("text") == TRUNCATED:
            return None
        used = sum(_size(o) for o in outs)
        if used >= self.max_output_bytes:
            _mark_truncated(outs)
            return None
        out = super().output(outs, msg, display_id, cell_index)
        room = self.max_output_bytes - used
        if out is not None and _size(out) > room:
            if out.get("output_type") == "stream" and isinstance(out.get("text"), str):
                out["text"] = out["text"][: max(room - 200, 0)]
            elif outs and outs[-1] is out:
                outs.pop()
            _mark_truncated(outs)
        return out


TRUNCATED = "\n[dlgrade: output truncated]\n"


def _size(output) -> int:
    return len(json.dumps(output))


def _mark_truncated(outs) -> None:
    if not (outs and outs[-1].get("output_type") == "stream" and outs[-1].get("text") == TRUNCATED):
        outs.append(nbformat.v4.new_output("stream", name="stdout", text=TRUNCATED))


def _timeout_of(cell_timeout: float):
    """Per-cell time limits: the student's limit, except for the grader's seed cell, which runs
    before any student code and must not cost a student points on a slow machine."""

    def timeout(cell) -> int:
        if cell.metadata.get("dlgrade", {}).get("injected") == "seed":
            return int(max(cell_timeout, SEED_CELL_TIMEOUT_S))
        return int(cell_timeout)

    return timeout


def _error_of(cell) -> dict | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return {
                "ename": str(out.get("ename", ""))[:200],
                "evalue": str(out.get("evalue", ""))[:2000],
                "traceback": [str(t)[:2000] for t in out.get("traceback", [])[-MAX_TRACEBACK:]],
            }
    return None


def _forking_kernel_manager() -> AsyncKernelManager:
    from grader.inside.forked_kernel import ForkProvisioner  # imports ipykernel: only when forking

    km = AsyncKernelManager(kernel_name="python3")
    km.kernel_id = str(uuid.uuid4())
    # Set before start: the manager creates its own provisioner only when it has none.
    km.provisioner = ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    return km


async def execute(
    nb, record_path: Path, cell_timeout: float, max_output: int, cwd: str, fork_kernel: bool = False
) -> dict:
    client = CappedClient(
        nb,
        km=_forking_kernel_manager() if fork_kernel else None,
        timeout=int(cell_timeout),
        timeout_func=_timeout_of(cell_timeout),
        kernel_name="python3",
        allow_errors=True,
        record_timing=True,
        startup_timeout=120,
        resources={"metadata": {"path": cwd}},
    )
    client.max_output_bytes = max_output
    record: dict = {"kernel_start_s": None, "cells": [], "status": "starting"}
    cells = record["cells"]
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            meta = cell.metadata.get("dlgrade", {})
            cells.append(
                {
                    "index": index,
                    "grade_id": cell.metadata.get("nbgrader", {}).get("grade_id"),
                    "injected": meta.get("injected", ""),
                    "part": meta.get("part", ""),
                    "status": "not-run",
                    "seconds": 0.0,
                }
            )

    def save() -> None:
        # A cell may have filled the work folder (or replaced files in it): keep running the
        # notebook rather than die here; the grader reads exports, not this record, for points.
        tmp = record_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(record))
            os.replace(tmp, record_path)
        except OSError:
            pass

    save()
    client.reset_execution_trackers()
    started = time.monotonic()
    # cleanup_kc: shut the kernel down at the end even when the manager was passed in.
    async with client.async_setup_kernel(cleanup_kc=True):
        record["kernel_start_s"] = round(time.monotonic() - started, 3)
        record["status"] = "running"
        save()
        for entry in cells:
            cell = nb.cells[entry["index"]]
            t0 = time.monotonic()
            entry["status"] = "running"
            save()
            try:
                await client.async_execute_cell(cell, entry["index"], execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                entry.update(status="timeout", seconds=round(time.monotonic() - t0, 3))
                record["status"] = "timeout"
                break
            except DeadKernelError:
                entry.update(status="dead", seconds=round(time.monotonic() - t0, 3))
                record["status"] = "dead"
                break
            entry["seconds"] = round(time.monotonic() - t0, 3)
            error = _error_of(cell)
            entry["status"] = "error" if error else "ok"
            if error:
                entry["error"] = error
            save()
        else:
            record["status"] = "finished"
    save()
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.inside.worker")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("executed", type=Path)
    parser.add_argument("record", type=Path)
    parser.add_argument("--cell-timeout", type=float, default=300)
    parser.add_argument("--max-output", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--fork-kernel", action="store_true", help="fork this process as the kernel")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    cwd = os.getcwd()
    try:
        asyncio.run(execute(nb, args.record, args.cell_timeout, args.max_output, cwd, args.fork_kernel))
    finally:
        nbformat.write(nb, args.executed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
