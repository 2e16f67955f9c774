"""The kiosk's seal key against the real central server over loopback: a planned replacement
proven with the old key is in force at once; after its key file is deleted (or damaged) the
kiosk makes a new key, registers it pending, reports it in its heartbeat so the technician
reads "kunci segel baru menunggu persetujuan" on the fleet page, and takes it in force once
the technician approved it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import seal_key
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
        public = ReceiptSigner(loaded.key, kiosk_id=KIOSK_ID, office_code="3517").public_key
        if self.central is None:  # enrols with its first key (open enrolment, development)
            self.central = CentralClient(
                self.server.base_url, KIOSK_ID, "3517", enrol_as="seal kiosk", signing_key=public
            )
        registrar = SealKeyRegistrar(
            self.central, public, previous_file=loaded.previous, renewed=loaded.renewed
        )
        keeper = LeaseKeeper(
            LeaseStore(self.tmp_path / "leases.db"),
            self.central,
            public_key=public,
            registrar=registrar,
        )
        return loaded, registrar, keeper

    def seal(self, loaded: SealKeyFile) -> str:
        signer = ReceiptSigner(loaded.key, kiosk_id=KIOSK_ID, office_code="3517")
        return signer.seal("AKTA-3517-0001", SERVICE, Slot(date(2026, 12, 24), "08.00-11.00"))

    def verdict(self, sealed: str) -> str:
        r = requests.get(
            f"{self.server.base_url}/r/{sealed}",
            headers={"Accept": "application/json"},
            timeout=10,
        )
        status: str = r.json()["status"]
        return status

    def beat(self, registrar: SealKeyRegistrar) -> None:
        assert self.central is not None
        HealthReporter(
            central=self.central,
            devices={"seal_key": registrar},
            app_version="0.1.0",
            data_dir=self.tmp_path,
            system=RecordingSystemActions(),
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
    assert kiosk.verdict(kiosk.seal(first)) == "valid"

    # a planned replacement: the old key proves the new one, in force at once
    seal_key.rotate(key_file)
    second, registrar, keeper = kiosk.start()
    assert second.previous.exists() and keeper.drain_once()
    assert registrar.status()["state"] == "in_force"
    assert not second.previous.exists()  # the old key is gone once the new one is in force
    assert kiosk.verdict(kiosk.seal(second)) == "valid"

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
    pending_seal = kiosk.seal(third)
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
    assert (tmp_path / "signing.key.damaged").read_bytes() == b"not a key at all\n"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = load_or_renew(key_file, tmp_path / "data")  # the new key is kept, not remade
    assert again.renewed == "" and again.key.private_bytes_raw() == loaded.key.private_bytes_raw()
