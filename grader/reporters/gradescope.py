"""Gradescope's `results.json` for one submission: `<outdir>/<submission>/gradescope.json`.

`templates/gradescope/run_autograder` copies it to /autograder/results/results.json. Format:
`{"score", "output", "execution_time", "tests": [{"name", "score", "max_score", "status",
"visibility", "output"}]}`. Hidden checks stay visible as pass/fail and points, without output;
old-API findings, stopped parts and grader problems go into the top-level output.

JSON itself is safe whatever a student wrote; what Gradescope shows from it is not: every name
and output is declared plain text (`output_format`, `test_output_format`, `test_name_format`:
"text"; the default "simple_format" keeps some HTML) and has its control characters shown as
escapes (`text.visible`).

Gradescope knows a test by its name: names are unique in a submission (`names.unique`), and
carry the notebook's name when the assignment has several (their parts may share titles).
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.i18n import t
from grader.reporters.names import unique
from grader.reporters.text import visible
from grader.reporters.view import student_view
from grader.results import Result, Status

PLAIN = "text"  # Gradescope's output formats: text, html, simple_format, md, ansi


def _output(c, lang: str) -> str:
    if c.hidden:
        return t("report.hidden_note", lang)
    lines = [c.message]
    if c.status != Status.PASS and c.expected is not None:
        lines.append(f"{t('report.expected', lang)}: {c.expected}")
    if c.status != Status.PASS and c.got is not None:
        lines.append(f"{t('report.got', lang)}: {c.got}")
    if c.status == Status.NEEDS_REVIEW:
        lines.append(t("report.review_note", lang))
    if c.hint:
        lines.append(f"{t('report.hint', lang)}: {c.hint}")
    return "\n".join(line for line in lines if line)


def render(result: Result, lang: str = "en") -> dict:
    shown = student_view(result, lang)
    tests, notes = [], []
    if shown.sandbox and not shown.sandbox.get("isolated", True):
        notes.append(t("report.no_sandbox", lang))
    for problem in shown.problems:
        first = (str(problem.get("message", "")).splitlines() or [""])[0]
        notes.append(f"{t('report.problems', lang)}: {first}")
    several = len({part.notebook for part in shown.parts}) > 1
    for part in shown.parts:
        if part.stopped:
            notes.append(f"{part.title}: {t('report.stopped_long', lang, reason=part.stopped)}")
        for c in part.checks:
            if c.kind != "check":
                notes.append(f"{t('report.legacy', lang)}: {c.message} -> {c.hint}")
                continue
            notebook = f"{Path(part.notebook).stem}: " if several else ""
            tests.append(
                {
                    "name": visible(f"{notebook}{part.title}: {c.name}"),
                    "score": c.score,
                    "max_score": c.max_score,
                    "status": "passed" if c.status == Status.PASS else "failed",
                    "visibility": "visible",
                    "output": visible(_output(c, lang), keep="\n"),
                    "output_format": PLAIN,
                }
            )
    for test, name in zip(tests, unique([("", test["name"]) for test in tests])):
        test["name"] = name
    return {
        "score": shown.score,
        "output": visible("\n".join(notes), keep="\n"),
        "output_format": PLAIN,
        "test_output_format": PLAIN,
        "test_name_format": PLAIN,
        "execution_time": round(shown.resources.get("wall_s") or 0),
        "tests": tests,
    }


def write_submission(result: Result, folder: Path, lang: str = "en") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gradescope.json"
    path.write_text(
        json.dumps(render(result, lang), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
        errors="backslashreplace",
    )
    return path
