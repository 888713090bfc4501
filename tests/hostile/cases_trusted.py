"""Hostile cases at the sandbox's edges: trusted work a student can size: answers, cells, records, arrays, curves.

The grader's export cells run right after `mnist1_vars` (shapes) and `mnist1_train` (weights); a
cell added after them rewrites what they left, as a student's code in the same kernel can. Each
rewrite is sized or typed to make the trusted process work hard or fall over; each must get the
verdict it deserves, without a grader fault.
"""

from __future__ import annotations

from hostile.cases import ACCURACY, CORRECT, FULL, MODEL, NOTEBOOK, NOTHING, PRELUDE, SHAPES, Case, Host, case  # noqa: F401

SHAPES_ONLY = {SHAPES: 4, ACCURACY: 0, MODEL: 0}

# A cell's code that rewrites exports of a part: `files` maps a file name to its bytes (a Python
# expression), `saved` what _export.json then says was saved.
REWRITE = """
import os, json, numpy as np, grader.inside.kernel as _k
folder = os.path.join(_k.outdir(), {part!r})
files = {files}
for name, data in files.items():
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)
with open(os.path.join(folder, "_export.json")) as fh:
    index = json.load(fh)
index["saved"].update({saved!r})
with open(os.path.join(folder, "_export.json"), "w") as fh:
    json.dump(index, fh)
"""


def _rewrite(part: str, files: str, saved: dict) -> str:
    return REWRITE.format(part=part, files=files, saved=saved)


def _npy_header(shape: str, descr: str = "<f8") -> str:
    """Python source for the bytes of a .npy header that claims `shape` (followed by 80 bytes)."""
    return (
        f"(lambda h: b'\\x93NUMPY\\x01\\x00' + len(h).to_bytes(2, 'little') + h.encode() + bytes(80))"
        f"((lambda s: s + ' ' * ((64 - (10 + len(s) + 1) % 64) % 64) + '\\n')"
        f"(\"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\"))"
    )


@case
def trusted_long_sum(h: Host) -> Case:
    # honest code: a 600-term sum made the legacy-API scan recurse past Python's limit
    terms = " + ".join(f"a{i}" for i in range(1, 601))
    honest = "for _i in range(1, 601):\n    globals()[f'a{_i}'] = _i\ntotal = " + terms + "\nassert total == 180300\n"
    return Case("trusted_long_sum", FULL, vars=CORRECT + honest, status="finished")


@case
def trusted_lying_npy(h: Host) -> Case:
    # W.npy's header claims 8 TiB of float64 and 2**62 elements; np.load allocated what it claims
    files = f"{{'W.npy': {_npy_header('(2**40,)')}, 'b.npy': {_npy_header('(2**31, 2**31)')}}}"
    return Case(
        "trusted_lying_npy",
        SHAPES_ONLY,
        vars=CORRECT,
        after_train=_rewrite(ACCURACY, files, {"W": "npy", "b": "npy"}),
        messages={ACCURACY: "not a plain numeric array"},
    )


@case
def trusted_deep_json(h: Host) -> Case:
    # shapes nested 100,000 deep (json.loads recursion) and 900 deep (parses; later recursion breaks)
    files = "{'W_shape.json': b'[' * 100000 + b']' * 100000, 'b_shape.json': b'[' * 900 + b']' * 900}"
    return Case(
        "trusted_deep_json",
        {SHAPES: 2, ACCURACY: 6, MODEL: 0},
        vars=CORRECT,
        after_vars=_rewrite(SHAPES, files, {"W_shape": "json", "b_shape": "json"}),
        messages={SHAPES: "nested more than 64 levels"},
    )


@case
def trusted_shape_types(h: Host) -> Case:
    # shapes exported as a string, an object, nested lists and an int of 5,000 digits
    files = (
        "{'x_shape.json': b'\"784,10\"', 'd_shape.json': b'{\"a\": 1}', 'W_shape.json': b'[[784], [10]]', "
        "'b_shape.json': b'[' + b'9' * 5000 + b']'}"
    )
    return Case(
        "trusted_shape_types",
        {SHAPES: 0, ACCURACY: 6, MODEL: 0},
        vars=CORRECT,
        after_vars=_rewrite(SHAPES, files, {n: "json" for n in ("x_shape", "d_shape", "W_shape", "b_shape")}),
        messages={SHAPES: "has shape 784,10"},
    )


@case
def trusted_wide_weights(h: Host) -> Case:
    # a W as wide as the student likes: the holdout product would be 5000 x 12000 floats
    plant = "import numpy as np, io\n_buf = io.BytesIO(); np.save(_buf, np.zeros((784, 12000), np.float32))\n"
    files = "{'W.npy': _buf.getvalue()}"
    return Case(
        "trusted_wide_weights",
        SHAPES_ONLY,
        vars=CORRECT,
        after_train=plant + _rewrite(ACCURACY, files, {"W": "npy"}),
        messages={ACCURACY: "must be [784, 10]"},
    )


@case
def trusted_huge_curve(h: Host) -> Case:
    # a 32 MiB accuracy curve (within the copy-back budget): the report's curve was a Python list
    # of every point, 8 million of them
    plant = "import numpy as np, io\n_buf = io.BytesIO(); np.save(_buf, np.full(8 * 2**20, 0.5, np.float32))\n"
    files = "{'test_accuracy.npy': _buf.getvalue()}"
    return Case(
        "trusted_huge_curve",
        FULL,
        vars=CORRECT,
        after_train=plant + _rewrite(ACCURACY, files, {"test_accuracy": "npy"}),
    )


@case
def trusted_forged_record(h: Host) -> Case:
    # a record of 150,000 cells (the reader's consumers were quadratic in it), then the worker dies
    attack = """
import signal
with open("record.json", "w") as fh:
    json.dump({"status": "finished", "cells": [{"index": i, "status": "ok", "injected": "seed"} for i in range(150000)]
               + [{"index": 10**7, "status": "dead"}]}, fh)
os.kill(os.getppid(), signal.SIGKILL)
time.sleep(5)
"""
    return Case("trusted_forged_record", FULL, vars=CORRECT, after_train=PRELUDE + attack)
