"""region master list: editions and their regions

Revision ID: 0003_regions
Revises: 0002_print_codes
Create Date: 2026-11-22 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_regions"
down_revision: str | None = "0002_print_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "region_editions",
        sa.Column("edition_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("provinces", sa.Integer(), nullable=False),
        sa.Column("regencies", sa.Integer(), nullable=False),
        sa.Column("districts", sa.Integer(), nullable=False),
        sa.Column("villages", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("edition_id"),
    )
    op.create_index(
        op.f("ix_region_editions_is_current"), "region_editions", ["is_current"], unique=False
    )
    op.create_table(
        "regions",
        sa.Column("edition_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["region_editions.edition_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("edition_id", "code"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("regions")
    op.drop_index(op.f("ix_region_editions_is_current"), table_name="region_editions")
    op.drop_table("region_editions")
