"""Grade a class: submissions in parallel up to the machine, each written out as soon as it is done.

`grade()` is a pure function of its inputs, so a submission that breaks dlgrade itself costs only
its own result (marked as a grader problem) and the batch goes on.
"""
from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from .grading import GradeOptions, grade, submission_name
from .results import Result
from .spec import Assignment

GiB = 1024**3


def default_jobs(memory_per_job: int = 3 * GiB) -> int:
    """Parallel submissions that fit this machine's cores and memory."""
    cores = os.cpu_count() or 1
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError):
        mem = 4 * GiB
    return max(1, min(cores, mem // memory_per_job))


def unique_names(submissions: list[Path]) -> dict[Path, str]:
    """Each submission's name in the output folder: its own name, or, where two share one
    (a/hw.ipynb and b/hw.ipynb), the name prefixed by its parent folders until they differ."""
    names = {p: submission_name(p) for p in submissions}
    depth = 1
    while len(set(names.values())) < len(names) and depth < 8:
        seen: dict[str, int] = {}
        for name in names.values():
            seen[name] = seen.get(name, 0) + 1
        for p, name in names.items():
            if seen[name] > 1:
                parents = [q.name for q in list(p.resolve().parents)[:depth] if q.name][::-1]
                names[p] = "-".join([*parents, submission_name(p)])
        depth += 1
    return names


def _crashed(path: Path, assignment: Assignment, exc: BaseException, name: str | None = None) -> Result:
    result = Result(submission=name or submission_name(path), assignment=assignment.name)
    result.problems.append(
        {"kind": "grader", "message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=5)}
    )
    return result


def grade_class(
    submissions: list[Path],
    assignment: Assignment,
    runner,
    outdir: Path,
    options: GradeOptions,
    jobs: int = 1,
    on_done: Callable[[Result, int, int, float], None] | None = None,
) -> list[Result]:
    """Grade every submission; `on_done(result, done, total, elapsed)` after each one."""
    results: dict[Path, Result] = {}
    started = time.monotonic()
    names = unique_names(submissions)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade, p, assignment, runner, outdir, options, names[p]): p for p in submissions}
        for future in as_completed(futures):
            path = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a dlgrade bug: keep the batch going, say so in the result
                result = _crashed(path, assignment, exc, names[path])
            results[path] = result
            if on_done:
                on_done(result, len(results), len(submissions), time.monotonic() - started)
    return [results[p] for p in submissions]


def grade_remote(submission: str, assignment_dir: str, outdir: str, lang: str, seed: int, no_sandbox: bool) -> dict:
    """One submission on a cluster worker, from paths only (the worker loads the assignment
    itself: checks files are modules that do not travel by pickle); returns the JSON result."""
    from .cli import make_options
    from .bwrap import make_sandbox
    from .execution import SandboxedRunner
    from .spec import load_assignment

    assignment = load_assignment(Path(assignment_dir))
    runner = SandboxedRunner(make_sandbox(no_sandbox))
    result = grade(Path(submission), assignment, runner, Path(outdir), make_options(lang, seed))
    return result.to_dict()


def grade_on_cluster(
    address: str,
    submissions: list[Path],
    assignment_dir: Path,
    outdir: Path,
    *,
    lang: str = "en",
    seed: int = 0,
    no_sandbox: bool = False,
    on_done: Callable[[Result, int, int, float], None] | None = None,
) -> list[Result]:
    """The same grading on a Dask cluster: only the scheduler's address changes. Workers must
    see the same paths (a shared file system) and have dlgrade installed."""
    from distributed import Client, as_completed as dask_completed

    started = time.monotonic()
    results: dict[str, Result] = {}
    with Client(address) as client:
        futures = {
            client.submit(
                grade_remote, str(Path(p).resolve()), str(assignment_dir), str(outdir), lang, seed, no_sandbox, pure=False
            ): p
            for p in submissions
        }
        for future in dask_completed(futures):
            path = futures[future]
            try:
                result = Result.from_dict(future.result())
            except Exception as exc:  # a worker lost or a dlgrade bug: the batch goes on
                result = _crashed(path, load_assignment_name(assignment_dir), exc)
            results[str(path)] = result
            if on_done:
                on_done(result, len(results), len(submissions), time.monotonic() - started)
    return [results[str(p)] for p in submissions]


def load_assignment_name(assignment_dir: Path):
    """Just enough of an Assignment for an error result."""
    return Assignment(name=Path(assignment_dir).name, path=Path(assignment_dir), notebooks=[])
