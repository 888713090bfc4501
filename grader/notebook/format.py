"""nbgrader's notebook format: cell metadata (schema v3), checksums, solution markers.

Compatible with nbgrader so that instructors can move notebooks between the two tools.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.errors import NotANotebook
from grader.intake.submission import MAX_NOTEBOOK_BYTES  # larger files are refused before parsing

SCHEMA_VERSION = 3
# nbgrader's delimiters: a line that contains one anywhere is a marker (conventionally
# written "### BEGIN SOLUTION"), as nbgrader's ClearSolutions / ClearHiddenTests / ClearMarkScheme read them
BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
BEGIN_MARK_SCHEME = "BEGIN MARK SCHEME"
END_MARK_SCHEME = "END MARK SCHEME"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")
# Saved outputs (plots, training logs) make real notebooks large, and they are never graded, so
# the file may be larger than the text of its cells; both are capped.
MAX_SOURCE_BYTES = 20 * 1024 * 1024  # the text of all cells together
MAX_CELLS = 5000  # validating a cell costs time in the trusted process; real notebooks have tens


def read_notebook(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES, within: Path | None = None) -> NotebookNode:
    """Read and validate a notebook from an untrusted file; any failure is a NotANotebook.

    Only a regular file is read, never through a link, and at most `max_bytes` of it: every
    component below `within` (default: the file's own folder) is opened without following a
    link (grader.intake.submission). A refused file raises intake.Refused, a NotANotebook that says why."""
    from grader.intake.submission import read_regular

    raw = read_regular(path, max_bytes, within)
    return parse_notebook(raw, path.name)


def parse_notebook(raw: bytes, name: str) -> NotebookNode:
    """A validated notebook from the bytes of the file `name`; any failure is a NotANotebook."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotANotebook(f"{name} is not UTF-8 text (byte {exc.start}); save it again from Jupyter") from exc
    _refuse_oversized(name, text)
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises json, reader and validation errors of many types
        raise NotANotebook(f"{name} is not a Jupyter notebook: {_first_line(exc)}") from exc
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotANotebook(f"{name} is not a valid notebook: {_first_line(exc)}") from exc
    return nb


def _refuse_oversized(name: str, text: str) -> None:
    """Refuse, before nbformat builds and validates every cell, text that is not JSON, and a
    notebook of too many cells or too much cell text. Any other fault is left to nbformat."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise NotANotebook(f"{name} is not a Jupyter notebook: nested too deeply") from None
    except ValueError as exc:
        # said here, by place: nbformat's own message quotes the file's first bytes
        where = f"line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else "bad text"
        raise NotANotebook(f"{name} is not a Jupyter notebook: not JSON ({where})") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return
    if len(cells) > MAX_CELLS:
        raise NotANotebook(f"{name} has {len(cells)} cells; over {MAX_CELLS} cells is refused")
    source_bytes = 0
    for cell in cells:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        parts = source if isinstance(source, list) else [source]
        source_bytes += sum(len(p.encode()) for p in parts if isinstance(p, str))
    if source_bytes > MAX_SOURCE_BYTES:
        raise NotANotebook(
            f"the cells of {name} hold {source_bytes / 2**20:.1f} MiB of text; "
            f"over {MAX_SOURCE_BYTES // 2**20} MiB is refused"
        )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata, or an empty dict."""
    data = cell.get("metadata", {}).get("nbgrader", {})
    return data if isinstance(data, dict) else {}


def grade_id(cell: NotebookNode) -> str | None:
    return meta(cell).get("grade_id")


def is_solution(cell: NotebookNode) -> bool:
    return bool(meta(cell).get("solution", False))


def is_grade(cell: NotebookNode) -> bool:
    return bool(meta(cell).get("grade", False))


def is_task(cell: NotebookNode) -> bool:
    return bool(meta(cell).get("task", False))


def is_locked(cell: NotebookNode) -> bool:
    """Whether the student's version of the cell is put back as released, as nbgrader decides
    it: never a solution cell; always a grade cell that is not one (a test cell), whatever its
    `locked` flag says; else the `locked` flag."""
    m = meta(cell)
    if m.get("solution"):
        return False
    return bool(m.get("locked") or m.get("grade"))


def compute_checksum(cell: NotebookNode) -> str:
    """nbgrader's md5 checksum of a cell (nbgrader.utils.compute_checksum: same inputs, same
    order). It hashes whether the cell is locked as is_locked derives it, not the `locked` flag:
    a test cell saved with locked: false is hashed as locked."""
    m = meta(cell)
    # the flags' values as written (nbgrader hashes str() of them: a stray 1 is "1", not "True")
    grade, solution = m.get("grade", False), m.get("solution", False)
    locked = False if solution else True if grade else m.get("locked", False)
    md5 = hashlib.md5()
    md5.update(cell.source.encode("utf-8"))
    md5.update(cell.cell_type.encode("utf-8"))
    for flag in (grade, solution, locked):
        md5.update(str(flag).encode("utf-8"))
    md5.update(str(m["grade_id"]).encode("utf-8"))
    if grade:
        md5.update(str(float(m.get("points", 0))).encode())
    return md5.hexdigest()


def clear_solution(cell: NotebookNode) -> str:
    """The student's version of a solution cell's source, as nbgrader's ClearSolutions makes it:
    each solution region becomes the stub (indented as its BEGIN line), and a cell without one
    becomes the stub. ValueError for markers out of order (nbgrader drops a lone END line; a
    lone END is refused here, as a mistyped BEGIN would leave the solution in the release)."""
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    source, replaced = replace_region(cell.source, BEGIN_SOLUTION, END_SOLUTION, stub)
    return source if replaced else stub


def replace_region(source: str, begin: str, end: str, stub: str | None = None) -> tuple[str, bool]:
    """`source` with every region from a line containing `begin` to one containing `end`
    replaced by `stub` (indented as the begin line; removed when `stub` is None), and whether
    there was one. Lines are split on "\n" only and joined back, as nbgrader does, so a
    trailing newline or a carriage return is kept. ValueError for a nested, unterminated or
    unopened region."""
    out: list[str] = []
    inside = replaced = False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                raise ValueError(f"nested {begin!r} markers")
            inside = replaced = True
            if stub is not None:
                indent = re.match(r"\s*", line).group(0)
                out.extend(indent + s for s in stub.split("\n"))
        elif end in line:
            if not inside:
                raise ValueError(f"{end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{begin!r} without {end!r}")
    return "\n".join(out), replaced


def strip_markers(source: str) -> str:
    """The reference solution as it runs: markers removed, solution kept."""
    keep = [
        line
        for line in source.splitlines()
        if not any(m in line for m in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN))
    ]
    return "\n".join(keep)


def code_sources(nb: NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]
