"""Where in a checks file something is written: the line of SETUP and its keys, of a Part(...)
call and its fields, entries and checks, and of the checks file's own frame in an exception.
Read from the file's syntax tree, so it costs no execution; anything built by code (a part made
in a loop) falls back to the nearest line that is written out, and at worst line 1."""

from __future__ import annotations

import ast
import traceback
from pathlib import Path


def error_line(exc: BaseException, path: Path) -> int | None:
    """The line of `path` where `exc` was raised (its deepest frame in that file), or the line a
    SyntaxError names in it."""
    target = Path(path).resolve()  # tracebacks name files absolute, a command line may not
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == target:
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == target:
            line = frame.lineno
    return line


def _key(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _entry_line(node: ast.AST, key: str) -> int | None:
    """The line of `key` in a dict literal or keyword call (dict(a=...), Setup(a=...))."""
    if isinstance(node, ast.Dict):
        return next((k.lineno for k in node.keys if _key(k) == key), None)
    if isinstance(node, ast.Call):
        return next((kw.value.lineno for kw in node.keywords if kw.arg == key), None)
    return None


def _entry_value(node: ast.AST, key: str) -> ast.AST | None:
    if isinstance(node, ast.Dict):
        return next((v for k, v in zip(node.keys, node.values) if _key(k) == key), None)
    if isinstance(node, ast.Call):
        return next((kw.value for kw in node.keywords if kw.arg == key), None)
    return None


class CheckSource:
    """The syntax tree of one checks file, asked for lines."""

    def __init__(self, path: Path, text: str | None = None):
        self.path = Path(path)
        try:
            self.tree = ast.parse(text if text is not None else self.path.read_text(encoding="utf-8"))
        except (SyntaxError, ValueError, OSError):
            self.tree = ast.Module(body=[], type_ignores=[])
        self.assigns: dict[str, ast.Assign] = {}
        for node in self.tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name):
                        self.assigns[target.id] = node
        self.parts: dict[str, list[ast.Call]] = {}  # id -> its Part(...) calls, in the file's order
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Part":
                pid = _key(_entry_value(node, "id")) or (_key(node.args[0]) if node.args else None)
                if pid is not None:
                    self.parts.setdefault(pid, []).append(node)
        for calls in self.parts.values():
            calls.sort(key=lambda c: (c.lineno, c.col_offset))

    def name_line(self, name: str) -> int:
        """The line of a top-level `NAME = ...`, else 1."""
        node = self.assigns.get(name)
        return node.lineno if node else 1

    def value_line(self, name: str, *keys: str) -> int:
        """The line of NAME[key][key2]... as written (dict literal or keyword call), or the
        nearest written-out line above it."""
        node = self.assigns.get(name)
        if node is None:
            return 1
        line, value = node.lineno, node.value
        for key in keys:
            found = _entry_line(value, key)
            if found is None:
                break
            line, value = found, _entry_value(value, key)
        return line

    def _part(self, part_id: str, nth: int) -> ast.Call | None:
        calls = self.parts.get(part_id, [])
        return calls[min(nth, len(calls) - 1)] if calls else None

    def part_line(self, part_id: str, field: str | None = None, key: str | None = None, nth: int = 0) -> int:
        """The line of the `nth` Part(id=part_id), of its `field=`, and of `key` in that field's
        dict; a part made by code falls back to the line of PARTS."""
        call = self._part(part_id, nth)
        if call is None:
            return self.name_line("PARTS")
        line, value = call.lineno, call
        for k in [k for k in (field, key) if k is not None]:
            found = _entry_line(value, k)
            if found is None:
                break
            line, value = found, _entry_value(value, k)
        return line

    def check_line(self, part_id: str, check_name: str, nth: int = 0) -> int:
        """The line of the check named `check_name` (its first argument or name=) in the part's
        checks, else of the part's `checks=`."""
        call = self._part(part_id, nth)
        field = _entry_value(call, "checks") if call is not None else None
        if field is not None:
            for node in ast.walk(field):
                if isinstance(node, ast.Call):
                    name = _key(_entry_value(node, "name")) or (_key(node.args[0]) if node.args else None)
                    if name == check_name:
                        return node.lineno
        return self.part_line(part_id, "checks", nth=nth)
