"""receipt copy outcomes: the kiosk reports how a copy printed; one that did not is given back

Revision ID: 0017_receipt_copy_outcomes
Revises: 0016_card_holder_audit_keys
Create Date: 2026-12-06 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_receipt_copy_outcomes"
down_revision: str | None = "0016_card_holder_audit_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("receipt_copies") as batch:
        batch.add_column(sa.Column("print_outcome", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("print_failure", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("report_key", sa.String(length=128), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("receipt_copies") as batch:
        batch.drop_column("report_key")
        batch.drop_column("reported_at")
        batch.drop_column("print_failure")
        batch.drop_column("print_outcome")
