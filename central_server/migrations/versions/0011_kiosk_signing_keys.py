"""every receipt signing key a kiosk registered, with the time it took effect

Revision ID: 0011_kiosk_signing_keys
Revises: 0010_lease_reports
Create Date: 2026-12-06 10:45:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0011_kiosk_signing_keys"
down_revision: str | None = "0010_lease_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SINCE_EVER = datetime(2000, 1, 1, tzinfo=UTC)  # a key registered before history was kept


def upgrade() -> None:
    """Apply this revision (each kiosk's current key: in force for every seal it issued)."""
    keys = op.create_table(
        "kiosk_signing_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_kiosk_signing_keys_kiosk_id"), "kiosk_signing_keys", ["kiosk_id"], unique=False
    )
    kiosks = sa.table("kiosks", sa.column("kiosk_id", sa.String), sa.column("signing_key"))
    rows = op.get_bind().execute(
        sa.select(kiosks.c.kiosk_id, kiosks.c.signing_key).where(kiosks.c.signing_key.is_not(None))
    )
    op.bulk_insert(
        keys,
        [
            {
                "kiosk_id": kiosk_id,
                "public_key": key,
                "valid_from": SINCE_EVER,
                "registered_by": "enrolment",
            }
            for kiosk_id, key in rows
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_kiosk_signing_keys_kiosk_id"), table_name="kiosk_signing_keys")
    op.drop_table("kiosk_signing_keys")
