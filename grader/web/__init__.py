"""The review server (`dlgrade serve`): a local web app over the gradebook where an instructor
sees the students x assignments grid, each student's report, and the queue of needs-review
checks, and overrides any check (points and a comment, kept beside the grader's verdict).

    app.py        the Starlette app: routes, login required, CSRF on every POST, security headers
    auth.py       instructors' passwords (scrypt, in the gradebook) and session tokens
    data.py       what the pages show, read from the gradebook in a few queries per page
    templates/    Jinja2 pages (autoescaped; the reports' filters and catalogue)
    static/       the style sheet (no script anywhere)

It reads and writes the gradebook and renders with the reporters; it grades and runs nothing.
"""

from grader.web.app import create_app

__all__ = ["create_app"]
