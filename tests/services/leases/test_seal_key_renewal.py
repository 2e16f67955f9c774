"""The kiosk's seal key against the real central server over loopback: a planned replacement
proven with the old key is in force at once; after its key file is deleted (or damaged) the
kiosk makes a new key, registers it pending, reports it in its heartbeat so the technician
reads "kunci segel baru menunggu persetujuan" on the fleet page, and takes it in force once
the technician approved it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from central_server.config import LimitSettings
from central_server.embedded import EmbeddedServer, start_embedded
from kiosk_app.central import CentralClient
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.seal_key import SealKeyFile, SealKeyRegistrar, load_or_renew
from kiosk_app.services.sealing import write_new_secret
from tests.central.fleet.helpers import Technician
from tests.services.outbox_rig import ADMIN, KIOSK_ID, SERVICE, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    running = start_server(tmp_path / "central.db")
    yield running
    running.stop()


class Kiosk:
    """The kiosk's pieces that hold and register its seal key, started from its key file."""

    def __init__(self, server: EmbeddedServer, tmp_path: Path, key_file: Path) -> None:
        self.server, self.tmp_path, self.key_file = server, tmp_path, key_file
        self.central: CentralClient | None = None

    def start(self) -> tuple[SealKeyFile, SealKeyRegistrar, LeaseKeeper]:
        loaded = load_or_renew(self.key_file, self.tmp_path / "data")
        self.signer = ReceiptSigner(loaded.key, kiosk_id=KIOSK_ID, office_code="3517")
        public = self.signer.public_key
        if self.central is None:  # enrols with its first key (open enrolment, development)
            self.central = CentralClient(
                self.server.base_url, KIOSK_ID, "3517", enrol_as="seal kiosk", signing_key=public
            )
        registrar = SealKeyRegistrar(
            self.central,
            public,
            renewed=loaded.renewed,
            key_file=loaded.path,
            use_key=self.signer.use,
        )
        keeper = LeaseKeeper(
            LeaseStore(self.tmp_path / "leases.db"),
            self.central,
            public_key=public,
            registrar=registrar,
        )
        return loaded, registrar, keeper

    def seal(self) -> str:
        """An offline receipt's seal, made with the key the kiosk seals with now."""
        return self.signer.seal("AKTA-3517-0001", SERVICE, Slot(date(2026, 12, 24), "08.00-11.00"))

    def verdict(self, sealed: str) -> str:
        r = requests.get(
            f"{self.server.base_url}/r/{sealed}",
            headers={"Accept": "application/json"},
            timeout=10,
        )
        status: str = r.json()["status"]
        return status

    def beat(
        self, registrar: SealKeyRegistrar, keeper: LeaseKeeper | None = None
    ) -> list[dict[str, Any]]:
        """One heartbeat; the commands it brought, run (check_seal_key with `keeper`)."""
        assert self.central is not None
        return HealthReporter(
            central=self.central,
            devices={"seal_key": registrar},
            app_version="0.1.0",
            data_dir=self.tmp_path,
            system=RecordingSystemActions(),
            check_seal_key=keeper.check_seal_key if keeper is not None else None,
        ).beat_once()


def test_a_rotated_key_is_proven_and_a_lost_one_waits_for_the_technician(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "etc" / "signing.key"
    write_new_secret(key_file)  # provisioning
    kiosk = Kiosk(server, tmp_path, key_file)
    first, registrar, keeper = kiosk.start()
    assert first.renewed == "" and keeper.drain_once()
    assert registrar.status()["state"] == "in_force"
    assert kiosk.verdict(kiosk.seal()) == "valid"

    # a planned replacement: the old key proves the new one, in force at once
    before = kiosk.seal()
    assert "rotated" in keeper.rotate_seal_key()
    assert registrar.status()["state"] == "in_force"
    assert not first.next.exists() and sorted(p.name for p in key_file.parent.iterdir()) == [
        "signing.key"  # the old key is gone once the new one is in force
    ]
    assert kiosk.verdict(kiosk.seal()) == "valid"
    assert kiosk.verdict(before) == "valid"

    # the key file is lost (a damaged disk, a reinstall): a new key, pending approval
    key_file.unlink()
    third, registrar, keeper = kiosk.start()
    assert third.renewed == "missing" and key_file.stat().st_mode & 0o777 == 0o600
    assert keeper.drain_once()
    assert registrar.status() == {
        "state": "pending",
        "key": registrar.public_key[:8],
        "renewed": "key file missing: new key made",
    }
    pending_seal = kiosk.seal()
    assert kiosk.verdict(pending_seal) == "pending_approval"
    kiosk.beat(registrar)
    technician = Technician(server.base_url, ADMIN)
    page = technician.page(KIOSK_ID)
    assert "Kunci segel baru menunggu persetujuan teknisi" in page  # the heartbeat's alert
    assert 'id="key-pending-' in page  # and the key with its buttons
    assert technician.decide(KIOSK_ID, "approve").status_code == 200
    assert keeper.drain_once()
    assert registrar.status()["state"] == "in_force"
    assert kiosk.verdict(pending_seal) == "valid"  # printed while pending: valid now
    kiosk.beat(registrar)
    assert "Kunci segel baru menunggu persetujuan teknisi" not in technician.page(KIOSK_ID)


def test_a_damaged_key_file_is_kept_aside_and_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "signing.key"
    key_file.write_bytes(b"not a key at all\n")
    loaded = load_or_renew(key_file, tmp_path / "data")
    assert loaded.renewed == "damaged"
    [kept] = tmp_path.glob("signing.key.damaged-*")  # time-stamped: durable.keep_aside
    assert kept.read_bytes() == b"not a key at all\n"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = load_or_renew(key_file, tmp_path / "data")  # the new key is kept, not remade
    assert again.renewed == "" and again.key.private_bytes_raw() == loaded.key.private_bytes_raw()
    key_file.write_bytes(b"damaged again\n")  # a second damage keeps the first one's file
    assert load_or_renew(key_file, tmp_path / "data").renewed == "damaged"
    kept_files = sorted(p.read_bytes() for p in tmp_path.glob("signing.key.damaged-*"))
    assert kept_files == [b"damaged again\n", b"not a key at all\n"]


def test_a_rejected_key_is_replaced_at_once_and_its_successor_waits_for_approval(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """The technician rejects the kiosk's pending key: with the next heartbeat (the
    check_seal_key command its decision queued) the kiosk stops sealing with it, keeps it
    aside, seals with a new key submitted for approval (pending: its receipts are not
    forged), and the fleet reads in words that the rejected key was replaced."""
    key_file = tmp_path / "etc" / "signing.key"
    write_new_secret(key_file)
    kiosk = Kiosk(server, tmp_path, key_file)
    _, registrar, keeper = kiosk.start()
    assert keeper.drain_once()
    key_file.unlink()  # lost: a new key, pending approval
    lost, registrar, keeper = kiosk.start()
    assert keeper.drain_once() and registrar.status()["state"] == "pending"
    rejected = registrar.public_key
    technician = Technician(server.base_url, ADMIN)
    assert technician.decide(KIOSK_ID, "reject").status_code == 200
    assert kiosk.verdict(kiosk.seal()) == "bad_signature"  # what the kiosk would print

    commands = kiosk.beat(registrar, keeper)  # the decision comes with the heartbeat
    assert [c["kind"] for c in commands] == ["check_seal_key"]
    renewed = registrar.public_key
    assert renewed != rejected and kiosk.signer.public_key == renewed
    assert registrar.status() == {
        "state": "pending",
        "key": renewed[:8],
        "renewed": "key rejected by a technician: new key made",
        "rejected": rejected[:8],
    }
    [kept] = key_file.parent.glob("signing.key.rejected-*")  # set aside, never reused
    assert load_or_renew(kept, tmp_path).key.private_bytes_raw() == lost.key.private_bytes_raw()
    assert load_or_renew(key_file, tmp_path).key.private_bytes_raw() != (
        lost.key.private_bytes_raw()
    )
    assert kiosk.verdict(kiosk.seal()) == "pending_approval"  # not forged: held, not refused
    kiosk.beat(registrar)
    page = technician.page(KIOSK_ID)
    assert "Kunci segel anjungan ditolak teknisi: anjungan berhenti memakainya" in page
    assert f'data-key="{renewed[:8]}"' in page  # the new key, with its buttons

    # approved: in force from when it was submitted; the alert ends
    assert technician.decide(KIOSK_ID, "approve").status_code == 200
    pending_seal = kiosk.seal()
    kiosk.beat(registrar, keeper)
    assert registrar.status()["state"] == "in_force"
    assert kiosk.verdict(pending_seal) == "valid"
    kiosk.beat(registrar)
    assert "anjungan berhenti memakainya" not in technician.page(KIOSK_ID)


def test_a_rate_limited_key_submission_waits_for_the_next_round_without_stopping_the_leases(
    tmp_path: Path,
) -> None:
    """The server's rate limit on key PUTs (429) defers the registration to the next round;
    the round still renews the leases."""
    tight = LimitSettings(key_submissions_per_minute=0.01, key_submission_burst=1)
    server = start_embedded(
        f"sqlite:///{tmp_path / 'central.db'}", admin_token=ADMIN, open_enrolment=True, limits=tight
    )
    try:
        key_file = tmp_path / "signing.key"
        write_new_secret(key_file)
        kiosk = Kiosk(server, tmp_path, key_file)
        _, registrar, keeper = kiosk.start()
        assert keeper.drain_once() and registrar.status()["state"] == "in_force"
        key_file.unlink()
        _, registrar, keeper = kiosk.start()
        assert keeper.drain_once()  # the leases renewed all the same
        assert registrar.status()["state"] == "unregistered"  # tried again next round
    finally:
        server.stop()
