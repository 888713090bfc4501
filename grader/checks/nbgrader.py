"""Checks of parts that come from an nbgrader notebook (`dlgrade import-nbgrader`).

`CellRuns` is nbgrader's autograder test: the cell, run in the student's kernel after the
student's cells, earns its points when it raises no error. Unlike every other check, its verdict
is the kernel's word (the run record says whether the cell's run ended in an error), not data
judged in the trusted process: a student's code can fake it (redefine `assert`'s target, patch
the function a test calls, catch everything). Its messages carry a label that says so
("kernel's word"); docs/nbgrader.md says what that means.

`Review` is a manually graded cell (an answer a person grades, or a task): needs-review with 0
points until a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks.core import Check, CheckContext
from grader.i18n import plain_text, t
from grader.results import CheckResult, Status

MAX_ERROR_TEXT = 300  # characters of the test's error shown


@dataclass
class CellRuns(Check):
    """The test cell `grade_id` ran to its end without an error. `hidden=True` when the
    cell holds hidden tests: the report then shows only pass/fail and points, and the cell runs
    with its source from the instructor's notebook (tests the release strips are kept)."""

    grade_id: str = ""  # the test cell (default: the check's name)
    kernel_verdict = True  # scoring: the cell's own error is this check's verdict, not a cause to explain
    reads_data = False  # grading needs no course data set for it (pipeline.grading.require_data)
    runs_authored = True  # grading: the cell runs as the instructor's notebook has it (hidden tests)

    def __post_init__(self):
        self.grade_id = self.grade_id or self.name

    def __call__(self, ctx: CheckContext) -> CheckResult:
        entry = ctx.cells.get(self.grade_id) or {}
        status = entry.get("status", "not-run")
        args = {"cell": self.grade_id}  # the label is in the message itself: it re-renders in either language
        if status == "ok":
            return self._verdict(ctx, Status.PASS, self.points, "kernel.pass", args)
        error = entry.get("error") if isinstance(entry.get("error"), dict) else None
        if status == "error" and error:
            args["ename"] = plain_text(str(error.get("ename", "")))[:200]
            args["evalue"] = plain_text(str(error.get("evalue", "")))[:MAX_ERROR_TEXT] or "-"
            return self._verdict(ctx, Status.FAIL, 0.0, "kernel.fail", args)
        args["status"] = status
        return self._verdict(ctx, Status.ERROR, 0.0, "kernel.not_run", args)

    def _verdict(self, ctx, status: Status, score: float, key: str, args: dict) -> CheckResult:
        return CheckResult(
            name=self.name,
            status=status,
            score=score,
            max_score=self.points,
            message=t(key, ctx.lang, **args),
            hidden=self.hidden,
            message_key=key,
            message_args=args,
        )


@dataclass
class Review(Check):
    """A cell a person grades (nbgrader's manually graded answer or task): needs-review, 0 of
    `points` until then."""

    grade_id: str = ""  # the cell a person grades (default: the check's name)
    reads_data = False

    def __post_init__(self):
        self.grade_id = self.grade_id or self.name

    def __call__(self, ctx: CheckContext) -> CheckResult:
        args = {"cell": self.grade_id}
        return CheckResult(
            name=self.name,
            status=Status.NEEDS_REVIEW,
            score=0.0,
            max_score=self.points,
            message=t("review.manual", ctx.lang, **args),
            hidden=self.hidden,
            message_key="review.manual",
            message_args=args,
        )
