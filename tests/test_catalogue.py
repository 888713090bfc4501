"""The one message catalogue, grader/i18n.py: every key in English and Japanese, every key the code
uses is there, no key is unused, and a stored result re-renders in Japanese without the checks.

Uses are found statically, in the AST of grader/**/*.py, of the checks files in solutions/ and in
grader/reporters/templates/*.j2 (see `_uses`). Keys
that code builds from a value ("status." + status) are listed in FAMILIES with where the values
come from; a key built any other way fails the test until its family is listed.
"""

from __future__ import annotations

import ast
import json
import re
import string
import subprocess
import sys
from functools import cache
from pathlib import Path

from grader.i18n import CATALOG, LANGS, t
from grader.results import CheckResult, PartResult, Result, Status

ROOT = Path(__file__).resolve().parents[1]
GRADER = ROOT / "grader"
# grader/ but the catalogue itself, and the checks files instructors write (they pass keys such as
# ok_key="accuracy.ok" to the checks of grader/checks).
SOURCES = sorted(
    [p for p in GRADER.rglob("*.py") if p != GRADER / "i18n.py"] + list((ROOT / "solutions").rglob("*.checks.py"))
)
# What runs in the sandbox cannot import the catalogue (import contract); its `key`s are not messages.
USERS = [p for p in SOURCES if GRADER / "inside" not in p.parents]
TEMPLATES = sorted((ROOT / "grader").glob("*/templates/*.j2"))  # the reports' and the review server's
KEY_SHAPE = re.compile(r"[a-z][a-z0-9_]*(?:[.\-][a-z0-9_]+)+\Z")  # "nb.locked-changed", "truth_table.ok"
FILE_NAME = re.compile(r".*\.(?:html|css|json|j2|md|csv|xml|txt|py)\Z")  # "report.html" is a file, not a key
CODE_SHAPE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+\Z")  # a legacy finding code, "keras-optimizer-lr"

# Calls whose argument at this position is a message key.
KEY_CALLS = {"t": 0, "_result": 2, "Refused": 0}
# Variables and keyword arguments that hold a message key: `key`, `message_key`.
KEY_NAMES = re.compile(r"(?:\w+_)?key\Z")


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _strings(path: Path) -> set[str]:
    return {n.value for n in ast.walk(_tree(path)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _callee(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")


def _call_args(path: Path, callee: str, position: int) -> set[str]:
    """String literals passed at `position` to calls of `callee` in `path` (both of `a if c else b`)."""
    return {
        text
        for c in ast.walk(_tree(path))
        if isinstance(c, ast.Call) and _callee(c) == callee and len(c.args) > position
        for kind, text in _key_values(c.args[position])
        if kind == "key"
    }


# Keys built at run time: prefix -> (why, the values that complete it, from the code that makes them).
FAMILIES = {
    "status.": (
        "reporters show t('status.' + status.value) for a check's or part's Status",
        lambda: {s.value for s in Status},
    ),
    "legacy.": (
        "an old-API finding's message is 'legacy.' + its code; the codes are the hyphenated "
        "literals of grader/checks/legacy.py but the check kind 'legacy-api' and 'utf-8'",
        lambda: {s for s in _strings(GRADER / "checks/legacy.py") if CODE_SHAPE.match(s)} - {"legacy-api", "utf-8"},
    ),
    "output.": (
        "run_output says why a file of a run was not kept: 'output.' + the reason copyback "
        "recorded with drop() or stop(), '-' read as '_'",
        lambda: {
            r.replace("-", "_") for f in ("drop", "stop") for r in _call_args(GRADER / "intake/copyback.py", f, 1)
        },
    ),
    "nb.": (
        "a notebook finding's message is 'nb.' + the code validate gives Finding()",
        lambda: _call_args(GRADER / "notebook/validate.py", "Finding", 0),
    ),
}


def _key_values(node: ast.AST | None):
    """("key", text) for a literal key, ("built", prefix) for a key built from a value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if node.value:  # "" stands for no message (quiz's unsure_key)
            yield "key", node.value
    elif isinstance(node, ast.IfExp):
        yield from _key_values(node.body)
        yield from _key_values(node.orelse)
    elif isinstance(node, ast.JoinedStr):
        first = node.values[0] if node.values else None
        yield "built", first.value if isinstance(first, ast.Constant) else ""
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = node.left
        yield "built", left.value if isinstance(left, ast.Constant) and isinstance(left.value, str) else ""


@cache
def _uses() -> list[tuple[str, str, str]]:
    """(where, "key" or "built", text) for every place that names a message key."""
    found = []
    namespaces = {k.split(".")[0] for k in CATALOG if "." in k}
    for path in USERS:
        where = str(path.relative_to(ROOT))
        for node in ast.walk(_tree(path)):
            nodes: list[ast.AST] = []
            if isinstance(node, ast.Call):
                position = KEY_CALLS.get(_callee(node))
                if position is not None and len(node.args) > position:
                    nodes.append(node.args[position])
                nodes += [k.value for k in node.keywords if k.arg and KEY_NAMES.match(k.arg)]
                if _callee(node) == "_result":
                    nodes += [k.value for k in node.keywords if k.arg == "key"]
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    pairs = (
                        zip(target.elts, node.value.elts)
                        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                        else [(target, node.value)]
                    )  # status, key = ..., "k"
                    nodes += [v for x, v in pairs if isinstance(x, ast.Name) and KEY_NAMES.match(x.id)]
            elif (
                isinstance(node, ast.AugAssign)
                and isinstance(node.target, ast.Name)
                and KEY_NAMES.match(node.target.id)
            ):
                found.append((f"{where}:{node.lineno}", "built", ""))  # key += ".suffix": write the whole key
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and KEY_NAMES.match(node.target.id)
            ):
                nodes.append(node.value)  # a dataclass field's default: ok_key: str = "metric.ok"
            elif (
                isinstance(node, (ast.Set, ast.Tuple, ast.List))
                and len(node.elts) > 1
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
                and 2 * sum(e.value in CATALOG for e in node.elts) > len(node.elts)
            ):
                nodes += node.elts  # a collection of keys, mostly known ones: dashboard.CELL_LEVEL
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # "intake.symlink" anywhere, e.g. in a returned tuple: a key of a catalogue namespace
                if (
                    KEY_SHAPE.match(node.value)
                    and node.value.split(".")[0] in namespaces
                    and "." in node.value
                    and not FILE_NAME.match(node.value)
                ):
                    nodes.append(node)
            for value in nodes:
                found += [(f"{where}:{value.lineno}", kind, text) for kind, text in _key_values(value)]
    for path in TEMPLATES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r"""\bt\(\s*(["'])(.*?)\1\s*(.)""", line):
                found.append((f"{path.relative_to(ROOT)}:{n}", "built" if m.group(3) in "~+" else "key", m.group(2)))
    return found


def _missing(catalog: dict) -> list[str]:
    """Keys the code uses that `catalog` lacks, and keys built in a way no family lists."""
    problems = []
    for where, kind, text in _uses():
        if kind == "key" and text not in catalog:
            problems.append(f"{where}: {text!r} is not in the catalogue")
        elif kind == "built" and text not in FAMILIES:
            problems.append(f"{where}: a key is built from {text!r} + a value; list its family in FAMILIES")
    for prefix, (_, members) in FAMILIES.items():
        problems += [
            f"{prefix}{m} ({prefix}* family) is not in the catalogue"
            for m in sorted(members())
            if prefix + m not in catalog
        ]
    return problems


def _unused(catalog: dict) -> list[str]:
    """Keys of `catalog` that no source or template names, directly or through a family."""
    return sorted(set(catalog) - _named())


@cache
def _named() -> frozenset[str]:
    named = set().union(*(_strings(p) for p in SOURCES))
    named |= {text for _, kind, text in _uses() if kind == "key"}  # the templates' keys
    named |= {prefix + m for prefix, (_, members) in FAMILIES.items() for m in members()}
    return frozenset(named)


def _fields(text: str, lang: str) -> set[str]:
    """The placeholders of `text`; `{concept_ja}` in Japanese is the `{concept_en}` of English."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(text):
        if field is not None:
            names.add(re.split(r"[.\[]", field)[0].removesuffix(f"_{lang}"))
    return names


# --- (a) both languages ---------------------------------------------------------------------------


def test_every_key_has_english_and_japanese_with_the_same_placeholders():
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    problems = []
    for key, entry in CATALOG.items():
        if set(entry) != set(LANGS) or not all(isinstance(v, str) and v.strip() for v in entry.values()):
            problems.append(f"{key}: needs non-empty {LANGS}, has {sorted(entry)}")
            continue
        en, ja = (_fields(entry[lang], lang) for lang in LANGS)
        if en != ja or "" in en:
            problems.append(f"{key}: placeholders differ, en {sorted(en)} ja {sorted(ja)}")
        if japanese.search(entry["en"]):
            problems.append(f"{key}: the English text has Japanese in it")
    assert problems == []


def test_no_module_adds_to_the_catalogue():
    """One source: nothing outside grader/i18n.py writes into CATALOG."""
    writers = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Name) and node.id == "CATALOG" and isinstance(node.ctx, ast.Store):
                writers.append(f"{path}:{node.lineno}")
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "CATALOG"
                and node.attr in ("setdefault", "update", "__setitem__", "pop")
            ):
                writers.append(f"{path}:{node.lineno}")
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "CATALOG"
                and isinstance(node.ctx, (ast.Store, ast.Del))
            ):
                writers.append(f"{path}:{node.lineno}")
    assert writers == []


# --- (b) every key used exists, (c) no key is unused ----------------------------------------------


def test_every_key_the_code_uses_is_in_the_catalogue():
    assert _missing(CATALOG) == []


def test_no_key_is_unused():
    assert _unused(CATALOG) == []


def test_the_checks_see_a_missing_or_an_unused_key():
    """The two checks above are not vacuous: they see one key taken out or one key too many, of
    each way a key is used (t() in code, Check._result, a template, a family)."""
    for key in (
        "truth_table.ok",
        "formula.sign",
        "quiz.negated",
        "report.legacy_intro",
        "status.grader-error",
        "legacy.keras-optimizer-lr",
        "output.disk_full",
        "nb.locked-changed",
        "intake.symlink",
        "stopped.dead",
        "cell_raised.locked",
    ):
        assert any(
            repr(key) in p or p.startswith(key + " ") for p in _missing({k: v for k, v in CATALOG.items() if k != key})
        ), key
    extra = {"en": "x", "ja": "x"}
    for key in ("report.never_shown", "legacy.no-such-code", "status.unknown", "zz_never_used"):
        assert _unused({**CATALOG, key: extra}) == [key]


def test_the_families_are_complete_both_ways():
    """Each family's values all have keys (checked above), and each family key is one of its values:
    a catalogue key under a family prefix is used only through the family or a literal."""
    assert FAMILIES["legacy."][1]() == {k.removeprefix("legacy.") for k in CATALOG if k.startswith("legacy.")}
    assert {f"status.{s.value}" for s in Status} == {k for k in CATALOG if k.startswith("status.")}


# --- re-rendering in another language, without grader.checks --------------------------------------


def _filled(key: str) -> dict:
    """Arguments for every placeholder of `key`, distinct per key so no text matches by chance."""
    return {
        name: f"V{i}"
        for i, name in enumerate(sorted({f for lang in LANGS for f in _fields(CATALOG[key][lang], "") if f}))
    }


def _stored_result(tmp_path: Path) -> tuple[Path, Result]:
    """A result.json whose checks carry every catalogue message, rendered in English when graded,
    plus a real old-API finding and real quiz results."""
    import numpy as np

    from grader.checks import CheckContext, TruthTable, legacy, quiz
    from grader.pipeline.hidden import HiddenData
    from grader.reporters import json_report

    checks = [
        CheckResult(
            key, Status.FAIL, 0.0, 1.0, message=t(key, "en", **_filled(key)), message_key=key, message_args=_filled(key)
        )
        for key in CATALOG
    ]
    checks += legacy.findings_to_checks(
        legacy.scan_source("from keras.optimizers import SGD\nopt = SGD(lr=0.1)\nmodel.fit(x, y, nb_epoch=3)")
    )
    choice = quiz.Choice("q", {"a": "one", "b": "two", "c": "three"}, {"a", "c"})
    checks += [quiz.score_choice(answer, choice, lang="en") for answer in ("b", "a, c", "zzz", "")]
    rubric = quiz.Rubric("q2", [quiz.Concept("skip", 1.0, ["skip connection"], label={"en": "skip", "ja": "スキップ"})])
    checks += quiz.score_free_text("", rubric, lang="en")
    hidden = HiddenData()
    hidden.register("xor", lambda: (np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32"), np.array([0, 1, 1, 0])))
    ctx = CheckContext(
        part_id="p1",
        values={},
        thresholds={},
        hidden=hidden,
        predictions={"xor": np.array([[0.1], [0.9], [0.8], [0.7]])},
    )  # the last row wrong
    checks.append(TruthTable("XOR", 1, evaluation="xor", dataset="xor", model="m")(ctx))
    result = Result("student", "demo", [PartResult.from_checks("p1", "Part one", checks)])
    return json_report.write_submission(result, tmp_path / "student"), result


def test_a_stored_result_re_renders_in_japanese_without_importing_the_checks(tmp_path):
    """`dlgrade report --lang ja` in a process that never imported grader.checks: every message,
    truth-table, formula, quiz and old-API ones included, comes out in Japanese."""
    from markupsafe import escape

    path, graded = _stored_result(tmp_path)
    script = """if True:
        import json, sys
        from grader.cli.main import main
        from grader.reporters import json_report
        from grader.reporters.view import localized
        rc = main(["report", sys.argv[1], "--lang", "ja", "--format", "html"])
        shown = localized(json_report.read(sys.argv[2]), "ja")
        print(json.dumps({"rc": rc, "messages": [[c.message_key, c.message] for p in shown.parts for c in p.checks],
                          "hints": [c.hint for p in shown.parts for c in p.checks if c.message_key.startswith("quiz.")],
                          "imported": sorted(m for m in sys.modules if m.startswith("grader.checks"))}))
    """
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["rc"] == 0
    assert out["imported"] == []  # the test proves nothing if the checks were loaded after all
    as_graded = [c.message for p in graded.parts for c in p.checks]
    assert len(out["messages"]) == len(as_graded)
    page = (path.parent / "report.html").read_text(encoding="utf-8")
    untranslated = []
    for (key, message), english in zip(out["messages"], as_graded):
        if CATALOG[key]["en"] == CATALOG[key]["ja"]:
            continue  # the same in both ("ci.summary_title"): nothing to translate
        if message == english or not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", message):
            untranslated.append((key, message))
        if str(escape(message)) not in page or (len(english) > 20 and str(escape(english)) in page):
            untranslated.append((key, "report.html"))
    assert untranslated == []
    # the quiz's hints ("Explain ...", "Several options can be correct") re-render with the messages
    assert len([h for h in out["hints"] if h]) == 2
    assert all(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", h) for h in out["hints"] if h), out["hints"]
    (xor,) = [m for k, m in out["messages"] if k == "truth_table.wrong"][-1:]
    assert xor.endswith("[1.0, 1.0] -> 1 (正解は 0)")  # the wrong rows too: no English word left in them
    keys = {k for k, _ in out["messages"]}
    assert {
        "truth_table.wrong.retrained",
        "formula.known",
        "quiz.found",
        "legacy.keras-optimizer-lr",
        "legacy.keras-fit-nb-epoch",
        "quiz.choice_wrong",
    } <= keys


def test_re_rendering_reads_the_stored_arguments_as_plain_text():
    from grader.reporters.view import message

    check = CheckResult(
        "c",
        Status.ERROR,
        0.0,
        1.0,
        message="x",
        message_key="cell_raised",
        message_args={"cell": "q1", "ename": "\x1b[31mValueError\x1b[0m", "evalue": "bad\x07"},
    )
    assert message(check, "ja") == t("cell_raised", "ja", cell="q1", ename="ValueError", evalue="bad")
    assert "\x1b" not in message(check, "en")
