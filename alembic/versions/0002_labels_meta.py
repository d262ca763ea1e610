"""commit labels (unique when set) and the yangd_meta key/value table

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00

A unique index, not a unique constraint, on the nullable label: both SQLite and PostgreSQL
allow any number of NULLs in it, and SQLite can add an index without copying the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("yangd_commit") as batch:
        batch.add_column(sa.Column("label", sa.String(255), nullable=True))
        batch.create_index("ix_yangd_commit_label", ["label"], unique=True)
    op.create_table(
        "yangd_meta",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_yangd_meta"),
    )


def downgrade() -> None:
    op.drop_table("yangd_meta")
    with op.batch_alter_table("yangd_commit") as batch:
        batch.drop_index("ix_yangd_commit_label")
        batch.drop_column("label")
