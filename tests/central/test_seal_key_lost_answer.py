"""A seal-key rotation whose "in force" answer is lost, then a server away for longer than the
clock skew the key history allows, against the real central server over HTTP on loopback
(SQLite and PostgreSQL) and the real kiosk code (SealKeyRegistrar in the lease keeper, the
lease file, the outbox and its sender) on the test's clock, never sleeping: the receipts the
kiosk sealed with its old key meanwhile are genuine, whichever of the outbox's drain and the
rotation's re-confirmation reaches the server first. Once the kiosk has swapped and said so, a
thief holding only the old key and the kiosk's token can neither forge seals dated after the
swap nor keep the old key alive."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from central_server.config import LeaseSettings, LimitSettings
from central_server.lease_reports import utc
from central_server.models import Application, KioskSigningKey
from central_server.settings import WIB
from kiosk_app.central import CentralClient, CentralError
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.records import SENT
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.seal_key import SWAP_UNACKNOWLEDGED, SealKeyRegistrar, load_or_renew
from kiosk_app.services.sealing import read_key, write_new_secret
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import Technician
from tests.central.lease_rig import (
    Clock,
    LeaseKiosk,
    LeaseServer,
    lease_server,
    seed_office,
    set_quota,
)
from tests.services.faultproxy import FaultProxy
from tests.services.outbox_rig import SERVICE, submission

KIOSK_ID = "KIOSK-3517-ROT"
KEY_PATH = "/api/v1/kiosk/signing-key"
AWAY = timedelta(minutes=40)  # longer than seals.CLOCK_SKEW (10 minutes)


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    roomy = LimitSettings(key_submission_burst=50, key_challenge_burst=50)
    with lease_server(database_url, open_enrolment=True, limits=roomy) as running:
        set_quota(running.base_url, SERVICE, 40)
        yield running


@dataclass
class Kiosk:
    """The kiosk's seal key, lease keeper and outbox, on the test's clock, through `proxy`."""

    work: Path
    clock: Clock
    proxy: FaultProxy
    token: str | None = None  # known (a restart): no enrolment

    def __post_init__(self) -> None:
        loaded = load_or_renew(self.work / "signing.key", self.work)
        self.signer = ReceiptSigner(
            loaded.key, kiosk_id=KIOSK_ID, office_code="3517", now=self.clock
        )
        self.central = CentralClient(
            self.proxy.base_url,
            KIOSK_ID,
            "3517",
            token=self.token,
            enrol_as="rotating kiosk",
            signing_key=self.signer.public_key,
            timeout=30,
        )
        self.registrar = SealKeyRegistrar(
            self.central,
            self.signer.public_key,
            key_file=loaded.path,
            use_key=self.signer.use,
            now=self.clock,
        )
        self.store = LeaseStore(self.work / "leases.db", clock=self.clock)
        self.keeper = LeaseKeeper(
            self.store, self.central, public_key=self.signer.public_key, registrar=self.registrar
        )
        self.box = Outbox(self.work / "outbox.db", bytes(32), KIOSK_ID)
        self.sender = OutboxSender(self.box, self.central, backoff=Backoff(base_s=0.01, cap_s=0.02))

    def book_offline(self, n: int) -> tuple[int, str]:
        """One offline booking from a lease, sealed now: (outbox row id, seal)."""
        [offer, *_] = self.store.offer(SERVICE)

        def book(reference: str) -> dict[str, str]:
            return self.store.book(
                offer.lease_id,
                f"offline-{n}",
                reference,
                lambda lease: self.signer.seal(reference, SERVICE, lease.slot),
            )

        entry = self.box.enqueue(
            submission(offer.slot, n), idempotency_key=f"offline-{n}", book=book
        )
        claim = self.box.submission(entry.id).lease
        assert claim is not None
        return entry.id, claim["seal"]

    def close(self) -> None:
        self.sender.stop()
        self.box.close()
        self.store.close()


@pytest.fixture
def kiosk(rig: LeaseServer, tmp_path: Path) -> Iterator[Kiosk]:
    work = tmp_path / "kiosk"
    write_new_secret(work / "signing.key")  # provisioning
    proxy = FaultProxy(rig.server.port)
    running = Kiosk(work, rig.clock, proxy)
    try:
        yield running
    finally:
        running.close()
        proxy.close()


def verdict(rig: LeaseServer, sealed: str) -> str:
    r = requests.get(
        f"{rig.base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10
    )
    status: str = r.json()["status"]
    return status


def lose_the_rotation_answer(kiosk: Kiosk) -> str:
    """Rotate with the server's "in force" answer lost: the old key's public text."""
    assert kiosk.keeper.drain_once()  # enrolled, the key in force, leases taken
    old = kiosk.signer.public_key
    kiosk.proxy.only, kiosk.proxy.mode = b"PUT " + KEY_PATH.encode(), "reset_after_forward"
    with pytest.raises(CentralError):
        kiosk.keeper.rotate_seal_key()
    assert kiosk.signer.public_key == old and (kiosk.work / "signing.key.next").exists()
    kiosk.proxy.only, kiosk.proxy.mode = None, "down"
    return old


@pytest.mark.parametrize("first", ["drain", "confirm"])
def test_receipts_sealed_with_the_old_key_after_a_lost_answer_stay_genuine(
    rig: LeaseServer, kiosk: Kiosk, first: str
) -> None:
    old = lose_the_rotation_answer(kiosk)
    rig.clock.advance(seconds=AWAY.total_seconds())  # the server away, past the clock skew
    booked = [kiosk.book_offline(n) for n in range(3)]
    assert kiosk.signer.public_key == old  # still the old key: the kiosk never heard back
    assert [verdict(rig, seal) for _, seal in booked] == ["valid"] * 3
    kiosk.proxy.set_mode("forward")
    rig.clock.advance(minutes=1)
    if first == "drain":
        assert kiosk.sender.drain_once() == 3
        assert kiosk.keeper.drain_once()
    else:
        assert kiosk.keeper.drain_once()
        assert kiosk.sender.drain_once() == 3
    assert kiosk.signer.public_key != old  # swapped on the re-confirmation
    assert [kiosk.box.get(row).status for row, _ in booked] == [SENT] * 3
    assert [verdict(rig, seal) for _, seal in booked] == ["valid"] * 3
    after = kiosk.signer.seal("LOK-AFTER", SERVICE, Slot(rig.clock().date(), "08.00-11.00"))
    assert verdict(rig, after) == "valid"
    # the kiosk acknowledged its swap: the old key verifies nothing issued past it
    [(_, swapped_at, until)] = rotations(rig)
    assert swapped_at == rig.clock() and until == rig.clock()
    assert kiosk.store.meta(SWAP_UNACKNOWLEDGED) == ""
    with rig.app.state.db.transaction() as session:
        admitted = session.execute(select(Application.seal_status, Application.hold_reason)).all()
    assert [tuple(row) for row in admitted] == [("valid", None)] * 3  # admitted, not held


def rotations(rig: LeaseServer) -> list[tuple[str, datetime | None, datetime | None]]:
    """(key, swapped_at, predecessor_until) of every proven rotation, oldest first (UTC)."""
    with rig.app.state.db.transaction() as session:
        rows = session.execute(
            select(
                KioskSigningKey.public_key,
                KioskSigningKey.swapped_at,
                KioskSigningKey.predecessor_until,
            )
            .where(KioskSigningKey.registered_by == "kiosk+proof")
            .order_by(KioskSigningKey.id)
        ).all()
    return [(key, swapped and utc(swapped), until and utc(until)) for key, swapped, until in rows]


def private_key(path: Path) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(read_key(path))


def ack_body(key: Ed25519PrivateKey, public_key: str, since: datetime) -> dict[str, str]:
    """An acknowledgment of `public_key`'s swap at `since`, signed with `key`."""
    signature = receipt_seal.sign_key_change(
        key, KIOSK_ID, public_key, "swapped@" + since.isoformat(timespec="seconds")
    )
    return {"signing_key": public_key, "sealing_since": since.isoformat(), "signature": signature}


def test_a_thief_with_the_old_key_and_the_token_cannot_cut_it_short_nor_outlive_the_swap(
    rig: LeaseServer, kiosk: Kiosk
) -> None:
    old_key = private_key(kiosk.work / "signing.key")
    lose_the_rotation_answer(kiosk)
    new_key = private_key(kiosk.work / "signing.key.next")
    new = receipt_seal.public_key_text(new_key)
    [lease, *_] = kiosk.store.offer(SERVICE)
    thief = LeaseKiosk(rig.base_url, KIOSK_ID, kiosk.central.token or "", old_key)
    offer = {"lease_id": lease.lease_id, "service": SERVICE, "date": str(lease.slot.date)}
    offer["window"] = lease.slot.window
    rig.clock.advance(seconds=AWAY.total_seconds())
    # While the kiosk is away, the thief cannot end the old key early: the kiosk still seals
    # with it. Neither an acknowledgment signed with the old key nor a bogus one is taken.
    bogus = ack_body(new_key, new, rig.clock()) | {"signature": "A" * 86}
    for body in (ack_body(old_key, new, rig.clock()), bogus):
        r = thief.call("POST", f"{KEY_PATH}/swapped", json=body)
        assert r.status_code == 409 and r.json()["detail"]["code"] == "proof_invalid", r.text
    r = thief.call(
        "POST", f"{KEY_PATH}/swapped", json=ack_body(old_key, old_key_text(old_key), rig.clock())
    )
    assert r.status_code == 409 and r.json()["detail"]["code"] == "key_not_in_force", r.text
    [(_, swapped_at, _)] = rotations(rig)
    assert swapped_at is None
    row, genuine = kiosk.book_offline(0)
    assert verdict(rig, genuine) == "valid"

    kiosk.proxy.set_mode("forward")
    rig.clock.advance(minutes=1)
    assert kiosk.keeper.drain_once()  # re-confirmed, swapped, acknowledged
    swap = rig.clock()
    assert kiosk.sender.drain_once() == 1 and kiosk.box.get(row).status == SENT
    assert rotations(rig)[0][1:] == (swap, swap)

    # After the swap: the old key's seals dated past it (and the clock skew) are forged...
    rig.clock.advance(minutes=11)
    forged = thief.offline_booking(offer, rig.clock())
    assert verdict(rig, forged["lease"]["seal"]) == "bad_signature"
    refused = thief.submit(forged)
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "seal_invalid"
    # ... and nothing the thief sends keeps the old key alive: no proof with it is taken, an
    # acknowledgment signed with it is refused, a later one of the kiosk's own changes nothing
    challenge = thief.call("POST", f"{KEY_PATH}/challenge").json()["nonce"]
    other = receipt_seal.public_key_text(receipt_seal.new_key())
    proof = receipt_seal.sign_key_change(old_key, KIOSK_ID, other, challenge)
    r = thief.call(
        "PUT",
        KEY_PATH,
        json={"signing_key": other, "proof": {"nonce": challenge, "signature": proof}},
    )
    assert r.status_code == 409 and r.json()["detail"]["code"] == "proof_invalid", r.text
    r = thief.call("POST", f"{KEY_PATH}/swapped", json=ack_body(old_key, new, rig.clock()))
    assert r.status_code == 409 and r.json()["detail"]["code"] == "proof_invalid", r.text
    later = ack_body(new_key, new, rig.clock() + timedelta(days=1))
    assert thief.call("POST", f"{KEY_PATH}/swapped", json=later).status_code == 204
    assert rotations(rig)[0][1:] == (swap, swap)  # the first acknowledgment stands
    assert (
        verdict(rig, thief.offline_booking(offer, rig.clock())["lease"]["seal"]) == "bad_signature"
    )
    assert verdict(rig, genuine) == "valid"  # the kiosk's receipt from before its swap


def old_key_text(key: Ed25519PrivateKey) -> str:
    return receipt_seal.public_key_text(key)


def test_a_kiosk_stopped_before_its_acknowledgment_sends_it_at_its_next_start(
    rig: LeaseServer, kiosk: Kiosk
) -> None:
    old_key = private_key(kiosk.work / "signing.key")
    lose_the_rotation_answer(kiosk)
    rig.clock.advance(seconds=AWAY.total_seconds())
    row, genuine = kiosk.book_offline(0)
    kiosk.proxy.only, kiosk.proxy.mode = b"POST " + KEY_PATH.encode() + b"/swapped", "reset"
    assert kiosk.keeper.drain_once()  # swapped; its acknowledgment lost: the leases renewed
    swap = rig.clock()
    assert kiosk.store.meta(SWAP_UNACKNOWLEDGED).endswith(swap.isoformat(timespec="seconds"))
    [(_, swapped_at, waiting)] = rotations(rig)
    assert swapped_at is None and waiting is not None and waiting > swap
    assert kiosk.sender.drain_once() == 1 and kiosk.box.get(row).status == SENT
    [lease, *_] = kiosk.store.offer(SERVICE)
    kiosk.close()  # the kiosk stops; it starts again half an hour later, the server reachable

    kiosk.proxy.only, kiosk.proxy.mode = None, "forward"
    rig.clock.advance(minutes=30)
    again = Kiosk(kiosk.work, rig.clock, kiosk.proxy, kiosk.central.token)
    try:
        assert again.signer.public_key != old_key_text(old_key)
        assert again.keeper.drain_once()
        assert again.store.meta(SWAP_UNACKNOWLEDGED) == ""
    finally:
        again.close()
    assert rotations(rig)[0][1:] == (swap, swap)  # when it swapped, not when it said so
    thief = LeaseKiosk(rig.base_url, KIOSK_ID, kiosk.central.token or "", old_key)
    offer = {"lease_id": lease.lease_id, "service": SERVICE, "date": str(lease.slot.date)}
    offer["window"] = lease.slot.window
    assert (
        verdict(rig, thief.seal_for(offer, "LOK-X", swap + timedelta(minutes=11)))
        == "bad_signature"
    )
    assert verdict(rig, genuine) == "valid"


def rotated_unheard(rig: LeaseServer) -> tuple[LeaseKiosk, dict[str, Any], Ed25519PrivateKey]:
    """A kiosk with a lease whose key was replaced by a new one proven with it (the server's
    answer never heard): the kiosk, its lease and the new key."""
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    old_key, new_key = kiosk.key, receipt_seal.new_key()
    assert old_key is not None
    nonce = kiosk.call("POST", f"{KEY_PATH}/challenge").json()["nonce"]
    new = receipt_seal.public_key_text(new_key)
    proof = receipt_seal.sign_key_change(old_key, kiosk.kiosk_id, new, nonce)
    body = {"signing_key": new, "proof": {"nonce": nonce, "signature": proof}}
    assert kiosk.call("PUT", KEY_PATH, json=body).status_code == 204
    return kiosk, lease, new_key


def test_an_old_key_waiting_for_a_kiosk_that_never_returns_ends_with_its_leases(
    rig: LeaseServer,
) -> None:
    kiosk, lease, new_key = rotated_unheard(rig)
    rotated = rig.clock()
    # a key submitted without proof meanwhile (a thief's) and rejected is never extended
    thief_key = receipt_seal.new_key()
    r = kiosk.call("PUT", KEY_PATH, json={"signing_key": receipt_seal.public_key_text(thief_key)})
    assert r.status_code == 202, r.text
    assert Technician(rig.base_url, ADMIN_TOKEN).decide(kiosk.kiosk_id, "reject").status_code == 200
    hours = LeaseSettings().hours  # a lease renewed at the rotation is booked from this long
    seal = kiosk.seal_for
    assert verdict(rig, seal(lease, "LOK-1", rotated + timedelta(hours=hours - 1))) == "valid"
    late = rotated + timedelta(hours=hours, minutes=11)
    assert verdict(rig, seal(lease, "LOK-2", late)) == "bad_signature"
    thief = replace(kiosk, key=thief_key)
    assert (
        verdict(rig, thief.seal_for(lease, "LOK-3", rotated + timedelta(hours=1)))
        == "bad_signature"
    )
    successor = replace(kiosk, key=new_key)
    assert verdict(rig, successor.seal_for(lease, "LOK-4", late)) == "valid"


def test_an_acknowledgment_in_another_time_zone_ends_the_old_key_at_that_moment(
    rig: LeaseServer,
) -> None:
    kiosk, lease, new_key = rotated_unheard(rig)
    new = receipt_seal.public_key_text(new_key)
    technician = Technician(rig.base_url, ADMIN_TOKEN)
    assert 'data-swap="waiting"' in technician.page(kiosk.kiosk_id)  # the fleet sees it wait
    swap = rig.clock() + timedelta(minutes=40)
    signature = receipt_seal.sign_key_swap(new_key, kiosk.kiosk_id, swap)
    ack = {
        "signing_key": new,
        "sealing_since": swap.astimezone(WIB).isoformat(),
        "signature": signature,
    }
    r = kiosk.call("POST", f"{KEY_PATH}/swapped", json=ack)
    assert r.status_code == 204, r.text
    page = technician.page(kiosk.kiosk_id)
    assert 'data-swap="acknowledged"' in page and 'data-swap="waiting"' not in page
    assert f"{swap:%Y-%m-%d %H:%M}" in page  # shown in UTC, as the key table's times
    seal = kiosk.seal_for
    assert verdict(rig, seal(lease, "LOK-1", swap - timedelta(minutes=1))) == "valid"
    assert verdict(rig, seal(lease, "LOK-2", swap + timedelta(minutes=11))) == "bad_signature"
