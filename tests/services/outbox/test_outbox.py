"""The outbox against a real central server on loopback: durable, encrypted, sent exactly once."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import sealing
from kiosk_app.services.outbox.records import Attachment
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.sealing import OutboxError
from tests.services.outbox_rig import (
    ADMIN,
    CANARY_NAME,
    KIOSK_ID,
    SERVICE,
    canary_nik,
    client,
    server_rows,
    slot_plan,
    start_server,
    submission,
)

KEY = bytes(range(32))


@dataclass
class Rig:
    server: EmbeddedServer
    db: Path
    central: CentralClient
    outbox: Outbox
    sender: OutboxSender


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    server = start_server(tmp_path / "central.db")
    central = client(server.base_url)
    box = Outbox(tmp_path / "outbox.db", KEY, KIOSK_ID)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.05))
    try:
        yield Rig(server, tmp_path / "central.db", central, box, sender)
    finally:
        sender.stop()
        box.close()
        central.close()
        server.stop()


def test_personal_data_never_in_the_sqlite_file_or_its_wal(rig: Rig) -> None:
    slot = next(slot_plan(rig.central, 1))
    scan = b"%PDF-1.4 scanned KK of " + CANARY_NAME.encode()
    entry = rig.outbox.enqueue(
        submission(slot), attachments=[Attachment("kk", "application/pdf", scan)]
    )
    assert entry.local_reference.startswith(f"LOK-{KIOSK_ID}-") and entry.status == "pending"
    files = [rig.outbox.path, Path(f"{rig.outbox.path}-wal")]
    assert files[1].stat().st_size > 0  # the commit is in the WAL (not yet checkpointed)
    secrets = [canary_nik().encode(), CANARY_NAME.encode(), b"ANAK UJI", b"scanned KK"]
    for path in files:
        data = path.read_bytes()
        assert not [s for s in secrets if s in data], path
    back = rig.outbox.submission(entry.id)  # ...yet it decrypts with the key
    assert back.applicant_nik == canary_nik() and back.applicant_name == CANARY_NAME
    assert rig.outbox.attachments(entry.id)[0].data == scan
    other = Outbox(rig.outbox.path, bytes(32), KIOSK_ID)
    try:
        with pytest.raises(OutboxError):
            other.submission(entry.id)
    finally:
        other.close()


def test_sent_once_with_its_key_then_wiped(rig: Rig) -> None:
    slots = list(slot_plan(rig.central, 3))
    entries = [rig.outbox.enqueue(submission(s, n)) for n, s in enumerate(slots)]
    assert rig.outbox.depth() == 3
    assert rig.sender.drain_once() == 3
    assert rig.outbox.depth() == 0
    rows = {key: (ref, number) for key, ref, number in server_rows(rig.db)}
    for entry in entries:
        done = rig.outbox.get(entry.id)
        assert done.status == "sent" and done.registration_number
        assert rows[entry.idempotency_key] == (entry.local_reference, done.registration_number)
        with pytest.raises(OutboxError):
            rig.outbox.submission(entry.id)  # the plaintext is gone
    # Enqueueing with a key already stored does not make a second row.
    again = rig.outbox.enqueue(submission(slots[0], 0), idempotency_key=entries[0].idempotency_key)
    assert again.id == entries[0].id and rig.outbox.depth() == 0
    assert rig.sender.drain_once() == 0 and len(server_rows(rig.db)) == 3


def test_lost_answer_is_resent_and_replayed_not_duplicated(rig: Rig) -> None:
    slot = next(slot_plan(rig.central, 1))
    entry = rig.outbox.enqueue(submission(slot))
    # The server got it, the kiosk never heard back (e.g. killed after the POST).
    first = rig.central.submit(
        **rig.outbox.submission(entry.id).request(),
        idempotency_key=entry.idempotency_key,
        local_reference=entry.local_reference,
    )
    assert rig.sender.drain_once() == 1
    assert rig.outbox.get(entry.id).registration_number == first.registration_number
    assert len(server_rows(rig.db)) == 1


def test_permanent_rejection_is_kept_for_an_attendant(rig: Rig) -> None:
    slot = next(slot_plan(rig.central, 1))
    bad = submission(slot)
    bad = type(bad)(**{**bad.__dict__, "service": "no_such_service"})
    entry = rig.outbox.enqueue(bad)
    assert rig.sender.drain_once() == 0
    row = rig.outbox.get(entry.id)
    assert row.status == "rejected" and "422" in row.last_error and row.attempts == 1
    assert rig.outbox.submission(entry.id).applicant_nik == canary_nik()  # kept, not deleted
    assert rig.outbox.due() == [] and rig.outbox.depth() == 0
    assert rig.sender.drain_once() == 0 and rig.outbox.get(entry.id).attempts == 1  # no retry


def set_quota(rig: Rig, daily: int) -> None:
    import requests

    requests.put(
        f"{rig.server.base_url}/api/v1/offices/3517/quotas/{SERVICE}",
        json={"daily_quota": daily},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    ).raise_for_status()


def test_a_closed_day_moves_to_the_next_free_slot(rig: Rig) -> None:
    today = date.today()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    entry = rig.outbox.enqueue(submission(Slot(saturday, "08.00-11.00")))
    assert rig.sender.drain_once() == 1
    sent = rig.outbox.get(entry.id)
    assert sent.status == "sent" and sent.slot.date > saturday  # the Monday after, or later
    assert len(server_rows(rig.db)) == 1


def test_no_place_in_the_horizon_becomes_needs_slot_then_is_rescheduled(rig: Rig) -> None:
    slot = next(slot_plan(rig.central, 1))
    set_quota(rig, 0)  # nothing left anywhere: the row cannot move
    entry = rig.outbox.enqueue(submission(slot))
    rig.sender.drain_once()
    assert rig.outbox.get(entry.id).status == "needs_slot"
    assert server_rows(rig.db) == []
    set_quota(rig, 300)
    rig.outbox.reschedule(entry.id, next(slot_plan(rig.central, 1)))
    assert rig.sender.drain_once() == 1
    sent = rig.outbox.get(entry.id)
    assert sent.status == "sent" and sent.idempotency_key == entry.idempotency_key
    assert len(server_rows(rig.db)) == 1


def test_backoff_is_exponential_with_full_jitter_and_capped() -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0)
    for failures in range(1, 12):
        ceiling = min(60.0, 2.0 ** (failures - 1))
        assert backoff.delay(failures, rng=lambda: 0.0) == 0.0
        assert backoff.delay(failures, rng=lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
        assert backoff.delay(failures, rng=lambda: 0.5) == pytest.approx(ceiling / 2)
    assert backoff.delay(100, rng=lambda: 0.999999) <= 60.0
    # Retry-After: never earlier than asked, spread by at most one base delay.
    for failures in (1, 5, 20):
        assert 7.0 <= backoff.delay(failures, 7.0, rng=lambda: 0.0) <= 8.0
        assert 7.0 <= backoff.delay(failures, 7.0, rng=lambda: 0.999) <= 8.0
    assert backoff.delay(1, 1e9, rng=lambda: 0.0) == backoff.max_retry_after_s


def test_development_key_is_generated_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sealing, "DEFAULT_KEY_FILE", tmp_path / "etc" / "outbox.key")
    with caplog.at_level(logging.WARNING):
        key = sealing.load_key(None, tmp_path / "data")
    path = tmp_path / "data" / "outbox.key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("development key" in r.getMessage() for r in caplog.records)
    assert sealing.load_key(None, tmp_path / "data") == key
    provisioned = tmp_path / "provisioned.key"
    provisioned.write_bytes(os.urandom(32))
    assert sealing.load_key(provisioned, tmp_path / "data") == provisioned.read_bytes()
    for edge in (b"\n" + bytes(range(31)), bytes(range(31)) + b" ", b"\t" * 32):
        provisioned.write_bytes(edge)  # raw keys may begin or end with whitespace bytes
        assert sealing.load_key(provisioned, tmp_path / "data") == edge
    with pytest.raises(OutboxError):
        sealing.load_key(tmp_path / "missing.key", tmp_path / "data")
    short = tmp_path / "short.key"
    short.write_text("c2hvcnQ=")
    with pytest.raises(OutboxError):
        sealing.load_key(short, tmp_path / "data")


def test_local_references_count_per_day_and_survive_reopening(tmp_path: Path) -> None:
    from datetime import datetime

    now = datetime(2026, 3, 2, 10, 0)
    box = Outbox(tmp_path / "o.db", KEY, "K1", local_now=lambda: now)
    slot = Slot(date(2026, 3, 4), "08.00-11.00")
    refs = [box.enqueue(submission(slot, n)).local_reference for n in range(2)]
    box.close()
    box = Outbox(tmp_path / "o.db", KEY, "K1", local_now=lambda: now)
    refs.append(box.enqueue(submission(slot, 3)).local_reference)
    box.close()
    assert refs == ["LOK-K1-260302-0001", "LOK-K1-260302-0002", "LOK-K1-260302-0003"]
