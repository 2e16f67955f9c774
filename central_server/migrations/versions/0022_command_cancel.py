"""fleet commands: a technician's cancellation (when and by whom), kept after a late result

Revision ID: 0022_command_cancel
Revises: 0021_arrivals_open_index
Create Date: 2026-12-07 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_command_cancel"
down_revision: str | None = "0021_arrivals_open_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (no command was cancelled before it)."""
    with op.batch_alter_table("fleet_commands") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision (cancelled commands without a result become failed ones)."""
    op.execute(
        "UPDATE fleet_commands SET status = 'failed', finished_at = cancelled_at, "
        "result_detail = 'cancelled' WHERE status = 'cancelled'"
    )
    with op.batch_alter_table("fleet_commands") as batch:
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
