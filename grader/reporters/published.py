"""Students' reports re-rendered from the gradebook, with people's decisions beside the grader's
verdicts: `dlgrade publish ASSIGNMENT` writes `<out>/<student id>/report.html` for every roster
student with a graded submission.

The report is the one grading wrote (the stored `dlgrade.result/1` document, else the run's
result.json), unchanged; on top of it a review box gives the final grade (points after the
decisions, less any late deduction), and each decided check shows the instructor's points and
comment under the grader's message. Plots are read from the run's result folder when it is
still there; the notebooks' feedback pages stay in that folder and are not linked.
"""

from __future__ import annotations

from pathlib import Path

from grader.gradebook.grades import FinalGrade
from grader.gradebook.models import Run
from grader.reporters import html, json_report
from grader.results import Result


def review_view(grade: FinalGrade) -> dict:
    """What the report template shows of a person's review: the final grade, the late
    deduction and each decision by (part, check)."""
    return {
        "final": grade.final,
        "max": grade.max_points,
        "decided": len(grade.overridden),
        "penalty": grade.penalty,
        "percent": f"{100 * grade.penalty:g}",
        "days": grade.days_late,
        "deduction": grade.deduction,
        "decisions": {
            (c.part, c.check): {"points": c.override.points, "comment": c.override.comment} for c in grade.overridden
        },
    }


def folder_of(run: Run) -> Path | None:
    """The run's output folder: its result_path names the folder or the result.json in it."""
    if not run.result_path:
        return None
    path = Path(run.result_path)
    return path.parent if path.name == "result.json" else path


def result_of(run: Run) -> Result | None:
    """The run's result as graded: stored in the gradebook, else its result.json on disk."""
    if run.result:
        return Result.from_dict(run.result)
    folder = folder_of(run)
    if folder is not None and (folder / "result.json").is_file():
        return json_report.read(folder / "result.json")
    return None


def safe_folder(student: str) -> bool:
    """A student id that is one plain folder name (the roster allows `/` and `..` in ids)."""
    return bool(student) and Path(student).name == student and student not in (".", "..")


def write_report(run: Run, grade: FinalGrade, out: Path, lang: str) -> Path | None:
    """`out/<student>/report.html` with the review shown; None when the run's result is gone."""
    result = result_of(run)
    if result is None or not safe_folder(grade.student):
        return None
    source = folder_of(run) or out / grade.student  # its plots, if still there
    page = html.render_submission(result, source, lang, review=review_view(grade))
    folder = out / grade.student
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8", errors="backslashreplace")
    return path
