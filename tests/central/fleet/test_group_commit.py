"""The heartbeat writer's group commit: a lone heartbeat is written at once, while heartbeats
arriving as other batches are written wait a moment and share a batch (on SQLite and on
PostgreSQL, the real writer against a real database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from central_server.db import Database
from central_server.fleet.heartbeats import HeartbeatWriter
from central_server.fleet.schemas import HeartbeatIn
from central_server.models import Kiosk
from central_server.settings import DEFAULT_OFFICES
from tests.central.conftest import OFFICE
from tests.central.fleet.helpers import heartbeat_body

KIOSKS = 21


async def _beats(writer: HeartbeatWriter, batches: list[int]) -> tuple[int, int]:
    """Send one heartbeat alone, then KIOSKS - 1 more, one per loop turn, while the first is
    still being written; return the first batch's size and how many batches the rest took."""
    flush = writer._flush

    async def counted(batch: list) -> None:  # type: ignore[type-arg]
        batches.append(len(batch))
        await flush(batch)

    writer._flush = counted  # type: ignore[method-assign]
    beat = HeartbeatIn.model_validate(heartbeat_body())
    first = asyncio.ensure_future(writer.submit("k00", "hash-00", beat))
    while not batches:  # the lone heartbeat left without waiting for company
        await asyncio.sleep(0)
    rest = []
    for n in range(1, KIOSKS):
        rest.append(asyncio.ensure_future(writer.submit(f"k{n:02d}", f"hash-{n:02d}", beat)))
        await asyncio.sleep(0)
    answers = await asyncio.gather(first, *rest)
    assert answers == [[]] * KIOSKS  # all stored, no commands
    await writer.aclose()
    return batches[0], len(batches) - 1


def test_heartbeats_arriving_together_share_a_batch(database_url: str) -> None:
    db = Database(database_url)
    try:
        db.create_all(DEFAULT_OFFICES)
        with db.transaction() as session:
            for n in range(KIOSKS):
                session.add(
                    Kiosk(
                        kiosk_id=f"k{n:02d}",
                        office_code=OFFICE,
                        name=f"Anjungan {n}",
                        token_hash=f"hash-{n:02d}",
                        registered_at=datetime.now(UTC).isoformat(),
                    )
                )
        writer = HeartbeatWriter(db)
        writer.gather_s = 0.5  # a window no neighbour's load stretches the arrivals past
        batches: list[int] = []
        first, rest = asyncio.run(_beats(writer, batches))
        assert first == 1
        # without the wait each arrival found a free slot and left alone: 3 (SQLite) or 6
        # (PostgreSQL) batches of one, then the rest as slots came back
        assert rest <= 2, batches
        assert sum(batches) == KIOSKS
    finally:
        db.dispose()
