"""A planned rotation of a kiosk's seal key, against the real central server over loopback on
SQLite and PostgreSQL: asked by a technician on the fleet page (after a confirmation, audited,
delivered with the heartbeat), carried out by the kiosk with proof of its old key (in force at
once, never pending), through a server that is away, rate-limits or loses its answer, and
through SIGKILLs of a real kiosk process between every step; started by the key's age at an
idle round. Every receipt sealed before, during and after verifies on the server's /r/ page."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select

from central_server.config import LimitSettings
from central_server.embedded import EmbeddedServer, start_embedded
from central_server.models import KioskSigningKey
from kiosk_app.bootstrap import build_kiosk
from kiosk_app.central import CentralClient, CentralError
from kiosk_app.config import ConfigError, load_config
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import receipt_seal
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.leases import LeaseKeeper, LeaseStore, ReceiptSigner
from kiosk_app.services.seal_key import SealKeyRegistrar, load_or_renew
from kiosk_app.services.sealing import read_key, write_new_secret
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import Technician
from tests.central.seal_rotation_child import KIOSK_ID, SERVICE
from tests.services.faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("seal_rotation_child.py")
STEPS = ("written", "confirmed", "aside", "swapped")  # SealKeyRegistrar's rotation steps


class Kiosk:
    """A kiosk's seal-key pieces in this process, on its key file, at `base_url`."""

    def __init__(
        self,
        base_url: str,
        work: Path,
        token: str | None = None,
        key_file: Path | None = None,
        **keeper: Any,
    ) -> None:
        """Enrols on first use without `token` (open enrolment, development); its key file
        `key_file`, else signing.key in `work`."""
        self.work = work
        loaded = load_or_renew(key_file or work / "signing.key", work)
        self.signer = ReceiptSigner(loaded.key, kiosk_id=KIOSK_ID, office_code="3517")
        self.central = CentralClient(
            base_url,
            KIOSK_ID,
            "3517",
            token=token,
            enrol_as="rotating kiosk",
            signing_key=self.signer.public_key,
        )
        self.registrar = SealKeyRegistrar(
            self.central,
            self.signer.public_key,
            renewed=loaded.renewed,
            key_file=loaded.path,
            use_key=self.signer.use,
        )
        self.keeper = LeaseKeeper(
            LeaseStore(work / "leases.db"),
            self.central,
            public_key=self.signer.public_key,
            registrar=self.registrar,
            **keeper,
        )

    def seal(self, reference: str = "LOK-0001") -> str:
        return self.signer.seal(reference, SERVICE, Slot(date(2030, 1, 7), "08.00-11.00"))

    def beat(self) -> list[dict[str, Any]]:
        """One heartbeat; the commands it brought, run."""
        return HealthReporter(
            central=self.central,
            devices={"seal_key": self.registrar},
            app_version="0.1.0",
            data_dir=self.work,
            system=RecordingSystemActions(),
            check_seal_key=self.keeper.check_seal_key,
            rotate_seal_key=self.keeper.rotate_seal_key,
        ).beat_once()


def verdict(base_url: str, sealed: str) -> str:
    r = requests.get(f"{base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10)
    status: str = r.json()["status"]
    return status


def file_key(path: Path) -> str:
    """The public key of the private key file at `path`."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return receipt_seal.public_key_text(Ed25519PrivateKey.from_private_bytes(read_key(path)))


def keys_on_page(page: str) -> list[tuple[str, str]]:
    """(state, first 8 characters) of every key in the fleet page's key table, oldest first."""
    return re.findall(r'<tr data-state="(\w+)"><td><code>([^<]{8})…</code>', page)


@pytest.fixture
def server(database_url: str) -> Iterator[EmbeddedServer]:
    """The central server on the real clock: a seal's time is the kiosk's, and which key
    verifies it depends on when the server took each key."""
    roomy = LimitSettings(key_submission_burst=50, key_challenge_burst=50)  # many rotations
    with start_embedded(
        database_url, admin_token=ADMIN_TOKEN, open_enrolment=True, limits=roomy
    ) as running:
        yield running


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "kiosk"
    write_new_secret(folder / "signing.key")  # provisioning
    return folder


def test_the_technician_rotates_the_seal_key_from_the_fleet_page(
    server: EmbeddedServer, work: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = Kiosk(server.base_url, work)
    kiosk.keeper.check_seal_key()
    old = kiosk.signer.public_key
    before = kiosk.seal("LOK-BEFORE")
    technician = Technician(server.base_url, ADMIN_TOKEN)
    page = technician.page(KIOSK_ID)
    assert '<option value="rotate_seal_key">Ganti kunci segel / Rotate the seal key' in page
    [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', page))
    action = f"{server.base_url}/fleet/kiosks/{KIOSK_ID}/commands"
    asked = technician.http.post(action, data={"csrf": csrf, "kind": "rotate_seal_key"}, timeout=10)
    assert asked.status_code == 200 and 'id="confirm-command"' in asked.text  # asked first
    assert "kunci baru langsung berlaku" in asked.text
    assert 'data-status="queued"' not in technician.page(KIOSK_ID)  # nothing queued yet
    stale = technician.http.post(
        action, data={"csrf": "forged", "kind": "rotate_seal_key", "confirmed": "1"}, timeout=10
    )
    assert 'id="command-error"' in stale.text and 'data-status="queued"' not in stale.text
    with caplog.at_level(logging.WARNING, logger="central_server.audit"):
        done = technician.http.post(
            action, data={"csrf": csrf, "kind": "rotate_seal_key", "confirmed": "1"}, timeout=10
        )
    assert done.status_code == 200 and 'data-status="queued"' in done.text
    assert any(
        "technician asked kiosk KIOSK-ROTATE-1 to rotate its receipt seal key" in r.getMessage()
        for r in caplog.records
    )

    assert [c["kind"] for c in kiosk.beat()] == ["rotate_seal_key"]  # with the heartbeat
    new = kiosk.signer.public_key
    assert new != old and kiosk.registrar.public_key == new == file_key(work / "signing.key")
    assert sorted(p.name for p in work.glob("signing.key*")) == ["signing.key"]
    after = kiosk.seal("LOK-AFTER")
    assert verdict(server.base_url, before) == verdict(server.base_url, after) == "valid"
    kiosk.beat()  # the seal_key health with the new key
    page = technician.page(KIOSK_ID)
    assert keys_on_page(page) == [("in_force", old[:8]), ("in_force", new[:8])]  # not pending
    assert 'data-status="done"' in page and f"seal key rotated: {old[:8]} -&gt; {new[:8]}" in page
    assert f"key={new[:8]}" in page and f"rotated={old[:8]} " in page


def run_child(
    base_url: str,
    work: Path,
    token: str,
    stop_at: str = "",
    *,
    key_file: Path | None = None,
    mount: str = "",
) -> list[str]:
    """The kiosk process's output lines; killed with SIGKILL once it printed STOPPED. With
    `mount`, it runs in its own mount namespace after that shell command (root ignores file
    modes: a read-only folder is a read-only mount)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(CHILD), base_url, str(work), token, stop_at]
    argv += [str(key_file)] if key_file is not None else []
    if mount:
        script = f'{mount} && exec "$@"'
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]
    child = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("STOPPED"):
                child.send_signal(signal.SIGKILL)
                break
    finally:
        assert child.wait(timeout=120) in (0, -signal.SIGKILL), lines
    return lines


def test_a_kiosk_killed_at_any_step_of_a_rotation_carries_on_with_the_key_in_force(
    server: EmbeddedServer, work: Path, database_url: str
) -> None:
    first = Kiosk(server.base_url, work)  # enrols; its token goes to the kiosk process
    first.keeper.check_seal_key()
    assert first.central.token is not None
    seals: list[str] = []
    for step in STEPS:
        killed = run_child(server.base_url, work, first.central.token, stop_at=step)
        assert killed[-1] == f"STOPPED {step}", killed
        restarted = run_child(server.base_url, work, first.central.token)
        assert restarted[-1].startswith("KEY ")
        in_use = restarted[-1].removeprefix("KEY ")
        assert in_use == file_key(work / "signing.key")
        assert sorted(p.name for p in work.glob("signing.key*")) == ["signing.key"]  # tidy
        seals += [line.removeprefix("SEAL ") for line in killed + restarted if "SEAL " in line]
    technician = Technician(server.base_url, ADMIN_TOKEN)
    keys = keys_on_page(technician.page(KIOSK_ID))
    assert [state for state, _ in keys] == ["in_force"] * (1 + len(STEPS))  # never pending
    assert keys[-1][1] == in_use[:8]  # the server's key in force is the kiosk's
    assert len(seals) == 4 * len(STEPS)  # 2 in each killed life, 2 in each restart
    assert {verdict(server.base_url, s) for s in seals} == {"valid"}
    # every swap was acknowledged (at the next start at the latest): no old key waits on
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(KioskSigningKey.swapped_at, KioskSigningKey.predecessor_until).where(
                    KioskSigningKey.registered_by == "kiosk+proof"
                )
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == len(STEPS)
    assert all(swapped is not None and until is not None for swapped, until in rows), rows


def test_a_rotation_survives_a_server_away_rate_limited_or_losing_its_answer(
    server: EmbeddedServer, work: Path
) -> None:
    proxy = FaultProxy(server.port)
    try:
        kiosk = Kiosk(proxy.base_url, work)
        kiosk.keeper.check_seal_key()
        old = kiosk.signer.public_key
        seals = [kiosk.seal()]

        proxy.set_mode("down")  # away: the new key waits beside the old one, unused
        with pytest.raises(CentralError):
            kiosk.keeper.rotate_seal_key()
        assert (work / "signing.key.next").exists() and kiosk.signer.public_key == old
        status = kiosk.registrar.status()
        assert status["state"] == "in_force" and status["key"] == old[:8]
        assert "rotating" in status and status["rotation_failed"].startswith("CentralUnavailable")
        seals.append(kiosk.seal())
        proxy.set_mode("forward")
        kiosk.beat()  # the fleet reads that the rotation waits (the next round carries it on)
        technician = Technician(server.base_url, ADMIN_TOKEN)
        assert 'data-code="seal_key_rotating"' in technician.page(KIOSK_ID)

        proxy.only, proxy.mode = b"PUT /api/v1/kiosk/signing-key", "429"
        kiosk.keeper.check_seal_key()  # rate-limited: deferred to the next round, no error
        assert kiosk.signer.public_key == old and (work / "signing.key.next").exists()

        proxy.mode = "reset_after_forward"  # the server takes the key, its answer is lost
        with pytest.raises(CentralError):
            kiosk.keeper.check_seal_key()
        assert kiosk.signer.public_key == old  # not known in force: still the old key
        seals.append(kiosk.seal())

        proxy.set_mode("forward")  # the next round finds the new key in force, swaps
        kiosk.keeper.check_seal_key()
        assert kiosk.signer.public_key != old and not (work / "signing.key.next").exists()
        assert "rotation_failed" not in kiosk.registrar.status()
        seals.append(kiosk.seal())
        kiosk.beat()
    finally:
        proxy.close()
    page = technician.page(KIOSK_ID)
    assert 'data-code="seal_key_rotating"' not in page  # the alert ends
    assert [state for state, _ in keys_on_page(page)] == ["in_force", "in_force"]
    assert [verdict(server.base_url, s) for s in seals] == ["valid"] * 4


def test_an_old_key_is_rotated_at_an_idle_round_only(server: EmbeddedServer, work: Path) -> None:
    year_ago = time.time() - 400 * 86400
    os.utime(work / "signing.key", (year_ago, year_ago))
    idle = [False]
    never = Kiosk(server.base_url, work, rotate_after_days=0)
    old = never.signer.public_key
    never.keeper.drain_once()
    assert never.signer.public_key == old  # 0: never by age
    assert never.registrar.status()["state"] == "in_force"
    kiosk = Kiosk(
        server.base_url, work, never.central.token, rotate_after_days=365, idle=lambda: idle[0]
    )
    kiosk.keeper.drain_once()
    assert kiosk.signer.public_key == old  # a citizen is being served: not now
    before = kiosk.seal()
    idle[0] = True
    kiosk.keeper.drain_once()
    new = kiosk.signer.public_key
    assert new != old and file_key(work / "signing.key") == new
    kiosk.keeper.drain_once()  # the new key is young: no second rotation
    assert kiosk.signer.public_key == new
    assert verdict(server.base_url, before) == verdict(server.base_url, kiosk.seal()) == "valid"


def test_the_rotation_age_is_read_from_the_sealing_table(tmp_path: Path) -> None:
    assert load_config().sealing.rotate_after_days == 365
    path = tmp_path / "kiosk.toml"
    path.write_text("[sealing]\nrotate_after_days = 0\n", encoding="utf-8")
    assert load_config(path).sealing.rotate_after_days == 0
    for bad in ("-1", '"a year"', "1.5"):
        path.write_text(f"[sealing]\nrotate_after_days = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"\[sealing\]"):
            load_config(path)


def test_a_key_file_damaged_mid_rotation_sets_the_successor_aside_and_waits_for_approval(
    server: EmbeddedServer, work: Path
) -> None:
    """The new key was written but never taken (the server away), then the key file is
    damaged: neither key proves itself to the server, so the successor is kept aside (never
    deleted) and the kiosk's new key goes pending as any key made after a loss does."""
    proxy = FaultProxy(server.port)
    try:
        kiosk = Kiosk(proxy.base_url, work)
        kiosk.keeper.check_seal_key()
        proxy.set_mode("down")
        with pytest.raises(CentralError):
            kiosk.keeper.rotate_seal_key()
        proxy.set_mode("forward")
    finally:
        proxy.close()
    (work / "signing.key").write_bytes(b"damaged\n")
    again = Kiosk(server.base_url, work, token=kiosk.central.token)
    again.keeper.check_seal_key()
    assert again.registrar.status()["state"] == "pending"
    assert not (work / "signing.key.next").exists()
    assert len(list(work.glob("signing.key.next.unconfirmed-*"))) == 1
    assert verdict(server.base_url, again.seal()) == "pending_approval"


def test_a_whole_kiosk_rotates_its_key_when_the_fleet_asks(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """The composition root wires the command to the lease keeper: a kiosk built from its
    configuration rotates when the technician's command arrives with a heartbeat."""
    key_file = tmp_path / "etc" / "signing.key"
    write_new_secret(key_file)
    config = load_config(
        None,
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        central_url=server.base_url,
        signing_key_file=key_file,
    )
    kiosk = build_kiosk(config)
    try:
        assert kiosk.health is not None and kiosk.leases is not None
        assert kiosk.session.idle()  # the attract screen: a quiet moment
        kiosk.health.beat_once()  # enrolled, the first key registered
        old = file_key(key_file)
        technician = Technician(server.base_url, ADMIN_TOKEN)
        [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', technician.page(config.kiosk_id)))
        technician.http.post(
            f"{server.base_url}/fleet/kiosks/{config.kiosk_id}/commands",
            data={"csrf": csrf, "kind": "rotate_seal_key", "confirmed": "1"},
            timeout=10,
        )
        for _ in range(60):  # the background reporter may run it first
            kiosk.health.beat_once()
            if 'data-status="done"' in technician.page(config.kiosk_id):
                break
            time.sleep(0.5)
        new = file_key(key_file)
        # use_key moved the signer and the client to the new key (bootstrap._seal_with)
        assert new != old and kiosk.central.signing_key == new
        assert kiosk.leases.registrar.status()["key"] == new[:8]
        page = technician.page(config.kiosk_id)
        assert keys_on_page(page) == [("in_force", old[:8]), ("in_force", new[:8])]
    finally:
        kiosk.close()


def test_a_key_folder_that_cannot_be_written_refuses_the_rotation_and_keeps_the_key(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """A kiosk whose key is still in /etc (provisioned before the key moved to the state
    directory; /etc is read-only to its unit, ProtectSystem=full): the command fails saying
    so, the storage fault is reported, the old key seals on, valid."""
    keys = tmp_path / "etc"
    write_new_secret(keys / "signing.key")
    data = tmp_path / "data"
    data.mkdir()
    first = Kiosk(server.base_url, data, key_file=keys / "signing.key")
    first.keeper.check_seal_key()  # enrolled, its key in force
    assert first.central.token is not None
    old = file_key(keys / "signing.key")
    read_only = f"mount --bind {keys} {keys} && mount -o remount,bind,ro {keys}"
    lines = run_child(
        server.base_url,
        data,
        first.central.token,
        "never",
        key_file=keys / "signing.key",
        mount=read_only,
    )
    [refused] = [line for line in lines if line.startswith("REFUSED")]
    assert "cannot be written" in refused and "old key stays in use" in refused
    assert lines[-1] == f"KEY {old}" and sorted(p.name for p in keys.iterdir()) == ["signing.key"]
    seals = [line.removeprefix("SEAL ") for line in lines if line.startswith("SEAL ")]
    assert len(seals) == 3 and {verdict(server.base_url, s) for s in seals} == {"valid"}
