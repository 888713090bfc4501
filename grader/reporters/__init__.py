"""Reporters: interchangeable consumers of Results.

Each reporter module offers `write_submission(result, folder, lang) -> Path` (one file per
submission) and/or `write_class(results, outdir, lang, pass_mark) -> Path` (one file per class):

    html        <sub>/report.html and index.html (student report, instructor dashboard), and
                <sub>/<notebook>.feedback.html (each notebook as the grader ran it: notebook_html)
    json        <sub>/result.json (dlgrade.result/1, the full record)
    gradescope  <sub>/gradescope.json (Gradescope's results.json)
    junit       junit.xml
    csv         grades.csv
    markdown    summary.md

One submission never costs the class its files: a format that fails for one submission becomes
a problem in that submission's result, and a class file that fails does not stop the others
(`ReportsIncomplete` names it afterwards).
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import ModuleType

from grader.errors import DlgradeError
from grader.reporters import csv_report, gradescope, html, json_report, junit, markdown
from grader.results import Result

REPORTERS: dict[str, ModuleType] = {
    "html": html,
    "json": json_report,
    "junit": junit,
    "gradescope": gradescope,
    "csv": csv_report,
    "markdown": markdown,
}
DEFAULT_FORMATS = ("html", "json", "csv", "markdown")
CI_FORMATS = ("junit", "markdown")
# Every name the class step writes into the output folder, or keeps there (the result cache, the
# demo's sample class): no submission's output folder may take one of them.
CLASS_FILES = frozenset({"index.html", "grades.csv", "summary.md", "junit.xml", ".cache", "_class"})


class ReportsIncomplete(DlgradeError):
    """Some class files could not be written; the others (`written`) were."""

    def __init__(self, message: str, written: list[Path]):
        super().__init__(message)
        self.written = written


def parse_formats(text: str) -> list[str]:
    """'html,json' -> ['html', 'json']; 'all' -> every format; unknown names raise ValueError."""
    names = list(REPORTERS) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in REPORTERS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(REPORTERS)} or 'all'")
    return list(dict.fromkeys(names))


def write_submission(result: Result, outdir: Path, formats: list[str], lang: str) -> list[Path]:
    """Per-submission files into `outdir/<submission>/`. A format that fails is recorded as a
    problem of this result (so the class files show it) and the other formats are still written."""
    written: list[Path] = []
    if result.submission != Path(result.submission).name or result.submission in ("", ".", ".."):
        # names come from scheduler.unique_names; never write beside or above the class
        result.problems.append({"kind": "report", "message": f"not a folder name: {result.submission!r}"})
        return written
    folder = outdir / result.submission
    for f in formats:
        if hasattr(REPORTERS[f], "write_submission"):
            try:
                written.append(REPORTERS[f].write_submission(result, folder, lang))
            except Exception as exc:  # a dlgrade bug or a full disk: this file only
                result.problems.append(
                    {
                        "kind": "report",
                        "message": f"{f}: {type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(limit=5),
                    }
                )
    return written


def write_class(
    results: list[Result], outdir: Path, formats: list[str], lang: str, pass_mark: float | None = None
) -> list[Path]:
    """Class-level files into `outdir/`: every one that can be written is, then
    `ReportsIncomplete` names those that could not."""
    written, failed = [], []
    for f in formats:
        if hasattr(REPORTERS[f], "write_class"):
            try:
                written.append(REPORTERS[f].write_class(results, outdir, lang, pass_mark))
            except Exception as exc:
                failed.append(f"{f}: {type(exc).__name__}: {exc}")
    if failed:
        raise ReportsIncomplete("could not write " + "; ".join(failed), written)
    return written


__all__ = [
    "CI_FORMATS",
    "CLASS_FILES",
    "DEFAULT_FORMATS",
    "REPORTERS",
    "ReportsIncomplete",
    "parse_formats",
    "write_class",
    "write_submission",
]
