"""Exports written as functions in a checks file: what is shipped to the student's kernel, what is
refused when the checks file loads, and how the export cell calls them next to the student's code."""

import builtins
import json

import nbformat
import numpy as np
import pytest
from fakes import FakeRunner, Scenario
from toy import make_toy

from grader.assignment.exports import ExportFunction, export_function, normalise
from grader.assignment.spec import Part, Retrain, load_assignment
from grader.errors import AssignmentError
from grader.inside import kernel
from grader.pipeline.execution import export_source, retrain_source
from grader.pipeline.grading import GradeOptions, grade

PROBE = [[0.25, -1.5], [7.0, 0.125]]


def W_shape(W):
    return kernel.shape(W)  # `kernel` here is the test's import; in the kernel, the export cell's own


def rows(W):
    return len(W)


def fed(x, *, probe=PROBE, scale=2):
    import numpy as np

    return (np.asarray(probe) * scale + x).tolist()


def halves(W):
    return divmod(len(W), 2)


def raises(W):
    return 1 / 0


def uses_checks_file_global(W):
    return np.asarray(W)  # np is the checks file's import: not in the student's kernel


def typo(W):
    return kernal.shape(W)  # noqa: F821


def misspelt_helper(W):
    return kernel.shpe(W)


def positional_only(W, /):
    return W


def star(*args):
    return args


def generator(W):
    yield W


def default_not_data(W, f=np.zeros(2)):
    return W


def decorated_helper(fn):
    return fn


@decorated_helper
def decorated(W):
    return W


def make_closure():
    k = 3

    def inner(W):
        return W * k

    return inner


def part(**kw):
    return Part(id="p", title="p", cells=["c"], checks=[], **kw)


# --- what is shipped --------------------------------------------------------------------------------


def test_a_function_is_shipped_as_its_own_source_with_its_parameters_as_the_students_variables():
    fn = export_function(W_shape, "export W_shape")
    assert fn.name == "W_shape" and fn.variables == ("W",) and fn.constants == {}
    assert fn.source.startswith("def W_shape(W):") and "kernel.shape(W)" in fn.source
    assert fn.where.startswith("test_export_functions.py, line ")
    compile(fn.source, "<export>", "exec")


def test_defaults_are_constants_passed_as_data_not_the_students_variables():
    fn = export_function(fed, "export fed")
    assert fn.variables == ("x",) and fn.constants == {"probe": PROBE, "scale": 2}
    assert "PROBE" not in fn.source  # the default is passed by the cell, never looked up


def test_a_list_is_named_by_the_functions_and_a_dict_by_its_keys_with_strings_kept():
    assert list(part(exports=[W_shape, rows]).exports) == ["W_shape", "rows"]
    exports = part(exports={"n": rows, "W": "sess.run(W)"}).exports
    assert isinstance(exports["n"], ExportFunction) and exports["W"] == "sess.run(W)"
    assert isinstance(part(models={"m": rows}).models["m"], ExportFunction)
    assert isinstance(Retrain(until=rows).until, ExportFunction)
    with pytest.raises(AssignmentError, match="two exports are named 'rows'"):
        normalise([rows, rows], "exports", "p")
    with pytest.raises(AssignmentError, match="functions only"):
        normalise(["W"], "exports", "p")


@pytest.mark.parametrize(
    "fn, why",
    [
        (lambda W: W, "lambda"),
        (make_closure(), "inside another function"),
        (star, r"\*args"),
        (positional_only, "positional-only"),
        (generator, "generator"),
        (default_not_data, "not plain data"),
        (decorated, "decorator"),
        (uses_checks_file_global, "uses np"),
        (typo, "uses kernal"),
        (misspelt_helper, "kernel has no shpe"),
        (42, "neither an expression string nor a function"),
    ],
)
def test_what_cannot_run_alone_in_the_students_kernel_is_refused_with_file_and_line(fn, why):
    with pytest.raises(AssignmentError, match=why) as err:
        part(exports={"e": fn})
    if callable(fn):
        assert f"test_export_functions.py, line {fn.__code__.co_firstlineno}" in str(err.value)
    assert "part p" in str(err.value)


# --- the export cell, next to the student's code ----------------------------------------------------


@pytest.fixture
def student(tmp_path, monkeypatch):
    """A student's namespace, into which export cells run as they would in the kernel."""
    namespace: dict = {}
    monkeypatch.setattr(kernel, "_namespace", lambda: (namespace, str))
    kernel.start(seed=0, framework="numpy", outdir=str(tmp_path))

    def run(p: Part) -> dict:
        exec(compile(export_source(p), "<export cell>", "exec"), namespace)
        return json.loads((tmp_path / p.id / "_export.json").read_text())

    return namespace, run, tmp_path


def test_the_cell_calls_each_function_with_the_students_variable_and_saves_data(student):
    namespace, run, out = student
    namespace["W"] = np.zeros((3, 4))
    namespace["x"] = 1.0
    result = run(part(exports=[W_shape, rows, fed]))
    assert result["errors"] == {}
    assert json.loads((out / "p/W_shape.json").read_text()) == [3, 4]
    assert json.loads((out / "p/rows.json").read_text()) == 3
    assert json.loads((out / "p/fed.json").read_text()) == [[1.5, -2.0], [15.0, 1.25]]


def test_a_variable_the_notebook_lacks_is_its_own_error_apart_from_the_function_raising(student):
    namespace, run, _ = student
    result = run(part(exports=[W_shape, raises]))
    assert result["errors"]["W_shape"] == {"ename": "MissingVariable", "evalue": "W"}
    assert result["errors"]["raises"]["ename"] == "MissingVariable"
    namespace["W"] = 1
    assert run(part(exports=[raises]))["errors"]["raises"]["ename"] == "ZeroDivisionError"


def test_students_names_do_not_reach_the_function_besides_its_arguments(student):
    namespace, run, out = student
    namespace.update(W=np.zeros(3), kernel="rebound", len=lambda _: 99, divmod=lambda *_: (0, 0))
    namespace["shape"] = lambda _: [0]
    real = builtins.divmod
    builtins.divmod = lambda *_: (99, 99)  # a builtin rebound after the seed cell (not one pytest needs now)
    try:
        result = run(part(exports=[W_shape, rows, halves]))
    finally:
        builtins.divmod = real
    assert result["errors"] == {}
    assert json.loads((out / "p/rows.json").read_text()) == 3
    assert json.loads((out / "p/halves.json").read_text()) == [1, 1]


def test_the_grader_helpers_are_the_ones_taken_before_the_students_code(student, monkeypatch):
    namespace, run, out = student
    namespace["W"] = np.zeros((2, 5))
    monkeypatch.setattr(kernel, "shape", lambda _: [784, 10])  # a student patching the module later
    run(part(exports=[W_shape]))
    assert json.loads((out / "p/W_shape.json").read_text()) == [2, 5]


def test_string_exports_still_run_in_the_students_namespace(student):
    namespace, run, out = student
    namespace["W"] = np.ones((2, 2))
    run(part(exports={"W": "W * 2", "W_shape": "_dlgrade_kernel.shape(W)"}))
    assert np.load(out / "p/W.npy").tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert json.loads((out / "p/W_shape.json").read_text()) == [2, 2]


def test_models_and_until_compile_in_the_retrain_cell():
    p = part(models={"m": rows}, retrain=Retrain(until=rows))
    source = retrain_source(p, ["x = 1"], kernel_limits())
    compile(source, "<retrain>", "exec")
    assert source.count("function_export(") == 2


def kernel_limits():
    from grader.sandbox.base import Limits

    return Limits()


# --- what the student reads -------------------------------------------------------------------------


def test_the_report_says_which_variable_the_notebook_does_not_define(tmp_path):
    make_toy(tmp_path)
    assignment = load_assignment(tmp_path / "solutions/toy")
    nb = nbformat.read(tmp_path / "exercises/toy/toy.ipynb", as_version=4)
    path = tmp_path / "sub.ipynb"
    nbformat.write(nb, path)
    scenario = Scenario(export_errors={"toy_shapes": {"W_shape": ("MissingVariable", "W")}})
    result = grade(path, assignment, FakeRunner(scenario), tmp_path / "out", GradeOptions())
    check = next(c for p in result.parts if p.id == "toy_shapes" for c in p.checks if c.name == "W")
    assert check.message_key == "export_undefined" and "does not define W" in check.message


# --- in a real kernel, in the sandbox ---------------------------------------------------------------

REAL_CHECKS = """
from grader.assignment import Limits, Part, Setup
from grader.checks import Equals
from grader.inside import kernel

SETUP = Setup(framework="numpy", limits=Limits(cell_timeout_s=60, notebook_timeout_s=120))


def W_shape(W):
    return kernel.shape(W)


def n_rows(W):
    return len(W)


def b_value(b):
    return b


PARTS = [Part(id="p", title="p", cells=["vars"], exports=[W_shape, n_rows, b_value],
              checks=[Equals("W_shape", 1, expected=[3, 2]), Equals("n_rows", 1, expected=3),
                      Equals("b_value", 1, expected=1)])]
"""


@pytest.mark.slow
def test_in_a_real_kernel_student_names_do_not_reach_the_export_and_a_missing_variable_is_named(tmp_path):
    from toy import _cell

    from grader.notebook.release import release_assignment
    from grader.pipeline.execution import SandboxedRunner
    from grader.sandbox.bwrap import make_sandbox

    sol = tmp_path / "solutions/real"
    sol.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("code", "import numpy as np", "setup", locked=True),
            _cell("code", "### BEGIN SOLUTION\nW = np.zeros((3, 2))\nb = 1\n### END SOLUTION", "vars", solution=True),
        ]
    )
    nbformat.write(nb, sol / "real.ipynb")
    (sol / "real.checks.py").write_text(REAL_CHECKS)
    release_assignment(sol, tmp_path / "exercises")
    assignment = load_assignment(sol)
    hostile = (
        "import grader.inside.kernel as k\n"
        "W = np.zeros((3, 2))\n"
        "kernel = len = np = None\n"
        "k.shape = lambda _: [784, 10]\n"  # patching the helper module
    )
    nb.cells[1].source = hostile
    path = tmp_path / "sub/real.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    result = grade(path, assignment, SandboxedRunner(make_sandbox(False)), tmp_path / "out", GradeOptions())
    checks = {c.name: c for p in result.parts for c in p.checks}
    assert checks["W_shape"].score == 1 and checks["n_rows"].score == 1, [c.message for c in checks.values()]
    assert checks["b_value"].message_key == "export_undefined" and "does not define b" in checks["b_value"].message
