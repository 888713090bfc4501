"""Review: the instructors who may log in to the review server, with a scrypt hash of their password.

Revision ID: 0003_instructors
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_instructors"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instructors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instructors")),
    )


def downgrade() -> None:
    op.drop_table("instructors")
