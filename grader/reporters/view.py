"""Results as one reader sees them: messages in the reader's language, hidden checks reduced.

Every reporter that a person reads goes through `student_view(result, lang)`; the JSON record
(the instructor's full copy) does not.
"""

from __future__ import annotations

from dataclasses import replace

from grader.i18n import CATALOG, plain_text
from grader.results import CheckResult, PartResult, Result


def message(check: CheckResult, lang: str) -> str:
    """The check's message in `lang`, re-rendered from its key when the catalogue knows the key
    and the stored arguments fill it; otherwise the message as graded."""
    entry = CATALOG.get(check.message_key) if check.message_key else None
    if entry is None:
        return check.message
    template = entry.get(lang) or entry.get("en", "")
    try:
        # as t() does: stored arguments may hold a student's terminal escapes
        return template.format(**{k: plain_text(v) if isinstance(v, str) else v for k, v in check.message_args.items()})
    except (KeyError, IndexError, ValueError, AttributeError):
        return check.message  # arguments were not all stored (e.g. not JSON-able): keep as graded


def _redacted(check: CheckResult) -> CheckResult:
    """Only pass/fail and points: the message, its arguments and the hint may give the answer away."""
    return replace(check, message="", expected=None, got=None, hint="", hints={}, message_args={})


def localized(result: Result, lang: str) -> Result:
    """A copy of `result` with check messages in `lang`; nothing removed (the instructor's view)."""
    parts: list[PartResult] = [
        replace(
            part,
            title=part.titles.get(lang) or part.title,
            checks=[replace(c, message=message(c, lang), hint=c.hints.get(lang) or c.hint) for c in part.checks],
        )
        for part in result.parts
    ]
    return replace(result, parts=parts, lang=lang)


def student_view(result: Result, lang: str) -> Result:
    """`localized`, and hidden checks reduced to pass/fail and points (what a student may see)."""
    shown = localized(result, lang)
    for part in shown.parts:
        part.checks = [_redacted(c) if c.hidden else c for c in part.checks]
    return shown


def grade_letter(fraction: float) -> str:
    """A-F from the fraction of full marks (90/80/70/60 % cuts)."""
    for cut, letter in ((0.9, "A"), (0.8, "B"), (0.7, "C"), (0.6, "D")):
        if fraction >= cut:
            return letter
    return "F"
