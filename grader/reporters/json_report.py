"""The JSON result: `<outdir>/<submission>/result.json`, schema `dlgrade.result/1`.

This is the full record (hidden checks included): it is for instructors and tools, and
`dlgrade report` re-renders every other format from it. The schema is
`grader/schemas/result.schema.json`, documented in docs/results.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.results import Result

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "result.schema.json"


def write_submission(result: Result, folder: Path, lang: str = "en") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    # a lone surrogate (a notebook's JSON may hold "\udc80") is written back as that escape
    path.write_text(
        json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
        errors="backslashreplace",
    )
    return path


def read(path: Path) -> Result:
    return Result.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(document: dict) -> None:
    """Raise jsonschema.ValidationError when `document` is not a valid dlgrade.result/1."""
    import jsonschema

    jsonschema.validate(document, schema(), format_checker=jsonschema.FormatChecker())
