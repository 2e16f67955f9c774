"""the counters' queue: counters (loket), queue events, each arrival's place in the queue

Revision ID: 0009_queue
Revises: 0008_slot_leases
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_queue"
down_revision: str | None = "0008_slot_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "queue_counters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("office_code", sa.String(length=4), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("services", sa.String(length=400), nullable=False),
        sa.Column("officer", sa.String(length=64), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["office_code"], ["offices.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("office_code", "number", name="uq_counter_number"),
    )
    op.create_table(
        "queue_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("office_code", sa.String(length=4), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("calling_number", sa.String(length=10), nullable=False),
        sa.Column("counter_number", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.ForeignKeyConstraint(["office_code"], ["offices.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_queue_events_office", "queue_events", ["office_code", "id"], unique=False)
    with op.batch_alter_table("arrivals") as batch:
        batch.add_column(
            sa.Column("service", sa.String(length=40), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("state", sa.String(length=12), server_default="waiting", nullable=False)
        )
        batch.add_column(
            sa.Column("priority", sa.String(length=20), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("counter_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("calls", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("called_at", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.String(length=40), nullable=True))
        batch.create_foreign_key("fk_arrivals_counter", "queue_counters", ["counter_id"], ["id"])
        batch.create_index(
            "ix_arrivals_queue", ["office_code", "day", "state", "sequence"], unique=False
        )
    # Arrivals recorded before the queue existed: their service, from the application.
    op.execute(
        "UPDATE arrivals SET service = (SELECT service FROM applications"
        " WHERE applications.id = arrivals.application_id)"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("arrivals") as batch:
        batch.drop_index("ix_arrivals_queue")
        batch.drop_constraint("fk_arrivals_counter", type_="foreignkey")
        for column in ("finished_at", "called_at", "calls", "counter_id", "priority", "state"):
            batch.drop_column(column)
        batch.drop_column("service")
    op.drop_index("ix_queue_events_office", table_name="queue_events")
    op.drop_table("queue_events")
    op.drop_table("queue_counters")
