"""card-holder look-ups audited per kiosk (masked NIK, outcome): the kiosk budget's alert

Revision ID: 0014_card_holder_lookups
Revises: 0013_queue_call_index
Create Date: 2026-12-06 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_card_holder_lookups"
down_revision: str | None = "0013_queue_call_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "card_holder_lookups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("masked_nik", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_card_holder_lookups_kiosk_at", "card_holder_lookups", ["kiosk_id", "at"], unique=False
    )
    op.create_index(
        "ix_card_holder_lookups_outcome_at",
        "card_holder_lookups",
        ["outcome", "at"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_card_holder_lookups_outcome_at", table_name="card_holder_lookups")
    op.drop_index("ix_card_holder_lookups_kiosk_at", table_name="card_holder_lookups")
    op.drop_table("card_holder_lookups")
