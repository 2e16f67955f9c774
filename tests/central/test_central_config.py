"""The central server's TOML config: typed values, errors naming the key, what each part runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import tomllib
import uuid
from pathlib import Path

import pytest

from central_server import keys
from central_server.config import (
    ConfigError,
    GatewaySettings,
    load_central_config,
    parse_central_config,
)
from central_server.embedded import EmbeddedServer
from central_server.models import Quota
from central_server.notify import FileChannel, HttpGatewayChannel, SmtpChannel
from central_server.runtime import build_app, build_channels, run_worker
from central_server.sidecar import SidecarServer
from kiosk_app.central import CentralClient
from tests.central.conftest import OFFICE, wait_for
from tests.domain.service_values import CASES, with_contact

ROOT = Path(__file__).resolve().parents[2]
DATA = with_contact("kia", CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}

PRODUCTION = """
[server]
host = "127.0.0.1"
port = 8001
database_url = "postgresql+psycopg://anjungan@/anjungan?host=/run/postgresql"
public_url = "https://central.example/"
trusted_proxies = ["127.0.0.1", "::1"]
background_loops = false

[[offices]]
code = "3517"
name = "Disdukcapil Kabupaten Jombang"
quotas = { kia = 40, akta_kelahiran = 60 }

[[offices]]
code = "3578"
name = "Disdukcapil Kota Surabaya"

[notify.sms]
url = "https://sms-gateway.example/send"
token_file = "/run/credentials/anjungan-central-worker.service/sms-token"

[notify.whatsapp]
url = "https://wa-gateway.example/send"

[notify.email]
host = "smtp.example"
port = 587
starttls = true
username = "anjungan"

[limits]
max_body_bytes = 32768
status_lookups_per_minute = 12.5

[leases]
hours = 12
margin_hours = 2.5
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_a_development_server_delivers_to_files() -> None:
    config = load_central_config(None)
    assert config.server.database_url == "sqlite:///./var/central.db"
    assert config.server.background_loops and not config.secure_cookies
    assert config.notify.routes() == {"sms": "file", "whatsapp": "file", "email": "file"}
    channels = build_channels(config)
    assert all(isinstance(c, FileChannel) for c in channels.values())
    assert sorted(channels) == ["email", "sms", "whatsapp"]


def test_a_production_file_is_read_into_typed_settings(tmp_path: Path) -> None:
    config = load_central_config(write(tmp_path, PRODUCTION))
    assert config.server.port == 8001 and config.server.trusted_proxies == ("127.0.0.1", "::1")
    assert not config.server.background_loops and config.secure_cookies  # https public URL
    assert [o.code for o in config.offices] == ["3517", "3578"]
    assert config.offices[0].quotas == {"kia": 40, "akta_kelahiran": 60}
    assert config.notify.file is None
    assert config.notify.sms == GatewaySettings(
        "https://sms-gateway.example/send",
        Path("/run/credentials/anjungan-central-worker.service/sms-token"),
    )
    assert config.notify.routes() == {"sms": "gateway", "whatsapp": "gateway", "email": "smtp"}
    assert config.limits.max_body_bytes == 32768 and config.limits.status_lookups_per_minute == 12.5
    assert config.limits.max_scan_bytes == 5 << 20  # default kept
    assert (config.leases.hours, config.leases.margin_hours) == (12, 2.5)
    assert config.leases.history_days == 14  # default kept


def test_gateway_token_and_smtp_password_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sekret-token\n")
    (tmp_path / "password").write_text("sandi\n")
    config = load_central_config(
        write(
            tmp_path,
            f"""
[notify.sms]
url = "http://127.0.0.1:9/send"
token_file = "{tmp_path / "token"}"
[notify.email]
host = "127.0.0.1"
password_file = "{tmp_path / "password"}"
username = "u"
""",
        )
    )
    channels = build_channels(config)
    assert sorted(channels) == ["email", "sms"]  # no file channel once [notify] is given
    sms, email = channels["sms"], channels["email"]
    assert isinstance(sms, HttpGatewayChannel) and isinstance(email, SmtpChannel)
    assert email.password == "sandi"
    missing = load_central_config(
        write(tmp_path, '[notify.sms]\nurl = "http://x/"\ntoken_file = "/nonexistent/token"\n')
    )
    with pytest.raises(ConfigError, match=r"\[notify.sms\] token_file: cannot read"):
        build_channels(missing)


@pytest.mark.parametrize(("text", "message"), [
    ("[server]\nport = \"8000\"", r"\[server\] port must be an integer, not '8000'"),
    ("[server]\nport = 70000", r"\[server\] port must be 1-65535"),
    ("[server]\nbackground_loops = 1", r"\[server\] background_loops must be true or false"),
    ("[server]\ndatabase_url = \"mysql://x\"", r"\[server\] database_url"),
    ("[server]\npublic_url = \"central.example\"", r"\[server\] public_url"),
    ("[server]\ntrusted_proxies = [\"nginx\"]", r"trusted_proxies: 'nginx' is not an address"),
    ("[server]\nprot = 1", r"unknown key\(s\) in \[server\]: prot"),
    ("[sever]\nport = 1", r"unknown table\(s\): sever"),
    ("[limits]\nmax_body_bytes = 0", r"\[limits\] max_body_bytes must be above 0"),
    ("[limits]\nmax_scan_bytes = 1.5", r"\[limits\] max_scan_bytes must be an integer"),
    ("[leases]\nmargin_hours = 0", r"\[leases\] margin_hours must be above 0"),
    ("[leases]\nhistory_days = 7.5", r"\[leases\] history_days must be an integer"),
    ("[cookies]\nsecure = \"yes\"", r"\[cookies\] secure must be true or false"),
    ("[[offices]]\nname = \"X\"", r"\[offices #1\] needs code"),
    ("[[offices]]\ncode = \"35\"\nname = \"X\"", r"\[offices #1\] code must be 4 digits"),
    ("[[offices]]\ncode = \"3517\"\nname = \"X\"\nquotas = { kia = -1 }",
     r"\[offices #1\] quotas.kia must be 0-10000"),
    ("[[offices]]\ncode = \"3517\"\nname = \"X\"\nquotas = { kia = \"40\" }",
     r"\[offices #1\] quotas.kia must be an integer"),
    ("[notify.sms]\ntoken_file = \"/x\"", r"\[notify.sms\] needs url"),
    ("[notify.sms]\nurl = \"ftp://x\"", r"\[notify.sms\] url must start with http"),
    ("[notify.fax]\nurl = \"http://x\"", r"unknown key\(s\) in \[notify\]: fax"),
    ("[notify.file]\nchannels = [\"pager\"]", r"\[notify.file\] channels: 'pager' is not one of"),
    ("[notify.file]\n[notify.sms]\nurl = \"http://x/\"",
     r"\[notify.file\] channels: sms is also delivered by \[notify.sms\]"),
    ("[server\nport = 1", r"cannot read central config"),
])  # fmt: skip
def test_a_bad_value_is_refused_naming_its_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_central_config(write(tmp_path, text))


def test_unknown_quota_service_is_refused_at_start(tmp_path: Path) -> None:
    config = load_central_config(
        write(
            tmp_path,
            f"""
[server]
database_url = "sqlite:///{tmp_path / "c.db"}"
[[offices]]
code = "3517"
name = "Jombang"
quotas = {{ kartu_kuning = 5 }}
""",
        )
    )
    with pytest.raises(ConfigError, match=r"\[offices #1\] quotas.kartu_kuning: unknown service"):
        build_app(config)


def test_config_quotas_seed_an_office_but_never_overwrite_an_admins_change(tmp_path: Path) -> None:
    config = load_central_config(
        write(
            tmp_path,
            f"""
[server]
database_url = "sqlite:///{tmp_path / "c.db"}"
[[offices]]
code = "3578"
name = "Disdukcapil Kota Surabaya"
quotas = {{ kia = 7 }}
""",
        )
    )
    db = build_app(config).state.db
    with db.transaction() as session:
        assert session.get_one(Quota, ("3578", "kia")).daily_quota == 7
        session.get_one(Quota, ("3578", "kia")).daily_quota = 3  # an admin's change
    db = build_app(config).state.db  # a restart
    with db.transaction() as session:
        assert session.get_one(Quota, ("3578", "kia")).daily_quota == 3


def _submit(base_url: str) -> str:
    client = CentralClient(base_url, f"kiosk-{uuid.uuid4().hex[:8]}", OFFICE, timeout=10)
    try:
        client.register("Anjungan lobi")
        slot = client.slots("kia", days=14)[0].slot
        receipt = client.submit(
            service="kia",
            applicant_nik="3517081208850001",
            applicant_name="BUDI SANTOSO",
            data=DATA,
            slot=slot,
            idempotency_key=uuid.uuid4().hex,
        )
        return receipt.registration_number
    finally:
        client.close()


def _messages(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return [p.read_text() for p in sorted(directory.glob("*.txt"))]


def test_anjungan_central_without_a_config_writes_each_message_under_var(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANJUNGAN_")}
    env["PYTHONPATH"] = str(ROOT)
    server = subprocess.Popen(
        [sys.executable, "-m", "kiosk_app", "central", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        client = CentralClient(f"http://127.0.0.1:{port}", "probe", OFFICE, timeout=2)

        def up() -> bool:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                client.health()
                return True
            except Exception:
                return False

        wait_for(up, timeout_s=120)
        client.close()
        number = _submit(f"http://127.0.0.1:{port}")
        wait_for(lambda: any(number in m for m in _messages(tmp_path / "var/messages")), 20)
        [message] = _messages(tmp_path / "var/messages")
        assert message.startswith("Channel: sms\nTo: 081234567890\n")
        assert "3517081208850001" not in message and "BUDI" not in message
        assert (tmp_path / "var/central.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_app_servers_without_background_loops_leave_delivery_to_the_worker(
    tmp_path: Path,
) -> None:
    config = load_central_config(
        write(
            tmp_path,
            f"""
[server]
database_url = "sqlite:///{tmp_path / "c.db"}"
background_loops = false
open_enrolment = true  # the kiosk below enrols without a code
[notify.file]
directory = "{tmp_path / "messages"}"
""",
        )
    )
    app = build_app(config)
    assert app.state.review.worker.channels == {}  # the app server delivers nothing itself
    with EmbeddedServer(app, "127.0.0.1", 0).start() as server:
        number = _submit(server.base_url)
        assert _messages(tmp_path / "messages") == []
        stop = threading.Event()
        worker = threading.Thread(target=run_worker, args=(config, stop))
        worker.start()
        try:
            wait_for(lambda: any(number in m for m in _messages(tmp_path / "messages")), 20)
        finally:
            stop.set()
            worker.join(30)
    assert not worker.is_alive()
    assert len(_messages(tmp_path / "messages")) == 1


def test_provisioning_writes_a_production_config_once_and_keeps_an_edited_one(
    tmp_path: Path,
) -> None:
    command = [
        sys.executable,
        str(ROOT / "provisioning/central.py"),
        "--root",
        str(tmp_path),
        "--server-name",
        "anjungan.jombangkab.go.id",
        "--app-ports",
        "8001,8002,8003",
        "--sms-gateway",
        "https://sms.example/send",
    ]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert "central.toml: changed" in first.stdout
    config = load_central_config(tmp_path / "etc/anjungan/central.toml")
    assert not config.server.background_loops and config.secure_cookies
    assert config.server.trusted_proxies == ("127.0.0.1", "::1")
    assert config.notify.routes() == {"sms": "gateway", "whatsapp": "file", "email": "file"}
    site = (tmp_path / "etc/nginx/sites-available/anjungan-central").read_text()
    assert all(f"server 127.0.0.1:{port} " in site for port in (8001, 8002, 8003))
    # certbot's deploy hook (run in tests/central/test_production_reload.py): a reload
    hook = tmp_path / "etc/letsencrypt/renewal-hooks/deploy/anjungan-central"
    assert hook.stat().st_mode & 0o777 == 0o755
    assert '"/etc/letsencrypt/live/anjungan.jombangkab.go.id"' in hook.read_text()
    assert (
        "systemctl reload nginx.service" in hook.read_text() and "restart" not in hook.read_text()
    )
    # certbot's webroot (--certbot): made, the only thing nginx serves over plain HTTP
    webroot = tmp_path / "var/lib/anjungan-acme"
    assert webroot.is_dir() and webroot.stat().st_mode & 0o777 == 0o755
    assert "root /var/lib/anjungan-acme;" in site
    secrets = {p.name: p for p in (tmp_path / "etc/anjungan/credentials").iterdir()}
    assert sorted(secrets) == sorted(keys.ENVIRONMENT)  # every secret the server loads
    for path in secrets.values():
        assert path.stat().st_mode & 0o777 == 0o600 and len(path.read_text().strip()) >= 64
    made = {name: path.read_text() for name, path in secrets.items()}
    (tmp_path / "etc/anjungan/central.toml").write_text("[server]\nport = 9000\n")  # edited
    again = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    assert "changed" not in again.stdout.replace("unchanged", "")
    assert {name: path.read_text() for name, path in secrets.items()} == made  # kept
    assert (tmp_path / "etc/anjungan/central.toml").read_text() == "[server]\nport = 9000\n"


def test_the_readme_example_is_a_valid_config() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index("    [server]\n    host"), readme.index("Unknown tables or keys")
    example = "\n".join(line[4:] for line in readme[start:end].splitlines())
    config = parse_central_config(tomllib.loads(example))
    assert config.notify.routes() == {"sms": "gateway", "whatsapp": "file", "email": "smtp"}


def test_the_development_kiosks_own_server_writes_messages_beside_its_database(
    tmp_path: Path,
) -> None:
    server = SidecarServer(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        server.wait_healthy(60)
        number = _submit(server.base_url)
        wait_for(lambda: any(number in m for m in _messages(tmp_path / "messages")), 20)
    finally:
        server.stop()


def test_an_app_server_behind_a_proxy_without_a_public_url_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind nginx without [server] public_url, QR codes would name 127.0.0.1:8001."""
    database = f'database_url = "sqlite:///{tmp_path / "c.db"}"'
    for extra, warned in (("", False), ('trusted_proxies = ["127.0.0.1"]', True)):
        caplog.clear()
        build_app(load_central_config(write(tmp_path, f"[server]\n{database}\n{extra}\n")))
        assert ("public_url is not set" in caplog.text) == warned
    proxied = f'[server]\n{database}\ntrusted_proxies = ["127.0.0.1"]\npublic_url = "https://a.b/"'
    caplog.clear()
    build_app(load_central_config(write(tmp_path, proxied)))
    assert "public_url is not set" not in caplog.text
