"""The kiosk's lease file: places counted durably, never given twice, even across SIGKILLs."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk_app.central import Lease
from kiosk_app.domain.opening_hours import parse_opening_hours
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import receipt_seal, sealing
from kiosk_app.services.leases import LeaseExhausted, LeaseStore, ReceiptSigner
from kiosk_app.services.seal_key import load_or_renew
from kiosk_app.services.sealing import load_signing_key, signing_key_path, write_new_secret
from tests.services.leases.crash_child import LEASE_ID

ROOT = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("crash_child.py")
DAY = date(2030, 1, 7)


def lease(
    lease_id: str = "L-1",
    places: int = 3,
    used: int = 0,
    *,
    book_until: datetime | None = None,
    service: str = "akta_kelahiran",
) -> Lease:
    now = datetime.now(UTC)
    until = book_until or now + timedelta(days=2)
    return Lease(
        lease_id, service, Slot(DAY, "08.00-11.00"), places, used, until, until + timedelta(hours=6)
    )


def seal_of(reference: str) -> str:
    return f"seal-of-{reference}"


def test_booking_counts_down_survives_reopening_and_replays_by_key(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path / "leases.db")
    store.replace([lease(places=2)])
    first = store.book("L-1", "key-1", "LOK-1", lambda _lease: seal_of("LOK-1"))
    assert first == {"lease_id": "L-1", "seal": "seal-of-LOK-1"}
    # the same key again is the same booking: no second place is taken
    assert store.book("L-1", "key-1", "LOK-9", lambda _lease: "other") == first
    assert [s.remaining for s in store.offer("akta_kelahiran")] == [1]
    store.close()
    store = LeaseStore(tmp_path / "leases.db")  # a restarted kiosk
    store.book("L-1", "key-2", "LOK-2", lambda _lease: seal_of("LOK-2"))
    assert store.offer("akta_kelahiran") == []
    with pytest.raises(LeaseExhausted):
        store.book("L-1", "key-3", "LOK-3", lambda _lease: seal_of("LOK-3"))
    assert [(u.places, u.used) for u in store.usage()] == [(2, 2)]
    store.close()


def test_renewal_keeps_local_bookings_and_the_server_count_whichever_is_more(
    tmp_path: Path,
) -> None:
    store = LeaseStore(tmp_path / "leases.db")
    store.replace([lease(places=3)])
    store.book("L-1", "key-1", "LOK-1", lambda _lease: "s1")
    store.replace([lease(places=3, used=0)])  # the booking has not reached the server yet
    assert [s.remaining for s in store.offer("akta_kelahiran")] == [2]
    store.replace([lease(places=5, used=2)])  # topped up; the server admitted two (one online)
    assert [s.remaining for s in store.offer("akta_kelahiran")] == [3]
    store.replace([lease("L-2", places=1)])  # L-1 reclaimed by the server
    assert [u.lease_id for u in store.usage()] == ["L-2"]
    store.close()


def test_past_its_booking_time_a_lease_is_neither_offered_nor_booked(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path / "leases.db")
    store.replace([lease(book_until=datetime.now(UTC) - timedelta(minutes=1))])
    assert store.offer("akta_kelahiran") == []
    with pytest.raises(LeaseExhausted):
        store.book("L-1", "key-1", "LOK-1", lambda _lease: "s")
    store.close()


def test_places_of_days_the_kiosk_will_not_reach_are_given_back(tmp_path: Path) -> None:
    # Closed now (a Sunday at 20:00, opening Monday 08:00): a lease bookable only until Sunday
    # night is given back, one bookable until Tuesday is kept.
    sunday_night = datetime(2030, 1, 6, 20, 0, tzinfo=timezone(timedelta(hours=7)))
    hours = parse_opening_hours({d: "08.00-16.00" for d in ("monday", "tuesday", "wednesday")})
    store = LeaseStore(tmp_path / "leases.db", clock=lambda: sunday_night)
    store.replace(
        [
            lease("L-1", places=4, book_until=sunday_night + timedelta(hours=3)),
            lease("L-2", places=2, book_until=sunday_night + timedelta(days=2)),
        ]
    )
    store.book("L-1", "key-1", "LOK-1", lambda _lease: "s")
    assert store.give_back(hours) == {"L-1": 3}  # the used place stays used
    assert store.give_back(hours) == {}  # given back once
    assert [s.slot for s in store.offer("akta_kelahiran")] == [Slot(DAY, "08.00-11.00")]
    assert {s.lease_id for s in store.offer("akta_kelahiran")} == {"L-2"}
    store.close()


def test_the_signing_key_is_made_once_0600_and_seals_verify(tmp_path: Path) -> None:
    key = load_signing_key(None, tmp_path / "data")
    path = tmp_path / "data" / "signing.key"
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_signing_key(None, tmp_path / "data")
    assert receipt_seal.public_key_text(again) == receipt_seal.public_key_text(key)
    signer = ReceiptSigner(key, kiosk_id="K-1", office_code="3517", verify_base="https://x.id")
    sealed = signer.seal("LOK-K-1-300107-0001", "akta_kelahiran", Slot(DAY, "08.00-11.00"))
    assert signer.qr(sealed) == f"https://x.id/r/{sealed}"
    raw = receipt_seal.public_key_from_text(signer.public_key)
    assert receipt_seal.verify(sealed, lambda _k: raw).reference == "LOK-K-1-300107-0001"


def test_the_seal_key_is_in_the_data_dir_else_in_an_old_kiosks_etc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The data dir (a provisioned kiosk's state directory) first; a kiosk provisioned when
    the key lived in /etc seals with that one, read only, until provisioning moves it; no
    warning on either, and no second key made beside the old one."""
    old = tmp_path / "etc" / "signing.key"
    monkeypatch.setattr(sealing, "OLD_SIGNING_KEY_FILE", old)
    data = tmp_path / "data"
    write_new_secret(old)
    assert signing_key_path(None, data) == old
    in_etc = receipt_seal.public_key_text(load_signing_key(None, data))
    assert in_etc == receipt_seal.public_key_text(load_or_renew(None, data).key)
    assert not data.exists() and sorted(p.name for p in old.parent.iterdir()) == ["signing.key"]
    data.mkdir()
    (data / "signing.key").write_bytes(old.read_bytes())  # what provisioning does, 0600
    (data / "signing.key").chmod(0o600)
    assert signing_key_path(None, data) == data / "signing.key"
    assert receipt_seal.public_key_text(load_signing_key(None, data)) == in_etc
    given = tmp_path / "elsewhere.key"
    assert signing_key_path(given, data) == given  # signing_key_file wins
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("seed", [1])
def test_sigkill_while_booking_never_gives_a_place_twice(tmp_path: Path, seed: int) -> None:
    places = 150
    store = LeaseStore(tmp_path / "leases.db")
    store.replace(
        [
            Lease(
                LEASE_ID,
                "akta_kelahiran",
                Slot(DAY, "08.00-11.00"),
                places,
                0,
                datetime(2031, 1, 1, tzinfo=UTC),
                datetime(2031, 1, 2, tzinfo=UTC),
            )
        ]
    )
    store.close()
    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lives = 0
    lives = 0
    for life in range(1, 200):
        lives = life
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(tmp_path)], env=env, stdout=subprocess.PIPE
        )
        assert child.stdout is not None and child.stdout.readline() == b"READY\n"
        try:
            child.wait(timeout=rng.random() * 0.06)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
        if child.returncode == 3:  # every place booked
            break
    else:
        pytest.fail("the lease never ran out")
    assert lives > 1
    printed = [line.split() for line in (tmp_path / "printed.log").read_text().splitlines() if line]
    with sqlite3.connect(tmp_path / "leases.db") as db:
        booked = dict(db.execute("SELECT reference, seal FROM lease_bookings").fetchall())
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        rows = [r[0] for r in db.execute("SELECT local_reference FROM outbox").fetchall()]
    assert len(booked) <= places  # never more places than leased
    assert len(set(booked.values())) == len(booked)
    references = [ref for _, ref, _ in printed]
    assert len(set(references)) == len(references)  # no ticket printed twice for one place
    for _, ref, sealed in printed:  # every printed ticket holds its place and its outbox row
        assert booked[ref] == sealed and ref in rows
    assert set(rows) <= set(booked)  # no outbox row without a place
    # a kill between the lease commit and the outbox commit loses a place, never doubles one
    assert places - len(rows) == len(set(booked) - set(rows))


def test_a_lease_is_attached_to_a_pending_row_only(tmp_path: Path) -> None:
    from kiosk_app.services.outbox.records import Submission
    from kiosk_app.services.outbox.store import Outbox

    store = LeaseStore(tmp_path / "leases.db")
    store.replace([lease(places=3)])
    box = Outbox(tmp_path / "outbox.db", bytes(32), "K-1")
    slot = Slot(DAY, "08.00-11.00")
    item = Submission("akta_kelahiran", "3517084506870001", "UJI", {}, slot, "2030-01-01")

    def booker(key: str) -> Callable[[str], dict[str, str]]:
        return lambda ref: store.book("L-1", key, ref, lambda _lease: seal_of(ref))

    pending = box.enqueue(item, idempotency_key="k-1")
    attached = box.attach_lease(pending.id, booker("k-1"))
    assert attached == {"lease_id": "L-1", "seal": seal_of(pending.local_reference)}
    assert box.submission(pending.id).lease == attached
    assert box.attach_lease(pending.id, booker("k-other")) == attached  # once
    sent = box.enqueue(item, idempotency_key="k-2")
    box.mark_sent(sent.id, "AKTA-1", "A-001")
    assert box.attach_lease(sent.id, booker("k-2")) is None  # the server has it already
    assert [s.remaining for s in store.offer("akta_kelahiran")] == [2]
    box.close()
    store.close()
