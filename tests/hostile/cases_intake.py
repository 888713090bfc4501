"""Hostile cases at the sandbox's edges: what the trusted process reads before a notebook runs (links, FIFOs, devices, sizes)."""
from __future__ import annotations

from hostile.cases import FULL, NOTHING, SHAPES, ACCURACY, MODEL, NOTEBOOK, PRELUDE, CORRECT, Case, Host, case  # noqa: F401
