"""dlgrade's exit codes: one meaning in every command, listed by `--help` and docs/ci.md.

    0    done, and nothing to act on
    1    done, and something to act on (FOUND_BY says what, per command)
    2    dlgrade could not do what was asked: a usage error, a broken assignment, a notebook it
         refused to read, no sandbox, no data, a report file not written
    3    dlgrade itself failed (a bug, never the student's fault): an unexpected exception
         (traceback on stderr), or a grade it could not finish (a grader fault in the result)
    130  interrupted (Ctrl-C)

When several apply the highest of 1, 2, 3 wins: the others' reports are written all the same.
"""

from __future__ import annotations

from grader.results import Result, Status

OK, FOUND, CANNOT, GRADER_FAULT, INTERRUPTED = 0, 1, 2, 3, 130

FOUND_BY = {
    "check": "a public check failed or raised an error (needs-review is not a failure)",
    "grade": "with --ci: a submission scores under --pass-mark",
    "lint": "an assignment has errors",
    "calibrate": "the reference solution lost points, or a mutant was not caught",
    "import-nbgrader": "the imported assignment has lint errors",
    "collect": "a submission matched no roster student, or a file was refused",
}

_GENERAL = [
    (OK, "done, nothing to act on"),
    (CANNOT, "could not do it: usage error, broken assignment, refused file, no sandbox or data, a report not written"),
    (GRADER_FAULT, "dlgrade itself failed (a bug, never the student's fault); the reports say what"),
    (INTERRUPTED, "interrupted"),
]


def epilog(command: str | None = None) -> str:
    """The exit codes for `--help`: of one command, or (None) of all of them."""
    if command is None:
        found = [f"{FOUND}    {name}: {what}" for name, what in FOUND_BY.items()]
    else:
        found = [f"{FOUND}    {FOUND_BY[command]}"] if command in FOUND_BY else []
    lines = [f"{code:<4} {text}" for code, text in _GENERAL]
    return "exit codes:\n  " + "\n  ".join([lines[0], *found, *lines[1:]])


def of_results(results: list[Result], failed_checks: bool = False) -> int:
    """GRADER_FAULT when a result records a fault of dlgrade, CANNOT when one of its reports
    could not be written, FOUND when `failed_checks` and a check failed or raised, else OK."""
    status = OK
    for r in results:
        kinds = {p.get("kind") for p in r.problems}
        checks = [c for part in r.parts for c in part.checks if c.kind == "check"]
        if kinds - {"report"} or any(c.status == Status.GRADER_ERROR for c in checks):
            return GRADER_FAULT
        if "report" in kinds:
            status = CANNOT
        elif failed_checks and any(c.status in (Status.FAIL, Status.ERROR) for c in checks):
            status = max(status, FOUND)
    return status
