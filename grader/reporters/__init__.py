"""Reporters: interchangeable consumers of Results.

Each reporter module offers `write_submission(result, folder, lang) -> Path` (one file per
submission) and/or `write_class(results, outdir, lang, pass_mark) -> Path` (one file per class):

    html        <sub>/report.html and index.html (student report, instructor dashboard)
    json        <sub>/result.json (dlgrade.result/1, the full record)
    gradescope  <sub>/gradescope.json (Gradescope's results.json)
    junit       junit.xml
    csv         grades.csv
    markdown    summary.md
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..results import Result
from . import csv_report, gradescope, html, json_report, junit, markdown

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


def parse_formats(text: str) -> list[str]:
    """'html,json' -> ['html', 'json']; 'all' -> every format; unknown names raise ValueError."""
    names = list(REPORTERS) if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in REPORTERS]
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(REPORTERS)} or 'all'")
    return list(dict.fromkeys(names))


def write_submission(result: Result, outdir: Path, formats: list[str], lang: str) -> list[Path]:
    """Per-submission files into `outdir/<submission>/`."""
    folder = outdir / result.submission
    return [REPORTERS[f].write_submission(result, folder, lang) for f in formats
            if hasattr(REPORTERS[f], "write_submission")]


def write_class(results: list[Result], outdir: Path, formats: list[str], lang: str,
                pass_mark: float | None = None) -> list[Path]:
    """Class-level files into `outdir/`."""
    return [REPORTERS[f].write_class(results, outdir, lang, pass_mark) for f in formats
            if hasattr(REPORTERS[f], "write_class")]


__all__ = ["CI_FORMATS", "DEFAULT_FORMATS", "REPORTERS", "parse_formats", "write_class", "write_submission"]
