"""Assignments as instructors write them: the spec (parts, checks, limits, hidden sets) loaded
from `solutions/<assignment>/`.

Checks files import what they declare from here: `from grader.assignment import Part, Evaluate, Retrain`.
"""
from grader.assignment.spec import Evaluate, Part, Retrain

__all__ = ["Evaluate", "Part", "Retrain"]
