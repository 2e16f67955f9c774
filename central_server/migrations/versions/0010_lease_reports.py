"""lease usage reported by kiosks, places released by technicians, over-quota flag, server seals

Revision ID: 0010_lease_reports
Revises: 0009_queue
Create Date: 2026-12-06 09:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_lease_reports"
down_revision: str | None = "0009_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (existing leases: never reported, so in doubt until reported)."""
    op.add_column("slot_leases", sa.Column("reported_used", sa.Integer(), nullable=True))
    op.add_column(
        "slot_leases", sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("slot_leases", sa.Column("released_by", sa.String(length=64), nullable=True))
    op.add_column(
        "slot_leases", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "applications",
        sa.Column("over_quota", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("applications", sa.Column("server_seal", sa.String(length=400), nullable=True))
    op.create_unique_constraint("applications_server_seal_key", "applications", ["server_seal"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_constraint("applications_server_seal_key", "applications", type_="unique")
    op.drop_column("applications", "server_seal")
    op.drop_column("applications", "over_quota")
    for column in ("released_at", "released_by", "reported_at", "reported_used"):
        op.drop_column("slot_leases", column)
