"""Score one executed notebook in the trusted process: artifacts + hidden data -> PartResults.

Before a check runs, every value it needs must have been exported; when one is missing the
scorer says why, in this order: the part's cell still raises NotImplementedError (fail: "not
implemented"), a cell raised (error, with the student's exception), the sandbox stopped the run
before the part (error, with what stopped it), or the value could not be read. The real reason
comes first when values are there too: when a cell of the part raised, a check that fails on
what the cell half built says the exception (with the modern call when an old API caused it),
not its judgment of that half-built value. A provided (locked) cell that raised is named with the
student's answer cell whose definitions it ran. Messages carry no terminal escape codes.

Scoring runs in the trusted process on data a student sized, so it has a budget per notebook
(`ScoringBudget`): the bytes its exports may load (each file is charged before it is read) and
the seconds its checks may take (the deadline is checked between checks; each check bounds its
own work by checking sizes first). What is over the budget gets "too large to grade" as its
verdict; the rest of the class is not held up. No lock is taken: see `sandbox.single_thread_blas`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from grader.assignment.spec import NotebookSpec, Part
from grader.checks import CheckContext
from grader.i18n import plain_text, t
from grader.intake import artifacts as art
from grader.intake.artifacts import retrain_id, seeded
from grader.pipeline.execution import ExecutionOutcome
from grader.results import CheckResult, PartResult, Status
from grader.sandbox.base import single_thread_blas

MAX_CURVE_POINTS = 2000


@dataclass(frozen=True)
class ScoringBudget:
    """What scoring one notebook may cost the trusted process."""

    seconds: float = 60.0  # checks that would start later get "too large to grade"
    export_bytes: int = art.MAX_SUBMISSION_BYTES  # every exported file it loads, together
    clock: Callable[[], float] = time.monotonic


@dataclass
class ScoringInputs:
    """Everything the checks of one notebook read from its run, besides the record: the parts'
    exports (read and bounded by intake.artifacts), their retraining runs, the evaluate phase's
    predictions, the Markdown answers and the stubs left. Grading keeps it (pipeline.kept), so
    that the notebook can be scored again against changed checks without running anything."""

    part_data: dict[str, art.PartData]
    runs: dict[str, dict]
    predictions: dict
    answers: dict[str, str] = field(default_factory=dict)
    stub_left: frozenset[str] = frozenset()


@dataclass
class NotebookScore:
    parts: list[PartResult]
    measured: dict[str, float] = field(default_factory=dict)
    grader_errors: list[str] = field(default_factory=list)
    inputs: ScoringInputs | None = None  # what the checks read


def _position(outcome: ExecutionOutcome, entry: dict) -> str:
    """How a student names a cell: its grade id, else its number in their notebook (1-based)."""
    if entry.get("grade_id"):
        return entry["grade_id"]
    injected_before = sum(
        1 for c in outcome.record.get("cells", []) if c.get("injected") and c["index"] < entry["index"]
    )
    return f"#{entry['index'] - injected_before + 1}"


def _trains(outcome: ExecutionOutcome, entry: dict, part: Part) -> bool:
    """Whether a stopped cell is the part's own work: one of its answer cells, or a provided
    (named) cell between its first answer cell and its export, i.e. its training cell. A cell
    the student added, or one the grader injected, is not."""
    gid = entry.get("grade_id")
    if not gid or entry.get("injected"):
        return False
    if gid in part.cells:
        return True
    own = [e["index"] for e in (outcome.cell(c) for c in part.cells) if e]
    export = outcome.export_cell(part.id)
    return bool(own) and export is not None and min(own) < entry["index"] < export["index"]


def stop_cause(outcome: ExecutionOutcome, lang: str, part: Part | None = None) -> tuple[str, str]:
    """(kind, plain words) for why the run ended early (('', '') when it did not). With `part`,
    kind says how the stop relates to it: "too_slow" when its own answer or training cell ran out
    of time (a cell or the notebook limit), "before" when the run stopped in a cell before it."""
    process = outcome.process
    for entry in outcome.record.get("cells", []):
        if entry.get("status") not in ("timeout", "dead", "running"):
            continue
        where = _position(outcome, entry)  # only for the cell named: it counts the cells before
        if entry.get("status") == "timeout":
            # the limit in force (trusted), not the measured time, which a busy machine stretches
            limit = process.sandbox.get("limits", {}).get("cell_timeout_s") if not entry.get("injected") else None
            seconds = round(limit or entry.get("seconds", 0))
            reason = t("stopped.timeout_cell", lang, seconds=seconds, cell=where)
        elif process.stopped and process.stopped_detail:
            reason = f"{process.stopped_detail} (cell {where})"
        else:
            reason = t("stopped.dead", lang, cell=where)
        if part is None:
            return "", reason
        out_of_time = entry.get("status") == "timeout" or process.stopped == "wall-timeout"
        if out_of_time and _trains(outcome, entry, part):
            return "too_slow", reason
        own = [e["index"] for e in (outcome.cell(c) for c in part.cells) if e]
        return ("before" if own and entry["index"] < min(own) else ""), reason
    if process.stopped_detail:
        return "", process.stopped_detail
    if outcome.record.get("status") not in ("finished",):
        tail = plain_text(process.stderr_tail or "").strip().splitlines()[-1:] or [""]
        return "", f"{t('stopped.earlier', lang)} {tail[0][:300]}".strip()
    return "", ""


def stop_reason(outcome: ExecutionOutcome, lang: str, part: Part | None = None) -> str:
    """Plain words for why the run ended early ('' when it did not); with `part`, said for that
    part: its network trains too slowly, or the notebook stopped before it (and where)."""
    kind, reason = stop_cause(outcome, lang, part)
    if kind == "too_slow":
        return t("stopped.too_slow", lang, reason=reason)
    if kind == "before":
        return t("stopped.before", lang, reason=reason)
    return reason


def _raised(outcome: ExecutionOutcome, entry: dict, answer_cells: frozenset[str], part: Part):
    """(message key, args, modern call) for a cell that raised: the student's exception (with
    the modern call when an old API caused it), or, for a provided cell, the answer cell whose
    definitions it ran."""
    from grader.checks.legacy import diagnose_error

    err = entry["error"]
    ename, evalue = plain_text(str(err.get("ename", ""))), plain_text(str(err.get("evalue", "")))[:300]
    args = {"cell": _position(outcome, entry), "ename": ename, "evalue": evalue}
    gid = entry.get("grade_id")
    if gid and gid not in answer_cells:  # a provided cell: it fails on what an answer cell made
        ran = [c for c in part.cells if (outcome.cell(c) or {}).get("index", 1 << 30) < entry["index"]]
        earlier = [
            c.get("grade_id")
            for c in outcome.record.get("cells", [])
            if c.get("grade_id") in answer_cells and c["index"] < entry["index"]
        ]
        answer = ran or earlier[-1:]
        if answer:
            return "cell_raised.locked", {**args, "answer": ", ".join(answer)}, ""
    traceback = err.get("traceback") or []
    try:
        found = diagnose_error(ename, evalue, traceback if isinstance(traceback, (list, str)) else [])
    except Exception:  # a hint only: never the grade
        found = []
    if found:
        return "cell_raised.old_api", {**args, "old": found[0].old, "new": found[0].new}, found[0].new
    return "cell_raised", args, ""


def part_error(
    part: Part, outcome: ExecutionOutcome, answer_cells: frozenset[str], stub_left: frozenset[str] = frozenset()
):
    """(status, key, args, modern call) for the first cell of the part that raised: one of its
    answer cells, else a cell between its first answer cell and its export (the locked training
    cell); None when the part's cells ran."""
    own = [e for e in (outcome.cell(gid) for gid in part.cells) if e]
    for entry in own:
        if entry.get("error") and entry["error"].get("ename") == "NotImplementedError":
            key = "not_implemented_stub_left" if entry["grade_id"] in stub_left else "not_implemented"
            return Status.FAIL, key, {"cell": entry["grade_id"]}, ""
    for entry in own:
        if entry.get("error"):
            return (Status.ERROR, *_raised(outcome, entry, answer_cells, part))
    export = outcome.export_cell(part.id)
    if not own or export is None:
        return None
    start = min(e["index"] for e in own)
    for entry in outcome.record.get("cells", []):
        if not entry.get("injected") and start < entry["index"] < export["index"] and entry.get("error"):
            return (Status.ERROR, *_raised(outcome, entry, answer_cells, part))
    return None


def _missing(
    part: Part,
    name: str,
    outcome: ExecutionOutcome,
    data: art.PartData,
    lang: str,
    stub_left: frozenset[str] = frozenset(),
    answer_cells: frozenset[str] = frozenset(),
):
    """(status, message key, args) explaining why `name` was not exported."""
    if name in data.too_large:  # the value exists; reading it would cost more than grading may
        return Status.ERROR, "too_large", {"reason": data.unreadable.get(name, "")}
    cells = outcome.record.get("cells", [])
    own = [outcome.cell(gid) for gid in part.cells]
    for entry in own:
        if entry and entry.get("error"):
            err = entry["error"]
            if err.get("ename") == "NotImplementedError":
                key = "not_implemented_stub_left" if entry["grade_id"] in stub_left else "not_implemented"
                return Status.FAIL, key, {"cell": entry["grade_id"]}
    for entry in own:
        if entry and entry.get("error"):
            key, args, _ = _raised(outcome, entry, answer_cells, part)
            return Status.ERROR, key, args
    export = outcome.export_cell(part.id)
    if export is None or export.get("status") != "ok" or not data.ran:
        kind, reason = stop_cause(outcome, lang, part)
        if kind == "too_slow":  # the part ran, and its own cell ran out of time
            return Status.ERROR, "stopped.too_slow", {"reason": reason}
        return Status.ERROR, "not_run", {"reason": stop_reason(outcome, lang, part) or t("stopped.earlier", lang)}
    before = [c for c in cells if not c.get("injected") and c["index"] < export["index"] and c.get("error")]
    if name in data.errors:
        err = data.errors[name]
        if before:
            key, args, _ = _raised(outcome, before[0], answer_cells, part)
            return Status.ERROR, key, args
        if err["ename"] == "MissingVariable" and str(err["evalue"]).isidentifier():  # an export function's parameter
            return Status.ERROR, "export_undefined", {"name": name, "variable": str(err["evalue"])}
        return (
            Status.ERROR,
            "export_failed",
            {"name": name, "ename": plain_text(str(err["ename"])), "evalue": plain_text(str(err["evalue"]))[:300]},
        )
    return Status.ERROR, "unreadable", {"name": name, "reason": data.unreadable.get(name, "missing")}


def _missing_result(check, part, name, outcome, data, lang, stub_left, answer_cells) -> CheckResult:
    status, key, args = _missing(part, name, outcome, data, lang, stub_left, answer_cells)
    return CheckResult(
        name=check.name,
        status=status,
        score=0.0,
        max_score=check.points,
        message=t(key, lang, **args),
        hidden=check.hidden,
        message_key=key,
        message_args=args,
    )


def _real_reason(res: CheckResult, raised: tuple, lang: str) -> CheckResult:
    """A failed check of a part whose cell raised: the exception is the verdict, not what the
    check made of the half-built value. Passes and answers for review stand."""
    if res.status not in (Status.FAIL, Status.ERROR) or res.kind != "check" or res.message_key == "grader_error":
        return res
    status, key, args, modern = raised
    return replace(
        res,
        status=status,
        score=0.0,
        message=t(key, lang, **args),
        expected=None,
        got=None,
        hint=modern or res.hint,
        hints={} if modern else res.hints,
        message_key=key,
        message_args=args,
    )


def _plain_result(res: CheckResult) -> CheckResult:
    """A result without terminal escapes in what a reader sees (a student's error text can hold
    IPython's colour codes)."""
    clean = {k: plain_text(v) if isinstance(v, str) else v for k, v in res.message_args.items()}
    return replace(
        res,
        message=plain_text(res.message),
        hint=plain_text(res.hint) if isinstance(res.hint, str) else res.hint,
        message_args=clean,
    )


def _out_of_time(check, lang: str, seconds: float) -> CheckResult:
    args = {"seconds": round(seconds)}
    return CheckResult(
        name=check.name,
        status=Status.ERROR,
        score=0.0,
        max_score=check.points,
        message=t("too_large.time", lang, **args),
        hidden=check.hidden,
        message_key="too_large.time",
        message_args=args,
    )


def curve_points(value) -> list[float] | None:
    """A training curve for the report: the first MAX_CURVE_POINTS numbers of a flat list or
    1-D numeric array (None for anything else), converted without building a Python list of
    the whole export."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "biuf":
            return None
        return [float(v) for v in value[:MAX_CURVE_POINTS].astype(np.float64)]
    if isinstance(value, list):
        try:
            return [float(v) for v in value[:MAX_CURVE_POINTS]]
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def retrained(outcome: ExecutionOutcome, part: Part, data: art.PartData, budget: art.ByteBudget) -> dict:
    """The runs of a part trained again from other seeds (spec.Retrain): their saved models join
    the part's own (as `<model>__seed<seed>`), and what the kernel said of the runs comes back
    checked, for the report only: {"runs": [{seed, seconds, error}], "stopped": "passed" | "time" | ""}."""
    if part.retrain is None or not data.ran:
        return {}
    seeds = list(part.retrain.seeds)
    names = [seeded(model, seed) for model in part.models for seed in seeds]
    found = art.read_part(outcome.artifacts_dir, retrain_id(part.id), ["runs"], names, budget=budget)
    data.models.update(found.models)
    state = found.values.get("runs")
    state = state if isinstance(state, dict) else {}
    runs = []
    for run in state.get("runs")[:64] if isinstance(state.get("runs"), list) else []:
        seed = run.get("seed") if isinstance(run, dict) else None
        if (
            not isinstance(seed, int)
            or isinstance(seed, bool)
            or seed not in seeds
            or seed in [r["seed"] for r in runs]
        ):
            continue
        seconds = run.get("seconds")
        fine = isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < 1e6
        runs.append(
            {
                "seed": seed,
                "seconds": round(float(seconds), 1) if fine else 0.0,
                "error": plain_text(str(run.get("error") or ""))[:300],
            }
        )
    stopped = state.get("stopped") if state.get("stopped") in ("passed", "time") else ""
    return {"runs": runs, "stopped": stopped}


def score_notebook(
    spec: NotebookSpec,
    outcome: ExecutionOutcome,
    *,
    lang: str = "en",
    hidden=None,
    answers: dict[str, str] | None = None,
    stub_left: frozenset[str] = frozenset(),
    calibrating: bool = False,
    evaluate=None,
    budget: ScoringBudget | None = None,
) -> NotebookScore:
    """`evaluate(part_data) -> predictions` runs the evaluate phase when a part asks for it.
    `stub_left`: answer cells where the student wrote code but kept the template's
    `raise NotImplementedError()` (said so when that line stopped the cell)."""
    single_thread_blas()
    budget = budget or ScoringBudget()
    loaded = art.ByteBudget(budget.export_bytes)
    part_data = {
        part.id: art.read_part(outcome.artifacts_dir, part.id, list(part.exports), list(part.models), budget=loaded)
        for part in spec.parts
    }
    runs = {part.id: retrained(outcome, part, part_data[part.id], loaded) for part in spec.parts}
    predictions = evaluate(part_data) if evaluate and any(p.evaluate for p in spec.parts) else {}
    inputs = ScoringInputs(part_data, runs, predictions, dict(answers or {}), frozenset(stub_left))
    return score_inputs(spec, outcome, inputs, lang=lang, hidden=hidden, calibrating=calibrating, budget=budget)


def score_inputs(
    spec: NotebookSpec,
    outcome: ExecutionOutcome,
    inputs: ScoringInputs,
    *,
    lang: str = "en",
    hidden=None,
    calibrating: bool = False,
    budget: ScoringBudget | None = None,
    parts: list[Part] | None = None,
) -> NotebookScore:
    """The checks of `parts` (default: all the notebook's) over what a run left (`inputs`, and
    the record in `outcome`): no file is read and nothing is run, so a kept run scores again."""
    answer_cells = frozenset(gid for p in spec.parts for gid in p.cells)
    budget = budget or ScoringBudget()
    thresholds = spec.thresholds()
    result = NotebookScore(parts=[], inputs=inputs)
    part_data, runs, predictions = inputs.part_data, inputs.runs, inputs.predictions
    answers, stub_left = inputs.answers, inputs.stub_left
    # the checks' time starts now: the evaluate phase runs in a sandbox, on its own limits
    deadline = budget.clock() + budget.seconds
    record_cells = {e["grade_id"]: e for e in reversed(outcome.record.get("cells", [])) if e.get("grade_id")}
    for part in spec.parts if parts is None else parts:
        data = part_data[part.id]
        ctx = CheckContext(
            part_id=part.id,
            values=data.values,
            thresholds=thresholds,
            lang=lang,
            measured=result.measured,
            hidden=hidden,
            answers=answers or {},
            predictions=predictions.get(part.id, {}),
            calibrating=calibrating,
            retrained=runs[part.id],
            cells=record_cells,
        )
        checks: list[CheckResult] = []
        raised = part_error(part, outcome, answer_cells, stub_left)
        for check in part.checks:
            if budget.clock() > deadline:
                checks.append(_out_of_time(check, lang, budget.seconds))
                continue
            missing = [n for n in check.needs if n not in data.values and n not in data.models]
            if missing:
                checks.append(_missing_result(check, part, missing[0], outcome, data, lang, stub_left, answer_cells))
                continue
            try:
                produced = check(ctx)
            except Exception as exc:  # a bug in a check must cost the student nothing silently
                result.grader_errors.append(
                    f"{part.id}/{check.name}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
                )
                fault = {"ename": type(exc).__name__, "evalue": plain_text(str(exc))[:200]}
                produced = CheckResult(
                    name=check.name,
                    status=Status.GRADER_ERROR,
                    score=0.0,
                    max_score=check.points,
                    message=t("grader_error", lang, **fault),
                    hidden=check.hidden,
                    message_key="grader_error",
                    message_args=fault,
                )
            produced = produced if isinstance(produced, list) else [produced]
            if raised is not None and not getattr(check, "kernel_verdict", False):  # its cell's error IS its verdict
                produced = [_real_reason(r, raised, lang) for r in produced]
            checks.extend(produced)
        checks = [_plain_result(c) for c in checks]
        seconds = sum((outcome.cell(gid) or {}).get("seconds", 0.0) for gid in part.cells)
        curves = {}
        for label, export_name in part.curves.items():
            points = curve_points(data.values.get(export_name))
            if points is not None:
                curves[label] = points
        part_result = PartResult.from_checks(
            part.id,
            part.title_in(lang),
            checks,
            titles=part.titles,
            notebook=spec.name,
            timings={"cells_s": round(seconds, 3)},
            curves=curves,
        )
        export = outcome.export_cell(part.id)
        if export is None or export.get("status") != "ok":
            part_result.stopped = stop_reason(outcome, lang, part)
        result.parts.append(part_result)
    return result
