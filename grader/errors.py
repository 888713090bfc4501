"""dlgrade's exception tree, in one place.

    DlgradeError
    ├── NotANotebook (ValueError)        a submission file is not a usable notebook
    ├── AssignmentError (ValueError)     an assignment folder or its checks are broken (instructor's side)
    ├── SandboxUnavailable (RuntimeError) no sandbox can be started and --no-sandbox was not given
    └── GraderBug (RuntimeError)         dlgrade itself failed; never the student's fault

Data set errors live in `grader.datasets.cache` (DatasetMissing, DatasetCorrupt, FetchFailed).
The gradebook's live in `grader.gradebook.errors` (GradebookError, RosterError: catalogue messages).
"The student's check failed" and "the student's code raised" are not exceptions: they are
statuses of a CheckResult (fail, error).
"""


class DlgradeError(Exception):
    """Base of every error dlgrade raises on purpose."""


class NotANotebook(DlgradeError, ValueError):
    """The file is not a readable, valid Jupyter notebook."""


class AssignmentError(DlgradeError, ValueError):
    """An assignment folder, solution notebook or checks file is broken."""


class SandboxUnavailable(DlgradeError, RuntimeError):
    """No sandbox can run here and running without one was not asked for."""


class GraderBug(DlgradeError, RuntimeError):
    """dlgrade itself failed while grading; reported apart from the student's mistakes."""
