"""Property-based tests: random and adversarial records, artifacts, answers and cells fed to the
trusted code never make it raise (other than `UnsafeArtifact`, which its callers turn into a
verdict) and never take long (hypothesis' per-example deadline)."""

from __future__ import annotations

import io
import json
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.checks import CheckContext, Close, Decreasing, DenseChainShapes, Equals, HiddenSizes, Shape, legacy, quiz
from grader.intake import artifacts as art
from grader.pipeline.execution import CELL_STATUSES, MAX_RECORD_CELLS, clean_record
from grader.results import CheckResult

FAST = settings(max_examples=60, deadline=1000, database=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=12,
)
small = st.none() | st.booleans() | st.integers(-3, 10**12) | st.sampled_from([1e300, float("nan"), "x" * 3000, "0"])
cell_entries = st.fixed_dictionaries(
    {},
    optional={
        "index": small,
        "grade_id": small | st.text(max_size=5),
        "injected": st.sampled_from(["seed", "export", "", "other"]) | small,
        "part": small,
        "status": st.sampled_from(sorted(CELL_STATUSES) + ["pwned"]) | small,
        "seconds": small | st.floats(),
        "error": small
        | st.fixed_dictionaries(
            {}, optional={"ename": small, "evalue": small, "traceback": st.lists(small, max_size=50) | small}
        ),
    },
)


@FAST
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "status": small,
                "kernel_start_s": small | st.floats(),
                "cells": st.lists(cell_entries | small, max_size=12) | small,
            },
        ),
    )
)
def test_clean_record_never_raises_and_keeps_only_typed_fields(raw):
    try:
        record = clean_record(raw)
    except art.UnsafeArtifact:
        assert not isinstance(raw, dict)
        return
    assert len(record["cells"]) <= MAX_RECORD_CELLS
    json.dumps(record)  # plain data
    for cell in record["cells"]:
        assert isinstance(cell["index"], int) and cell["status"] in CELL_STATUSES
        assert cell["grade_id"] is None or isinstance(cell["grade_id"], str)


def _npy(shape, descr, payload, version=b"\x01\x00"):
    header = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    size = len(header).to_bytes(2 if version == b"\x01\x00" else 4, "little")
    return b"\x93NUMPY" + version + size + header.encode() + payload


dims = st.integers(0, 2**64) | st.integers(0, 12) | st.sampled_from([-1, True, 2.5, "3", None])
descrs = st.sampled_from(
    ["<f8", "<f4", "|b1", "<i8", "|u1", "<c16", "|O", "|V4", "<U3", "|S0", "<M8[s]", "bogus"]
) | st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from(["<f8", "|O"])), min_size=1, max_size=2)


@FAST
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            _npy,
            st.lists(dims, max_size=4).map(tuple),
            descrs,
            st.binary(max_size=200),
            st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x09\x00"]),
        ),
    )
)
def test_any_bytes_read_as_npy_are_an_array_of_what_is_present_or_refused(data):
    try:
        array = art.parse_npy(data)
    except art.UnsafeArtifact:
        return
    assert array.dtype.kind in art.ARRAY_KINDS and not array.dtype.hasobject
    assert array.nbytes <= len(data)


@FAST
@given(st.lists(st.integers(0, 5), max_size=3).map(tuple), st.sampled_from(["<f8", "<i4", "|b1", "<c8"]))
def test_honest_npy_files_read_as_saved(shape, dtype):
    value = np.zeros(shape, dtype=np.dtype(dtype))
    buf = io.BytesIO()
    np.save(buf, value)
    got = art.parse_npy(buf.getvalue())
    assert got.shape == value.shape and got.dtype == value.dtype


nested = st.integers(0, 3000).flatmap(
    lambda d: st.sampled_from(["[" * d + "]" * d, '{"a":' * d + "1" + "}" * d, "[" * d, "[1," * d + "1" + "]" * d])
)


@FAST
@given(
    st.one_of(
        st.binary(max_size=200),
        nested.map(str.encode),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.integers(0, 10**6).map(lambda n: ("[" + "9" * (n % 9000) + "]").encode()),
    )
)
def test_any_bytes_read_as_json_are_shallow_plain_data_or_refused(data):
    try:
        value = art.parse_json(data)
    except art.UnsafeArtifact:
        return
    assert art.json_depth(value) <= art.MAX_JSON_DEPTH
    json.dumps(value)


RUBRICS = quiz.load_rubrics(
    __import__("pathlib").Path(__file__).resolve().parent.parent / "solutions/concepts/rubrics.json"
)
answers = st.one_of(
    st.text(max_size=300),
    st.tuples(st.text(max_size=40), st.integers(1, 40_000)).map(lambda p: p[0] * p[1]),  # long, repetitive
    st.lists(
        st.sampled_from(
            [
                "residual",
                "skip",
                "1x1",
                "conv",
                "not",
                "ない",
                "。",
                ".",
                " ",
                "_",
                "*",
                "(b)",
                "a,",
                "ー",
                "答えは",
                "です",
                "\n",
                "×",
                "Q学習",
                "ε",
            ]
        ),
        max_size=2000,
    ).map("".join),
    st.none(),
)


@settings(
    max_examples=40,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(answers, st.sampled_from(sorted(RUBRICS)))
def test_any_answer_is_scored_without_raising(answer, question):
    results = quiz.score_answer(answer, RUBRICS[question])
    assert results and all(isinstance(r, CheckResult) for r in results)
    assert all(len(r.message) < 2000 for r in results)


@FAST
@given(st.text(alphabet=" .!デスダa", max_size=60))
def test_suffix_stripping_matches_the_regular_expression_it_replaces(text):
    text = re.sub(r"\s+", " ", text)  # answers are normalised before: whitespace runs are one space
    assert quiz._strip_suffix(text) == re.sub(r"\s*(?:デス|ダ)?\s*[.!]*$", "", text)


tokens = st.sampled_from(
    [
        "tf",
        ".",
        "Session",
        "placeholder",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        "+",
        "=",
        "x",
        "a1",
        "\n",
        "    ",
        "#",
        "'",
        '"',
        "import",
        "from",
        "tensorflow",
        "as",
        "keras",
        "SGD",
        "lr=0.1",
        "model",
        ".add",
        "Dense",
        "output_dim=3",
        "%time",
        "!ls",
        ":",
        "lambda",
        "\x00",
        "1e9",
    ]
)
sources = st.one_of(
    st.text(max_size=300),
    st.lists(tokens, max_size=400).map(" ".join),
    st.tuples(st.lists(tokens, max_size=20).map(" ".join), st.integers(1, 3000)).map(lambda p: p[0] * p[1]),
    st.integers(1, 5000).map(lambda n: "x = " + " + ".join(["a"] * n)),
    st.integers(1, 3000).map(lambda n: "x = " + "f(" * n),
)


@settings(
    max_examples=40,
    deadline=3000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(sources, min_size=1, max_size=3))
def test_any_cells_are_scanned_without_raising(cells):
    findings = legacy.scan_notebook(cells)
    checks = legacy.findings_to_checks(findings)
    assert all(c.score == 0 and c.max_score == 0 for c in checks)


@FAST
@given(json_values | st.just(np.zeros((3, 2))) | st.just(np.array(["a"])) | st.just(np.zeros((2, 2), np.complex64)))
def test_checks_take_exported_values_of_any_type(value):
    values = {
        name: value
        for name in (
            "W_shape",
            "steps",
            "W",
            "loss",
            "W1_shape",
            "b1_shape",
            "W2_shape",
            "b2_shape",
            "W3_shape",
            "b3_shape",
        )
    }
    ctx = CheckContext(part_id="p", values=values, thresholds={})
    for check in (
        Shape("W", 1, expected=[3, 2]),
        Equals("steps", 1, expected=[1, 10]),
        Close("W", 1, expected=[0.0, 0.0]),
        Decreasing("loss", 1),
        DenseChainShapes("chain", 1),
        HiddenSizes("sizes", 1),
    ):
        result = check(ctx)
        assert isinstance(result, CheckResult)
        assert len(json.dumps(result.to_dict(), default=str)) < 20_000
