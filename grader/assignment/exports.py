"""Exports written as functions in a checks file, made into source that the export cell defines.

    def W_shape(W):                  # each parameter is a variable of the student's notebook
        return kernel.shape(W)       # `kernel`: the grader's helpers (grader.inside.kernel)

    Part(..., exports=[W_shape, ...])    # or {"name": function}; strings still work

The function runs in the student's kernel, after the part's cells, as a string export does; what
it returns is saved as data and is all the checks ever see. It is shipped by its source, so it
must stand alone: a plain module-level `def` that reads nothing of the checks file at run time.
Everything else is refused here, when the checks file is loaded, with the file and line:
lambdas, nested functions and closures, decorators, *args/**kwargs, generators, and names that
are neither its parameters, its own locals and imports, builtins nor `kernel` (a typo such as
`kernal.shape`, or a module the checks file imported: import it inside the function), and
`kernel.<name>` for a name that is not one of its helpers (grader.inside.kernel.HELPERS).
A checks file imports `from grader.inside import kernel` too, so that the name is defined there
and an export function can be tried on plain values in the trusted process.

A parameter with a default is not looked up in the student's notebook: it is a constant (plain
data: numbers, strings, None, lists, tuples, dicts), passed to the call as written, so that an
export and its check can share a probe (`def x_fed(x, *, probe=PROBE)`).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import AssignmentError
from grader.inside import kernel

HELPERS = "kernel"  # the name under which an export function finds the grader's helpers (kernel.HELPERS)


@dataclass(frozen=True)
class ExportFunction:
    """An export function as the export cell needs it: its standalone source (defaults and
    decorators removed), the student's variables it is called with, and its constants."""

    name: str  # the `def` name in `source`
    source: str
    variables: tuple[str, ...]  # parameters without a default: looked up in the student's namespace
    constants: dict = field(default_factory=dict)  # parameters with a default: passed as data
    where: str = ""  # "file.checks.py, line N", for messages


def where(fn) -> str:
    code = getattr(fn, "__code__", None)
    if code is None:
        return "?"
    return f"{Path(code.co_filename).name}, line {code.co_firstlineno}"


def export_function(fn, label: str) -> ExportFunction:
    """`fn` as an ExportFunction, or AssignmentError saying where and why it cannot be one.
    `label` names it in messages ("export W_shape")."""
    if isinstance(fn, ExportFunction):
        return fn
    if not isinstance(fn, types.FunctionType):
        raise AssignmentError(f"{label}: {type(fn).__name__} is neither an expression string nor a function (def)")
    at = where(fn)

    def refuse(why: str) -> AssignmentError:
        return AssignmentError(f"{at}: {label}: {why}")

    if fn.__name__ == "<lambda>":
        raise refuse("a lambda cannot be shipped to the student's kernel; write a module-level def")
    if fn.__qualname__ != fn.__name__ or fn.__closure__:
        raise refuse(
            f"{fn.__qualname__} is defined inside another function; write it at the top level of the checks file"
        )
    code = fn.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        raise refuse("*args and **kwargs cannot name the student's variables; list each one as a parameter")
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        raise refuse("a generator or async function returns no value to export; return the value itself")
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError) as exc:
        raise refuse(f"its source cannot be read ({exc})") from exc
    node = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__name__:
        raise refuse("its source is not one def statement")
    if node.args.posonlyargs:
        raise refuse("positional-only parameters (before /) cannot be passed by name; drop the /")
    if node.decorator_list:
        raise refuse("a decorator would not run in the student's kernel; remove it")
    constants = _constants(fn, refuse)
    node.args.defaults = []
    node.args.kw_defaults = [None] * len(node.args.kwonlyargs)
    source = ast.unparse(node) + "\n"
    _refuse_outside_names(source, fn.__name__, refuse)
    params = [a.arg for a in (*node.args.args, *node.args.kwonlyargs)]
    variables = tuple(p for p in params if p not in constants)
    return ExportFunction(name=fn.__name__, source=source, variables=variables, constants=constants, where=at)


def _constants(fn, refuse) -> dict:
    """The parameters with a default, each checked to be plain data that survives repr()."""
    sig = inspect.signature(fn)
    out = {}
    for name, param in sig.parameters.items():
        if param.default is inspect.Parameter.empty:
            continue
        value = param.default
        try:
            same = _plain(value) and ast.literal_eval(repr(value)) == value
        except (ValueError, SyntaxError, RecursionError):
            same = False
        if not same:
            raise refuse(
                f"the default of {name} ({type(value).__name__}) is not plain data "
                "(numbers, strings, None, lists, tuples, dicts)"
            )
        out[name] = value
    return out


def _plain(value, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _refuse_outside_names(source: str, name: str, refuse) -> None:
    """Names the function reads from outside itself must be builtins or `kernel`: in the
    student's kernel nothing else of the checks file exists."""
    top = symtable.symtable(source, "<export>", "exec")
    outside: set[str] = set()

    def walk(table) -> None:
        for sym in table.get_symbols():
            if sym.is_referenced() and sym.is_global() and not sym.is_declared_global():
                outside.add(sym.get_name())
            elif sym.is_declared_global():
                outside.add(sym.get_name())
        for child in table.get_children():
            walk(child)

    for child in top.get_children():
        walk(child)
    unknown = sorted(n for n in outside if n != HELPERS and not hasattr(builtins, n) and n != name)
    missing = sorted(
        {
            node.attr
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == HELPERS
            and node.attr not in kernel.HELPERS
        }
    )
    if missing:
        raise refuse(f"{HELPERS} has no {', '.join(missing)}; its helpers are {', '.join(kernel.HELPERS)}")
    if unknown:
        raise refuse(
            f"uses {', '.join(unknown)}, which will not exist in the student's kernel: import modules inside the "
            f"function, take the student's variables as parameters, pass constants as parameter defaults, "
            f"and reach the grader's helpers as {HELPERS}.shape(...) etc."
        )


def normalise(entries, kind: str, part_id: str) -> dict:
    """A Part's exports or models, written as a dict (name -> expression or function) or a list
    of functions (named by their def), as a dict name -> expression string or ExportFunction."""
    if entries is None:
        return {}
    if isinstance(entries, dict):
        pairs = list(entries.items())
    elif isinstance(entries, (list, tuple)):
        pairs = []
        for fn in entries:
            if not isinstance(fn, types.FunctionType):
                raise AssignmentError(
                    f"part {part_id}: a list of {kind} holds functions only "
                    f"(use a dict for expression strings), not {type(fn).__name__}"
                )
            pairs.append((fn.__name__, fn))
    else:
        raise AssignmentError(
            f"part {part_id}: {kind} must be a dict or a list of functions, not {type(entries).__name__}"
        )
    out: dict = {}
    for key, value in pairs:
        if not isinstance(key, str) or not key:
            raise AssignmentError(f"part {part_id}: {kind} name {key!r} is not a name")
        if key in out:
            raise AssignmentError(f"part {part_id}: two {kind} are named {key!r}")
        out[key] = value if isinstance(value, str) else export_function(value, f"part {part_id}, {kind[:-1]} {key}")
    return out
