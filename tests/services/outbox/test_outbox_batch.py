"""The outbox sender's batch path against a real central server: per-item verdicts, scans sent
one by one, replays of what a single send already stored, and the fallback for old servers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient, CentralRejected
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.outbox.records import Attachment
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from tests.services.outbox_rig import (
    KIOSK_ID,
    client,
    server_rows,
    slot_plan,
    start_server,
    submission,
)


@dataclass
class Rig:
    db: Path
    central: CentralClient
    outbox: Outbox
    sender: OutboxSender
    server: EmbeddedServer


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    server = start_server(tmp_path / "central.db")
    central = client(server.base_url)
    box = Outbox(tmp_path / "outbox.db", bytes(32), KIOSK_ID)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.05), workers=2)
    try:
        yield Rig(tmp_path / "central.db", central, box, sender, server)
    finally:
        box.close()
        central.close()
        server.stop()


def next_sunday() -> date:
    today = date.today()
    return today + timedelta(days=(6 - today.weekday()) % 7 or 7)


def test_a_backlog_goes_in_batches_with_per_item_verdicts(rig: Rig) -> None:
    slots = list(slot_plan(rig.central, 120))
    entries = [rig.outbox.enqueue(submission(s, n)) for n, s in enumerate(slots)]
    closed = rig.outbox.enqueue(submission(Slot(next_sunday(), "08.00-11.00"), 999))
    scanned = rig.outbox.enqueue(
        submission(slots[0], 1000), attachments=[Attachment("kk", "application/pdf", b"%PDF-1.4 x")]
    )
    # Sent alone before, but the answer was lost: the server holds it, the row is pending.
    first = rig.central.submit(
        **rig.outbox.submission(entries[0].id).request(),
        idempotency_key=entries[0].idempotency_key,
        local_reference=entries[0].local_reference,
    )
    assert rig.sender.drain_once() == 122  # 121 in batches (one replayed) and the scanned row
    assert rig.outbox.counts() == {"sent": 122}
    moved = rig.outbox.get(closed.id)  # the Sunday slot cannot be booked: the next free one is
    assert moved.slot.date > next_sunday() and moved.slot.date.weekday() < 5
    on_server = {key: number for key, _, number in server_rows(rig.db)}
    assert len(on_server) == 122  # nothing doubled
    for entry in [*entries, scanned]:
        row = rig.outbox.get(entry.id)
        assert row.registration_number == on_server[entry.idempotency_key]
    assert rig.outbox.get(entries[0].id).registration_number == first.registration_number
    assert rig.outbox.attachments(scanned.id) == []  # uploaded, then wiped with the row


def test_a_server_without_the_batch_endpoint_gets_one_request_per_row(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def old_server(*_args: object, **_kwargs: object) -> None:
        raise CentralRejected("POST /api/v1/applications/batch: HTTP 404 -: Not Found", status=404)

    monkeypatch.setattr(rig.central, "submit_batch", old_server)
    entries = [
        rig.outbox.enqueue(submission(s, n)) for n, s in enumerate(slot_plan(rig.central, 5))
    ]
    assert rig.sender.drain_once() == 5
    assert rig.sender._batch_endpoint is False
    assert sorted(k for k, _, _ in server_rows(rig.db)) == sorted(
        e.idempotency_key for e in entries
    )
