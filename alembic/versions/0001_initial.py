"""initial commit log: commits, snapshots, persisted datastores, pending confirmed commit

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Written by hand (not from the current ORM mapping, which moves on): this is the schema of
the first yangd release, before commit labels and the meta table (0002).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "yangd_commit",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_yangd_commit"),
    )
    op.create_table(
        "yangd_snapshot",
        sa.Column("commit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commit_id"],
            ["yangd_commit.id"],
            name="fk_yangd_snapshot_commit_id_yangd_commit",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commit_id", name="pk_yangd_snapshot"),
    )
    op.create_table(
        "yangd_datastore",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("tree", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_yangd_datastore"),
    )
    op.create_table(
        "yangd_confirm",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("commit_id", sa.Integer(), nullable=False),
        sa.Column("rollback_to", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("persist_id", sa.String(255), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("armed_by_instance", sa.String(255), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_yangd_confirm_single_row"),
        sa.PrimaryKeyConstraint("id", name="pk_yangd_confirm"),
    )


def downgrade() -> None:
    op.drop_table("yangd_confirm")
    op.drop_table("yangd_datastore")
    op.drop_table("yangd_snapshot")
    op.drop_table("yangd_commit")
