"""Collect: the UTC offset the due date was given in (the course's zone), to read an export's
local zip times in it when a later collect gives no --due.

Revision ID: 0006_assignment_due_offset
Revises: 0005_student_lms_id
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_assignment_due_offset"
down_revision = "0005_student_lms_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("due_offset_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("due_offset_minutes")
