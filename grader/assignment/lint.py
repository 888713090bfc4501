"""`dlgrade lint`: every mistake in an assignment's checks files that can be found without
running a notebook, each with the file and line to fix and, when it can, what to write instead.

It loads each checks file (a file that fails to load is itself a problem, at the line that
raised) and reads the solution notebook's grade ids and the thresholds file; it never executes a
notebook, so it costs well under a second and runs before `release`, `calibrate` and `grade`.
Errors stop those commands; warnings (thresholds out of step with the checks) are shown only.

What is checked: SETUP (keys, framework, limits, slack); each part's id (unique), cells,
answers and `after` (grade ids of the notebook); exports and models (expressions that compile,
or functions); curves, evaluations and checks naming what the part exports or saves; evaluations'
datasets (HIDDEN_SETS or built in), functions (in grader.*) and preprocessing; MUTANTS' cells;
FILES (regular files of the folder that may enter a sandbox).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import re
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import nbformat

from grader import checks
from grader.assignment.source import CheckSource, error_line
from grader.assignment.spec import Evaluate, Part, closest, data_files, load_checks_module, setup_problems
from grader.checks import Calibrated
from grader.errors import AssignmentError
from grader.notebook import format as nbf

BUILTIN_HIDDEN_SETS = ("mnist",)  # grader.pipeline.hidden.HiddenData's own


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str
    severity: str = "error"  # or "warning": shown, never fatal

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {tag}{self.message}"


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def lint_assignment(path: Path) -> list[Problem]:
    """Every problem of the assignment folder `path` (solutions/<assignment>)."""
    path = Path(path)
    if not path.is_dir():
        return [Problem(path, 0, f"assignment folder {path} does not exist")]
    notebooks = sorted(path.glob("*.ipynb"))
    if not notebooks:
        return [Problem(path, 0, f"{path} holds no solution notebook (*.ipynb)")]
    problems: list[Problem] = []
    seen: dict[str, Path] = {}  # part id -> checks file that defined it first
    for nb_path in notebooks:
        problems += _lint_notebook(nb_path, seen)
    return problems


def _lint_notebook(nb_path: Path, seen: dict[str, Path]) -> list[Problem]:
    checks_path = nb_path.with_name(nb_path.stem + ".checks.py")
    if not checks_path.exists():
        return [Problem(nb_path, 0, f"{nb_path.name} has no checks file: write {checks_path.name} beside it")]
    try:
        module = load_checks_module(checks_path)
    except AssignmentError as exc:
        cause = exc.__cause__ or exc
        line = error_line(cause, checks_path) or 1
        return [Problem(checks_path, line, f"does not load: {type(cause).__name__}: {cause}{_keyword_hint(cause)}")]
    nb = _read(nb_path)
    grade_ids = None if nb is None else {g for g in (nbf.grade_id(c) for c in nb.cells) if g}
    lint = _Linter(checks_path, module, grade_ids, notebook_names(nb))
    lint.setup()
    lint.files(nb_path.parent)
    lint.parts(seen)
    lint.mutants()
    lint.thresholds(nb_path.with_name(nb_path.stem + ".thresholds.json"))
    return lint.problems


def _keyword_hint(exc: BaseException) -> str:
    """' (did you mean X?)' for a misspelt keyword of what a checks file builds (Limits(cell_timeout=...))."""
    import grader.assignment as api  # here: the package imports this module's neighbours first

    found = re.match(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'", str(exc))
    if not isinstance(exc, TypeError) or not found:
        return ""
    cls = getattr(api, found[1], None) or getattr(checks, found[1], None)
    return closest(found[2], [f.name for f in fields(cls)]) if is_dataclass(cls) else ""


def _read(nb_path: Path) -> nbformat.NotebookNode | None:
    try:
        return nbformat.read(nb_path, as_version=4)
    except Exception:  # an unreadable notebook is release's to report; its names are then not checked
        return None


# names a kernel has that no cell defines: the grader's helpers and IPython's own
KERNEL_NAMES = frozenset(dir(builtins)) | {"_dlgrade_kernel", "get_ipython", "display", "In", "Out", "_", "__", "___"}


def notebook_names(nb: nbformat.NotebookNode | None) -> frozenset[str] | None:
    """Every name the notebook's code binds anywhere (a superset of its globals), or None when
    that cannot be known: a cell that does not parse, or a star import."""
    if nb is None:
        return None
    names: set[str] = set(KERNEL_NAMES)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return None
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        return None
                    names.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
            elif isinstance(node, ast.NamedExpr):
                names.add(node.target.id)
    return frozenset(names)


def _free_names(expression: str) -> list[str]:
    """Names an expression reads that it does not bind itself (lambda arguments, comprehension
    targets), in order."""
    tree = ast.parse(expression, mode="eval")
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in ast.walk(n.args) if isinstance(a, ast.arg)
    }
    read = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return [n for n in dict.fromkeys(read) if n not in bound]


def _function_line(fn: Any) -> int | None:
    """The line of an export function's def, from its `where` ("file.checks.py, line N")."""
    _, _, line = fn.where.rpartition("line ")
    return int(line) if line.isdigit() else None


def _compiles(source: str, what: str) -> str | None:
    """None when `source` is an expression that compiles alone and inside the export cell's
    `lambda: (...)`, else why not."""
    for code in (source, f"lambda: ({source})"):
        try:
            compile(code, what, "eval")
        except SyntaxError as exc:
            return f"{exc.msg} (column {exc.offset})" if exc.offset and code is source else exc.msg
        except (ValueError, TypeError) as exc:  # a NUL byte
            return str(exc)
    return None


class _Linter:
    def __init__(self, path: Path, module: Any, grade_ids: set[str] | None, names: frozenset[str] | None):
        self.path, self.module, self.grade_ids, self.names = path, module, grade_ids, names
        self.source = CheckSource(path)
        self.problems: list[Problem] = []
        self.hidden_sets = set(BUILTIN_HIDDEN_SETS) | set(getattr(module, "HIDDEN_SETS", None) or {})
        self.metrics: dict[str, int] = {}  # Calibrated metric -> line
        self.nth: dict[str, int] = {}  # part id -> which of the Part(...) calls with that id is linted

    def _line(self, part_id: str, field: str | None = None, key: str | None = None) -> int:
        return self.source.part_line(part_id, field, key, self.nth.get(part_id, 0))

    def add(self, line: int, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.path, line, message, severity))

    def setup(self) -> None:
        for p in setup_problems(getattr(self.module, "SETUP", None)):
            self.add(self.source.value_line("SETUP", *[k for k in (p.key, p.item) if k]), p.message)

    def files(self, folder: Path) -> None:
        try:
            data_files(getattr(self.module, "FILES", []), folder, self.path)
        except AssignmentError as exc:
            self.add(self.source.name_line("FILES"), str(exc).removeprefix(f"{self.path}: "))

    def parts(self, seen: dict[str, Path]) -> None:
        parts = getattr(self.module, "PARTS", None)
        if not parts:
            self.add(self.source.name_line("PARTS"), "defines no PARTS: write PARTS = [Part(id=..., ...)]")
            return
        for part in parts:
            if not isinstance(part, Part):
                self.add(self.source.name_line("PARTS"), f"PARTS holds a {type(part).__name__}, not a Part(...)")
                continue
            self.nth[part.id] = self.nth.get(part.id, -1) + 1
            line = self._line(part.id)
            if part.id in seen:
                self.add(
                    line,
                    f"part id {part.id!r} is used twice (first in {seen[part.id].name}): give each part its own id",
                )
            seen.setdefault(part.id, self.path)
            self.part(part)

    def _cell(self, part: Part, field: str, gid: Any, line: int) -> None:
        if self.grade_ids is not None and gid not in self.grade_ids:
            self.add(
                line,
                f"part {part.id!r} {field} names cell {gid!r}, which the notebook lacks{closest(gid, self.grade_ids)}",
            )

    def _expression(self, part: Part, field: str, name: str, value: Any) -> None:
        self._code(self._line(part.id, field, name), f"{field}[{name!r}] of part {part.id!r}", value)

    def _code(self, line: int, where: str, value: Any) -> None:
        """An expression string that must compile, or an export function (grader.assignment.exports,
        already vetted when the Part was made) whose parameters the notebook must define."""
        if not isinstance(value, str) and isinstance(getattr(value, "variables", None), tuple):  # an ExportFunction
            line = _function_line(value) or line
            self._names(line, where, value.variables, f"parameter of {value.name}()")
            return
        if not isinstance(value, str):
            self.add(line, f"{where} is a {type(value).__name__}: write an expression string or a function")
            return
        why = _compiles(value, f"<{where}>")
        if why:
            self.add(line, f"{where} does not compile: {why}: {value!r}")
        else:
            self._names(line, where, _free_names(value), f"name in {value!r}")

    def _names(self, line: int, where: str, names, what: str) -> None:
        """A name that the solution notebook never binds is a typo: the export would fail for
        every student."""
        if self.names is None:
            return
        for name in names:
            if name not in self.names:
                self.add(
                    line,
                    f"{where} reads {name!r} ({what}), which the solution notebook never defines"
                    f"{closest(name, self.names)}",
                )

    def part(self, part: Part) -> None:
        for field in ("cells", "answers"):
            for gid in getattr(part, field) or []:
                self._cell(part, field, gid, self._line(part.id, field))
        if part.after is not None:
            self._cell(part, "after", part.after, self._line(part.id, "after"))
        exports, models = dict(part.exports or {}), dict(part.models or {})
        for field, table in (("exports", exports), ("models", models)):
            for name, value in table.items():
                self._expression(part, field, name, value)
        if part.retrain is not None and part.retrain.until:
            self._code(self._line(part.id, "retrain"), f"retrain until of part {part.id!r}", part.retrain.until)
        for label, name in (part.curves or {}).items():
            if name not in exports:
                self.add(
                    self._line(part.id, "curves", label),
                    f"curve {label!r} of part {part.id!r} shows export {name!r}, which the part does not export"
                    f"{closest(name, exports)}",
                )
        for name, ev in (part.evaluate or {}).items():
            self.evaluation(part, name, ev, exports, models)
        for check in part.checks or []:
            self.check(part, check, exports, models)

    def evaluation(self, part: Part, name: str, ev: Any, exports: dict, models: dict) -> None:
        line = self._line(part.id, "evaluate", name)
        where = f"evaluation {name!r} of part {part.id!r}"
        if not isinstance(ev, Evaluate):
            self.add(line, f"{where} is a {type(ev).__name__}: write Evaluate(dataset=..., model=...)")
            return
        if ev.dataset not in self.hidden_sets:
            self.add(
                line,
                f"{where} reads hidden set {ev.dataset!r}, which is neither built in nor in HIDDEN_SETS"
                f"{closest(ev.dataset, self.hidden_sets)}",
            )
        if bool(ev.model) == bool(ev.function):
            self.add(
                line, f'{where} needs exactly one of model= (a name in models) and function= ("grader.module:name")'
            )
        if ev.model and ev.model not in models:
            self.add(
                line,
                f"{where} predicts with model {ev.model!r}, which the part does not save in models"
                f"{closest(ev.model, models)}",
            )
        if ev.function:
            self.add_function_problem(line, where, ev.function)
        for array in ev.arrays:
            if array not in exports:
                self.add(
                    line, f"{where} feeds array {array!r}, which the part does not export{closest(array, exports)}"
                )
        from grader.inside.evaluators import PREPROCESS

        if ev.preprocess not in PREPROCESS:
            self.add(
                line,
                f"{where} has preprocess {ev.preprocess!r}{closest(ev.preprocess, PREPROCESS)}; "
                f"write one of {', '.join(map(repr, PREPROCESS))}",
            )

    def add_function_problem(self, line: int, where: str, function: str) -> None:
        module, _, name = str(function).partition(":")
        if not module.startswith("grader.") or not name:
            self.add(
                line,
                f'{where} calls {function!r}: evaluation functions are "grader.<module>:<name>" '
                '(the sandbox imports only the grader), e.g. "grader.inside.evaluators:dense_chain"',
            )
            return
        try:
            found = hasattr(importlib.import_module(module), name)
        except ImportError:
            found = False
        if not found:
            self.add(line, f"{where} calls {function!r}, which does not exist")

    def check(self, part: Part, check: Any, exports: dict, models: dict) -> None:
        name = getattr(check, "name", type(check).__name__)
        line = self.source.check_line(part.id, name, self.nth.get(part.id, 0))
        where = f"check {name!r} of part {part.id!r}"
        try:
            needs = tuple(getattr(check, "needs", ()) or ())
        except Exception as exc:  # a check whose own fields are wrong
            self.add(line, f"{where}: its needs raised {type(exc).__name__}: {exc}")
            return
        available = {**exports, **models}
        for need in needs:
            if need not in available:
                self.add(
                    line,
                    f"{where} needs {need!r}, which the part neither exports nor saves as a model"
                    f"{closest(need, available)}: add it to exports={{...}} or fix the name",
                )
        evaluation = getattr(check, "evaluation", None)
        if isinstance(evaluation, str) and evaluation and evaluation not in (part.evaluate or {}):
            self.add(
                line,
                f"{where} reads evaluation {evaluation!r}, which the part does not define in evaluate"
                f"{closest(evaluation, part.evaluate or {})}",
            )
        dataset = getattr(check, "dataset", None)
        if isinstance(dataset, str) and dataset and dataset not in self.hidden_sets:
            self.add(
                line,
                f"{where} reads hidden set {dataset!r}, which is neither built in nor in HIDDEN_SETS"
                f"{closest(dataset, self.hidden_sets)}",
            )
        cell = getattr(check, "cell", None)
        if isinstance(cell, str) and cell and cell not in (part.answers or []):
            self.add(
                line,
                f"{where} reads answer cell {cell!r}, which is not in the part's answers"
                f"{closest(cell, part.answers or [])}: add it to answers=[...]",
            )
        graded = getattr(check, "grade_id", None)  # checks of a cell's own run or review (checks.nbgrader)
        if isinstance(graded, str) and graded and graded not in part.cells:
            self.add(
                line,
                f"{where} grades cell {graded!r}, which is not in the part's cells"
                f"{closest(graded, part.cells)}: add it to cells=[...]",
            )
        if isinstance(check, Calibrated):
            self.metrics.setdefault(check.metric, line)

    def mutants(self) -> None:
        mutants = getattr(self.module, "MUTANTS", None) or {}
        if self.grade_ids is None or not isinstance(mutants, dict):
            return
        for mutant, cells in mutants.items():
            for gid in cells if isinstance(cells, dict) else {}:
                if gid not in self.grade_ids:
                    self.add(
                        self.source.value_line("MUTANTS", mutant),
                        f"mutant {mutant!r} replaces cell {gid!r}, which the notebook lacks{closest(gid, self.grade_ids)}",
                    )

    def thresholds(self, path: Path) -> None:
        """Calibrated metrics and the thresholds file agree (warnings: `dlgrade calibrate` fixes them)."""
        if not self.metrics:
            return
        try:
            text = path.read_text() if path.exists() else '{"metrics": {}}'
            metrics = dict(json.loads(text)["metrics"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.problems.append(Problem(path, 1, f"unreadable thresholds ({exc}): run `dlgrade calibrate`", "warning"))
            return
        lines = text.splitlines()
        for metric, line in self.metrics.items():
            if metric not in metrics:
                self.add(line, f"metric {metric!r} has no threshold in {path.name}: run `dlgrade calibrate`", "warning")
        for metric in metrics:
            if metric not in self.metrics:
                line = next((i for i, text in enumerate(lines, 1) if json.dumps(metric) in text), 1)
                self.problems.append(
                    Problem(
                        path,
                        line,
                        f"threshold {metric!r} is for no Calibrated check in "
                        f"{self.path.name}{closest(metric, self.metrics)}",
                        "warning",
                    )
                )
