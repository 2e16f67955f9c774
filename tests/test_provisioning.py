"""provisioning/provision.py in a throwaway root, enrolling with a real central server on loopback.

What this cannot test here (it needs the real machine, `--system`): installing packages, creating
the kiosk user, adding the CUPS queue, reloading udev and enabling the units.
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

from central_server.embedded import EmbeddedServer, start_embedded
from kiosk_app.central import CentralClient
from kiosk_app.config import load_config

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
    again = _provision(root, server)  # no code needed: the kiosk already holds a token
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.splitlines()[-1])
    assert summary["changed"] == 0, summary
    assert (root / "etc/anjungan/outbox.key").read_bytes() == key  # never rotated by a re-run


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
