"""One module per revision; Alembic loads them by file, in the order of down_revision."""
