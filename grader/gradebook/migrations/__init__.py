"""Alembic's migrations of the gradebook, shipped in the package so that an installed dlgrade
migrates a course's database itself (grader.gradebook.database.migrate). One file per revision
in versions/; a new one starts from `alembic revision` with script.py.mako."""
