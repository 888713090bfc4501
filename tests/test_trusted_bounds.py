"""The trusted process's work on what a student sized is linear or capped, checks types and sizes
before it works, stays within a per-submission budget, and holds no lock others wait on.

Each test feeds one small adversarial input of a class of fault and asserts on what was done
(calls counted, bytes traced, the verdict), or that the work ends under a generous timeout.
"""

from __future__ import annotations

import ast
import io
import json
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fakes import Scenario
from test_grading_unit import run, submit, toy  # noqa: F401  (fixture)

from grader.assignment.spec import NotebookSpec, Part
from grader.checks import (
    CheckContext,
    Custom,
    DenseChainShapes,
    Equals,
    ForwardMatches,
    HiddenSizes,
    PredictionError,
    Shape,
    dense_chain_accuracy,
    legacy,
    quiz,
    softmax_accuracy,
)
from grader.i18n import t
from grader.inside import evaluators
from grader.inside.evaluators import tf1_cnn
from grader.intake import artifacts as art
from grader.pipeline import scoring
from grader.pipeline.execution import MAX_RECORD_CELLS, ExecutionOutcome, clean_record
from grader.results import CheckResult, Status
from grader.sandbox.base import Limits, ProcessOutcome, run_process


def finishes(fn, seconds: float = 10.0):
    """fn() in a thread: its value, or a failure if it is still running after `seconds`."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001  (re-raised below, in the test's thread)
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def ctx(values, **kw) -> CheckContext:
    return CheckContext(part_id="p", values=values, thresholds={}, **kw)


# --- quiz answers ------------------------------------------------------------------------------
RUBRIC = quiz.Rubric(
    "q",
    [
        quiz.Concept("res", 1, synonyms=["residual", "skip connection"]),
        quiz.Concept("both", 1, all_of=[["1x1"], ["conv"], ["reduce"]]),
    ],
)


def test_a_huge_answer_is_read_up_to_the_cap_with_a_note_for_a_person():
    answer = "residual " + "1x1 conv reduce not " * 50_000  # 1 MB; 150k hits for three all_of groups
    results = finishes(lambda: quiz.score_free_text(answer, RUBRIC), 10)
    note = results[-1]
    assert note.message_key == "quiz.truncated" and note.status is Status.NEEDS_REVIEW and note.max_score == 0
    assert str(quiz.MAX_ANSWER_CHARS) in note.message
    assert str(quiz.MAX_ANSWER_CHARS) in t("quiz.truncated", "ja", **note.message_args)
    assert results[0].status is Status.PASS  # what was read is still scored


def test_all_of_groups_combine_a_bounded_number_of_places(monkeypatch):
    calls = []
    real = quiz.product
    monkeypatch.setattr(quiz, "product", lambda *groups: calls.append([len(g) for g in groups]) or real(*groups))
    quiz.score_free_text("1x1 conv reduce " * 200, RUBRIC)  # under the length cap; 200**3 combinations
    assert calls and all(n <= quiz.MAX_GROUP_HITS for n in calls[0])


def test_choice_suffixes_are_stripped_in_linear_time():
    choice = quiz.Choice("c", {"a": "one", "b": "two"}, "a")
    result = finishes(lambda: quiz.score_choice("a" + "." * 200_000 + "b", choice), 5)
    assert result.name == "c" and len(result.message) < 500
    assert quiz.parse_choice("答えは b です。", choice) == {"b"} and quiz.parse_choice("a!!", choice) == {"a"}


# --- notebook cells (legacy-API scan) ------------------------------------------------------------
SUM = "total = " + " + ".join(f"a{i}" for i in range(1, 601)) + "\n"


def test_a_600_term_sum_is_scanned_and_findings_around_it_kept():
    source = "import tensorflow as tf\nsess = tf.Session()\n" + SUM + "y = tf.placeholder(tf.float32) + " + SUM[8:]
    findings = legacy.scan_notebook([source])
    assert [f.code for f in findings] == ["tf1-api"] and "tf.placeholder" in findings[0].old


def test_a_600_term_sum_in_a_student_cell_grades_normally(toy):
    path = submit(
        toy[1], "import numpy as np\nW = np.zeros((3, 2))\nsteps = [1, 10, 100]\n" + SUM.replace("total", "_t")
    )
    good = {"toy_shapes": {"W_shape": [3, 2], "steps": [1, 10, 100]}, "toy_score": {"acc": 0.9}}
    result, _ = run(toy, path, Scenario(exports=good))
    assert not result.problems and result.score == result.max_score == 8


def test_a_cell_is_reparsed_a_bounded_number_of_times(monkeypatch):
    whole = []
    real = ast.parse
    monkeypatch.setattr(
        legacy.ast, "parse", lambda text, *a, **k: (whole.append(1) if "\n" in text else None) or real(text, *a, **k)
    )
    legacy.scan_notebook(["x = (\n" * 500 + "import tensorflow as tf\ntf.Session()\n"])
    assert len(whole) <= legacy.MAX_REPAIRS + 2


def test_a_long_line_of_open_calls_is_read_in_bounded_time():
    findings = finishes(lambda: legacy.scan_notebook(["x = " + "f(" * 8_000 + "\ntf.Session()"]), 10)
    assert isinstance(findings, list)


def test_a_sum_too_long_for_the_parser_costs_only_findings():
    assert isinstance(legacy.scan_notebook(["x = " + "+".join(["a"] * 20_000)]), list)
    assert legacy._literal_dict("{" * 5_000) == {}


def test_a_cell_of_thousands_of_old_calls_is_scanned_in_bounded_time():
    # each finding's source segment split the whole cell again (47 s for 4,000 lines)
    cell = "\n".join(f"opt{i} = SGD(lr=0.{i}, decay=1e-6)" for i in range(3000))
    findings = finishes(lambda: legacy.scan_notebook([cell]), 10)
    assert 0 < len(findings) <= legacy.MAX_FINDINGS
    assert findings[0].old == "SGD(lr=0.0, decay=1e-6)" and findings[0].line == 1


def test_legacy_hints_read_a_bounded_number_of_error_cells(monkeypatch):
    import nbformat

    from grader.pipeline.grading import MAX_DIAGNOSED_ERRORS, attach_legacy_hints
    from grader.results import PartResult

    calls = []
    real = legacy.diagnose_error
    monkeypatch.setattr(legacy, "diagnose_error", lambda *a: calls.append(1) or real(*a))
    error = {"ename": "AttributeError", "evalue": "module 'tensorflow' has no attribute 'Session'", "traceback": []}
    record = {"cells": [{"index": i, "grade_id": None, "error": error} for i in range(5000)]}
    part = Part("p", "P", cells=["c"], checks=[])
    spec = NotebookSpec("t.ipynb", Path("t"), Path("t"), [part])
    parts = [PartResult.from_checks("p", "P", [])]
    attach_legacy_hints(spec, nbformat.v4.new_notebook(), record, parts, "en")
    assert len(calls) == MAX_DIAGNOSED_ERRORS
    assert [c.name for c in parts[0].checks] == ["legacy-api/tf1-api (cell #0)"]  # the same hint once


def test_figures_are_read_without_validating_a_million_outputs(tmp_path):
    import base64

    import nbformat

    from grader.pipeline.grading import extract_plots

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"p" * 100).decode()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png})]
    nb.cells = [cell]
    honest = tmp_path / "honest.ipynb"
    nbformat.write(nb, honest)
    assert len(extract_plots(honest, tmp_path / "plots", "h")[0]) == 1
    flood = ",".join(['{"output_type": "stream", "name": "stdout", "text": "x"}'] * 300_000)
    text = honest.read_text().replace('"outputs": [', '"outputs": [' + flood + ",", 1)
    (tmp_path / "flood.ipynb").write_text(text)
    assert finishes(lambda: extract_plots(tmp_path / "flood.ipynb", tmp_path / "plots", "f"), 5) == ([], 0)


# --- records -------------------------------------------------------------------------------------
def test_a_forged_record_is_capped_in_cells_and_text():
    long = "v" * 5000
    forged = {
        "status": "finished",
        "cells": [
            {"index": i, "status": "ok", "error": {"ename": "E", "evalue": long, "traceback": [long] * 50}}
            for i in range(MAX_RECORD_CELLS + 500)
        ],
    }
    record = clean_record(forged)
    assert len(record["cells"]) == MAX_RECORD_CELLS
    text = sum(len(c["error"]["evalue"]) + sum(map(len, c["error"]["traceback"])) for c in record["cells"])
    assert text <= 4_000_000


def test_why_a_run_stopped_is_found_in_one_pass_over_the_record(monkeypatch):
    cells = [{"index": i, "status": "ok", "injected": "seed" if i % 2 else ""} for i in range(5000)]
    cells.append({"index": 5000, "status": "dead"})
    outcome = ExecutionOutcome(
        clean_record({"status": "dead", "cells": cells}),
        ProcessOutcome(returncode=1, wall_s=1.0),
        None,
        Path("/nonexistent"),
    )
    calls = []
    real = scoring._position
    monkeypatch.setattr(scoring, "_position", lambda o, e: calls.append(1) or real(o, e))
    assert "#2501" in scoring.stop_reason(outcome, "en")
    assert len(calls) == 1


# --- artifacts -------------------------------------------------------------------------------------
def npy(shape, descr="<f8", payload=b"\0" * 80, fortran=False) -> bytes:
    header = f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + payload


@pytest.mark.parametrize(
    "data",
    [
        npy((2**40,)),  # 8 TiB claimed, 80 bytes present: np.load allocated first (MemoryError)
        npy((2**31, 2**31)),
        npy((11,)),  # one element more than present
        npy((9,)),  # and less
        npy((0, 2**62)),
        npy((10,), descr="|O"),
        npy((10,), descr=[("a", "<f8")]),
        npy((10,), descr="|V8"),
        npy((10,), descr="<M8[s]"),
        npy((10, 2), descr="<U0", payload=b""),
        b"\x93NUMPY\x03\x00junk",
        b"not an array at all",
    ],
)
def test_an_npy_header_is_checked_against_the_bytes_present(data):
    with pytest.raises(art.UnsafeArtifact):
        art.parse_npy(data)


def test_plain_arrays_read_as_np_load_reads_them():
    for value in (
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(6).reshape(2, 3)),
        np.float32(3),
        np.zeros((0, 5)),
        np.array([True, False]),
        np.array(["ab", "c"]),
    ):
        buf = io.BytesIO()
        np.save(buf, value)
        got = art.parse_npy(buf.getvalue())
        assert got.dtype == np.asarray(value).dtype and np.array_equal(got, value)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # json.loads recursion
        "[" * 900 + "]" * 900,  # parses, then breaks what recurses over it later
        '{"a": ' * 80 + "1" + "}" * 80,
        "[" + "9" * 5000 + "]",  # an int of over 4,300 digits: a ValueError, not a JSONDecodeError
        "[1, 2",
    ],
)
def test_json_is_refused_when_too_deep_or_not_json(text):
    with pytest.raises(art.UnsafeArtifact):
        art.parse_json(text.encode())


def test_json_with_more_containers_than_the_cap_is_too_large():
    with pytest.raises(art.TooLarge):
        art.parse_json(b"[" + b"[]," * art.MAX_JSON_CONTAINERS + b"[]]")


def write_part(root: Path, part: str, values: dict) -> None:
    folder = root / part
    folder.mkdir(parents=True, exist_ok=True)
    saved = {}
    for name, value in values.items():
        if isinstance(value, bytes):
            (folder / f"{name}.npy").write_bytes(value)
            saved[name] = "npy"
        elif isinstance(value, np.ndarray):
            np.save(folder / f"{name}.npy", value)
            saved[name] = "npy"
        else:
            (folder / f"{name}.json").write_text(json.dumps(value))
            saved[name] = "json"
    (folder / "_export.json").write_text(json.dumps({"saved": saved, "errors": {}}))


def score(tmp_path, parts: list[Part], exports: dict, **kw):
    spec = NotebookSpec("t.ipynb", tmp_path / "t.ipynb", tmp_path / "t.ipynb", parts)
    artifacts = tmp_path / "artifacts"
    for part, values in exports.items():
        write_part(artifacts, part, values)
    cells = [
        {"index": i, "grade_id": None, "injected": "export", "part": p.id, "status": "ok"} for i, p in enumerate(parts)
    ]
    outcome = ExecutionOutcome(
        {"status": "finished", "cells": cells}, ProcessOutcome(returncode=0, wall_s=1.0), None, artifacts
    )
    return scoring.score_notebook(spec, outcome, **kw)


def test_a_long_curve_is_read_without_a_python_list_of_it(tmp_path):
    part = Part("p", "P", cells=["c"], checks=[], exports={"curve": "c"}, curves={"loss": "curve"})
    curve = np.linspace(1, 0, 8_000_000, dtype=np.float32)  # 32 MiB: under the per-array cap
    tracemalloc.start()
    try:
        scored = score(tmp_path, [part], {"p": {"curve": curve}})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(scored.parts[0].curves["loss"]) == scoring.MAX_CURVE_POINTS
    assert peak < 3 * curve.nbytes  # the file's bytes and the array over them; a list of it is 8x


def test_exports_over_the_submission_budget_are_too_large_to_grade(tmp_path):
    part = Part(
        "p",
        "P",
        cells=["c"],
        exports={"W": "W", "b": "b"},
        checks=[Equals("b", 1, expected=[0.0] * 10), Equals("W", 1, expected=0)],
    )
    exports = {"p": {"b": np.zeros(10), "W": np.zeros(10_000)}}
    for lang, word in (("en", "too large to grade"), ("ja", "大きすぎて採点できません")):
        scored = score(tmp_path / lang, [part], exports, lang=lang, budget=scoring.ScoringBudget(export_bytes=20_000))
        b, W = scored.parts[0].checks
        assert b.status is Status.PASS and not scored.grader_errors
        assert W.status is Status.ERROR and W.message_key == "too_large" and word in W.message


def test_json_exports_are_charged_for_the_memory_they_take_once_parsed(tmp_path):
    part = Part("p", "P", cells=["c"], exports={"steps": "s"}, checks=[Equals("steps", 1, expected=[1, 10, 100])])
    curve = [0.5] * 200_000  # 1 MB of JSON, about 8 MB of Python floats
    scored = score(tmp_path, [part], {"p": {"steps": curve}}, budget=scoring.ScoringBudget(export_bytes=4_000_000))
    assert scored.parts[0].checks[0].message_key == "too_large"


def test_checks_after_the_deadline_are_too_large_to_grade(tmp_path):
    now = [0.0]
    spent = Custom("slow", 1, fn=lambda c: now.__setitem__(0, 1000.0) or CheckResult("slow", Status.PASS, 1, 1))
    never = Custom("later", 2, fn=lambda c: pytest.fail("ran after the deadline"))
    part = Part("p", "P", cells=["c"], checks=[spent, never])
    scored = score(
        tmp_path, [part], {"p": {}}, lang="ja", budget=scoring.ScoringBudget(seconds=60, clock=lambda: now[0])
    )
    slow, later = scored.parts[0].checks
    assert slow.status is Status.PASS and later.status is Status.ERROR and later.score == 0 and later.max_score == 2
    assert later.message_key == "too_large.time" and "60" in later.message and "大きすぎて" in later.message


def test_the_evaluate_sandbox_does_not_spend_the_checks_time(tmp_path):
    now = [0.0]
    part = Part(
        "p",
        "P",
        cells=["c"],
        evaluate={"holdout": object()},
        checks=[Custom("after", 1, fn=lambda c: CheckResult("after", Status.PASS, 1, 1))],
    )
    scored = score(
        tmp_path,
        [part],
        {"p": {}},
        evaluate=lambda data: now.__setitem__(0, 500.0) or {},
        budget=scoring.ScoringBudget(seconds=60, clock=lambda: now[0]),
    )
    assert scored.parts[0].checks[0].status is Status.PASS


# --- exported values of the wrong type or size -------------------------------------------------
@pytest.mark.parametrize(
    "got",
    [
        "784,10",
        {"a": 1},
        [[784], [10]],
        [True, 10],
        [float("inf"), 10],
        [float("nan"), 10],
        [784.5, 10],
        [10**30, 10],
        [-1, 10],
        "x" * 10**6,
        7,
        [None] * 10**5,
    ],
)
def test_a_shape_of_the_wrong_type_fails_its_check(got):
    values = {
        "W_shape": got,
        "W1_shape": got,
        "b1_shape": [10],
        "W2_shape": [10, 10],
        "b2_shape": [10],
        "W3_shape": [10, 10],
        "b3_shape": [10],
    }
    for check in (Shape("W", 1, expected=[784, 10]), DenseChainShapes("chain", 1), HiddenSizes("sizes", 1)):
        result = check(ctx(values))
        assert result.status is Status.FAIL
        assert len(json.dumps(result.to_dict(), default=str)) < 5000  # what it shows is bounded


def test_shapes_as_exported_still_pass():
    assert Shape("x", 1, expected=[None, 784])(ctx({"x_shape": [None, 784]})).status is Status.PASS
    assert Shape("W", 1, expected=[784, 10])(ctx({"W_shape": np.array([784, 10])})).status is Status.PASS


def test_a_huge_array_is_not_listed_to_compare_or_show_it():
    result = Equals("steps", 1, expected=[1, 10, 100])(ctx({"steps": np.zeros(1_000_000)}))
    assert result.status is Status.FAIL and result.got == "array[1000000]"


class NoProduct(np.ndarray):
    def __matmul__(self, other):
        raise AssertionError("multiplied before the shapes were checked")


class Holdout:
    def __init__(self, n=20):
        self.x = np.zeros((n, 784), np.float32).view(NoProduct)
        self.y = np.arange(n) % 10

    def flat_mnist(self):
        return self.x, self.y


@pytest.mark.parametrize(
    "W, b",
    [
        (np.zeros((784, 20_000), np.float32), np.zeros(20_000, np.float32)),  # as wide as a student likes
        (np.zeros((784, 11), np.float32), np.zeros(11, np.float32)),
        (np.zeros((784, 10), np.complex64), np.zeros(10)),
        ([["a"] * 10] * 784, np.zeros(10)),
    ],
)
def test_softmax_weights_are_checked_before_the_product(W, b):
    with pytest.raises(PredictionError):
        softmax_accuracy()({"W": W, "b": b}, ctx({}, hidden=Holdout()))


def test_an_mlp_wider_than_the_cap_is_refused_before_the_forward_pass(monkeypatch):
    monkeypatch.setattr(evaluators, "dense_chain", lambda *a, **k: pytest.fail("forward pass ran"))
    values = {"W1": np.zeros((784, 5000)), "b1": np.zeros(5000), "W2": np.zeros((5000, 10)), "b2": np.zeros(10)}
    with pytest.raises(PredictionError, match="hidden sizes"):
        dense_chain_accuracy(layers=2)(values, ctx({}, hidden=Holdout()))


def test_the_cnn_pass_checks_its_cost_before_any_convolution(monkeypatch):
    monkeypatch.setattr(evaluators, "_conv2d_same", lambda *a: pytest.fail("convolved"))
    shapes = {
        "W_conv1": (5, 5, 1, 32),
        "b_conv1": (32,),
        "W_conv2": (28, 28, 32, 512),
        "b_conv2": (512,),
        "W_fc1": (7 * 7 * 512, 1024),
        "b_fc1": (1024,),
        "W_fc2": (1024, 10),
        "b_fc2": (10,),
    }
    arrays = {k: np.broadcast_to(np.float32(0), s) for k, s in shapes.items()}  # shapes without memory
    with pytest.raises(ValueError, match="too large"):
        tf1_cnn(arrays, np.zeros((100, 784), np.float32))
    check = ForwardMatches(
        "fwd",
        1,
        export="probe",
        arrays=tuple(shapes),
        function=tf1_cnn,
        inputs=lambda: np.zeros((100, 784), np.float32),
    )
    result = check(ctx({**arrays, "probe": np.zeros((100, 10))}))
    assert result.status is Status.FAIL and "too large" in result.message


# --- no lock held while checks work ----------------------------------------------------------------
def test_a_spawn_does_not_wait_for_another_students_checks(tmp_path):
    spawned = {}

    def slow_check(c):
        # another student's run starts while this check works
        thread = threading.Thread(
            target=lambda: spawned.setdefault(
                "outcome", run_process(["true"], cwd=tmp_path, env={}, limits=Limits(), timeout_s=30)
            )
        )
        thread.start()
        thread.join(20)
        return CheckResult("slow", Status.PASS, 1, 1)

    part = Part("p", "P", cells=["c"], checks=[Custom("slow", 1, fn=slow_check)])
    score(tmp_path, [part], {"p": {}})
    assert spawned.get("outcome") is not None and spawned["outcome"].returncode == 0


def test_the_trusted_process_runs_blas_on_one_thread(tmp_path):
    from threadpoolctl import threadpool_info

    score(tmp_path, [Part("p", "P", cells=["c"], checks=[])], {"p": {}})
    assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
