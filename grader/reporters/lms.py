"""Grade files an LMS imports, from the gradebook's final grades (grader.gradebook.grades:
latest run, overrides in force, late penalty).

    csv      one row per student: id, name, email, per assignment its points and late
             deduction, the total, its maximum and percent, checks still to review
    moodle   Moodle's gradebook import (Grades > Import > CSV file): ID number, Email address,
             Full name, per assignment its grade and `<assignment> (Feedback)`, Total; no grade
             is "-" as Moodle's own export writes it. Columns are mapped when importing.
    moodle worksheet
             the assignment's "offline grading worksheet" that Moodle let the teacher download
             (Identifier, Full name, Email address, Status, Grade, Maximum grade, Grade can be
             changed, Last modified (submission), Last modified (grade), Feedback comments):
             Moodle identifies rows by its own "Participant N", which only Moodle knows, so
             dlgrade fills in the teacher's download: Grade (scaled to its Maximum grade) and
             Feedback comments of the rows whose ID number or Email address is a student's,
             every other cell and row as it was.
    canvas   Canvas's gradebook import: Student, ID, SIS User ID (the student id), SIS Login ID
             (the email), Section, one column per assignment (its title: Canvas matches an
             assignment of that title or creates one), a "Points Possible" second row, and
             Final Points (the total; Canvas reads it as its own read-only column and ignores it).

Every file is UTF-8 with a byte-order mark (Excel then shows Japanese names; Moodle strips it,
Canvas finds its header columns with it), every cell quoted, and every text cell that a
spreadsheet would run (`=`, `+`, `-`, `@`, full-width too) starts with a quote (text.csv_cell);
numbers and Moodle's "-" stay as they are.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping

from grader.gradebook.errors import GradebookError
from grader.gradebook.grades import FinalGrade
from grader.gradebook.models import Student
from grader.i18n import t
from grader.reporters.text import csv_cell

Grades = Mapping[str, Mapping[str, FinalGrade | None]]  # {assignment: {student id: grade}}
WORKSHEET_REQUIRED = ("Identifier", "Grade", "Last modified (grade)")  # what Moodle's upload looks for
ENCODING = "utf-8-sig"


def cell(value) -> str:
    """A cell shown as text, never run: csv_cell, but Moodle's no-grade "-" stays."""
    return value if value in ("", "-") else csv_cell(value)


def number(x: float | None) -> str:
    return "" if x is None else f"{round(x, 2):g}"


def to_text(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def feedback(grade: FinalGrade | None, lang: str) -> str:
    """What the student reads in Moodle: the late deduction and each decision's comment, as
    Moodle's HTML feedback shows text as written (escaped, lines joined by <br>: one CSV line)."""
    if grade is None:
        return ""
    lines = []
    if grade.penalty:
        lines.append(t("export.late_note", lang, days=grade.days_late, percent=f"{100 * grade.penalty:g}",
                       points=number(grade.deduction)))  # fmt: skip
    lines += [f"{check}: {comment}" for _part, check, comment in grade.comments()]
    return "<br>".join(html.escape(" ".join(line.split()), quote=False) for line in lines)


def _max(grades: Mapping[str, FinalGrade | None]) -> float | None:
    maxima = [g.max_points for g in grades.values() if g is not None]
    return max(maxima) if maxima else None


def _total(grades: Grades, student: str) -> float | None:
    mine = [by[student] for by in grades.values() if by.get(student) is not None]
    return round(sum(g.final for g in mine), 2) if mine else None


def csv_rows(grades: Grades, students: list[Student]) -> list[list]:
    header = ["student_id", "name", "email"]
    for name in grades:
        header += [name, f"{name} late deduction"]
    header += ["total", "max_total", "percent", "needs_review"]
    max_total = sum(m for m in (_max(by) for by in grades.values()) if m is not None)
    rows = [header]
    for s in students:
        row = [s.id, s.name, s.email or ""]
        for by in grades.values():
            g = by.get(s.id)
            row += [number(g.final), number(g.deduction)] if g else ["", ""]
        total = _total(grades, s.id)
        percent = "" if total is None or not max_total else f"{100 * total / max_total:.1f}"
        review = sum(g.needs_review for by in grades.values() if (g := by.get(s.id)) is not None)
        rows.append([*row, number(total), number(max_total), percent, review])
    return rows


def moodle_rows(grades: Grades, students: list[Student], titles: Mapping[str, str], lang: str) -> list[list]:
    header = ["ID number", "Email address", "Full name"]
    for name in grades:
        header += [titles.get(name) or name, f"{titles.get(name) or name} (Feedback)"]
    rows = [[*header, "Total"]]
    for s in students:
        row = [s.id, s.email or "", s.name]
        for by in grades.values():
            g = by.get(s.id)
            row += [number(g.final) if g else "-", feedback(g, lang)]
        total = _total(grades, s.id)
        rows.append([*row, "-" if total is None else number(total)])
    return rows


def canvas_rows(grades: Grades, students: list[Student], titles: Mapping[str, str]) -> list[list]:
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *(titles.get(n) or n for n in grades)]
    maxima = [_max(by) for by in grades.values()]
    possible = ["    Points Possible", "", "", "", "", *(number(m) for m in maxima)]
    max_total = sum(m for m in maxima if m is not None)
    rows = [[*header, "Final Points"], [*possible, number(max_total)]]
    for s in students:
        # ID is Canvas's own user id, unknown here: Canvas then finds the student by SIS User ID
        row = [s.name, "", s.id, s.email or "", ""]
        row += [number(by[s.id].final) if by.get(s.id) else "" for by in grades.values()]
        rows.append([*row, number(_total(grades, s.id))])
    return rows


def fill_worksheet(text: str, grades: Mapping[str, FinalGrade | None], students: list[Student],
                   lang: str) -> tuple[list[list], list[str], list[str]]:  # fmt: skip
    """Moodle's offline grading worksheet `text` with Grade and Feedback comments filled in
    for the students found; the rows, the worksheet rows not matched (their identifiers) and
    the students with a grade that no row matched."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]  # comma as Moodle writes it; tab or ";" as a spreadsheet may save it
    delimiter = next((d for d in ",\t;" if "Identifier" in next(csv.reader([first], delimiter=d), [])), ",")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise GradebookError("export.worksheet_header", missing=", ".join(WORKSHEET_REQUIRED))
    header = rows[0]
    missing = [c for c in WORKSHEET_REQUIRED if c not in header]
    keys = [c for c in ("ID number", "Email address") if c in header]
    if missing or not keys:
        raise GradebookError("export.worksheet_header", missing=", ".join(missing or ["ID number / Email address"]))
    col = {name: header.index(name) for name in header}
    by_id = {s.id: s for s in students}
    by_email = {s.email.casefold(): s for s in students if s.email}
    unmatched, seen = [], set()
    for row in rows[1:]:
        row += [""] * (len(header) - len(row))
        student = None
        if "ID number" in col:
            student = by_id.get(row[col["ID number"]].strip())
        if student is None and "Email address" in col:
            student = by_email.get(row[col["Email address"]].strip().casefold())
        grade = grades.get(student.id) if student else None
        if grade is None:
            if any(v.strip() for v in row):
                unmatched.append(row[col["Identifier"]])
            continue
        seen.add(student.id)
        scale = _float(row[col["Maximum grade"]]) if "Maximum grade" in col else None
        points = grade.final if not scale or not grade.max_points else grade.final * scale / grade.max_points
        row[col["Grade"]] = number(points)
        if "Feedback comments" in col:
            row[col["Feedback comments"]] = feedback(grade, lang)
    missed = [s for s, g in grades.items() if g is not None and s not in seen]
    return rows, unmatched, missed


def _float(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None
