"""Assignments as instructors write them: the spec (parts, checks, limits, hidden sets) loaded
from `solutions/<assignment>/`.

Checks files import what they declare from here:
`from grader.assignment import Evaluate, Limits, Part, Retrain, Setup`.
"""

from grader.assignment.spec import Evaluate, Part, Retrain, Setup
from grader.sandbox.base import Limits

__all__ = ["Evaluate", "Limits", "Part", "Retrain", "Setup"]
