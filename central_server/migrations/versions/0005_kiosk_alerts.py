"""fleet alert history: alerts raised and cleared per kiosk

Revision ID: 0005_kiosk_alerts
Revises: 0004_survey_responses
Create Date: 2026-11-22 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_kiosk_alerts"
down_revision: str | None = "0004_survey_responses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "kiosk_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_kiosk_alerts_kiosk_open", "kiosk_alerts", ["kiosk_id", "cleared_at"], unique=False
    )
    op.create_index("ix_kiosk_alerts_raised", "kiosk_alerts", ["raised_at"], unique=False)
    # The alerts kiosks have right now start the history (raised when last seen).
    states = sa.table(
        "kiosk_states",
        sa.column("kiosk_id", sa.String),
        sa.column("last_seen", sa.DateTime(timezone=True)),
        sa.column("problems", sa.String),
    )
    history = sa.table(
        "kiosk_alerts",
        sa.column("kiosk_id", sa.String),
        sa.column("code", sa.String),
        sa.column("raised_at", sa.DateTime(timezone=True)),
    )
    rows = [
        {"kiosk_id": kiosk_id, "code": code, "raised_at": seen}
        for kiosk_id, seen, problems in op.get_bind().execute(
            sa.select(states.c.kiosk_id, states.c.last_seen, states.c.problems)
        )
        for code in (problems or "").split()
    ]
    if rows:
        op.bulk_insert(history, rows)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_kiosk_alerts_raised", table_name="kiosk_alerts")
    op.drop_index("ix_kiosk_alerts_kiosk_open", table_name="kiosk_alerts")
    op.drop_table("kiosk_alerts")
