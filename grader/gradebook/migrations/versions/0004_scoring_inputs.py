"""Rescore: each run records the sha256 of the scoring inputs kept per notebook.

Revision ID: 0004_scoring_inputs
Revises: 0003_instructors
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_scoring_inputs"
down_revision = "0003_instructors"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("scoring", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("scoring")
