"""The JSON result: `<outdir>/<submission>/result.json`, schema `dlgrade.result/1`."""
from __future__ import annotations

import json
from pathlib import Path

from ..results import Result


def write_submission(result: Result, folder: Path, lang: str = "en") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def read(path: Path) -> Result:
    return Result.from_dict(json.loads(Path(path).read_text()))
