"""Alembic's environment: run by grader.gradebook.database.migrate on a connection it opened and
holds in a transaction, with the lock that keeps two processes from migrating at once."""

from alembic import context

from grader.gradebook.models import Base

connection = context.config.attributes["connection"]
# render_as_batch: SQLite alters a table by copying it; written so in new migrations
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
