"""Assignments as instructors write them: `solutions/<assignment>/`.

    solutions/<assignment>/
        <name>.ipynb              reference solution with nbgrader markers and metadata
        <name>.checks.py          what is graded: PARTS (and optional SETUP)
        <name>.thresholds.json    written by `dlgrade calibrate`
    exercises/<assignment>/<name>.ipynb   the released twin, written by `dlgrade release`

A checks file is trusted instructor code; it never enters a sandbox. It defines

    SETUP = Setup(framework="tf1" | "keras" | "numpy", limits=Limits(...), slack={...})  # optional
            (or the same as a dict: {"framework": ..., "limits": {...}, "slack": {...}})
    PARTS = [Part(id=..., title={"en": ..., "ja": ...}, cells=[grade ids], exports={...}, checks=[...])]
    HIDDEN_SETS = {"name": make}     # optional: grader-made data, make() -> (inputs, labels)
    FILES = ["jupyter.png"]          # optional: files of the folder the notebook reads, copied
                                     # into its working directory before each run
    MUTANTS = {"name": {grade_id: source}}   # known-wrong answers that must lose points

`exports` are functions of the checks file (grader.assignment.exports; or expression strings)
that the grader runs in the student's kernel after the part's last cell, with the student's
variables their parameters name; the value is saved as data (arrays as .npy, the rest as JSON)
and checks read only that data.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import nbformat

from grader.assignment.exports import ExportFunction, export_function, normalise
from grader.assignment.source import CheckSource, error_line
from grader.errors import AssignmentError
from grader.notebook import format as nbf
from grader.sandbox.base import Limits


@dataclass(frozen=True)
class Retrain:
    """Train a part again from other seeds, for a correct answer that one unlucky seed can fail
    (XOR with a few hidden units). After the part's export, its code cells (from its first answer
    cell to its export) run again in the student's kernel, once per seed, until `until` (an
    expression evaluated there) is true or the time budget is spent: `share` of the cell time
    limit, and never past `share` of the notebook's. Each run's models are saved beside the first
    run's; checks that judge the best run (TruthTable) see all of them. `until` only saves time:
    the verdict is still the grader's own, from the saved models."""

    seeds: tuple[int, ...] = (1, 2, 3, 4)
    until: str | ExportFunction = ""  # an expression, or a function as exports take (exports.py)
    share: float = 0.5

    def __post_init__(self):
        if self.until and not isinstance(self.until, str):
            object.__setattr__(self, "until", export_function(self.until, "Retrain(until=...)"))
        if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
            raise AssignmentError("Retrain(seeds=...) needs non-negative integer seeds")
        if not 0 < self.share <= 1:
            raise AssignmentError("Retrain(share=...) is a fraction of the time limit, in (0, 1]")


@dataclass(frozen=True)
class Evaluate:
    """How to get predictions for one part: from a saved Keras model (`model`, a name in
    Part.models) or from exported arrays fed to a trusted function (`function`, "module:name",
    called as f(arrays: dict, x) -> predictions)."""

    dataset: str
    model: str | None = None
    function: str | None = None
    arrays: tuple[str, ...] = ()
    preprocess: str = "raw"  # see grader.inside.evaluators.PREPROCESS


@dataclass
class Part:
    id: str
    title: dict[str, str] | str
    cells: list[str]
    checks: list[Callable]
    # name -> expression string or ExportFunction; written as a dict or a list of functions (exports.py)
    exports: dict[str, str | ExportFunction] = field(default_factory=dict)
    after: str | None = None  # grade id after which exports run; default: the last of `cells`
    models: dict[str, str | ExportFunction] = field(default_factory=dict)  # name -> the Keras model to save
    curves: dict[str, str] = field(default_factory=dict)  # name -> export holding a loss/accuracy curve
    answers: list[str] = field(default_factory=list)  # markdown answer cells read from the notebook itself
    evaluate: dict[str, Any] = field(default_factory=dict)  # name -> Evaluate
    retrain: Retrain | None = None  # train again from other seeds when one run's luck decides

    def __post_init__(self):
        # Functions are checked now, when the checks file loads, not in every student's report.
        self.exports = normalise(self.exports, "exports", self.id)
        self.models = normalise(self.models, "models", self.id)

    @property
    def titles(self) -> dict[str, str]:
        return dict(self.title) if isinstance(self.title, dict) else {}

    def title_in(self, lang: str) -> str:
        if isinstance(self.title, str):
            return self.title
        return self.title.get(lang) or self.title.get("en") or self.id

    @property
    def export_after(self) -> str | None:
        return self.after or (self.cells[-1] if self.cells else None)


FRAMEWORKS = ("tf1", "keras", "numpy")  # what the kernel seeds and sets up (grader.inside.kernel.start)


def closest(word: str, known) -> str:
    """' (did you mean X?)' for a near miss among `known`, else ''."""
    match = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


@dataclass(frozen=True)
class SetupProblem:
    """One wrong thing in a SETUP: `key` is the SETUP key it is under, `item` the limits or
    slack key when it is one of those."""

    key: str
    message: str
    item: str | None = None


@dataclass(frozen=True)
class Setup:
    """How a notebook runs: `framework` (one of FRAMEWORKS: what the kernel seeds), sandbox
    `limits` (a Limits, or a dict of its fields) and `slack`, per calibrated metric a pair
    (relative, absolute) added to its threshold (see grader.pipeline.calibrate). A wrong value
    is an AssignmentError here, when the checks file is loaded, never later."""

    framework: str = "numpy"
    limits: Limits = field(default_factory=Limits)
    slack: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self):
        problems = _field_problems(self.framework, self.limits, self.slack)
        if problems:
            raise AssignmentError(problems[0].message)
        if not isinstance(self.limits, Limits):
            object.__setattr__(self, "limits", Limits.from_dict(self.limits))
        object.__setattr__(self, "slack", {m: (float(r), float(a)) for m, (r, a) in self.slack.items()})

    @classmethod
    def from_value(cls, value: Any) -> Setup:
        """A checks file's SETUP (absent, a Setup or a dict) as a Setup; AssignmentError for the
        first of its problems."""
        problems = setup_problems(value)
        if problems:
            raise AssignmentError(problems[0].message)
        return value if isinstance(value, Setup) else cls(**dict(value or {}))


def setup_problems(value: Any) -> list[SetupProblem]:
    """Everything wrong with a SETUP value, each with the key it is under."""
    if value is None:
        return []
    if isinstance(value, Setup):
        return _field_problems(value.framework, value.limits, value.slack)
    if not isinstance(value, dict):
        return [SetupProblem("", f"SETUP must be Setup(...) or a dict, not {type(value).__name__}")]
    known = [f.name for f in fields(Setup)]
    problems = [
        SetupProblem(str(k), f"unknown SETUP key {k!r}{closest(k, known)}; known keys: {', '.join(known)}")
        for k in value
        if k not in known
    ]
    return problems + _field_problems(value.get("framework", "numpy"), value.get("limits"), value.get("slack", {}))


def _field_problems(framework: Any, limits: Any, slack: Any) -> list[SetupProblem]:
    problems = []
    if framework not in FRAMEWORKS:
        problems.append(
            SetupProblem(
                "framework",
                f"unknown framework {framework!r}{closest(framework, FRAMEWORKS)}; write one of {', '.join(map(repr, FRAMEWORKS))}",
            )
        )
    if limits is None or isinstance(limits, dict):
        known = [f.name for f in fields(Limits)]
        for k, v in (limits or {}).items():
            if k not in known:
                problems.append(
                    SetupProblem(
                        "limits", f"unknown limits key {k!r}{closest(k, known)}; known: {', '.join(known)}", str(k)
                    )
                )
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                problems.append(SetupProblem("limits", f"limits {k!r} must be a positive number, not {v!r}", k))
    elif not isinstance(limits, Limits):
        problems.append(SetupProblem("limits", f"limits must be Limits(...) or a dict, not {type(limits).__name__}"))
    if not isinstance(slack, dict):
        problems.append(
            SetupProblem("slack", f"slack must be a dict {{metric: (relative, absolute)}}, not {type(slack).__name__}")
        )
        return problems
    for metric, pair in slack.items():
        numbers = (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0 for x in pair)
        )
        if not numbers:
            problems.append(
                SetupProblem(
                    "slack",
                    f"slack for {metric!r} must be a pair (relative, absolute) of numbers >= 0, not {pair!r}",
                    str(metric),
                )
            )
    return problems


@dataclass
class NotebookSpec:
    name: str  # file name, e.g. "mnist_1layer.ipynb"
    solution_path: Path
    release_path: Path
    parts: list[Part]
    framework: str = "numpy"
    limits: Limits = field(default_factory=Limits)
    slack: dict[str, tuple[float, float]] = field(default_factory=dict)  # Setup.slack
    thresholds_path: Path | None = None
    hidden_sets: dict[str, Callable] = field(default_factory=dict)  # name -> make() -> (x, y)
    files: list[Path] = field(default_factory=list)  # FILES: relative to the assignment folder

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".ipynb")

    def thresholds(self) -> dict[str, dict]:
        if self.thresholds_path and self.thresholds_path.exists():
            return json.loads(self.thresholds_path.read_text())["metrics"]
        return {}

    def solution(self) -> nbformat.NotebookNode:
        return nbformat.read(self.solution_path, as_version=4)

    def release(self) -> nbformat.NotebookNode:
        if not self.release_path.exists():
            raise AssignmentError(
                f"{self.release_path} does not exist: run `dlgrade release {self.solution_path.parent}`"
            )
        return nbformat.read(self.release_path, as_version=4)


@dataclass
class Assignment:
    name: str
    path: Path
    notebooks: list[NotebookSpec]

    def notebook(self, name: str) -> NotebookSpec | None:
        return next((n for n in self.notebooks if n.name == name), None)

    @property
    def parts(self) -> list[Part]:
        return [p for n in self.notebooks for p in n.parts]


def exercises_dir_for(solution_dir: Path) -> Path:
    """`solutions/<a>` is released to `exercises/<a>` beside it."""
    return solution_dir.parent.parent / "exercises" / solution_dir.name


def load_checks_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"dlgrade_checks_{path.stem.replace('.', '_')}", path)
    if spec is None or spec.loader is None:
        raise AssignmentError(f"cannot load checks file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look their module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        line = error_line(exc, path)
        where = f"{path}:{line}" if line else str(path)
        raise AssignmentError(f"{where}: {path.name} failed to load: {type(exc).__name__}: {exc}") from exc
    return module


def load_setup(module: Any, path: Path) -> Setup:
    """The checks module's SETUP as a Setup; AssignmentError naming the file and line of the
    first wrong key."""
    value = getattr(module, "SETUP", None)
    problems = setup_problems(value)
    if problems:
        first = problems[0]
        line = CheckSource(path).value_line("SETUP", *[k for k in (first.key, first.item) if k])
        raise AssignmentError(f"{path}:{line}: {first.message}")
    return Setup.from_value(value)


# What a run's work folder already holds (grader.pipeline.execution): no data file may take these names.
WORK_NAMES = frozenset({"submission.ipynb", "executed.ipynb", "record.json", "record.tmp", "artifacts", "home"})
# Files that must never enter a sandbox, even when FILES names them by mistake.
PRIVATE_SUFFIXES = (".ipynb", ".checks.py", ".thresholds.json")


def data_files(names: Any, folder: Path, checks_path: Path) -> list[Path]:
    """A checks file's FILES as paths relative to the assignment folder: regular files inside it,
    reached through no link, never a notebook (the solution), checks or thresholds file, nor a
    name the run's work folder uses. AssignmentError naming the checks file otherwise."""
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise AssignmentError(f"{checks_path}: FILES must be a list of file names relative to {folder.name}/")
    found = []
    for name in names:
        relative = Path(name)
        where = f"{checks_path}: FILES names {name!r}"
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise AssignmentError(f"{where}: write a path inside {folder.name}/, relative to it")
        if relative.parts[0] in WORK_NAMES or name.lower().endswith(PRIVATE_SUFFIXES):
            raise AssignmentError(f"{where}: that name is the grader's own, or a file students must not see")
        for depth in range(1, len(relative.parts) + 1):
            step = folder.joinpath(*relative.parts[:depth])
            if step.is_symlink() or not step.exists():
                raise AssignmentError(f"{where}: it is missing or a link")
        if not (folder / relative).is_file():
            raise AssignmentError(f"{where}: it is not a regular file")
        found.append(relative)
    return found


def load_assignment(path: Path) -> Assignment:
    path = Path(path).resolve()
    if not path.is_dir():
        raise AssignmentError(f"assignment folder {path} does not exist")
    notebooks = []
    release_dir = exercises_dir_for(path)
    for nb_path in sorted(path.glob("*.ipynb")):
        checks_path = nb_path.with_name(nb_path.stem + ".checks.py")
        if not checks_path.exists():
            raise AssignmentError(f"{nb_path.name} has no checks file {checks_path.name}")
        module = load_checks_module(checks_path)
        parts = list(getattr(module, "PARTS", []))
        if not parts:
            raise AssignmentError(f"{checks_path.name} defines no PARTS")
        setup = load_setup(module, checks_path)
        spec = NotebookSpec(
            name=nb_path.name,
            solution_path=nb_path,
            release_path=release_dir / nb_path.name,
            parts=parts,
            framework=setup.framework,
            limits=setup.limits,
            slack=dict(setup.slack),
            thresholds_path=nb_path.with_name(nb_path.stem + ".thresholds.json"),
            hidden_sets=dict(getattr(module, "HIDDEN_SETS", {})),
            files=data_files(getattr(module, "FILES", []), path, checks_path),
        )
        _check_cells_exist(spec, checks_path)
        spec.release()  # an unreleased notebook is the instructor's to fix, before any grading
        notebooks.append(spec)
    if not notebooks:
        raise AssignmentError(f"{path} holds no solution notebook (*.ipynb)")
    ids = [p.id for n in notebooks for p in n.parts]
    if len(ids) != len(set(ids)):
        raise AssignmentError(f"part ids repeat in {path.name}: {ids}")
    return Assignment(name=path.name, path=path, notebooks=notebooks)


def _check_cells_exist(spec: NotebookSpec, checks_path: Path) -> None:
    ids = {nbf.grade_id(c) for c in spec.solution().cells}
    for part in spec.parts:
        for gid in [*part.cells, *part.answers, *([part.after] if part.after else [])]:
            if gid not in ids:
                line = CheckSource(checks_path).part_line(part.id)
                raise AssignmentError(
                    f"{checks_path}:{line}: part {part.id} names cell {gid!r}, which {spec.name} lacks{closest(gid, ids)}"
                )
