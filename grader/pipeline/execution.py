"""Run a prepared notebook: inject the grader's cells, execute in a sandbox, collect the record.

`NotebookRunner` is the seam between grading logic and processes: `SandboxedRunner` runs the
worker (`grader.inside.worker`) through a `Sandbox`; unit tests use a fake that writes artifacts.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import nbformat
from nbformat import NotebookNode

from grader.assignment.exports import ExportFunction
from grader.assignment.spec import NotebookSpec
from grader.intake import artifacts as art
from grader.intake.copyback import remove_tree
from grader.notebook import format as nbf
from grader.sandbox.base import Limits, ProcessOutcome, Sandbox

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the grader package


def _injected_cell(source: str, kind: str, part: str = "") -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["dlgrade"] = {"injected": kind, "part": part}
    cell.metadata["tags"] = ["dlgrade-injected"]
    return cell


def thunk_source(value) -> str:
    """Python source of a thunk the kernel helpers call: an expression string is evaluated in the
    student's namespace, as written; a function from the checks file (ExportFunction) is defined
    apart from it by `function_export`, which passes it the student's variables by name."""
    if isinstance(value, ExportFunction):
        return (
            f"_dlgrade_kernel.function_export({value.source!r}, {value.name!r}, "
            f"{list(value.variables)!r}, {value.constants!r})"
        )
    return f"lambda: ({value})"


def _thunks(entries: dict) -> str:
    return ",\n".join(f"    {name!r}: {thunk_source(value)}" for name, value in entries.items())


def export_source(part) -> str:
    lines = ["import grader.inside.kernel as _dlgrade_kernel"]
    if part.exports:
        lines.append(f"_dlgrade_kernel.export({part.id!r}, {{\n{_thunks(part.exports)},\n}})")
    else:
        lines.append(f"_dlgrade_kernel.export({part.id!r}, {{}})")
    if part.models:
        lines.append(f"_dlgrade_kernel.save_models({part.id!r}, {{\n{_thunks(part.models)},\n}})")
    return "\n".join(lines)


def part_sources(nb: NotebookNode, part) -> list[str]:
    """The code a part runs: its code cells from its first answer cell to its export cell."""
    ids = [nbf.grade_id(c) for c in nb.cells]
    wanted = [gid for gid in part.cells if gid in ids]
    if not wanted or part.export_after not in ids:
        return []
    first, last = min(ids.index(g) for g in wanted), ids.index(part.export_after)
    return [c.source for c in nb.cells[first : last + 1] if c.cell_type == "code"]


def retrain_source(part, sources: list[str], limits) -> str:
    """The injected cell that trains a part again from other seeds (spec.Retrain)."""
    plan = part.retrain
    models = _thunks(part.models)
    until = thunk_source(plan.until) if plan.until else "None"
    return (
        "import grader.inside.kernel as _dlgrade_kernel\n"
        f"_dlgrade_kernel.retrain({part.id!r}, seeds={list(plan.seeds)!r}, cells={sources!r}, models={{\n{models}\n}},\n"
        f"    until={until}, budget_s={plan.share * limits.cell_timeout_s!r},"
        f" notebook_budget_s={plan.share * limits.notebook_timeout_s!r})"
    )


def inject(nb: NotebookNode, spec: NotebookSpec, seed: int, artifacts_dir: Path) -> NotebookNode:
    """A copy of `nb` with the seed cell first and an export cell after each part's last cell.
    What was injected is recorded in the notebook's metadata, as papermill does."""
    out = copy.deepcopy(nb)
    seed_src = (
        "import grader.inside.kernel as _dlgrade_kernel\n"
        f"_dlgrade_kernel.start(seed={seed}, framework={spec.framework!r}, outdir={os.fspath(artifacts_dir)!r})"
    )
    by_after: dict[str, list] = {}
    for part in spec.parts:
        if part.export_after:
            by_after.setdefault(part.export_after, []).append(part)
    cells = [_injected_cell(seed_src, "seed")]
    for cell in out.cells:
        cells.append(cell)
        for part in by_after.get(nbf.grade_id(cell) or "", []):
            cells.append(_injected_cell(export_source(part), "export", part.id))
            sources = part_sources(nb, part) if part.retrain else []
            if sources:
                cells.append(_injected_cell(retrain_source(part, sources, spec.limits), "retrain", part.id))
    if (out.nbformat, out.get("nbformat_minor", 0)) < (4, 5):  # cell ids came with 4.5: nbgrader's ps1 is 4.0
        for cell in cells:
            if "dlgrade" in cell.metadata and cell.metadata["dlgrade"].get("injected"):
                cell.pop("id", None)
    out.cells = cells
    out.metadata["dlgrade"] = {"seed": seed, "injected": ["seed"] + [p.id for p in spec.parts]}
    return out


@dataclass
class ExecutionJob:
    notebook: NotebookNode  # already injected
    workdir: Path  # writable by the student's code; nothing trusted lives here
    limits: Limits
    data_paths: list[Path] = field(default_factory=list)  # read-only, e.g. the public data cache
    env: dict[str, str] = field(default_factory=dict)
    # the assignment's data files (trusted, NotebookSpec.files): relative path -> file to copy
    files: dict[Path, Path] = field(default_factory=dict)


def copy_data_files(files: dict[Path, Path], workdir: Path) -> None:
    """Copy the assignment's data files into the work folder, where the notebook finds them
    beside itself. Copies, never links: the run may change its own copy and nothing else; and
    only from the assignment folder, never from the submission (its files are not read here)."""
    for relative, source in files.items():
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)  # a link put there since loading is refused
        with os.fdopen(fd, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)


@dataclass
class ExecutionOutcome:
    record: dict  # the worker's record: kernel_start_s, status, cells[...]
    process: ProcessOutcome
    executed_path: Path | None
    artifacts_dir: Path

    def cell(self, grade_id: str) -> dict | None:
        return next((c for c in self.record.get("cells", []) if c.get("grade_id") == grade_id), None)

    def export_cell(self, part_id: str) -> dict | None:
        return next(
            (c for c in self.record.get("cells", []) if c.get("injected") == "export" and c.get("part") == part_id),
            None,
        )


class NotebookRunner(Protocol):
    def execute(self, job: ExecutionJob) -> ExecutionOutcome:
        """Run the injected notebook; leave artifacts in job.workdir/artifacts."""

    def evaluate(self, spec: NotebookSpec, part_data: dict, eval_dir: Path, hidden, limits: Limits) -> dict:
        """Predictions of exported models on hidden inputs: {part id: {name: array or failure}}."""


def base_env(workdir: Path, data_dir: Path | None) -> dict[str, str]:
    home = workdir / "home"
    env = {
        "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME": os.fspath(home),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_DETERMINISTIC_OPS": "1",
        "MALLOC_ARENA_MAX": "2",  # keeps TensorFlow's virtual size down
        "MPLCONFIGDIR": os.fspath(home / ".mpl"),
        "IPYTHONDIR": os.fspath(home / ".ipython"),
        "JUPYTER_RUNTIME_DIR": os.fspath(home / ".jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "KERAS_HOME": os.fspath(home / ".keras"),
        # A check() call left in a submission must not grade the notebook again from inside
        # its own grading (without a sandbox that would recurse); see selfcheck.check.
        "DLGRADE_GRADING": "1",
    }
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # needed on some CPUs for correct results
        if var in os.environ:
            env[var] = os.environ[var]
    if data_dir is not None:
        env["DLGRADE_DATA"] = os.fspath(data_dir)
    return env


# What comes back from a notebook's run, in this order: what scoring reads first comes first.
KEEP = ("record.json", "artifacts", "executed.ipynb")


class SandboxedRunner:
    """Runs the worker through a Sandbox; the only NotebookRunner a user ever gets."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def execute(self, job: ExecutionJob) -> ExecutionOutcome:
        workdir = Path(job.workdir).resolve()  # the worker runs with this as its cwd
        artifacts_dir = workdir / "artifacts"
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        (workdir / "home").mkdir(exist_ok=True)
        notebook_in = workdir / "submission.ipynb"
        executed = workdir / "executed.ipynb"
        record_path = workdir / "record.json"
        nbformat.write(job.notebook, notebook_in)
        copy_data_files(job.files, workdir)
        data_dir = job.data_paths[0] if job.data_paths else None
        env = {**base_env(workdir, data_dir), **job.env}
        argv = [
            sys.executable,
            "-m",
            "grader.inside.worker",
            os.fspath(notebook_in),
            os.fspath(executed),
            os.fspath(record_path),
            "--cell-timeout",
            str(job.limits.cell_timeout_s),
        ]
        process = self.sandbox.run(
            argv,
            workdir=workdir,
            ro_paths=list(job.data_paths),
            env=env,
            limits=job.limits,
            timeout_s=job.limits.notebook_timeout_s,
            keep=KEEP,
        )
        try:
            record = clean_record(art.read_json(record_path))
        except (OSError, art.UnsafeArtifact) as exc:
            record = {"status": "no-record", "cells": [], "error": str(exc)}
        return ExecutionOutcome(
            record=record,
            process=process,
            # The sandbox is gone: a symlink here was planted to make the grader read a host file.
            executed_path=executed if _is_regular_file(executed) else None,
            artifacts_dir=artifacts_dir,
        )

    def evaluate(self, spec, part_data, eval_dir, hidden, limits) -> dict:
        from grader.pipeline.evaluate import run_evaluations

        env = base_env(eval_dir, None)
        predictions, _info = run_evaluations(spec, part_data, self.sandbox, eval_dir, hidden, limits, env)
        return predictions


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


RECORD_STATUSES = {"starting", "running", "finished", "timeout", "dead"}
CELL_STATUSES = {"not-run", "running", "ok", "error", "timeout", "dead"}


MAX_RECORD_CELLS = 10_000  # intake refuses notebooks of over 5,000 cells; the grader adds a few
MAX_RECORD_TEXT = 4_000_000  # characters of error text kept from one record


def clean_record(raw) -> dict:
    """The worker's record, reduced to the fields and types the grader uses.

    The worker shares the sandbox with the student's kernel, which can overwrite the record (and
    then kill the worker so that it stays). A forged record may misstate its own run, but it must
    never crash the grader or put unbounded text into a report; and reading it is linear and
    capped (cells, characters), since everything downstream walks its cells."""
    if not isinstance(raw, dict):
        raise art.UnsafeArtifact("the record is not an object")
    room = [MAX_RECORD_TEXT]  # for the long texts; names are short and capped per cell

    def text(value, limit: int = 2000) -> str:
        return value[:limit] if isinstance(value, str) else ""

    def long_text(value) -> str:
        kept = text(value, min(2000, room[0]))
        room[0] -= len(kept)
        return kept

    def number(value) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e7
        return round(float(value), 3) if ok else 0.0

    cells = []
    seen: set[int] = set()
    for entry in raw.get("cells") if isinstance(raw.get("cells"), list) else []:
        if len(cells) >= MAX_RECORD_CELLS:
            break
        if not isinstance(entry, dict):
            continue
        index = entry.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0 or index in seen:
            continue
        seen.add(index)
        cell = {
            "index": index,
            "grade_id": text(entry.get("grade_id"), 200) or None,
            "injected": entry.get("injected") if entry.get("injected") in ("seed", "export", "retrain") else "",
            "part": text(entry.get("part"), 200),
            "status": entry.get("status") if entry.get("status") in CELL_STATUSES else "not-run",
            "seconds": number(entry.get("seconds")),
        }
        error = entry.get("error")
        if isinstance(error, dict):
            traceback = error.get("traceback") if isinstance(error.get("traceback"), list) else []
            cell["error"] = {
                "ename": text(error.get("ename"), 200),
                "evalue": long_text(error.get("evalue")),
                "traceback": [long_text(line) for line in traceback[-40:]],
            }
        cells.append(cell)
    cells.sort(key=lambda c: c["index"])
    status = raw.get("status")
    return {
        "status": status if status in RECORD_STATUSES else "unknown",
        "kernel_start_s": number(raw.get("kernel_start_s")),
        "cells": cells,
    }


def fresh_workdir(path: Path) -> Path:
    """An empty work folder at `path`, whatever an earlier, killed grader left there."""
    if os.path.ismount(path):  # left mounted by a grader that was killed mid-run
        from grader.sandbox.bwrap import unmount

        unmount(path)
    remove_tree(path)
    path.mkdir(parents=True)
    return path


def summarize_record(record: dict) -> dict:
    """Seconds spent in kernel start-up, the seed cell (TensorFlow's import), student cells, the
    grader's export cells and its retraining (spec.Retrain)."""
    cells = record.get("cells", [])
    return {
        "kernel_start_s": record.get("kernel_start_s") or 0.0,
        "seed_cell_s": round(sum(c["seconds"] for c in cells if c.get("injected") == "seed"), 3),
        "student_cells_s": round(sum(c["seconds"] for c in cells if not c.get("injected")), 3),
        "export_cells_s": round(sum(c["seconds"] for c in cells if c.get("injected") == "export"), 3),
        "retrain_cells_s": round(sum(c["seconds"] for c in cells if c.get("injected") == "retrain"), 3),
    }


def dump(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)
