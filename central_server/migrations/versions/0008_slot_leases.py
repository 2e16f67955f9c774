"""slot leases for kiosks booking offline, kiosk signing keys, sealed applications and flags

Revision ID: 0008_slot_leases
Revises: 0007_shared_throttles
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_slot_leases"
down_revision: str | None = "0007_shared_throttles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (existing kiosks: no signing key yet; applications: not sealed)."""
    op.add_column("kiosks", sa.Column("signing_key", sa.String(length=64), nullable=True))
    op.create_table(
        "slot_leases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("office_code", sa.String(length=4), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window", sa.String(length=20), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("book_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"]),
        sa.ForeignKeyConstraint(["office_code"], ["offices.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kiosk_id", "service", "day", "window", name="uq_lease_slot"),
    )
    op.create_index(
        "ix_leases_slot", "slot_leases", ["office_code", "service", "day", "window"], unique=False
    )
    op.create_index(op.f("ix_slot_leases_expires_at"), "slot_leases", ["expires_at"], unique=False)
    op.add_column("applications", sa.Column("lease_id", sa.String(length=32), nullable=True))
    op.add_column("applications", sa.Column("seal", sa.String(length=400), nullable=True))
    op.add_column("applications", sa.Column("seal_status", sa.String(length=20), nullable=True))
    op.add_column("applications", sa.Column("duplicate_of", sa.String(length=40), nullable=True))
    op.add_column("applications", sa.Column("hold_reason", sa.String(length=300), nullable=True))
    op.create_foreign_key(
        "applications_lease_id_fkey", "applications", "slot_leases", ["lease_id"], ["id"]
    )
    op.create_unique_constraint("applications_seal_key", "applications", ["seal"])
    op.create_index(
        "ix_applications_applicant", "applications", ["applicant_nik", "service"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_applications_applicant", table_name="applications")
    op.drop_constraint("applications_seal_key", "applications", type_="unique")
    op.drop_constraint("applications_lease_id_fkey", "applications", type_="foreignkey")
    for column in ("hold_reason", "duplicate_of", "seal_status", "seal", "lease_id"):
        op.drop_column("applications", column)
    op.drop_index(op.f("ix_slot_leases_expires_at"), table_name="slot_leases")
    op.drop_index("ix_leases_slot", table_name="slot_leases")
    op.drop_table("slot_leases")
    op.drop_column("kiosks", "signing_key")
