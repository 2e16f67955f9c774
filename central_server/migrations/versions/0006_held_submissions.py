"""fleet: held submissions (waiting for an attendant) in the kiosk state and its history

Revision ID: 0006_held_submissions
Revises: 0005_kiosk_alerts
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_held_submissions"
down_revision: str | None = "0005_kiosk_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
TABLES = ("kiosk_states", "kiosk_samples")


def upgrade() -> None:
    """Apply this revision (existing rows: 0, as old kiosks report)."""
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "held_submissions", sa.Integer(), nullable=False, server_default=sa.text("0")
            ),
        )


def downgrade() -> None:
    """Revert this revision."""
    for table in TABLES:
        op.drop_column(table, "held_submissions")
