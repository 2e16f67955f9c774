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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from central_server.config import LimitSettings
from central_server.models import Application, KioskSigningKey
from central_server.review_models import ApplicationEvent
from kiosk_app.central import CentralClient, CentralError
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.records import SENT
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.seal_key import SealKeyRegistrar, load_or_renew
from kiosk_app.services.sealing import write_new_secret
from tests.central.lease_rig import Clock, LeaseServer, lease_server, set_quota
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

    def __post_init__(self) -> None:
        loaded = load_or_renew(self.work / "signing.key", self.work)
        self.signer = ReceiptSigner(
            loaded.key, kiosk_id=KIOSK_ID, office_code="3517", now=self.clock
        )
        self.central = CentralClient(
            self.proxy.base_url,
            KIOSK_ID,
            "3517",
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
    kiosk.proxy.only, kiosk.proxy.mode = KEY_PATH.encode(), "reset_after_forward"
    kiosk.proxy.only = b"PUT " + KEY_PATH.encode()
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
