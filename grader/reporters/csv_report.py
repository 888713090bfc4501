"""The gradebook: `<outdir>/grades.csv`, one row per submission, one column per part.

Columns: submission, assignment, one per part id (points earned), total, max_score, percent,
grade, needs_review (checks a person must decide), problems (grader/environment faults),
isolated (false when graded without a sandbox). Part columns follow the order in which parts
first appear; a part a submission lacks is left empty.

Every cell is quoted, and text that a spreadsheet would run as a formula (a submission named
`=HYPERLINK(...)`) starts with a quote (`text.csv_cell`); numbers stay numbers.
"""

from __future__ import annotations

import csv
from pathlib import Path

from grader.reporters.text import csv_cell
from grader.reporters.view import grade_letter
from grader.results import Result, Status


def columns(results: list[Result]) -> list[str]:
    parts: list[str] = []
    for r in results:
        for p in r.parts:
            if p.id not in parts:
                parts.append(p.id)
    return [
        "submission",
        "assignment",
        *parts,
        "total",
        "max_score",
        "percent",
        "grade",
        "needs_review",
        "problems",
        "isolated",
    ]


def rows(results: list[Result]) -> list[dict]:
    out = []
    for r in results:
        row = {
            "submission": r.submission,
            "assignment": r.assignment,
            **{p.id: f"{p.score:g}" for p in r.parts},
            "total": f"{r.score:g}",
            "max_score": f"{r.max_score:g}",
            "percent": f"{100 * r.fraction:.1f}",
            "grade": grade_letter(r.fraction),
            "needs_review": sum(c.status == Status.NEEDS_REVIEW for p in r.parts for c in p.checks),
            "problems": len(r.problems),
            "isolated": str(r.sandbox.get("isolated", True) if r.sandbox else True).lower(),
        }
        out.append(row)
    return out


def write_class(results: list[Result], outdir: Path, lang: str = "en", pass_mark: float | None = None) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "grades.csv"
    # utf-8-sig: spreadsheet programs (Excel in a Japanese locale in particular) then read
    # Japanese submission names correctly.
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        # every cell quoted: a spreadsheet that splits on ';' cannot start a new cell inside one
        writer = csv.writer(f, quoting=csv.QUOTE_ALL)
        names = columns(results)
        writer.writerow([csv_cell(name) for name in names])
        for row in rows(results):
            writer.writerow([csv_cell(row.get(name, "")) for name in names])
    return path
