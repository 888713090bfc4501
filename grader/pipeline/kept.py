"""What grading keeps of a notebook's run so that it can be scored again: `scoring/<stem>.npz`.

Scoring reads a run's record, the exports of every part (values already read and bounded by
intake.artifacts), the retraining runs, the evaluate phase's predictions, the Markdown answers
and the stubs left (scoring.ScoringInputs). Rescoring (pipeline.rescore) needs exactly these, and
never the notebook, a kernel or a sandbox. They came from a student's run, so they are stored as
data only: an npz (zip of .npy files) written without pickles, with the JSON parts as UTF-8
bytes, read back member by member with intake.artifacts' own parsers (bounded sizes, a header
checked against its bytes, JSON bounded in containers and depth), never `np.load` nor pickle.

Beside the data, the file says what produced it, so that a rescore can tell when a changed
checks file asks for something the run did not leave: per part, the names asked for (exports
and models), how each export was computed (its expression or function source) and where (the
part's cells and export cell), each evaluation's definition and a digest of the hidden inputs it
predicted. Arrays are kept smallest first within `MAX_KEPT_BYTES` per notebook; one left out is
named, and only a check that needs it cannot be rescored. The file is compressed (deflate).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.intake import artifacts as art
from grader.pipeline.execution import ExecutionOutcome, thunk_source
from grader.pipeline.scoring import ScoringInputs
from grader.sandbox.base import ProcessOutcome

FORMAT = "dlgrade.scoring/1"
FOLDER = "scoring"  # in the submission's output folder, beside result.json
MAX_KEPT_BYTES = 32 * art.MiB  # arrays and JSON of one notebook, before compression
MAX_META_BYTES = 24 * art.MiB  # the record (at most ~4 M characters of error text), answers, index
MAX_META_CONTAINERS = 1_000_000
MAX_STDERR_CHARS = 4000


class NotKept(ValueError):
    """A kept file is missing, changed since it was recorded, or not of this format."""


def kept_path(sub_dir: Path, stem: str) -> Path:
    return sub_dir / FOLDER / f"{stem}.npz"


def evaluation_definition(ev) -> dict:
    """What makes an evaluation's predictions: a changed definition makes the kept ones stale."""
    return {
        "dataset": ev.dataset,
        "model": ev.model,
        "function": ev.function,
        "arrays": list(ev.arrays or ()),
        "preprocess": ev.preprocess,
    }


def part_definition(part) -> dict:
    """How and where a part's values were made: its export expressions, model expressions,
    cells and export position. A rescore compares this with the changed checks file."""
    return {
        "exports": {name: thunk_source(v) for name, v in part.exports.items()},
        "models": {name: thunk_source(v) for name, v in part.models.items()},
        "cells": list(part.cells),
        "export_after": part.export_after,
        "retrain": None
        if part.retrain is None
        else [list(part.retrain.seeds), thunk_source(part.retrain.until), part.retrain.share],
        "evaluate": {name: evaluation_definition(ev) for name, ev in part.evaluate.items()},
    }


def inputs_digest(hidden, dataset: str) -> str | None:
    """sha256 of a hidden set's inputs as the evaluate sandbox sees them (None: unavailable)."""
    try:
        x, _ = hidden.holdout(dataset)
    except (KeyError, OSError, ValueError):
        return None
    x = np.ascontiguousarray(x)
    return hashlib.sha256(f"{x.dtype.str}{list(x.shape)}".encode() + x.tobytes()).hexdigest()


@dataclass
class Kept:
    """A notebook's scoring inputs as kept: what `score_inputs` takes, and what they were made by."""

    notebook: str
    outcome: ExecutionOutcome
    inputs: ScoringInputs
    parts: dict[str, dict]  # part id -> part_definition at grading, plus "asked" and "left_out"
    hidden: dict[str, str | None] = field(default_factory=dict)  # dataset -> inputs digest


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asarray(array), allow_pickle=False)
    return out.getvalue()


def _npy_size(array: np.ndarray) -> int:
    """A .npy file's size, header included, without writing its data."""
    fmt, header = np.lib.format, io.BytesIO()
    info = fmt.header_data_from_array_1_0(np.asarray(array))
    try:
        fmt.write_array_header_1_0(header, info)
    except ValueError:  # a header over 64 KiB: version 2.0, as write_array picks
        header = io.BytesIO()
        fmt.write_array_header_2_0(header, info)
    return len(header.getvalue()) + np.asarray(array).nbytes


def _json_bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def dump(spec, outcome: ExecutionOutcome, inputs: ScoringInputs, hidden, max_bytes: int = MAX_KEPT_BYTES) -> bytes:
    """The kept file's bytes for one scored notebook."""
    # (name in the zip, its size, how to make its bytes): only what fits is ever serialized
    members: list[tuple[str, int, object]] = []
    parts = {}
    for part in spec.parts:
        data = inputs.part_data.get(part.id) or art.PartData(ran=False)
        definition = part_definition(part)
        asked = list(part.exports) + list(part.models)
        if part.retrain is not None:
            asked += [art.seeded(m, s) for m in part.models for s in part.retrain.seeds]
        values, json_values = [], []
        for name, value in data.values.items():
            if isinstance(value, np.ndarray):
                members.append((f"v.{part.id}.{name}.npy", _npy_size(value), lambda v=value: _npy(v)))
                values.append(name)
            else:
                raw = _json_bytes(value)  # bounded by intake (16 MiB of JSON)
                members.append((f"j.{part.id}.{name}.json", len(raw), lambda r=raw: r))
                json_values.append(name)
        predicted = {}
        for name, got in (inputs.predictions.get(part.id) or {}).items():
            if isinstance(got, np.ndarray):
                members.append((f"p.{part.id}.{name}.npy", _npy_size(got), lambda v=got: _npy(v)))
                predicted[name] = {"array": True}
            else:
                predicted[name] = {"failed": str(got)}
        parts[part.id] = {
            **definition,
            "asked": asked,
            "ran": data.ran,
            "errors": data.errors,
            "unreadable": data.unreadable,
            "too_large": sorted(data.too_large),
            "saved_models": sorted(data.models),  # "models" is how they were made
            "arrays": values,
            "json": json_values,
            "predictions": predicted,
            "runs": inputs.runs.get(part.id) or {},
            "left_out": {},
        }
    kept, room = [], max_bytes
    for name, size, make in sorted(members, key=lambda m: m[1]):
        if size <= room:
            kept.append((name, make()))
            room -= size
            continue
        kind, part_id, value = name.split(".")[:3]
        parts[part_id]["left_out"][("prediction:" if kind == "p" else "") + value] = size
    datasets = {ev.dataset for p in spec.parts for ev in p.evaluate.values()}
    process = outcome.process
    meta = {
        "format": FORMAT,
        "notebook": spec.name,
        "record": outcome.record,
        "process": {
            "stopped": process.stopped,
            "stopped_detail": process.stopped_detail,
            "stderr_tail": (process.stderr_tail or "")[-MAX_STDERR_CHARS:],
            "limits": (process.sandbox or {}).get("limits", {}),
        },
        "answers": inputs.answers,
        "stub_left": sorted(inputs.stub_left),
        "parts": parts,
        "hidden": {d: inputs_digest(hidden, d) for d in sorted(datasets)} if hidden is not None else {},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("meta.json", _json_bytes(meta))
        for name, raw in kept:
            zf.writestr(name, raw)
    return out.getvalue()


def write(path: Path, raw: bytes) -> dict | None:
    """Write a kept file; what a result says of it: {"path" (relative), "sha256", "bytes"}. One
    that cannot be written (a full disk) costs the notebook its rescore, never its grade: None."""
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(raw)
        tmp.replace(path)
    except OSError:
        forget(path)
        return None
    return {"path": f"{FOLDER}/{path.name}", "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}


def forget(path: Path) -> None:
    """Remove a kept file (and its partial copy) of an earlier grading, if it can be."""
    for stale in (path, path.with_suffix(".tmp")):
        try:
            stale.unlink(missing_ok=True)
        except OSError:
            pass


def load(path: Path, sha256: str | None) -> Kept:
    """Read a kept file back, refusing one whose digest is not `sha256` (the one the gradebook
    recorded: a file changed since grading is not scored from), or that is not plain data."""
    try:
        raw = art.read_bytes(Path(path), MAX_KEPT_BYTES + MAX_META_BYTES + art.MiB)
    except (OSError, art.UnsafeArtifact) as exc:
        raise NotKept(f"{Path(path).name}: {exc}") from None
    if sha256 is None or hashlib.sha256(raw).hexdigest() != sha256:
        raise NotKept(f"{Path(path).name} is not the file recorded at grading (its sha256 differs)")
    try:
        return _parse(raw)
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, art.UnsafeArtifact, EOFError, OSError) as exc:
        raise NotKept(f"{Path(path).name} cannot be read: {str(exc)[:200]}") from None


def _member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise art.TooLarge(f"{name} is over {limit} bytes")
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise art.TooLarge(f"{name} is over {limit} bytes")
    return data


def _parse(raw: bytes) -> Kept:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        meta = art.parse_json(_member(zf, "meta.json", MAX_META_BYTES), "meta.json", MAX_META_CONTAINERS)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        names = set(zf.namelist())
        room = art.ByteBudget(MAX_KEPT_BYTES)
        part_data, runs, predictions = {}, {}, {}
        for part_id, entry in meta["parts"].items():
            if not art.SAFE_NAME.match(part_id):
                raise ValueError(f"unsafe part id {part_id!r}")
            data = art.PartData(
                ran=bool(entry["ran"]),
                errors=dict(entry["errors"]),
                unreadable=dict(entry["unreadable"]),
                too_large=set(entry["too_large"]),
                # only their presence is scored; their files stayed with the run
                models={name: Path(f"{name}.keras") for name in entry["saved_models"]},
            )
            for kind, names_of, parse in (
                ("v", entry["arrays"], art.parse_npy),
                ("j", entry["json"], lambda b, n: art.parse_json(b, n)),
            ):
                for name in names_of:
                    member = f"{kind}.{part_id}.{name}.{'npy' if kind == 'v' else 'json'}"
                    if member not in names:
                        continue  # left out for size: named in left_out
                    body = _member(zf, member, MAX_KEPT_BYTES)
                    room.charge(len(body), member)
                    data.values[name] = parse(body, member)
            got = {}
            for name, how in entry["predictions"].items():
                member = f"p.{part_id}.{name}.npy"
                if "failed" in how:
                    from grader.pipeline.evaluate import EvaluationFailed

                    got[name] = EvaluationFailed(str(how["failed"]))
                elif member in names:
                    body = _member(zf, member, MAX_KEPT_BYTES)
                    room.charge(len(body), member)
                    got[name] = art.parse_npy(body, member)
            part_data[part_id] = data
            predictions[part_id] = got
            runs[part_id] = entry["runs"] if isinstance(entry["runs"], dict) else {}
    process = meta["process"]
    outcome = ExecutionOutcome(
        record=meta["record"] if isinstance(meta["record"], dict) else {},
        process=ProcessOutcome(
            returncode=None,
            wall_s=0.0,
            stopped=process.get("stopped"),
            stopped_detail=str(process.get("stopped_detail") or ""),
            stderr_tail=str(process.get("stderr_tail") or ""),
            sandbox={"limits": process.get("limits") or {}},
        ),
        executed_path=None,
        artifacts_dir=Path("/nonexistent"),  # nothing is read from a run's folder again
    )
    inputs = ScoringInputs(
        part_data=part_data,
        runs=runs,
        predictions=predictions,
        answers={str(k): str(v) for k, v in dict(meta["answers"]).items()},
        stub_left=frozenset(map(str, meta["stub_left"])),
    )
    return Kept(str(meta["notebook"]), outcome, inputs, dict(meta["parts"]), dict(meta.get("hidden") or {}))
