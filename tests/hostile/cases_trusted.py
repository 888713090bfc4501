"""Hostile cases at the sandbox's edges: trusted work a student can size: answers, cells, records, arrays, curves."""
from __future__ import annotations

from hostile.cases import FULL, NOTHING, SHAPES, ACCURACY, MODEL, NOTEBOOK, PRELUDE, CORRECT, Case, Host, case  # noqa: F401
