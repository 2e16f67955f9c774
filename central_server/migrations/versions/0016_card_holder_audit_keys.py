"""card-holder audit: NIKs keyed (HMAC) for a supervisor's search, refusals counted per window

Revision ID: 0016_card_holder_audit_keys
Revises: 0015_receipt_copies
Create Date: 2026-12-06 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_card_holder_audit_keys"
down_revision: str | None = "0015_receipt_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (rows from before it: no NIK hash, one attempt each)."""
    table = "card_holder_lookups"
    op.add_column(table, sa.Column("nik_hash", sa.String(length=64), nullable=True))
    op.add_column(
        table, sa.Column("attempts", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.add_column(table, sa.Column("last_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(table, sa.Column("refusal_key", sa.String(length=200), nullable=True))
    op.create_index(
        "ix_card_holder_lookups_nik_at", "card_holder_lookups", ["nik_hash", "at"], unique=False
    )
    op.create_index(
        "ux_card_holder_lookups_refusal_key",
        "card_holder_lookups",
        ["refusal_key"],
        unique=True,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ux_card_holder_lookups_refusal_key", table_name="card_holder_lookups")
    op.drop_index("ix_card_holder_lookups_nik_at", table_name="card_holder_lookups")
    for column in ("refusal_key", "last_at", "attempts", "nik_hash"):
        op.drop_column("card_holder_lookups", column)
