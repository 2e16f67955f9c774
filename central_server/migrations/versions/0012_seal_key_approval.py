"""seal key replacements: proof of the old key, or pending a technician's approval

Revision ID: 0012_seal_key_approval
Revises: 0011_kiosk_signing_keys
Create Date: 2026-12-06 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_seal_key_approval"
down_revision: str | None = "0011_kiosk_signing_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (every key registered so far is in force)."""
    with op.batch_alter_table("kiosk_signing_keys") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=20), server_default="in_force", nullable=False)
        )
        batch.add_column(sa.Column("decided_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("kiosks") as batch:
        batch.add_column(sa.Column("key_nonce", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("key_nonce_expires", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("kiosks") as batch:
        batch.drop_column("key_nonce_expires")
        batch.drop_column("key_nonce")
    with op.batch_alter_table("kiosk_signing_keys") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("state")
