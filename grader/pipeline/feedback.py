"""The notebook a feedback page shows (grader.reporters.notebook_html), kept in the submission's
output folder as `<stem>.executed.ipynb` so that `dlgrade report` renders it again, in either
language, after the run's work folder is gone.

Code and text come from the notebook the grader sent into the sandbox (the submission prepared
against the release, its saved outputs already cleared), outputs only from the executed copy the
sandbox left (grader.intake.executed), matched by position: an output the student saved in
their file never appears. A locked cell shows its released source, and a cell that ran hidden
tests shows no output (its traceback would quote them). The grader's own cells are left out.
Without an executed copy (the run was killed before it saved one) the code is kept without
outputs, and the page says so.

Each cell carries, in metadata `dlgrade`, what the page needs: the parts it belongs to
(`parts`), the parts whose box follows it (`boxes`), how its run ended (`run`), whether it is
the instructor's as released (`released`) and what was not kept (`notes`: catalogue keys and
arguments). The whole file is paid from a byte budget, a
share of the submission folder's (`GradeOptions.max_output_bytes`).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from grader.assignment.spec import NotebookSpec
from grader.intake import executed as ex
from grader.notebook import format as nbf
from grader.reporters.notebook_html import KEPT_SUFFIX, kept_name

# Of the submission folder's budget: the kept notebook and its page (about as large) beside the
# figures (grader.intake.run_output.PLOT_SHARE, and again inlined in report.html).
FEEDBACK_SHARE = 1 / 32
MAX_SOURCE_CHARS = 50_000  # of one cell


def kept_path(folder: Path, notebook: str) -> Path:
    return folder / kept_name(notebook)


def budget(max_output_bytes: int, sub_dir: Path, notebook: str) -> int:
    """Bytes still allowed for this notebook's kept copy (other notebooks' copies count)."""
    mine = kept_path(sub_dir, notebook).name
    others = [p for p in sub_dir.glob(f"*{KEPT_SUFFIX}") if p.name != mine] if sub_dir.is_dir() else []
    return max(0, int(max_output_bytes * FEEDBACK_SHARE) - sum(p.stat().st_size for p in others))


def forget(sub_dir: Path, notebook: str) -> None:
    """Remove the copy an earlier grading of this submission kept: this grading keeps its own, or
    none (a notebook that is now missing has no page)."""
    try:
        kept_path(sub_dir, notebook).unlink(missing_ok=True)
    except OSError:  # a folder we cannot write to fails later, in the reports; the grade goes on
        pass


def keep_run(spec: NotebookSpec, injected, outcome, sub_dir: Path, max_output_bytes: int) -> tuple[dict | None, list]:
    """`keep` for one run (grader.pipeline.execution.ExecutionOutcome), and the problem when it
    failed: a fault of dlgrade costs the page, never the grade."""
    try:
        total = budget(max_output_bytes, sub_dir, spec.name)
        return keep(spec, injected, outcome.executed_path, outcome.record, total), []
    except Exception as exc:
        return None, [f"feedback notebook: {type(exc).__name__}: {exc}"]


def _layout(spec: NotebookSpec, ids: list[str | None]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """grade id -> the parts it belongs to; grade id -> the parts whose box follows it (after
    the part's export cell, else its last cell in the notebook)."""
    members: dict[str, list[str]] = {}
    boxes: dict[str, list[str]] = {}
    present = set(ids) - {None}
    for part in spec.parts:
        cells = list(dict.fromkeys([*part.cells, *part.answers]))
        for gid in cells:
            members.setdefault(gid, []).append(part.id)
        after = part.export_after if part.export_after in present else None
        found = [gid for gid in ids if gid in cells]
        after = after or (found[-1] if found else None)
        if after:
            boxes.setdefault(after, []).append(part.id)
    return members, boxes


def keep(spec: NotebookSpec, injected, executed_path: Path | None, record: dict, total: int) -> dict:
    """The kept notebook (nbformat 4 as plain data) of one run; `injected` is the notebook the
    sandbox ran, `total` the byte budget."""
    release = {nbf.grade_id(c): c for c in spec.release().cells if nbf.grade_id(c)}
    executed = ex.read_cells(executed_path) if executed_path is not None else None
    ran = executed is not None and len(executed) == len(injected.cells)  # else not the file the run wrote
    run_of = {c["index"]: c["status"] for c in record.get("cells", [])}
    ids = [nbf.grade_id(c) for c in injected.cells]
    members, boxes = _layout(spec, ids)
    budget_ = ex.Budget(int(total * 0.75))  # the rest for JSON's quotes and escapes, and metadata
    notes: list[dict] = [] if ran else [{"key": "feedback.not_run", "args": {}}]
    cells: list[dict] = []
    chosen = []
    for index, cell in enumerate(injected.cells):  # first the code: outputs get what is left
        if cell.metadata.get("dlgrade", {}).get("injected"):
            continue
        gid = ids[index]
        released = release.get(gid) if gid else None
        locked = released is not None and nbf.is_locked(released)
        source = released.source if locked else cell.source
        text = ex.clean(source[:MAX_SOURCE_CHARS])
        if not budget_.take(len(text)):
            left = sum(1 for c in injected.cells[index:] if not c.metadata.get("dlgrade", {}).get("injected"))
            notes.append({"key": "feedback.cells_cut", "args": {"count": left}})
            break
        meta: dict = {"parts": members.get(gid, []), "boxes": boxes.get(gid, []), "notes": []}
        if len(source) > MAX_SOURCE_CHARS:
            meta["notes"].append({"key": "feedback.source_cut", "args": {"count": len(source) - MAX_SOURCE_CHARS}})
        kind = cell.cell_type if cell.cell_type in ("code", "markdown") else "raw"
        kept = {"cell_type": kind, "id": f"cell-{index}", "source": text, "metadata": {"dlgrade": meta}}
        if gid:
            kept["metadata"]["nbgrader"] = {"grade_id": gid}
        if locked:
            meta["released"] = True  # the instructor's text, as released
        if kind == "code":
            kept.update(outputs=[], execution_count=None)
            meta["run"] = run_of.get(index, "not-run")
            if locked and cell.source != released.source:
                meta["notes"].append({"key": "feedback.hidden_tests", "args": {}})
        cells.append(kept)
        chosen.append((index, kept, locked and cell.source != released.source))
    if ran:
        for index, kept, hides_tests in chosen:
            meta = kept["metadata"]["dlgrade"]
            if kept["cell_type"] != "code" or hides_tests or meta["run"] == "not-run":
                continue
            outputs, out_notes = ex.outputs_of(executed[index], budget_)
            kept.update(outputs=outputs, execution_count=ex.execution_count(executed[index]))
            meta["notes"] += out_notes
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "dlgrade": {"notebook": spec.name, "ran": ran, "status": record.get("status", "unknown"), "notes": notes},
        },
        "cells": cells,
    }


def write(kept: dict | None, sub_dir: Path, notebook: str, max_output_bytes: int) -> Path | None:
    """Write the kept notebook when it fits in its budget (a cached copy was made for another
    folder's); otherwise leave none, and the report links no page."""
    if not kept:
        return None
    total = budget(max_output_bytes, sub_dir, notebook)
    data = json.dumps(kept, ensure_ascii=False).encode("utf-8", "backslashreplace")
    if len(data) > total:
        return None
    path = kept_path(sub_dir, notebook)
    try:
        sub_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError:  # a full disk costs the page, not the grade
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None
    return path
