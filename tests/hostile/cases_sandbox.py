"""Hostile cases at the sandbox's edges: what a notebook can reach through the kernel (syscalls, keyrings) and what it leaves for copy-back."""
from __future__ import annotations

from hostile.cases import FULL, NOTHING, SHAPES, ACCURACY, MODEL, NOTEBOOK, PRELUDE, CORRECT, Case, Host, case  # noqa: F401
