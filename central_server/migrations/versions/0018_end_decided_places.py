"""queue places of applications already verified or rejected on their page are ended

The code before this revision left a citizen waiting, called or set aside in the counters'
queue when their application was decided on its page: shown on the waiting-room displays, in
the counters' list, callable and restorable, and a counter that had called them stayed busy.
They are ended as queue.counters.end_place ends them now (central_server.queue.stale).

Revision ID: 0018_end_decided_places
Revises: 0017_receipt_copy_outcomes
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from central_server.queue.stale import end_decided_places

revision: str = "0018_end_decided_places"
down_revision: str | None = "0017_receipt_copy_outcomes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (idempotent: a place already ended is left alone)."""
    end_decided_places(op.get_bind())


def downgrade() -> None:
    """Nothing to revert: the places stay ended (the older code reads them as finished)."""
