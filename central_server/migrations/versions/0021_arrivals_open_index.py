"""arrivals indexed on their open places only (waiting, called, set aside): the start-up clean-up

The clean-up of places decided on their application's page (central_server.queue.stale), run at
every server start under the migration lock, read every arrival ever recorded: no index starts
with the state. This partial index holds only the places not done, by counter: the clean-up
reads it alone, and who each counter serves (queue.counters) is found through it.

Revision ID: 0021_arrivals_open_index
Revises: 0020_command_redelivery
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_arrivals_open_index"
down_revision: str | None = "0020_command_redelivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_PLACE = "state = 'waiting' OR state = 'called' OR state = 'no_show'"  # as at 0021


def upgrade() -> None:
    """Apply this revision (the index holds the few places not done: quick to build)."""
    op.create_index(
        "ix_arrivals_open",
        "arrivals",
        ["counter_id"],
        unique=False,
        postgresql_where=sa.text(OPEN_PLACE),
        sqlite_where=sa.text(OPEN_PLACE),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_arrivals_open", table_name="arrivals")
