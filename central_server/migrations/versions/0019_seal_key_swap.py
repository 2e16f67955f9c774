"""seal key rotations: the predecessor verifies until the kiosk acknowledged its swap

Revision ID: 0019_seal_key_swap
Revises: 0018_end_decided_places
Create Date: 2026-12-06 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_seal_key_swap"
down_revision: str | None = "0018_end_decided_places"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (rotations recorded so far keep their predecessor's end at the
    successor's valid_from: both columns null)."""
    with op.batch_alter_table("kiosk_signing_keys") as batch:
        batch.add_column(sa.Column("predecessor_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("swapped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("kiosk_signing_keys") as batch:
        batch.drop_column("swapped_at")
        batch.drop_column("predecessor_until")
