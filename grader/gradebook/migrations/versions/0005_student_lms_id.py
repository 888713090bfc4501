"""Collect: a student's user id in the LMS (Canvas's), from the roster, to match an export by.

Revision ID: 0005_student_lms_id
Revises: 0004_scoring_inputs
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_student_lms_id"
down_revision = "0004_scoring_inputs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("lms_id", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("students") as batch:
        batch.drop_column("lms_id")
