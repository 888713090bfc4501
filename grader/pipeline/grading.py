"""grade(submission, assignment) -> Result: validate, execute, score one submission.

A submission is a notebook (matched to the assignment's notebook of the same file name, or of
the same graded cells) or a folder of them. Whatever is wrong with it becomes a verdict in the
Result; only a bug in dlgrade itself raises.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.assignment.spec import Assignment, NotebookSpec
from grader.errors import NotANotebook
from grader.i18n import t
from grader.intake import artifacts as art
from grader.intake.run_output import discard_work, output_part, plot_budget
from grader.intake.submission import Listing, Refused, list_submission
from grader.notebook import format as nbf
from grader.notebook.recover import recover_ids
from grader.notebook.validate import WrongExercise, prepare
from grader.pipeline import feedback
from grader.pipeline import kept as kept_inputs
from grader.pipeline.cache import ResultCache, cache_key
from grader.pipeline.execution import ExecutionJob, NotebookRunner, fresh_workdir, inject, summarize_record
from grader.pipeline.scoring import score_notebook
from grader.results import CheckResult, PartResult, Result, Status

MAX_PLOTS = 20
MAX_EXECUTED_BYTES = 64 * 1024 * 1024  # the executed notebook, read for the student's figures
MAX_EXECUTED_CONTAINERS = 200_000  # its lists and objects (a cell with outputs has about ten)
MAX_DIAGNOSED_ERRORS = 100  # cells whose errors are read for old-API hints (a record may list thousands)
MAX_PLOT_BYTES = 2 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class GradeOptions:
    seed: int = 0
    lang: str = "en"
    calibrating: bool = False
    data_paths: list[Path] = field(default_factory=list)  # read-only data the notebook may load
    hidden: object = None  # grader.pipeline.hidden.HiddenData
    cache: ResultCache | None = None  # reuse the outcome of identical notebooks
    keep_work: bool = False  # keep <out>/<submission>/work and eval (removed after grading otherwise)
    max_output_bytes: int = 20 * 2**20  # what stays per submission folder (see grader.intake.run_output)
    # keep what the checks read (scoring/<stem>.npz) for `dlgrade rescore`: only a grading recorded
    # in a gradebook can be rescored, and an MNIST CNN's inputs weigh about 12 MiB
    keep_scoring: bool = False


@dataclass
class GradedNotebook:
    """One notebook executed, evaluated and scored: what `grade` puts into the Result, and what
    the result cache keeps (`to_dict` / `from_dict`; plots travel as base64 PNG)."""

    parts: list[PartResult]
    problems: list[dict]  # {"kind": "grader", "message": ...}: faults of dlgrade, not the student's
    metrics: dict[str, float]
    plots: list[dict]  # {"notebook", "cell", "path", "png"}
    status: str  # the run's record status: finished, timeout, dead, ...
    timings: dict
    sandbox: dict
    peak_memory_bytes: int | None
    cpu_s: float
    feedback: dict | None = None  # the notebook its feedback page shows (grader.pipeline.feedback)
    scoring: str | None = None  # what its checks read, to score it again (grader.pipeline.kept), base64

    def to_dict(self) -> dict:
        return {**{f: getattr(self, f) for f in self.__dataclass_fields__}, "parts": [p.to_dict() for p in self.parts]}

    @classmethod
    def from_dict(cls, data: dict | None) -> GradedNotebook | None:
        """A cached notebook, or None when the entry is missing or not of this shape (graded again)."""
        if not isinstance(data, dict) or set(data) != set(cls.__dataclass_fields__):
            return None
        try:
            return cls(**{**data, "parts": [PartResult.from_dict(p) for p in data["parts"]]})
        except (KeyError, TypeError, ValueError):
            return None


def make_options(lang: str, seed: int = 0, **extra):
    """GradeOptions with the local data cache and the hidden data, as every command uses them."""
    from grader.datasets import public_dir
    from grader.pipeline.hidden import HiddenData

    data = public_dir()
    return GradeOptions(
        seed=seed,
        lang=lang,
        data_paths=[data] if data.exists() else [],
        hidden=HiddenData(),
        **extra,
    )


def require_data() -> None:
    from grader.datasets import verify_mnist

    verify_mnist()  # raises DatasetMissing with the fix in its message


def needs_course_data(assignment: Assignment) -> bool:
    """Whether grading `assignment` may read the course's data (MNIST): not when every check says
    it reads no data (checks.nbgrader) and no part evaluates on hidden data. When it cannot tell
    (no parts to look at), it may."""
    parts = getattr(assignment, "parts", None) or []
    if not parts:
        return True
    return any(p.evaluate for p in parts) or any(getattr(c, "reads_data", True) for p in parts for c in p.checks)


def submission_name(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def collect_notebooks(submission: Path) -> list[Path]:
    """The notebooks of a submission: regular files only, found by a bounded walk that follows
    no link (grader.intake.submission lists what it refused)."""
    return list_submission(submission).notebooks


def match_notebooks(
    files: list[Path], assignment: Assignment, within: Path | None = None
) -> tuple[dict[str, Path], list[Path]]:
    """Match by file name first, then (for renamed files) by shared graded cells. Files are read
    without following a link below `within` (the folder the submission lives in)."""
    matched: dict[str, Path] = {}
    rest = []
    for path in files:
        if assignment.notebook(path.name) and path.name not in matched:
            matched[path.name] = path
        else:
            rest.append(path)
    unmatched = []
    for path in rest:
        target = _match_by_cells(path, [s for s in assignment.notebooks if s.name not in matched], within)
        if target:
            matched[target] = path
        else:
            unmatched.append(path)
    return matched, unmatched


def _match_by_cells(path: Path, candidates: list[NotebookSpec], within: Path | None = None) -> str | None:
    if len(candidates) == 0:
        return None
    try:
        nb = nbf.read_notebook(path, within=within)
    except NotANotebook:
        return candidates[0].name if len(candidates) == 1 else None  # graded below, reported there

    def recognised(spec: NotebookSpec) -> int:
        """Released graded cells found in nb: by grade id, else (metadata lost) by content."""
        ids = {nbf.grade_id(c) for c in nb.cells} - {None}
        shared = len(ids & {nbf.grade_id(c) for c in spec.release().cells})
        return shared or len(recover_ids(nb, spec.release())[1])

    counts = {s.name: recognised(s) for s in candidates}
    best = max(candidates, key=lambda s: counts[s.name])
    if counts[best.name]:
        return best.name
    return candidates[0].name if len(candidates) == 1 else None


def authored_tests(spec: NotebookSpec) -> dict[str, str]:
    """grade id -> source, as the instructor's notebook has it, of the test cells that checks
    judge by their run (checks.nbgrader.CellRuns): hidden tests included, which the release
    strips. Only locked cells are ever taken (validate.prepare), never a solution."""
    wanted = {getattr(c, "grade_id", None) for p in spec.parts for c in p.checks if getattr(c, "runs_authored", False)}
    if not wanted:
        return {}
    return {
        nbf.grade_id(c): c.source for c in spec.solution().cells if nbf.grade_id(c) in wanted and not nbf.is_solution(c)
    }


def _all_parts_failed(spec: NotebookSpec, status: Status, key: str, lang: str, **args) -> list[PartResult]:
    parts = []
    for part in spec.parts:
        checks = [
            CheckResult(
                name=c.name,
                status=status,
                score=0.0,
                max_score=c.points,
                message=t(key, lang, **args),
                hidden=c.hidden,
                message_key=key,
                message_args=args,
            )
            for c in part.checks
        ]
        parts.append(
            PartResult.from_checks(part.id, part.title_in(lang), checks, notebook=spec.name, titles=part.titles)
        )
    return parts


def _findings_part(spec: NotebookSpec, findings, lang: str) -> PartResult:
    checks = [
        CheckResult(
            name=f.code,
            # a recovery is the grader's note, not the student's mistake; the rest changed what ran
            status=Status.PASS if f.informational else Status.FAIL,
            score=0.0,
            max_score=0.0,
            message=f.message_in(lang),
            message_key=f.key,
            message_args={"cell": f.cell, **f.args},
        )
        for f in findings
    ]
    titles = {lang_: t("nb.findings_title", lang_, name=spec.name) for lang_ in ("en", "ja")}
    return PartResult.from_checks(
        f"{spec.stem}-notebook", titles.get(lang, titles["en"]), checks, notebook=spec.name, titles=titles
    )


def _intake_part(listing: Listing, lang: str) -> PartResult:
    """What intake did not read in the submission (links, FIFOs, devices, sizes, bounds), 0 points."""
    refusals = [r for r in listing.refused if r is not listing.top]
    if listing.more_refused:
        refusals.append(Refused("intake.more_refused", count=listing.more_refused))
    checks = [
        CheckResult(
            name=str(r.details.get("name", r.key)),
            status=Status.FAIL,
            score=0.0,
            max_score=0.0,
            message=r.message(lang),
            message_key=r.key,
            message_args=dict(r.details),
        )
        for r in refusals
    ]
    titles = {lang_: t("intake.title", lang_) for lang_ in ("en", "ja")}
    return PartResult.from_checks("submission-files", titles.get(lang, titles["en"]), checks, titles=titles)


def extract_plots(executed: Path, out_dir: Path, stem: str, budget: int | None = None) -> tuple[list[dict], int]:
    """The student's own figures (PNG outputs of their cells), checked to be PNGs and capped in
    number and (`budget`) in bytes; also how many figures were left out for the budget."""
    plots, over = [], 0
    budget = float("inf") if budget is None else budget
    for index, cell in enumerate(_executed_cells(executed)):
        meta = _dict(cell.get("metadata"))
        if cell.get("cell_type") != "code" or _dict(meta.get("dlgrade")).get("injected"):
            continue
        for out in cell.get("outputs") if isinstance(cell.get("outputs"), list) else []:
            out = _dict(out)
            data = out.get("data", {}).get("image/png") if isinstance(out.get("data"), dict) else None
            if not isinstance(data, str) or len(data) > MAX_PLOT_BYTES * 4 // 3 + 4:
                continue
            try:
                raw = base64.b64decode(data, validate=False)
            except ValueError:
                continue
            if not raw.startswith(PNG_MAGIC) or len(plots) >= MAX_PLOTS:
                continue
            if len(raw) > budget:
                over += 1
                continue
            budget -= len(raw)
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"{stem}-{len(plots) + 1}.png"
            path.write_bytes(raw)
            gid = _dict(meta.get("nbgrader")).get("grade_id")
            plots.append({"notebook": stem, "cell": gid if isinstance(gid, str) and gid else index, "path": path.name})
    return plots, over


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _executed_cells(executed: Path) -> list[dict]:
    """The executed notebook's cells as plain data, read bounded in bytes and in containers and
    not validated by nbformat: the sandbox wrote it, and validating a million outputs took the
    trusted process 30 s and 1 GiB. Anything unreadable has no figures."""
    from grader.intake.submission import read_regular

    try:
        data = art.parse_json(read_regular(executed, MAX_EXECUTED_BYTES), executed.name, MAX_EXECUTED_CONTAINERS)
    except (NotANotebook, OSError, art.UnsafeArtifact):
        return []
    cells = _dict(data).get("cells")
    return [_dict(c) for c in cells] if isinstance(cells, list) else []


def attach_legacy_hints(spec: NotebookSpec, nb, record: dict, parts: list[PartResult], lang: str) -> None:
    """Old TF1 / Keras 2 calls, found in the source and in the errors cells raised, as hints on
    the part that grades that cell (0 points: reported apart from mistakes)."""
    from dataclasses import replace

    from grader.checks.legacy import diagnose_error, findings_to_checks, scan_notebook

    code = [c for c in nb.cells if c.cell_type == "code"]
    ids = [nbf.grade_id(c) or f"#{i + 1}" for i, c in enumerate(code)]
    findings = scan_notebook([c.source for c in code], ids=ids)  # capped in size: see grader.checks.legacy
    errors = [e for e in record.get("cells", []) if e.get("error") and not e.get("injected")]
    for entry in errors[:MAX_DIAGNOSED_ERRORS]:
        err = entry.get("error")
        if err:
            cell = entry.get("grade_id") or f"#{entry['index']}"
            found = diagnose_error(err.get("ename", ""), err.get("evalue", ""), err.get("traceback", []))
            findings += [replace(f, cell=cell) for f in found]
    locked = {nbf.grade_id(c) for c in code if nbf.is_locked(c)}
    findings = [f for f in findings if f.cell not in locked]  # the released code is not the student's
    if not findings or not parts:
        return
    by_cell: dict[str, PartResult] = {}
    for part in parts:
        for gid in next(p for p in spec.parts if p.id == part.id).cells:
            by_cell.setdefault(gid, part)
    shown = {(id(part), c.kind, c.hint) for part in parts for c in part.checks}  # a set: findings are many
    for check in findings_to_checks(findings, lang):
        cell = check.message_args.get("cell")
        target = by_cell.get(cell, parts[0])
        if (id(target), check.kind, check.hint) not in shown:
            shown.add((id(target), check.kind, check.hint))
            target.checks.append(check)


def answers_of(nb) -> dict[str, str]:
    """Markdown answer cells, read straight from the submitted notebook (no execution needed)."""
    return {
        nbf.grade_id(c): c.source
        for c in nb.cells
        if nbf.grade_id(c) and nbf.is_solution(c) and c.cell_type == "markdown"
    }


def _run_notebook(
    spec: NotebookSpec, prepared, runner: NotebookRunner, sub_dir: Path, options: GradeOptions
) -> GradedNotebook:
    """Execute, evaluate and score one prepared notebook."""
    try:
        return _execute_and_score(spec, prepared, runner, sub_dir, options)
    finally:
        if not options.keep_work:
            discard_work(sub_dir, spec.stem)


def _execute_and_score(
    spec: NotebookSpec, prepared, runner: NotebookRunner, sub_dir: Path, options: GradeOptions
) -> GradedNotebook:
    lang = options.lang
    workdir = fresh_workdir(sub_dir / "work" / spec.stem)
    job = ExecutionJob(
        notebook=inject(prepared.notebook, spec, options.seed, workdir / "artifacts"),
        workdir=workdir,
        limits=spec.limits,
        data_paths=list(options.data_paths),
        files={f: spec.solution_path.parent / f for f in spec.files},
    )
    t0 = time.monotonic()
    outcome = runner.execute(job)
    executed_s = time.monotonic() - t0
    t1 = time.monotonic()
    hidden = options.hidden
    for set_name, make in spec.hidden_sets.items():
        hidden.register(set_name, make)
    scored = score_notebook(
        spec,
        outcome,
        lang=lang,
        hidden=hidden,
        answers=answers_of(prepared.notebook),
        stub_left=prepared.stub_left,
        calibrating=options.calibrating,
        evaluate=lambda part_data: runner.evaluate(spec, part_data, sub_dir / "eval" / spec.stem, hidden, spec.limits),
    )
    attach_legacy_hints(spec, prepared.notebook, outcome.record, scored.parts, lang)
    scoring = None
    if options.keep_scoring and not options.calibrating:
        scoring = base64.b64encode(kept_inputs.dump(spec, outcome, scored.inputs, hidden)).decode()
    plots, plots_over = [], 0
    if outcome.executed_path:
        budget = plot_budget(options.max_output_bytes, sub_dir / "plots")
        plots, plots_over = extract_plots(outcome.executed_path, sub_dir / "plots", spec.stem, budget)
    copied = outcome.process.copy_back
    dropped = output_part(
        spec.stem, spec.name, copied, spec.limits.to_dict(), plots_over, options.max_output_bytes, lang
    )
    if dropped is not None:
        scored.parts.append(dropped)
    kept, kept_problems = feedback.keep_run(spec, job.notebook, outcome, sub_dir, options.max_output_bytes)
    split = summarize_record(outcome.record)
    split["sandbox_total_s"] = round(executed_s, 3)
    split["copy_back_s"] = copied.get("seconds", 0.0)
    split["score_s"] = round(time.monotonic() - t1, 3)
    return GradedNotebook(
        parts=scored.parts,
        problems=[{"kind": "grader", "message": m} for m in scored.grader_errors + kept_problems],
        metrics=scored.measured,
        plots=[{**p, "png": base64.b64encode((sub_dir / "plots" / p["path"]).read_bytes()).decode()} for p in plots],
        status=outcome.record.get("status", "unknown"),
        timings=split,
        sandbox=outcome.process.sandbox,
        peak_memory_bytes=outcome.process.peak_memory_bytes,
        cpu_s=outcome.process.cpu_s,
        feedback=kept,
        scoring=scoring,
    )


def _restore_plots(graded: GradedNotebook, sub_dir: Path) -> None:
    folder = sub_dir / "plots"
    for plot in graded.plots:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / plot["path"]).write_bytes(base64.b64decode(plot["png"]))


def grade(
    submission: Path,
    assignment: Assignment,
    runner: NotebookRunner,
    outdir: Path,
    options: GradeOptions | None = None,
    name: str | None = None,
) -> Result:
    """Grade one submission into `outdir/<name>/` (default: the submission's own name)."""
    options = options or GradeOptions()
    lang = options.lang
    name = name or submission_name(submission)
    # absolute: the sandbox starts the notebook inside its work folder, where a relative path
    # such as `--out reports` would no longer lead anywhere
    sub_dir = Path(outdir).resolve() / name
    started = time.monotonic()
    result = Result(submission=name, assignment=assignment.name, lang=lang)
    listing = list_submission(submission)  # regular files only, no link followed (grader.intake.submission)
    matched, unmatched = match_notebooks(listing.notebooks, assignment, listing.base)
    timings: dict = {"notebooks": {}}
    peaks, cpu = [], 0.0
    # a single notebook is graded as that exercise alone; a folder answers for every notebook
    specs = assignment.notebooks
    if listing.single and matched:
        specs = [s for s in specs if s.name in matched]
    elif listing.top and assignment.notebook(Path(submission).name):
        specs = [assignment.notebook(Path(submission).name)]
    for spec in specs:
        feedback.forget(sub_dir, spec.name)  # a page shows this grading's run or none
        kept_inputs.forget(kept_inputs.kept_path(sub_dir, spec.stem))  # and so do the scoring inputs
        path = matched.get(spec.name)
        entry = {"name": spec.name, "file": str(path.name) if path else None}
        result.notebooks.append(entry)
        refused = listing.top or next(
            (r for r in listing.refused if Path(str(r.details.get("name", ""))).name == spec.name), None
        )
        if path is None and refused is not None:  # e.g. the notebook is a link: say so, not "missing"
            entry["status"] = "refused"
            result.parts += _all_parts_failed(spec, Status.FAIL, refused.key, lang, **refused.details)
            continue
        if path is None:
            wrong = [p.name for p in unmatched]
            key = "nb.wrong_exercise" if wrong else "nb.not_submitted"
            entry["status"] = "missing"
            result.parts += _all_parts_failed(spec, Status.FAIL, key, lang, name=", ".join(wrong) or spec.name)
            continue
        try:
            nb = nbf.read_notebook(path, within=listing.base)
        except Refused as exc:  # changed since it was listed, or too large
            entry["status"] = "refused"
            result.parts += _all_parts_failed(spec, Status.FAIL, exc.key, lang, **exc.details)
            continue
        except NotANotebook as exc:
            entry["status"] = "invalid"
            result.parts += _all_parts_failed(spec, Status.ERROR, "nb.invalid", lang, reason=str(exc))
            continue
        try:
            prepared = prepare(nb, spec.release(), authored_tests(spec))
        except WrongExercise:
            entry["status"] = "wrong-exercise"
            result.parts += _all_parts_failed(spec, Status.FAIL, "nb.wrong_exercise", lang, name=path.name)
            continue
        cache = options.cache
        use_cache = cache is not None and not options.calibrating
        key = cache_key(spec, prepared.notebook, options.seed, lang, options, runner) if use_cache else None
        graded = GradedNotebook.from_dict(cache.get(key)) if key else None
        if graded is None:
            graded = _run_notebook(spec, prepared, runner, sub_dir, options)
            if key and not graded.problems:
                cache.put(key, graded.to_dict())
        else:
            graded.timings = {**graded.timings, "cached": True}
            _restore_plots(graded, sub_dir)
        feedback.write(graded.feedback, sub_dir, spec.name, options.max_output_bytes)
        if graded.scoring:  # kept for `dlgrade rescore`; its sha256 goes into the gradebook's run
            written = kept_inputs.write(kept_inputs.kept_path(sub_dir, spec.stem), base64.b64decode(graded.scoring))
            if written:
                entry["scoring"] = written
        result.parts += graded.parts
        if prepared.findings:
            result.parts.append(_findings_part(spec, prepared.findings, lang))
        result.problems += graded.problems
        result.metrics.update(graded.metrics)
        result.plots += [{k: v for k, v in p.items() if k != "png"} for p in graded.plots]
        entry["status"] = graded.status
        timings["notebooks"][spec.name] = graded.timings
        result.sandbox = graded.sandbox
        if graded.peak_memory_bytes:
            peaks.append(graded.peak_memory_bytes)
        cpu += graded.cpu_s
    intake = _intake_part(listing, lang)
    if intake.checks:
        result.parts.append(intake)
    result.timings = {**timings, "total_s": round(time.monotonic() - started, 3)}
    result.resources = {
        "wall_s": result.timings["total_s"],
        "cpu_s": round(cpu, 3),
        "peak_memory_bytes": max(peaks) if peaks else None,
    }
    return result
