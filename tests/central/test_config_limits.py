"""The [limits] and [notify] admins tables of the central config are what the server enforces;
its public_url is where verification QR codes point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from central_server.config import ConfigError, load_central_config
from central_server.embedded import EmbeddedServer
from central_server.runtime import build_app
from tests.central.conftest import wait_for
from tests.central.officer.conftest import Staff
from tests.central.test_central_config import write


def _config(tmp_path: Path, extra: str = "") -> Path:
    return write(
        tmp_path,
        f"""
[server]
database_url = "sqlite:///{tmp_path / "c.db"}"

[limits]
max_body_bytes = 2048
max_scan_bytes = 4096
lockout_after_failures = 2
lockout_minutes = 3

[notify]
admins = ["sms:+628111000222", "it@dukcapil.example"]

[notify.file]
directory = "{tmp_path / "messages"}"
{extra}
""",
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    app = build_app(load_central_config(_config(tmp_path)))
    with EmbeddedServer(app, "127.0.0.1", 0).start() as running:
        yield running


def test_body_limits_come_from_the_config(server: EmbeddedServer) -> None:
    enrol = f"{server.base_url}/api/v1/kiosks"
    small = requests.post(enrol, json={"name": "x" * 1500}, timeout=10)
    assert small.status_code != 413
    large = requests.post(enrol, json={"name": "x" * 3000}, timeout=10)
    assert large.status_code == 413 and len(large.content) < 200
    scan = f"{server.base_url}/api/v1/applications/AKTA-35.17.261207.0001/scans/kk"
    refused = requests.put(scan, data=b"%PDF" + b"0" * 5000, timeout=10)
    assert refused.status_code == 413
    assert requests.put(scan, data=b"%PDF" + b"0" * 3000, timeout=10).status_code != 413


def test_the_lockout_and_its_notice_follow_the_config(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    answers = [Staff(server.base_url, "petugas", f"salah-{n}").login_response for n in range(2)]
    assert [a.status_code for a in answers] == [401, 429]
    assert "dikunci" in answers[1].text

    def notices() -> list[str]:
        return [p.read_text() for p in sorted((tmp_path / "messages").glob("*.txt"))]

    wait_for(lambda: len(notices()) == 2, 20)
    heads = sorted(text.split("\n", 2)[0] + text.split("\n", 2)[1] for text in notices())
    assert heads == ["Channel: emailTo: it@dukcapil.example", "Channel: smsTo: +628111000222"]
    assert all("dikunci 3 menit" in text for text in notices())


@pytest.mark.parametrize(
    ("admins", "message"),
    [('"it@x"', "admins must be a list"), ('["fax:123"]', "names no channel")],
)
def test_bad_admin_addresses_are_refused(tmp_path: Path, admins: str, message: str) -> None:
    path = tmp_path / "central.toml"
    path.write_text(f"[notify]\nadmins = {admins}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_central_config(path)


def test_public_url_comes_from_a_config_file_only(tmp_path: Path) -> None:
    """The development default (port 8000) would point QR codes at the wrong port: only a
    file's public_url is used; without one the request's own address is."""
    config = load_central_config(_config(tmp_path, ""))
    assert build_app(config).state.public_url is None  # the file leaves it at the default
    path = tmp_path / "central.toml"
    path.write_text(
        path.read_text().replace(
            "[server]\n", '[server]\npublic_url = "https://anjungan.example.go.id/"\n'
        )
    )
    app = build_app(load_central_config(path))
    assert app.state.public_url == "https://anjungan.example.go.id/"


def test_a_server_run_from_a_config_file_enrols_kiosks_with_a_code_only(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """A config without an admin token (production: provisioning/central.py's) once ran open
    enrolment: anyone could take over an enrolled kiosk's id, its real token going 401."""
    enrol = f"{server.base_url}/api/v1/kiosks"
    body = {"kiosk_id": "KIOSK-LOBI", "office_code": "3517", "name": "Anjungan lobi"}
    for _ in range(2):  # a first enrolment, then a takeover of the same id
        refused = requests.post(enrol, json=body, timeout=10)
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"]["code"] == "enrolment_code_required"
    path = tmp_path / "central.toml"
    path.write_text(path.read_text().replace("[server]\n", "[server]\nopen_enrolment = true\n"))
    assert load_central_config(path).open_enrolment is True  # development, asked for
    assert load_central_config(None).open_enrolment is None  # the defaults: create_app decides
