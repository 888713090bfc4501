"""Hostile cases at the sandbox's edges: class output names and the machine formats (CSV, Markdown, JUnit, console)."""
from __future__ import annotations

from hostile.cases import FULL, NOTHING, SHAPES, ACCURACY, MODEL, NOTEBOOK, PRELUDE, CORRECT, Case, Host, case  # noqa: F401
