"""fleet commands: how many times each was handed out (redelivered until acknowledged)

Revision ID: 0020_command_redelivery
Revises: 0019_seal_key_swap
Create Date: 2026-12-06 21:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_command_redelivery"
down_revision: str | None = "0019_seal_key_swap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (commands handed out before it count one delivery)."""
    with op.batch_alter_table("fleet_commands") as batch:
        batch.add_column(
            sa.Column("deliveries", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.execute("UPDATE fleet_commands SET deliveries = 1 WHERE sent_at IS NOT NULL")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("fleet_commands") as batch:
        batch.drop_column("deliveries")
