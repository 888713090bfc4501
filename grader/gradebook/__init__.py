"""The course's gradebook: a database of students, assignments, submissions, every grading run
with its verdicts, and people's overrides (SQLAlchemy 2; SQLite by default, PostgreSQL by URL).

    models.py     the tables, and what is a column and what stays JSON
    database.py   URL, engine (SQLite: WAL, busy timeout, BEGIN IMMEDIATE), migrating on open
    migrations/   Alembic's revisions, shipped in the package
    book.py       Gradebook: import_roster, record_submission, record_run, runs_of, latest_run, override
    roster.py     reading a roster CSV (English or Japanese headers; UTF-8, UTF-16, Shift_JIS)
    collect.py    an LMS export's submissions matched to the roster, kept on disk and recorded

It imports the result model and the catalogue, nothing of the pipeline: the command line and,
later, the review server and rescoring use it.
"""

from grader.gradebook.book import Gradebook, RosterChanges, RosterRow
from grader.gradebook.database import database_url
from grader.gradebook.errors import GradebookError, RosterError
from grader.gradebook.roster import read_roster

__all__ = ["Gradebook", "GradebookError", "RosterChanges", "RosterError", "RosterRow", "database_url", "read_roster"]
