"""Read a roster file: student id, name and email per line, as instructors and LMSs write them.

Encodings: UTF-8 with or without a BOM, UTF-16 with a BOM (Excel's "Unicode text"), and
Shift_JIS as Japanese Excel saves a CSV (cp932, its superset). Comma or tab separated. Header
names in English or Japanese ("student id", "学籍番号", "氏名", "メールアドレス", ...; width and
case do not matter), or a family and a given name in two columns ("姓", "名" / "last name",
"first name"). Student ids are read with full-width digits made plain (NFKC); names are kept as
written. An optional `canvas_id` / `lms_id` column holds the LMS's user id (collect matches on it).

Every problem is found before anything is imported, each with its line: a student id twice,
an empty id or name, an id with a space or control character or over 64 characters, a name with
a control character or bidi override, an email that is not one. One problem and nothing is imported.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

from grader.gradebook.book import RosterRow
from grader.gradebook.errors import RosterError

MAX_BYTES = 16 * 2**20  # a roster of a few thousand students is well under this

# normalized header -> field; normalized: NFKC, lower case, without spaces, '_', '-', '.'
HEADERS = {
    "id": {"id", "studentid", "studentnumber", "idnumber", "sisuserid", "学籍番号", "学生番号", "学生証番号", "学籍id"},
    "name": {"name", "fullname", "studentname", "student", "氏名", "名前", "学生氏名", "氏名漢字", "フルネーム"},
    "email": {"email", "emailaddress", "mail", "mailaddress", "メール", "メールアドレス", "eメール", "eメールアドレス"},
    "family": {"lastname", "familyname", "surname", "姓"},
    "given": {"firstname", "givenname", "名"},
    "lms_id": {"lmsid", "canvasid", "canvasuserid", "lmsuserid"},  # the LMS's user id, which collect matches on
}
# a loose but useful check: one @, something before it, a dotted domain after, no spaces or controls
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s.\x00-\x1f\x7f]+(?:\.[^@\s.\x00-\x1f\x7f]+)+\Z")
MAX_ID = 64  # the gradebook's column; ids become folder and file names later
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad_id(student: str) -> bool:
    """Too long, or a space, control or invisible character inside (a stray newline in a cell)."""
    return len(student) > MAX_ID or any(unicodedata.category(c)[0] in "CZ" for c in student)


def _bad_name(name: str) -> bool:
    """A control character or a bidi override: a name is shown in reports, never obeyed."""
    return any(unicodedata.category(c) == "Cc" or c in BIDI for c in name)


def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError:
        raise RosterError([("roster.encoding", {})]) from None


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.]", "", unicodedata.normalize("NFKC", text).lower())


def _columns(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        key = _header_key(text)
        for name, aliases in HEADERS.items():
            if key in aliases and name not in found:
                found[name] = index
    return found


def read_roster(path: Path) -> list[RosterRow]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RosterError([("roster.unreadable", {"path": str(path), "reason": exc.strerror or str(exc)})]) from None
    if len(data) > MAX_BYTES:
        raise RosterError([("roster.too_big", {"limit": MAX_BYTES})])
    return parse_roster(decode(data))


def parse_roster(text: str) -> list[RosterRow]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    columns = _columns(header or [])
    if "id" not in columns or ("name" not in columns and not {"family", "given"} <= set(columns)):
        raise RosterError([("roster.header", {"header": ", ".join(header or [])})])
    japanese_order = "name" not in columns and not _header_key(header[columns["family"]]).isascii()

    def cell(row: list[str], name: str) -> str:
        index = columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    rows, problems, lines_of = [], [], {}
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1  # a quoted cell may span lines: the first one
        if not any(c.strip() for c in row):
            continue
        student = unicodedata.normalize("NFKC", cell(row, "id")).strip()
        name = cell(row, "name")
        if "name" not in columns:
            family, given = cell(row, "family"), cell(row, "given")
            name = " ".join(p for p in ((family, given) if japanese_order else (given, family)) if p)
        email = cell(row, "email") or None
        lms_id = unicodedata.normalize("NFKC", cell(row, "lms_id")).strip() or None
        if not student:
            problems.append(("roster.empty_id", {"line": line}))
            continue
        if _bad_id(student):
            problems.append(("roster.bad_id", {"line": line, "id": student}))
            continue
        lines_of.setdefault(student, []).append(line)
        if not name:
            problems.append(("roster.empty_name", {"line": line, "id": student}))
        elif _bad_name(name):
            problems.append(("roster.bad_name", {"line": line, "id": student, "name": name}))
        if email is not None and not EMAIL.match(email):
            problems.append(("roster.bad_email", {"line": line, "id": student, "email": email}))
        rows.append(RosterRow(student, name, email, line, lms_id))
    for student, lines in lines_of.items():
        if len(lines) > 1:
            problems.append(("roster.duplicate", {"id": student, "lines": ", ".join(map(str, lines))}))
    if problems:
        raise RosterError(problems)
    return rows
