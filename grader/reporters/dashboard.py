"""What the instructor's dashboard shows, computed from Results (pure logic, no HTML).

Results given here are already in the reader's language (`view.student_view`) except where a
function says otherwise; nothing here reads files.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from grader.results import Result, Status


def histogram(fractions: list[float], bins: int = 10) -> tuple[list[int], list[str]]:
    """Counts of scores (fractions of full marks) per bin of equal width; 100 % falls in the last."""
    counts = [0] * bins
    for f in fractions:
        counts[min(bins - 1, max(0, int(f * bins)))] += 1
    labels = [f"{100 * i // bins}–{100 * (i + 1) // bins}%" for i in range(bins)]
    return counts, labels


def summary(results: list[Result]) -> dict:
    """Count, mean and median of the scores as fractions of full marks."""
    fractions = [r.fraction for r in results]
    return {
        "n": len(results),
        "mean": statistics.fmean(fractions) if fractions else 0.0,
        "median": statistics.median(fractions) if fractions else 0.0,
    }


@dataclass
class CheckRate:
    part: str
    check: str
    max_score: float
    passed: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


def pass_rates(results: list[Result]) -> list[CheckRate]:
    """Per graded check (old-API findings excluded), in the order the checks first appear."""
    rates: dict[tuple[str, str], CheckRate] = {}
    for r in results:
        for part in r.parts:
            for c in part.checks:
                if c.kind != "check":
                    continue
                rate = rates.setdefault((part.id, c.name), CheckRate(part.title, c.name, c.max_score))
                rate.total += 1
                rate.passed += c.status == Status.PASS
    return list(rates.values())


# Messages about a cell rather than a check: every check fed by that cell repeats them, so they
# are grouped by cell, not by check.
CELL_LEVEL = {
    "not_implemented",
    "cell_raised",
    "cell_raised.locked",
    "cell_raised.old_api",
    "export_failed",
    "not_run",
    "stopped.too_slow",
    "nb.not_submitted",
    "nb.invalid",
    "nb.wrong_exercise",
}


@dataclass
class Failure:
    part: str
    message: str  # one example, as a student saw it
    hint: str
    checks: list[str] = field(default_factory=list)
    who: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.who)


def _failure_key(part, c) -> tuple:
    if c.message_key in CELL_LEVEL:
        return (c.message_key, c.message_args.get("cell") or part.notebook or part.id)
    return (part.id, c.name, c.message_key or c.message)


def frequent_failures(results: list[Result], limit: int = 10) -> list[Failure]:
    """Failures and errors grouped by what went wrong: the same check with the same message key
    (different shapes count as one mistake), or the same cell for cell-level messages (a cell
    that raises fails every check it feeds). Most students first."""
    groups: dict[tuple, Failure] = {}
    for r in results:
        for part in r.parts:
            for c in part.checks:
                if c.kind != "check" or c.status not in (Status.FAIL, Status.ERROR):
                    continue
                where = part.notebook if c.message_key.startswith("nb.") and part.notebook else part.title
                group = groups.setdefault(_failure_key(part, c), Failure(where, c.message, c.hint))
                if c.name not in group.checks:
                    group.checks.append(c.name)
                if r.submission not in group.who:
                    group.who.append(r.submission)
                group.hint = group.hint or c.hint
    return sorted(groups.values(), key=lambda g: (-g.count, g.part))[:limit]


def needs_review(results: list[Result]) -> list[dict]:
    """Checks a person must decide, with the student's answer (`got`); from the full record,
    since the instructor may see hidden checks' details."""
    rows = []
    for r in results:
        for part in r.parts:
            for c in part.checks:
                if c.status == Status.NEEDS_REVIEW:
                    rows.append(
                        {
                            "submission": r.submission,
                            "part_id": part.id,
                            "part": part.title,
                            "check": c.name,
                            "message": c.message,
                            "got": c.got,
                        }
                    )
    return rows


def slowest(results: list[Result], limit: int = 5) -> list[Result]:
    timed = [r for r in results if r.resources.get("wall_s")]
    return sorted(timed, key=lambda r: -r.resources["wall_s"])[:limit]


def heaviest(results: list[Result], limit: int = 5) -> list[Result]:
    measured = [r for r in results if r.resources.get("peak_memory_bytes")]
    return sorted(measured, key=lambda r: -r.resources["peak_memory_bytes"])[:limit]


def flags(result: Result) -> dict:
    """What makes a row worth a look: answers to review, grader problems, stopped parts."""
    return {
        "review": sum(c.status == Status.NEEDS_REVIEW for p in result.parts for c in p.checks),
        "grader_faults": sum(c.status == Status.GRADER_ERROR for p in result.parts for c in p.checks),
        "problems": len(result.problems),
        "stopped": any(p.stopped for p in result.parts),
        "isolated": result.sandbox.get("isolated", True) if result.sandbox else True,
    }
