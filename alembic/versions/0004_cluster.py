"""several yangd instances on one database: yangd_instance and yangd_lock

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 00:00:00

``yangd_instance``: each yangd serving the database, with a heartbeat (a stale heartbeat is a
dead instance). ``yangd_lock``: the cluster-wide datastore locks, one row per locked datastore,
leased by the holding instance (``expires``), so the locks of a killed instance lapse.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "yangd_instance",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("netconf", sa.String(255), nullable=True),
        sa.Column("restconf", sa.String(255), nullable=True),
        sa.Column("leader_of", sa.Text(), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_yangd_instance"),
    )
    op.create_table(
        "yangd_lock",
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name="pk_yangd_lock"),
    )


def downgrade() -> None:
    op.drop_table("yangd_lock")
    op.drop_table("yangd_instance")
