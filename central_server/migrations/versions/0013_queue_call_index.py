"""queue events indexed on (office, day, calling number): the display voice's lookup

Revision ID: 0013_queue_call_index
Revises: 0012_seal_key_approval
Create Date: 2026-12-06 13:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_queue_call_index"
down_revision: str | None = "0012_seal_key_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (GET /display/{office}/audio/... reads one office's day of events
    for a calling number: without it, every event of the office)."""
    op.create_index(
        "ix_queue_events_call",
        "queue_events",
        ["office_code", "day", "calling_number"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_queue_events_call", table_name="queue_events")
