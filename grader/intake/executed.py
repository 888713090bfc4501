"""The outputs of a notebook's run, read from the executed notebook the sandbox left, as bounded
plain data for the feedback page (grader.pipeline.feedback, grader.reporters.notebook_html).

The file is the student's to write: the kernel shares the sandbox with the worker and can
replace it. So only outputs are taken from it, and only the kinds a page can show without
running or fetching anything: text (streams, errors, text/plain) and PNG or JPEG images whose
bytes are checked. HTML, JavaScript, Markdown, LaTeX, SVG and widget outputs are markup a
student controls: they are dropped, and a note names their types. Streams are read as a
terminal shows them (carriage returns and backspaces of progress bars applied), long texts keep
their head and tail, and everything kept is paid from one byte budget.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from grader.errors import NotANotebook
from grader.intake import artifacts as art
from grader.intake.submission import Refused, read_regular

MAX_EXECUTED_BYTES = 64 * 1024 * 1024  # as grader.pipeline.grading reads it for figures
MAX_EXECUTED_CONTAINERS = 200_000
MAX_OUTPUTS = 200  # per cell; the rest is named in a note
MAX_RAW_CHARS = 4 * 1024 * 1024  # of one stream read before it is processed (the worker caps a cell at 2 MiB)
MAX_TEXT_CHARS = 20_000  # of one output kept: its first and last halves
MAX_IMAGE_BYTES = 1024 * 1024  # one PNG or JPEG, decoded
MAX_TRACEBACK_LINES = 40
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
# Colour codes stay (the page shows them as colours); every other escape sequence goes.
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_OTHER_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")


MAX_PROCESSED_CHARS = 16 * 1024 * 1024  # of text processed per notebook: ~2 s at worst


class Budget:
    """Characters and image bytes a page may still keep (`left`), and characters of text it may
    still process (`reads`: a stream of a million carriage returns keeps nothing but costs time)."""

    def __init__(self, total: int, reads: int = MAX_PROCESSED_CHARS):
        self.left = max(0, int(total))
        self.reads = reads

    def read(self, n: int) -> bool:
        if n > self.reads:
            self.reads = 0
            return False
        self.reads -= n
        return True

    def take(self, n: int) -> bool:
        if n > self.left:
            self.left = 0  # what follows would not fit either: keep the page's order readable
            return False
        self.left -= n
        return True


def read_cells(path: Path) -> list[dict] | None:
    """The executed notebook's cells as plain data (bounded in bytes and containers, not
    validated), or None when it cannot be read as a notebook."""
    try:
        data = art.parse_json(read_regular(path, MAX_EXECUTED_BYTES), path.name, MAX_EXECUTED_CONTAINERS)
    except (NotANotebook, OSError, Refused, art.UnsafeArtifact):
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return None
    return [c if isinstance(c, dict) else {} for c in cells]


def execution_count(cell: dict) -> int | None:
    n = cell.get("execution_count")
    return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 10**9 else None


def clean(text: str) -> str:
    """`text` storable as UTF-8: a lone surrogate becomes its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _text(value, limit: int = MAX_RAW_CHARS) -> str:
    """A notebook text field (a string or a list of strings), at most `limit` characters."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, list):
        parts, size = [], 0
        for item in value:
            if isinstance(item, str) and size < limit:
                parts.append(item[: limit - size])
                size += len(parts[-1])
        return "".join(parts)
    return ""


def terminal(text: str) -> str:
    """`text` as a terminal (and Jupyter) shows it: within a line, a carriage return goes back to
    its start and a backspace one character back, later text overwriting earlier. Escape
    sequences other than colours are removed. Linear in the text: a progress bar redraws a
    line thousands of times."""
    text = _OTHER_ESCAPES.sub(lambda m: m.group() if _SGR.fullmatch(m.group()) else "", text)
    if "\r" not in text and "\b" not in text:
        return text
    lines = []
    for line in text.split("\n"):
        if "\b" in line:
            line = _backspaces(line)
        if "\r" in line:
            shown: list[str] = []  # a list: each redraw costs its own length, not the line's
            for segment in line.split("\r"):
                shown[: len(segment)] = segment
            line = "".join(shown)
        lines.append(line)
    return "\n".join(lines)


def _backspaces(line: str) -> str:
    """A backspace moves the cursor back; a carriage return, kept, is applied afterwards. The
    text after a backspace overwrites what was there."""
    out: list[str] = []
    for segment in line.split("\r"):
        cells: list[str] = []
        cursor = 0
        for ch in segment:
            if ch == "\b":
                cursor = max(0, cursor - 1)
            elif cursor < len(cells):
                cells[cursor] = ch
                cursor += 1
            else:
                cells.append(ch)
                cursor += 1
        out.append("".join(cells))
    return "\r".join(out)


def _cut(text: str, notes: list[dict]) -> list[str]:
    """`text` whole, or its first and last halves of MAX_TEXT_CHARS with a note of the middle."""
    if len(text) <= MAX_TEXT_CHARS:
        return [text]
    half = MAX_TEXT_CHARS // 2
    notes.append({"key": "feedback.cut", "args": {"count": len(text) - 2 * half}})
    return [text[:half], text[-half:]]


def _kept_text(text: str, budget: Budget, notes: list[dict]) -> list[str] | None:
    if not budget.left or not budget.read(len(text)):
        return None
    pieces = [clean(p) for p in _cut(terminal(text), notes)]
    if not budget.take(sum(len(p) for p in pieces)):
        return None
    return pieces


def _image(value, mime: str, budget: Budget) -> str | None:
    """Canonical base64 of a PNG or JPEG whose bytes begin as that format's do, or None."""
    raw_text = _text(value, MAX_IMAGE_BYTES * 4 // 3 + 1024)
    try:
        raw = base64.b64decode("".join(raw_text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(IMAGE_MAGIC[mime]) or len(raw) > MAX_IMAGE_BYTES:
        return None
    encoded = base64.b64encode(raw).decode("ascii")
    return encoded if budget.take(len(encoded)) else None


def _mime_name(value) -> str:
    return clean(str(value)[:60])


def outputs_of(cell: dict, budget: Budget) -> tuple[list[dict], list[dict]]:
    """The outputs of one executed cell that a page may show, and notes on what was left out
    ({"key": catalogue key, "args": {...}})."""
    raw = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
    notes: list[dict] = []
    dropped: set[str] = set()
    over = images = 0
    kept: list[dict] = []
    merged = _merged_streams(raw[:MAX_OUTPUTS])
    if len(raw) > MAX_OUTPUTS:
        notes.append({"key": "feedback.more_outputs", "args": {"count": len(raw) - MAX_OUTPUTS}})
    for out in merged:
        kind = out.get("output_type")
        if kind == "stream":
            pieces = _kept_text(out["text"], budget, notes)
            if pieces is None:
                over += 1
                continue
            kept += [{"output_type": "stream", "name": out["name"], "text": p} for p in pieces]
        elif kind == "error":
            error = _error(out, budget, notes)
            if error is None:
                over += 1
            else:
                kept.append(error)
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            shown: dict[str, str] = {}
            for mime, value in list(data.items())[:20]:
                if mime in IMAGE_MAGIC:
                    image = _image(value, mime, budget)
                    if image is None:
                        images += 1
                    else:
                        shown[mime] = image
                elif mime != "text/plain":
                    dropped.add(_mime_name(mime))
            if "text/plain" in data and not any(m in shown for m in IMAGE_MAGIC):
                pieces = _kept_text(_text(data["text/plain"]), budget, notes)
                if pieces is None:
                    over += 1
                else:
                    shown["text/plain"] = "".join(pieces)
            if shown:
                entry = {"output_type": kind, "data": shown, "metadata": {}}
                if kind == "execute_result":
                    entry["execution_count"] = execution_count(out)
                kept.append(entry)
        else:
            dropped.add(_mime_name(kind))
    if dropped:
        notes.append({"key": "feedback.dropped", "args": {"types": ", ".join(sorted(dropped)[:8])}})
    if images:
        notes.append({"key": "feedback.image", "args": {"count": images}})
    if over:
        notes.append({"key": "feedback.over_budget", "args": {"count": over}})
    return kept, notes


def _merged_streams(outputs: list) -> list[dict]:
    """Consecutive writes to one stream as one output, as Jupyter shows them (a carriage return
    in one write overwrites a line begun in an earlier one)."""
    merged: list[dict] = []
    for out in outputs:
        if not isinstance(out, dict):
            continue
        if out.get("output_type") != "stream":
            merged.append(out)
            continue
        name = "stderr" if out.get("name") == "stderr" else "stdout"
        last = merged[-1] if merged else None
        if last is not None and last.get("output_type") == "stream" and last.get("name") == name:
            room = MAX_RAW_CHARS - len(last["text"])
            if room > 0:
                last["text"] += _text(out.get("text"), room)
        else:
            merged.append({"output_type": "stream", "name": name, "text": _text(out.get("text"))})
    return merged


def _error(out: dict, budget: Budget, notes: list[dict]) -> dict | None:
    lines = out.get("traceback") if isinstance(out.get("traceback"), list) else []
    raw = [_text(line, 4000) for line in lines[-MAX_TRACEBACK_LINES:]]
    if not budget.left or not budget.read(sum(len(line) for line in raw)):
        return None
    traceback = [terminal(line) for line in raw]
    entry = {
        "output_type": "error",
        "ename": clean(terminal(_text(out.get("ename"), 200))),
        "evalue": clean(terminal(_text(out.get("evalue"), 2000))),
        "traceback": [clean(line) for line in traceback],
    }
    if len(lines) > MAX_TRACEBACK_LINES:
        notes.append({"key": "feedback.traceback_cut", "args": {"count": len(lines) - MAX_TRACEBACK_LINES}})
    size = len(entry["ename"]) + len(entry["evalue"]) + sum(len(line) for line in entry["traceback"])
    return entry if budget.take(size) else None
