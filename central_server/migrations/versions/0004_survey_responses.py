"""satisfaction survey responses (IKM)

Revision ID: 0004_survey_responses
Revises: 0003_regions
Create Date: 2026-11-22 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_survey_responses"
down_revision: str | None = "0003_regions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ELEMENTS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("office_code", sa.String(length=4), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("survey_date", sa.Date(), nullable=False),
        *(sa.Column(name, sa.SmallInteger(), nullable=False) for name in ELEMENTS),
        sa.Column("received_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"]),
        sa.ForeignKeyConstraint(["office_code"], ["offices.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kiosk_id", "idempotency_key", name="uq_survey_kiosk_idempotency_key"),
    )
    op.create_index(
        "ix_survey_responses_office_date",
        "survey_responses",
        ["office_code", "survey_date"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_survey_responses_office_date", table_name="survey_responses")
    op.drop_table("survey_responses")
