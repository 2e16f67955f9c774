"""one-time print codes and the print log

Revision ID: 0002_print_codes
Revises: 0001_initial
Create Date: 2026-11-22 23:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_print_codes"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "print_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_code", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reservation_hash", sa.String(length=64), nullable=True),
        sa.Column("reserved_by", sa.String(length=64), nullable=True),
        sa.Column("reserved_until", sa.DateTime(), nullable=True),
        sa.Column("printed_at", sa.String(length=40), nullable=True),
        sa.Column("printed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["document_code"], ["issued_documents.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("document_code"),
    )
    op.create_table(
        "print_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_number", sa.String(length=40), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("masked_nik", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_print_log_document_number"), "print_log", ["document_number"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_print_log_document_number"), table_name="print_log")
    op.drop_table("print_log")
    op.drop_table("print_codes")
