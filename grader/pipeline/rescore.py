"""Score graded notebooks again from what grading kept (pipeline.kept), after a checks file, a
threshold or a rubric changed: no notebook is executed, no kernel or sandbox is started.

`rescore_result` takes one graded Result and the assignment as it is now: the parts of each
notebook whose kept inputs still answer the checks file are scored again (`scoring.score_inputs`),
and a part the changed checks file asks more of (an export or a model not read then, an export
computed differently or after other cells, an evaluation defined differently or on other hidden
inputs, a value too large to have been kept) keeps its old verdict, with the reason: never a
silent zero. Notes the grader added (old-API hints, notebook findings, what was not kept of the
run, intake refusals) stay as graded.

`rescore_assignment` does it for the latest run of every submission of an assignment in the
gradebook and says, per check, who gains or loses what; `save` records each as a new run of kind
rescore pointing at the run it came from, and writes its result.json and reports into the
submission's folder after moving the old ones to `history/run-<id>/`. Overrides live apart, per
submission, and hold for the new run as they did for the old.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.assignment.spec import Assignment, NotebookSpec
from grader.i18n import t
from grader.pipeline import kept as kp
from grader.pipeline.scoring import score_inputs
from grader.results import PartResult, Result

NOT_RUN = ("missing", "refused", "invalid", "wrong-exercise")  # statuses of a notebook graded without a run
REPORT_FILES = ("result.json", "report.html", "gradescope.json")  # what a new version replaces (old kept)


@dataclass
class Note:
    """Why a part kept its old verdict (or was dropped): a catalogue key and its arguments."""

    key: str
    args: dict

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.args)


def unavailable(part, kept_part: dict | None, kept: kp.Kept, hidden, digests: dict) -> Note | None:
    """Why `part`, as the checks file now defines it, cannot be scored from `kept` (None: it can)."""
    if kept_part is None:
        return Note("rescore.kept.new_part", {"part": part.id})
    now = kp.part_definition(part)
    if now["cells"] != kept_part.get("cells") or now["export_after"] != kept_part.get("export_after"):
        return Note("rescore.kept.cells_changed", {"part": part.id})
    for kind in ("exports", "models"):
        for name, source in now[kind].items():
            if name not in kept_part.get("asked", []):
                return Note("rescore.kept.not_asked", {"part": part.id, "name": name})
            if kept_part.get(kind, {}).get(name) != source:
                return Note("rescore.kept.export_changed", {"part": part.id, "name": name})
    if now["retrain"] != kept_part.get("retrain"):
        return Note("rescore.kept.retrain_changed", {"part": part.id})
    for name, ev in now["evaluate"].items():
        if kept_part.get("evaluate", {}).get(name) != ev:
            return Note("rescore.kept.evaluation_changed", {"part": part.id, "name": name})
        if ev["dataset"] not in digests:
            digests[ev["dataset"]] = kp.inputs_digest(hidden, ev["dataset"])
        if digests[ev["dataset"]] is None or kept.hidden.get(ev["dataset"]) != digests[ev["dataset"]]:
            return Note("rescore.kept.hidden_changed", {"part": part.id, "dataset": ev["dataset"]})
    left_out = kept_part.get("left_out", {})
    needed = {n for check in part.checks for n in getattr(check, "needs", ())}
    for name, size in left_out.items():
        if name in needed or name.startswith("prediction:"):
            return Note("rescore.kept.left_out", {"part": part.id, "name": name, "mib": round(size / 2**20, 1)})
    return None


def _not_run_parts(spec: NotebookSpec, old: list[PartResult], lang: str) -> list[PartResult]:
    """A notebook graded without a run (missing, refused, ...): every check of the parts as the
    checks file now has them, with the verdict its checks had then."""
    from grader.pipeline.grading import _all_parts_failed

    first = next((c for p in old for c in p.checks if c.kind == "check"), None)
    if first is None:
        return old
    return _all_parts_failed(spec, first.status, first.message_key, lang, **first.message_args)


def _with_notes(new: PartResult, old: PartResult | None) -> PartResult:
    """A rescored part with the 0-point notes (old-API hints) its old verdict carried."""
    extra = [c for c in (old.checks if old else []) if c.kind != "check"]
    if extra:
        new.checks.extend(extra)
    return new


@dataclass
class NotebookRescore:
    parts: list[PartResult]
    notes: list[Note] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def rescore_notebook(
    spec: NotebookSpec,
    entry: dict,
    old: dict[str, PartResult],
    folder: Path,
    sha256: str | None,
    lang: str,
    hidden,
    digests: dict | None = None,
) -> NotebookRescore:
    """The parts of one notebook scored again, or as graded when they cannot be (with notes)."""
    notebook_parts = [p.id for p in spec.parts]
    if entry.get("status") in NOT_RUN:
        return NotebookRescore(_not_run_parts(spec, [old[i] for i in notebook_parts if i in old], lang))
    scoring = entry.get("scoring") if isinstance(entry.get("scoring"), dict) else None
    try:
        if scoring is None:
            raise kp.NotKept(t("rescore.kept.none", lang))
        # where grading writes it, whatever the document says: only the digest is taken from it
        loaded = kp.load(kp.kept_path(folder, spec.stem), sha256 or scoring.get("sha256"))
    except kp.NotKept as exc:
        kept_as = [old[i] for i in notebook_parts if i in old]
        return NotebookRescore(kept_as, [Note("rescore.kept.no_file", {"notebook": spec.name, "reason": str(exc)})])
    digests = {} if digests is None else digests  # hidden inputs' digests, computed once per dataset
    notes, able = [], []
    for part in spec.parts:
        why = unavailable(part, loaded.parts.get(part.id), loaded, hidden, digests)
        if why is None:
            able.append(part)
        else:
            notes.append(why)
    scored = score_inputs(spec, loaded.outcome, loaded.inputs, lang=lang, hidden=hidden, parts=able)
    fresh = {p.id: p for p in scored.parts}
    parts = []
    for part in spec.parts:
        if part.id in fresh:
            parts.append(_with_notes(fresh[part.id], old.get(part.id)))
        elif part.id in old:
            parts.append(old[part.id])
    return NotebookRescore(parts, notes, scored.measured, scored.grader_errors)


def rescore_result(
    assignment: Assignment,
    result: Result,
    folder: Path,
    kept: dict[str, str],
    lang: str,
    hidden,
    inputs_digests: dict | None = None,
) -> tuple[Result, list[Note]]:
    """`result` scored again against `assignment` as it is now, from the inputs kept in
    `folder` (whose sha256 per notebook, as recorded, is `kept`); and the notes on parts that
    kept their old verdict or left."""
    old = {p.id: p for p in result.parts}
    entries = {e.get("name"): e for e in result.notebooks if isinstance(e, dict)}
    now_ids = {p.id for spec in assignment.notebooks for p in spec.parts}
    parts, notes, problems = [], [], []
    metrics = dict(result.metrics)
    for spec in assignment.notebooks:
        entry = entries.get(spec.name)
        if entry is None:  # not part of this grading (a single notebook graded alone): nothing to redo
            continue
        done = rescore_notebook(spec, entry, old, folder, kept.get(spec.name), lang, hidden, inputs_digests)
        parts += done.parts
        notes += done.notes
        metrics.update(done.metrics)
        problems += [{"kind": "grader", "message": m} for m in done.problems]
    for part in result.parts:
        if part.id in now_ids:
            continue
        if part.max_score > 0 and any(c.kind == "check" for c in part.checks):  # a part the checks file dropped
            notes.append(Note("rescore.removed_part", {"part": part.id, "points": part.score}))
            continue
        parts.append(part)  # the grader's notes: findings, what was not kept, intake refusals
    problems += [{"kind": "rescore", "message": n.text(lang)} for n in notes]
    new = replace(
        result,
        parts=parts,
        metrics=metrics,
        problems=[p for p in result.problems if p.get("kind") != "rescore"] + problems,
    )
    return new, notes


# --- the gradebook ----------------------------------------------------------------------------


@dataclass
class Change:
    part: str
    check: str
    old: float | None  # None: the check is new
    new: float | None  # None: the check is gone
    override: float | None = None  # a person's points in force for it


@dataclass
class Rescored:
    run: object  # the gradebook Run scored again
    who: str
    result: Result
    notes: list[Note]
    changes: list[Change]
    old_total: float
    new_total: float


def _points(verdicts) -> dict[tuple[str, str], float]:
    return {(v.part, v.check): v.points for v in verdicts if v.kind == "check"}


def _total(points: dict, overrides: dict) -> float:
    return round(sum(overrides.get(k, p) for k, p in points.items()), 6)


def changes_of(old: dict, new: dict, overrides: dict) -> list[Change]:
    found = []
    for key in list(old) + [k for k in new if k not in old]:
        before, after = old.get(key), new.get(key)
        if before is None or after is None or abs(before - after) > 1e-9:
            found.append(Change(key[0], key[1], before, after, overrides.get(key)))
    return found


def folder_of(run) -> Path:
    """The submission's output folder of a run (its result_path names the folder or its result.json)."""
    path = Path(run.result_path)
    return path.parent if path.name == "result.json" else path


def result_of(run) -> Result:
    """The run's result document: from the gradebook, else its result.json."""
    from grader.reporters import json_report

    if run.result:
        return Result.from_dict(run.result)
    return json_report.read(folder_of(run) / "result.json")


def rescore_assignment(book, assignment: Assignment, hidden, lang: str = "en") -> tuple[list[Rescored], list]:
    """The latest run of every submission of `assignment` scored again; and the runs that
    could not be (run, reason)."""
    runs = book.latest_runs(assignment.name)
    students = [r.submission.student_id for r in runs]
    done, failed = [], []
    inputs_digests: dict = {}
    for run in runs:
        sub = run.submission
        who = sub.student_id or f"({sub.source_ref or sub.id})"
        if sub.student_id and students.count(sub.student_id) > 1:
            who = f"{who} #{sub.id}"
        if not run.result_path:
            failed.append((run, who, t("rescore.no_folder", lang)))
            continue
        try:
            old = result_of(run)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            failed.append((run, who, f"{type(exc).__name__}: {exc}"))
            continue
        graded_in = (run.options or {}).get("lang") or lang
        folder = folder_of(run)
        new, notes = rescore_result(assignment, old, folder, run.scoring or {}, graded_in, hidden, inputs_digests)
        overrides = {k: o.points for k, o in book.overrides_for(sub.id).items() if o.points is not None}
        before = _points(run.verdicts)
        after = {(p.id, c.name): c.score for p in new.parts for c in p.checks if c.kind == "check"}
        done.append(
            Rescored(
                run,
                who,
                new,
                notes,
                changes_of(before, after, overrides),
                _total(before, overrides),
                _total(after, overrides),
            )
        )
    return done, failed


def save(book, assignment: Assignment, rescored: Rescored, formats=("html", "json")) -> int:
    """Record one rescore as a new run and write its files as the folder's current version,
    the old ones moved to history/run-<old run id>/; the new run's id."""
    from grader import reporters
    from grader.pipeline.cache import folder_digest

    run = rescored.run
    folder = folder_of(run)
    history = folder / "history" / f"run-{run.id}"
    history.mkdir(parents=True, exist_ok=True)
    for name in [*REPORT_FILES, *(p.name for p in folder.glob("*.feedback.html"))]:
        path = folder / name
        if path.is_file() and not path.is_symlink() and not (history / name).exists():
            shutil.copy2(path, history / name)
    result = rescored.result
    result.submission = folder.name
    result.timings = {**result.timings, "rescored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    lang = (run.options or {}).get("lang") or "en"
    result.lang = lang
    also = ["gradescope"] if (folder / "gradescope.json").is_file() else []  # every file of the old version
    reporters.write_submission(result, folder.parent, [*formats, *also], lang)
    return book.record_run(
        result,
        run.submission_id,
        options=run.options,
        assignment_digest=folder_digest(assignment.path),
        result_path=run.result_path,
        kind="rescore",
        based_on=run.id,
    )


# The class files a rescore brings up to date where grading wrote them: format -> file.
CLASS_FORMATS = {"html": "index.html", "csv": "grades.csv", "markdown": "summary.md", "junit": "junit.xml"}


def refresh_class_files(folders, lang: str = "en") -> list[Path]:
    """Write again the class files (dashboard, grades.csv, summary, JUnit) that grading wrote in
    each class folder, from the result.json files now there: a rescore changes some students'
    results, and the dashboard must not keep showing the old scores. A folder without class
    files (a submission graded alone) is left as it is; a result it cannot read is left out."""
    from grader import reporters
    from grader.reporters import json_report

    written: list[Path] = []
    for folder in sorted({Path(f) for f in folders}):
        formats = [f for f, name in CLASS_FORMATS.items() if (folder / name).is_file()]
        if not formats:
            continue
        results = []
        for path in sorted(folder.glob("*/result.json")):
            try:
                result = json_report.read(path)
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                continue
            result.submission = path.parent.name
            results.append(result)
        try:
            written += reporters.write_class(results, folder, formats, lang)
        except reporters.ReportsIncomplete as exc:
            written += exc.written
    return written
