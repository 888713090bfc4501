"""`dlgrade lint`: each kind of mistake in a checks file is reported with its file and line (and
what to write instead), the course lints clean, a wrong SETUP is an AssignmentError naming file
and line (never a traceback), and release / calibrate / grade stop on errors."""

import time
from pathlib import Path

import pytest
from toy import CHECKS, make_toy

from grader.assignment import Limits, Setup
from grader.assignment.lint import errors, lint_assignment
from grader.assignment.spec import load_assignment
from grader.cli import main as cli
from grader.errors import AssignmentError

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


@pytest.fixture
def toy(tmp_path):
    return make_toy(tmp_path)


def write(sol: Path, *replacements: tuple[str, str], prefix: str = "") -> Path:
    """The toy's checks file with each (old, new) replaced (old must be there) and `prefix` on top."""
    text = CHECKS
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = sol / "toy.checks.py"
    path.write_text(prefix + text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def only(problems, severity="error"):
    chosen = [p for p in problems if p.severity == severity]
    assert len(chosen) == 1, [str(p) for p in problems]
    return chosen[0]


def test_the_toy_lints_clean(toy):
    assert lint_assignment(toy) == []


def test_an_export_that_does_not_compile(toy):
    path = write(toy, ('"list(W.shape)"', '"list(W.shape"'))
    p = only(lint_assignment(toy))
    assert (p.file, p.line) == (path, line_of(path, '"W_shape"'))
    assert "exports['W_shape'] of part 'toy_shapes' does not compile" in p.message


def test_an_export_that_compiles_alone_but_not_in_the_export_cell(toy):
    path = write(toy, ('"list(W.shape)"', '"list(W.shape)  # the shape"'))
    assert "does not compile" in only(lint_assignment(toy)).message
    assert only(lint_assignment(toy)).line == line_of(path, '"W_shape"')


def test_a_typo_in_an_export_expression_names_what_the_notebook_defines(toy):
    path = write(toy, ('"steps": "steps"', '"steps": "stesp"'))
    p = only(lint_assignment(toy))
    assert p.line == line_of(path, '"stesp"')
    assert (
        "reads 'stesp' (name in 'stesp'), which the solution notebook never defines (did you mean 'steps'?)"
        in p.message
    )


def test_names_a_check_needs_but_nothing_exports(toy):
    path = write(toy, ('"steps": "steps"', '"step": "steps"'))
    p = only(lint_assignment(toy))
    assert p.line == line_of(path, 'Equals("steps"')
    assert "check 'steps' of part 'toy_shapes' needs 'steps'" in p.message and "did you mean 'step'?" in p.message


def test_a_bad_limits_key_in_a_dict_setup(toy):
    path = write(toy, prefix='SETUP = {\n    "framework": "numpy",\n    "limits": {"cell_timeout": 30},\n}\n')
    p = only(lint_assignment(toy))
    assert (p.file, p.line) == (path, 3)
    assert "unknown limits key 'cell_timeout' (did you mean 'cell_timeout_s'?)" in p.message
    with pytest.raises(AssignmentError, match=rf"^{path}:3: unknown limits key 'cell_timeout'"):
        load_assignment(toy)


def test_a_bad_limits_key_in_a_typed_setup(toy):
    path = write(
        toy,
        prefix="from grader.assignment import Setup, Limits\n\n"
        'SETUP = Setup(framework="numpy",\n              limits=Limits(cell_timeout=30))\n',
    )
    p = only(lint_assignment(toy))
    assert (p.file, p.line) == (path, 4)
    assert "does not load" in p.message and "(did you mean 'cell_timeout_s'?)" in p.message
    with pytest.raises(AssignmentError, match=rf"^{path}:4: "):
        load_assignment(toy)


def test_a_misspelt_framework(toy):
    path = write(toy, prefix='SETUP = {"framework": "kears"}\n')
    p = only(lint_assignment(toy))
    assert (p.file, p.line) == (path, 1)
    assert "unknown framework 'kears' (did you mean 'keras'?)" in p.message
    with pytest.raises(AssignmentError, match="did you mean 'keras'"):
        load_assignment(toy)
    path = write(toy, prefix='from grader.assignment import Setup\n\nSETUP = Setup(framework="tf2")\n')
    p = only(lint_assignment(toy))
    assert p.line == 3 and "unknown framework 'tf2' (did you mean 'tf1'?)" in p.message


def test_unknown_setup_keys_and_bad_slack(toy):
    path = write(toy, prefix='SETUP = {\n    "framwork": "numpy",\n    "slack": {"toy_acc": 0.1},\n}\n')
    problems = errors(lint_assignment(toy))
    assert [(p.line, p.message.split(" (")[0].split(";")[0]) for p in problems] == [
        (2, "unknown SETUP key 'framwork'"),
        (3, "slack for 'toy_acc' must be a pair"),
    ]
    assert "did you mean 'framework'?" in problems[0].message
    assert line_of(path, "framwork") == 2


def test_typed_setup_is_what_the_dict_gives(toy):
    write(
        toy,
        prefix="from grader.assignment import Setup, Limits\n\n"
        'SETUP = Setup(framework="keras", limits=Limits(cell_timeout_s=30), slack={"toy_acc": (0, 0.05)})\n',
    )
    assert lint_assignment(toy) == []
    spec = load_assignment(toy).notebooks[0]
    assert (spec.framework, spec.limits.cell_timeout_s, spec.slack) == ("keras", 30, {"toy_acc": (0.0, 0.05)})
    assert Setup.from_value({"framework": "keras", "limits": {"cell_timeout_s": 30}}).limits == Limits(
        cell_timeout_s=30
    )
    with pytest.raises(AssignmentError, match="unknown limits key"):
        Setup(limits={"cell_timout_s": 3})


def test_a_checks_file_that_raises_is_a_problem_at_its_line(toy):
    path = write(toy, ("MUTANTS = {", "X = {}['missing']\nMUTANTS = {"))
    p = only(lint_assignment(toy))
    assert (p.file, p.line) == (path, line_of(path, "X = {}"))
    assert "does not load: KeyError" in p.message
    write(toy, ("MUTANTS = {", "MUTANTS = {{"))  # a syntax error
    assert "does not load: SyntaxError" in only(lint_assignment(toy)).message


def test_cells_curves_evaluations_mutants_and_ids(toy):
    path = write(
        toy,
        (
            'cells=["toy_vars"],\n         exports={"W_shape"',
            'cells=["toy_var"],\n         curves={"loss": "losses"},\n'
            '         evaluate={"e": Evaluate(dataset="mnsit", model="net", function="os:system")},\n'
            '         exports={"W_shape"',
        ),
        ('id="toy_score"', 'id="toy_shapes"'),
        ('"wrong_shape": {"toy_vars"', '"wrong_shape": {"toy_varz"'),
        ("import Part", "import Evaluate, Part"),
    )
    got = {(p.line, p.message.split(",")[0].split(":")[0]) for p in errors(lint_assignment(toy))}
    part = line_of(path, 'id="toy_shapes"')
    evaluate = line_of(path, "evaluate=")
    assert got == {
        (line_of(path, 'cells=["toy_var"]'), "part 'toy_shapes' cells names cell 'toy_var'"),
        (line_of(path, "curves="), "curve 'loss' of part 'toy_shapes' shows export 'losses'"),
        (evaluate, "evaluation 'e' of part 'toy_shapes' reads hidden set 'mnsit'"),
        (
            evaluate,
            "evaluation 'e' of part 'toy_shapes' needs exactly one of model= (a name in models) and function= (\"grader.module",
        ),
        (evaluate, "evaluation 'e' of part 'toy_shapes' predicts with model 'net'"),
        (evaluate, "evaluation 'e' of part 'toy_shapes' calls 'os"),
        (
            line_of(path, 'id="toy_shapes", title={"en": "Score"'),
            "part id 'toy_shapes' is used twice (first in toy.checks.py)",
        ),
        (line_of(path, '"wrong_shape"'), "mutant 'wrong_shape' replaces cell 'toy_varz'"),
    }, got
    assert part == line_of(path, "Part(")


def test_load_assignment_names_file_and_line_of_a_missing_cell(toy):
    path = write(toy, ('cells=["toy_vars"], after="toy_train"', 'cells=["toy_varz"], after="toy_train"'))
    line = line_of(path, 'id="toy_score"')
    with pytest.raises(
        AssignmentError, match=rf"^{path}:{line}: part toy_score names cell 'toy_varz'.*did you mean 'toy_vars'"
    ):
        load_assignment(toy)


def test_exports_as_functions_are_accepted_and_their_names_still_checked(toy):
    prefix = "def steps(steps):\n    return list(steps)\n\n"
    write(toy, ('"steps": "steps"', '"steps": steps'), prefix=prefix)
    assert lint_assignment(toy) == []
    write(toy, ('"steps": "steps"', '"step": steps'), prefix=prefix)
    assert "needs 'steps'" in only(lint_assignment(toy)).message
    path = write(toy, ('"steps": "steps"', '"steps": steps'), prefix="def steps(stpes):\n    return stpes\n\n")
    p = only(lint_assignment(toy))
    assert p.line == line_of(path, "def steps(")
    assert (
        "reads 'stpes' (parameter of steps()), which the solution notebook never defines (did you mean 'steps'?)"
        in p.message
    )
    # the list form, names from the defs; a retrain `until` written as a function is checked alike
    path = write(
        toy,
        ('exports={"acc": "acc"}', "exports=[acc], retrain=Retrain(until=done)"),
        ("import Part", "import Part, Retrain"),
        prefix="def acc(acc):\n    return acc\n\n\ndef done(acc, stpes):\n    return acc > 0.5\n\n",
    )
    assert lint_assignment(toy)[0].line == line_of(path, "def done(")
    p = only(lint_assignment(toy))
    assert p.line == line_of(path, "def done(") and "retrain until of part 'toy_score' reads 'stpes'" in p.message


def test_thresholds_out_of_step_with_the_checks_are_warnings(toy):
    path = write(toy, ('metric="toy_acc"', 'metric="toy_accuracy"'))
    problems = lint_assignment(toy)
    assert errors(problems) == []
    assert sorted((p.file.name, p.message.split(":")[0]) for p in problems) == [
        ("toy.checks.py", "metric 'toy_accuracy' has no threshold in toy.thresholds.json"),
        (
            "toy.thresholds.json",
            "threshold 'toy_acc' is for no Calibrated check in toy.checks.py (did you mean 'toy_accuracy'?)",
        ),
    ]
    assert next(p for p in problems if p.file == path).line == line_of(path, "Calibrated(")


@pytest.mark.parametrize("assignment", sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()))
def test_the_course_lints_clean_and_fast(assignment):
    start = time.perf_counter()
    problems = lint_assignment(SOLUTIONS / assignment)
    assert [str(p) for p in problems] == []
    assert time.perf_counter() - start < 1.0


def test_the_course_has_13_linted_notebooks():
    assert len([p for p in SOLUTIONS.glob("*/*.ipynb") if p.with_name(p.stem + ".checks.py").exists()]) == 13


def test_cli_lint_exit_codes(toy, capsys):
    assert cli.main(["lint", str(toy)]) == 0
    assert "no errors" in capsys.readouterr().out
    path = write(toy, ('"list(W.shape)"', '"list(W.shape"'))
    assert cli.main(["lint", str(toy), str(SOLUTIONS / "rnn")]) == 1
    out, line = capsys.readouterr().out, line_of(path, '"W_shape"')
    assert f"{path}:{line}: exports['W_shape'] of part 'toy_shapes' does not compile" in out
    write(toy, ('metric="toy_acc"', 'metric="toy_accuracy"'))  # warnings only
    assert cli.main(["lint", str(toy)]) == 0
    assert "warning: metric 'toy_accuracy' has no threshold" in capsys.readouterr().out


def test_release_calibrate_and_grade_stop_on_lint_errors(toy, tmp_path, capsys):
    path = write(toy, prefix='SETUP = {"framework": "kears"}\n')
    out = tmp_path / "out"
    for argv in (
        ["release", str(toy), "--out", str(tmp_path / "ex2")],
        ["calibrate", str(toy)],
        ["grade", str(toy / "toy.ipynb"), "--assignment", str(toy), "--out", str(out)],
    ):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{path}:1: unknown framework 'kears'" in err and "fix them first" in err
    assert not (tmp_path / "ex2").exists() and not out.exists()


def test_the_line_of_an_error_is_found_when_the_path_is_relative(tmp_path, monkeypatch):
    from grader.assignment.source import error_line

    checks = tmp_path / "x.checks.py"
    checks.write_text("A = 1\n\nraise ValueError('here')\n")
    try:
        exec(compile(checks.read_text(), str(checks), "exec"), {})
    except ValueError as exc:
        monkeypatch.chdir(tmp_path)
        assert error_line(exc, Path("x.checks.py")) == 3
        assert error_line(exc, checks) == 3
