"""What the gradebook refuses, as catalogue messages: the command line shows them in the
instructor's language, str() in English."""

from __future__ import annotations

from grader.errors import DlgradeError
from grader.i18n import t


class GradebookError(DlgradeError, ValueError):
    """The database cannot be opened or written as asked (e.g. it is of a newer dlgrade)."""

    def __init__(self, key: str, **args):
        self.key, self.message_args = key, args
        super().__init__(t(key, "en", **args))

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.message_args)


class RosterError(GradebookError):
    """A roster file with problems: each one names its line; nothing was imported."""

    def __init__(self, problems: list[tuple[str, dict]]):
        self.problems = problems
        super().__init__("roster.nothing_imported", count=len(problems))

    def message(self, lang: str) -> str:
        lines = [t(key, lang, **args) for key, args in self.problems]
        return "\n".join([*lines, super().message(lang)])
