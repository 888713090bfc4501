"""The code stays as ruff wants it (rules and formatter settings in pyproject.toml), so that a
diff shows a change of behaviour, not of layout."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


def test_ruff_lint_is_clean():
    run = subprocess.run([str(RUFF), "check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-1000:]


def test_ruff_format_is_clean():
    run = subprocess.run([str(RUFF), "format", "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-1000:]
