"""Grade a class: submissions in parallel up to the machine, each written out as soon as it is done.

`grade()` is a pure function of its inputs, so a submission that breaks dlgrade itself costs only
its own result (marked as a grader problem) and the batch goes on.
"""

from __future__ import annotations

import os
import re
import time
import traceback
import unicodedata
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from grader.assignment.spec import Assignment
from grader.pipeline.grading import GradeOptions, grade, submission_name
from grader.results import Result

GiB = 1024**3


def default_jobs(memory_per_job: int = 3 * GiB) -> int:
    """Parallel submissions that fit this machine's cores and memory."""
    cores = os.cpu_count() or 1
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError):
        mem = 4 * GiB
    return max(1, min(cores, mem // memory_per_job))


NAME_BYTES = 120  # of UTF-8: room under NAME_MAX (255) for a suffix; 40 Japanese characters
_UNSAFE = re.compile(r'[/\\:*?"<>|]')  # separators, and what Windows refuses in a name (zips travel)


def _trim(text: str, limit: int) -> str:
    """The longest start of `text` that is at most `limit` bytes of UTF-8."""
    text = text[:limit]
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text


def safe_name(text: str) -> str:
    """`text` as one path component that is safe on any file system and in a shell: no
    separator, no control, format or unencodable character (each becomes `_`), no leading dot or
    dash (never hidden, never an option), at most NAME_BYTES of UTF-8; Unicode (Japanese) kept."""
    from grader.reporters.text import invisible

    name = invisible().sub("_", _UNSAFE.sub("_", unicodedata.normalize("NFC", text))).strip()
    if name[:1] in (".", "-", ""):
        name = "_" + name
    return _trim(name, NAME_BYTES).rstrip(". ") or "_"  # Windows drops trailing dots and spaces


def _key(name: str) -> str:
    """Names that one file system may store as one folder: case-insensitive (macOS, Windows),
    normalisation-insensitive (macOS)."""
    return unicodedata.normalize("NFC", name).casefold()


def _candidates(path: Path) -> list[str]:
    """A submission's possible output names, best first: its own name (a file without .ipynb),
    then a file's full name (bob.ipynb beside a folder bob/), then more and more of its parent
    folders in front (a/hw.ipynb and b/hw.ipynb become a-hw and b-hw). A folder's second
    candidate is its own name again, so that the folder bob/ keeps "bob" beside bob.ipynb."""
    own = submission_name(path)
    parents = [q.name for q in Path(os.path.abspath(path)).parents if q.name]
    names = [own, path.name] + ["-".join([*parents[:depth][::-1], own]) for depth in range(1, len(parents) + 1)]
    return [safe_name(n) for n in names]


def unique_names(submissions: list[Path]) -> dict[Path, str]:
    """Each submission's folder in the output: a safe name (`safe_name`) that no other
    submission shares, even on a case-insensitive file system, and that is none of the class
    files (`reporters.CLASS_FILES`). Where names clash, every submission of the clash moves on to
    its next candidate (`_candidates`); what still clashes gets its own name and -2, -3 ... in
    path order. The same class always gets the same names, whatever order its paths are given in."""
    from grader.reporters import CLASS_FILES

    reserved = {_key(n) for n in CLASS_FILES}
    paths = sorted(dict.fromkeys(submissions), key=os.path.abspath)
    options = {p: _candidates(p) for p in paths}
    step = dict.fromkeys(paths, 0)
    while True:
        current = {p: options[p][step[p]] for p in paths}
        counts = Counter(_key(n) for n in current.values())
        movable = [
            p
            for p in paths
            if (counts[_key(current[p])] > 1 or _key(current[p]) in reserved) and step[p] < len(options[p]) - 1
        ]
        if not movable:
            break
        for p in movable:
            step[p] += 1
    # what still clashes goes back to its own name with -2, -3 ..., in path order
    names = {p: n for p, n in current.items() if counts[_key(n)] == 1 and _key(n) not in reserved}
    taken = reserved | {_key(n) for n in names.values()}
    for p in paths:
        if p in names:
            continue
        own, n = options[p][0], 1
        name = own
        while _key(name) in taken:
            n += 1
            name = _trim(own, NAME_BYTES - len(f"-{n}")) + f"-{n}"
        names[p] = name
        taken.add(_key(name))
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
    names: dict[Path, str] | None = None,
) -> list[Result]:
    """Grade every submission; `on_done(result, done, total, elapsed)` after each one. Output
    folders are `names` (unique, safe: the gradebook's student ids) or `unique_names`."""
    results: dict[Path, Result] = {}
    started = time.monotonic()
    submissions = list(dict.fromkeys(submissions))  # one path given twice is graded once
    names = names or unique_names(submissions)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade, p, assignment, runner, outdir, options, names[p]): p for p in submissions}
        for future in as_completed(futures):
            path = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a dlgrade bug: keep the batch going, say so in the result
                result = _crashed(path, assignment, exc, names[path])
            results[path] = result
            _done(on_done, result, len(results), len(submissions), started)
    return [results[p] for p in submissions]


def _done(on_done, result: Result, n: int, total: int, started: float) -> None:
    """The caller's callback (writing reports, a progress bar); its failure is this result's
    problem, never the class's."""
    if on_done:
        try:
            on_done(result, n, total, time.monotonic() - started)
        except Exception as exc:
            result.problems.append(
                {
                    "kind": "grader",
                    "message": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=5),
                }
            )


def grade_remote(
    submission: str,
    assignment_dir: str,
    outdir: str,
    lang: str,
    seed: int,
    no_sandbox: bool,
    name: str | None = None,
    keep_work: bool = False,
    keep_scoring: bool = False,
) -> dict:
    """One submission on a cluster worker, from paths only (the worker loads the assignment
    itself: checks files are modules that do not travel by pickle), into `outdir/<name>`
    (`unique_names`, made once for the class); returns the JSON result."""
    from grader.assignment.spec import load_assignment
    from grader.pipeline.execution import SandboxedRunner
    from grader.pipeline.grading import make_options
    from grader.sandbox.bwrap import make_sandbox

    assignment = load_assignment(Path(assignment_dir))
    runner = SandboxedRunner(make_sandbox(no_sandbox))
    options = make_options(lang, seed, keep_work=keep_work, keep_scoring=keep_scoring)
    result = grade(Path(submission), assignment, runner, Path(outdir), options, name)
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
    keep_work: bool = False,
    keep_scoring: bool = False,
    on_done: Callable[[Result, int, int, float], None] | None = None,
    names: dict[Path, str] | None = None,
) -> list[Result]:
    """The same grading on a Dask cluster: only the scheduler's address changes. Workers must
    see the same paths (a shared file system) and have dlgrade installed."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    started = time.monotonic()
    results: dict[str, Result] = {}
    submissions = list(dict.fromkeys(submissions))
    names = names or unique_names(submissions)  # the same names as on one machine
    with Client(address) as client:
        futures = {
            client.submit(  # absolute, not resolved: a submission that is a link is refused, not followed
                grade_remote,
                os.path.abspath(p),
                str(assignment_dir),
                str(outdir),
                lang,
                seed,
                no_sandbox,
                names[p],
                keep_work,
                keep_scoring,
                pure=False,
            ): p
            for p in submissions
        }
        for future in dask_completed(futures):
            path = futures[future]
            try:
                result = Result.from_dict(future.result())
            except Exception as exc:  # a worker lost or a dlgrade bug: the batch goes on
                result = _crashed(path, load_assignment_name(assignment_dir), exc, names[path])
            results[str(path)] = result
            _done(on_done, result, len(results), len(submissions), started)
    return [results[str(p)] for p in submissions]


def load_assignment_name(assignment_dir: Path):
    """Just enough of an Assignment for an error result."""
    return Assignment(name=Path(assignment_dir).name, path=Path(assignment_dir), notebooks=[])
