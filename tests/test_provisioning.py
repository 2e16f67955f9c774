"""provisioning/provision.py in a throwaway root, enrolling with a real central server on loopback.

The `--system` steps (packages, the kiosk user, the CUPS queue, udev, the units) run in
tests/test_provisioning_system.py, in a namespaced copy of the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from central_server.app import create_app
from central_server.embedded import EmbeddedServer, start_embedded
from kiosk_app.central import CentralClient, CentralUnavailable
from kiosk_app.config import load_config
from kiosk_app.services.receipt_seal import public_key_text
from kiosk_app.services.sealing import (
    load_key,
    load_signing_key,
    signing_key_path,
    write_new_secret,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "provisioning" / "provision.py"
ADMIN = "technician-token-for-tests"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with start_embedded(f"sqlite:///{tmp_path / 'central.db'}", admin_token=ADMIN) as running:
        yield running


def _code(server: EmbeddedServer, kiosk_id: str) -> str:
    answer = requests.post(
        f"{server.base_url}/api/v1/enrolment-codes",
        json={"office_code": "3517", "kiosk_id": kiosk_id},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["code"])


def _provision(root: Path, server: EmbeddedServer, *extra: str) -> subprocess.CompletedProcess[str]:
    # -I -S: isolated, no site-packages: the script needs nothing beyond the standard library.
    command = [
        sys.executable,
        "-I",
        "-S",
        str(SCRIPT),
        "--root",
        str(root),
        "--kiosk-id",
        "KIOSK-3517-07",
        "--office-code",
        "3517",
        "--central-url",
        server.base_url,
        "--printer-usb",
        "0416:5011",
        "--scanner-usb",
        "1eab:8003",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_provisions_enrols_and_is_idempotent(server: EmbeddedServer, tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = _provision(root, server, f"--enrolment-code={_code(server, 'KIOSK-3517-07')}")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.splitlines()[-1])
    assert summary["steps"]["enrolment"] == "changed" and summary["changed"] >= 5

    config_path = root / "etc/anjungan/kiosk.toml"
    assert config_path.stat().st_mode & 0o777 == 0o640
    assert (root / "etc/anjungan/outbox.key").stat().st_mode & 0o777 == 0o600
    # the seal key in the kiosk's state directory (the kiosk rewrites it; /etc is read-only to
    # its unit), where the kiosk finds it by the data_dir of its configuration
    state = root / "var/lib/anjungan"
    assert (state.stat().st_mode & 0o777, (state / "signing.key").stat().st_mode & 0o777) == (
        0o700,
        0o600,
    )
    assert not (root / "etc/anjungan/signing.key").exists()
    # the kiosk loads both keys as provisioning wrote them
    assert len(load_key(root / "etc/anjungan/outbox.key", tmp_path / "data")) == 32
    data_dir = load_config(config_path).data_dir
    assert data_dir == Path("/var/lib/anjungan")
    assert signing_key_path(None, root / data_dir.relative_to("/")) == state / "signing.key"
    signing = load_signing_key(None, root / data_dir.relative_to("/"))
    assert len(public_key_text(signing)) == 43
    assert sorted(p.name for p in state.iterdir()) == ["signing.key"]  # none made instead
    rules = (root / "etc/udev/rules.d/60-anjungan.rules").read_text()
    assert 'ATTRS{idVendor}=="0416"' in rules and 'SYMLINK+="anjungan-printer"' in rules
    assert (root / "etc/systemd/system/anjungan-kiosk.service").read_text() == (
        ROOT / "systemd/anjungan-kiosk.service"
    ).read_text()

    config = load_config(config_path)  # the kiosk can read what provisioning wrote
    assert config.kiosk_id == "KIOSK-3517-07" and config.devices.card_reader == "pcsc"
    assert config.devices.ticket_printer_port == "/dev/anjungan-printer"
    client = CentralClient(
        config.central_url or "", config.kiosk_id, config.office_code, token=config.central_token
    )
    assert client.slots("akta_kelahiran")  # the enrolled token opens the kiosk API

    key = (root / "etc/anjungan/outbox.key").read_bytes()
    signing_bytes = (state / "signing.key").read_bytes()
    again = _provision(root, server)  # no code needed: the kiosk already holds a token
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["changed"] == 0, summary
    assert (root / "etc/anjungan/outbox.key").read_bytes() == key  # never rotated by a re-run
    assert (state / "signing.key").read_bytes() == signing_bytes


def test_a_seal_key_in_etc_is_moved_to_the_state_directory_once(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """A kiosk provisioned when the seal key lived in /etc (read-only to the kiosk's unit, so
    it could never rotate nor replace it): provisioning moves that very key (the server has it
    in force) into the state directory, 0600, and a second run changes nothing."""
    root = tmp_path / "root"
    first = _provision(root, server, f"--enrolment-code={_code(server, 'KIOSK-3517-07')}")
    assert first.returncode == 0, first.stderr
    state = root / "var/lib/anjungan"
    old = root / "etc/anjungan/signing.key"
    (state / "signing.key").rename(old)  # as the earlier provisioning left it
    old.chmod(0o600)
    key = old.read_bytes()
    moved = _provision(root, server)
    assert moved.returncode == 0, moved.stderr
    summary = json.loads(moved.stdout.splitlines()[-1])
    assert summary == {"changed": 1, "steps": summary["steps"]}
    assert summary["steps"]["signing key"] == "changed"
    assert f"signing key: moved from {old} to {state / 'signing.key'}" in moved.stdout
    assert not old.exists() and (state / "signing.key").read_bytes() == key  # the same key
    assert (state / "signing.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in state.iterdir()) == ["signing.key"]
    again = _provision(root, server)
    assert json.loads(again.stdout.splitlines()[-1])["changed"] == 0, again.stdout
    assert (state / "signing.key").read_bytes() == key and not old.exists()


def test_a_seal_key_in_etc_beside_another_in_the_state_directory_is_kept_aside(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """Both places hold a key (a development key made in the data dir before provisioning):
    the kiosk seals with the state directory's (sealing.signing_key_path), so that one stays;
    the /etc one is kept beside it, never deleted, and /etc no longer holds a key."""
    root = tmp_path / "root"
    first = _provision(root, server, f"--enrolment-code={_code(server, 'KIOSK-3517-07')}")
    assert first.returncode == 0, first.stderr
    state = root / "var/lib/anjungan"
    in_use = (state / "signing.key").read_bytes()
    old = root / "etc/anjungan/signing.key"
    write_new_secret(old)
    other = old.read_bytes()
    done = _provision(root, server)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["steps"]["signing key"] == "changed"
    assert not old.exists() and (state / "signing.key").read_bytes() == in_use
    [kept] = state.glob("signing.key.etc-*")
    assert kept.read_bytes() == other and kept.stat().st_mode & 0o777 == 0o600
    again = _provision(root, server)
    assert json.loads(again.stdout.splitlines()[-1])["changed"] == 0, again.stdout


def test_a_bad_enrolment_code_stops_before_writing_anything(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    done = _provision(root, server, "--enrolment-code", "not-a-real-code-123")
    assert done.returncode != 0
    assert "enrolment refused (HTTP 401)" in done.stderr
    assert not (root / "etc/anjungan/kiosk.toml").exists()


def test_system_steps_refuse_a_throwaway_root(server: EmbeddedServer, tmp_path: Path) -> None:
    done = _provision(tmp_path / "root", server, "--system", "--enrolment-code", "x" * 12)
    assert done.returncode == 2 and "--system changes the running machine" in done.stderr


def test_cups_policy_lets_the_kiosk_user_resume_its_queue_only(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    conf = root / "etc/cups/cupsd.conf"
    conf.parent.mkdir(parents=True)
    system = Path("/etc/cups/cupsd.conf")
    original = system.read_text() if system.exists() else "Listen /run/cups/cups.sock\n"
    conf.write_text(original)
    conf.chmod(0o640)
    first = _provision(root, server, f"--enrolment-code={_code(server, 'KIOSK-3517-07')}")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["steps"]["cups policy"] == "changed"
    text = conf.read_text()
    assert text.startswith(original.rstrip("\n")) and conf.stat().st_mode & 0o777 == 0o640
    assert text.count("<Policy anjungan>") == 1
    limits = [line.strip() for line in text.split("<Policy anjungan>")[1].splitlines()]
    opened = limits.index("<Limit Resume-Printer Enable-Printer CUPS-Accept-Jobs>")
    assert limits[opened + 2] == "Require user @SYSTEM anjungan"
    kiosk_rules = [line for line in limits if line.startswith("Require") and "anjungan" in line]
    assert len(kiosk_rules) == 1  # nothing else is opened to the kiosk user
    again = _provision(root, server)
    assert json.loads(again.stdout.splitlines()[-1])["steps"]["cups policy"] == "unchanged"
    assert conf.read_text() == text
    if shutil.which("cupsd"):  # cupsd itself reads the result without complaint (no daemon)
        checked = subprocess.run(
            ["cupsd", "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30
        )
        assert checked.returncode == 0 and "is OK" in checked.stdout + checked.stderr
        assert "Bad" not in checked.stdout + checked.stderr, checked.stderr


def test_a_kiosk_trusts_a_self_signed_central_server_by_its_ca_file(tmp_path: Path) -> None:
    """--central-ca: provisioning enrols over https with that file only, writes it beside the
    config, and the kiosk's client trusts the server by it (and refuses it without)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl (apt: openssl)")
    sys.path.insert(0, str(ROOT / "provisioning"))
    try:
        import central as central_provisioning
    finally:
        sys.path.remove(str(ROOT / "provisioning"))
    cert, key = tmp_path / "tls" / "central.pem", tmp_path / "tls" / "central.key"
    central_provisioning.self_signed_cert(cert, key, "127.0.0.1")
    app = create_app(f"sqlite:///{tmp_path / 'central.db'}", admin_token=ADMIN)
    with EmbeddedServer(app, "127.0.0.1", 0, tls=(cert, key)).start() as server:
        assert server.base_url.startswith("https://")
        code = requests.post(
            f"{server.base_url}/api/v1/enrolment-codes",
            json={"office_code": "3517", "kiosk_id": "KIOSK-3517-07"},
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
            verify=str(cert),
        ).json()["code"]
        root = tmp_path / "root"
        refused = _provision(root, server, f"--enrolment-code={code}")
        assert refused.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
        done = _provision(root, server, f"--enrolment-code={code}", f"--central-ca={cert}")
        assert done.returncode == 0, done.stderr
        copied = root / "etc/anjungan/central-ca.pem"
        assert copied.read_bytes() == cert.read_bytes()
        written = (root / "etc/anjungan/kiosk.toml").read_text()
        assert 'central_ca_file = "/etc/anjungan/central-ca.pem"' in written
        # what provisioning wrote, read with the file's real place under the throwaway root
        config = load_config(root / "etc/anjungan/kiosk.toml", central_ca_file=copied)
        trusting = CentralClient(server.base_url, "KIOSK-3517-07", "3517", ca_file=copied)
        trusting.health()  # no exception: the certificate verified against the file
        assert config.central_ca_file == copied
        default = CentralClient(server.base_url, "KIOSK-3517-07", "3517")
        with pytest.raises(CentralUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            default.health()
        trusting.close()
        default.close()
