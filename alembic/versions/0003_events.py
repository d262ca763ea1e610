"""the event log: yangd_event, one row per notification (RFC 5277 replay)

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03 00:00:00

``id`` is a database-assigned serial (several yangd instances may append to one log); the
index on ``time`` serves the replay window queries and pruning by age.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "yangd_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_yangd_event"),
    )
    op.create_index("ix_yangd_event_time", "yangd_event", ["time"])


def downgrade() -> None:
    op.drop_index("ix_yangd_event_time", table_name="yangd_event")
    op.drop_table("yangd_event")
