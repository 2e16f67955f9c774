"""provisioning/central.py --system and provisioning/provision.py --system, run for real as root.

Each script runs in a sandbox (tests/system_sandbox.py): a private copy of this machine's /etc,
/var and /usr in a mount namespace, so dpkg-query, useradd, psql/createuser/createdb, nginx -t
and the files they write are real and the host never changes. The central server and the kiosk
are two sandboxes sharing one loopback. PostgreSQL is the test server of tests/central/postgres.py
at Debian's socket path. Only systemctl and udevadm are stand-ins (systemd is not PID 1 in these
containers: see tests/standins/): the stand-in enables units from their [Install] sections after
`systemd-analyze verify`, and starts them as the unit files say (User=, LoadCredential=,
StateDirectory=...), nginx as Debian's nginx.service does.

Then the server answers over TLS through the installed nginx, a technician makes an enrolment
code, the kiosk enrols with it, and a second run of each script changes nothing.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from kiosk_app.central import CentralClient
from tests.central.conftest import wait_for
from tests.central.officer.conftest import Staff
from tests.central.postgres import TemporaryPostgres, find_binary
from tests.system_sandbox import Sandbox

T = TypeVar("T")
SERVER = "anjungan.test"
PORTS = ("8001", "8002")
OFFICE = "3517"
KIOSK = "KIOSK-3517-09"
CA_INSIDE = "/etc/anjungan/central-ca.pem"
TECH_PASSWORD = "teknisi-sandbox-password-1"
CENTRAL = ["/usr/bin/python3", "/opt/anjungan/provisioning/central.py", "--system"]
CENTRAL += ["--server-name", SERVER, "--app-ports", ",".join(PORTS), "--office-code", OFFICE]
CENTRAL_UNITS = [f"anjungan-central@{port}.service" for port in PORTS] + [
    "anjungan-central-worker.service"
]
CLONE_NEWNET = 0x40000000

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("unshare") is None
    or shutil.which("nsenter") is None
    or shutil.which("nginx") is None
    or find_binary("initdb") is None
    or not Path("/usr/bin/python3").exists(),
    reason="needs root, util-linux (unshare, nsenter), nginx and PostgreSQL",
)


def _join_network(pid: int) -> None:
    """This thread (only) into the sandbox's network namespace: loopback is the sandbox's."""
    fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Sandbox]:
    """A central-server machine: the test PostgreSQL at /run/postgresql, nothing provisioned."""
    pg = TemporaryPostgres().start()
    sandbox = Sandbox(tmp_path / "central", pg_socket=pg.dir / f".s.PGSQL.{pg.port}")
    try:
        pg.execute("CREATE ROLE postgres SUPERUSER LOGIN")  # Debian's cluster superuser
        sandbox.start()
        # the services run the code of this checkout, installed at /opt/anjungan (the venv's
        # own editable install may point at another checkout)
        sandbox.path("/run/standin/service.env").write_text("PYTHONPATH=/opt/anjungan\n")
        yield sandbox
    finally:
        sandbox.close()
        pg.stop()


@pytest.fixture
def kiosk(central: Sandbox, tmp_path: Path) -> Iterator[Sandbox]:
    """A kiosk machine on the central server's loopback (its own /etc, /var, users)."""
    sandbox = Sandbox(tmp_path / "kiosk").start(network_of=central)
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def on_loopback(central: Sandbox) -> Iterator[Callable[[Callable[[], T]], T]]:
    """Run a call in a thread that is inside the sandboxes' network namespace."""
    with ThreadPoolExecutor(1, initializer=_join_network, initargs=(central.pid,)) as thread:
        yield lambda call: thread.submit(call).result(timeout=120)


def provision(sandbox: Sandbox, command: list[str]) -> dict[str, str]:
    done = sandbox.run(*command)
    log = sandbox.path("/run/standin/log")
    journal = {p.name: p.read_text()[-1500:] for p in log.iterdir()} if log.is_dir() else {}
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{journal}"
    lines = [line for line in done.stdout.splitlines() if ": " in line and line[0] != "{"]
    return dict(line.split(": ", 1) for line in lines)


def calls(sandbox: Sandbox) -> list[list[str]]:
    log = sandbox.path("/run/standin/calls.log")
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def mode(sandbox: Sandbox, path: str) -> tuple[int, str, str]:
    """Permission bits, owner and group of a file inside (names from the sandbox's own passwd)."""
    info = sandbox.path(path).stat()
    passwd = sandbox.path("/etc/passwd").read_text().splitlines()
    group = sandbox.path("/etc/group").read_text().splitlines()
    names = {int(line.split(":")[2]): line.split(":")[0] for line in passwd}
    groups = {int(line.split(":")[2]): line.split(":")[0] for line in group}
    return stat.S_IMODE(info.st_mode), names[info.st_uid], groups[info.st_gid]


def https(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.path("/etc/anjungan/tls/central.crt"))
    return session


def test_central_server_system_provisioning_runs_and_is_idempotent(
    central: Sandbox,
    kiosk: Sandbox,
    on_loopback: Callable[[Callable[[], object]], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = provision(central, CENTRAL)
    host_users = Path("/etc/passwd").read_text()
    assert "anjungan-central:" in central.path("/etc/passwd").read_text()
    assert "anjungan-central:" not in host_users  # the host machine is untouched
    assert steps["packages"] == "unchanged" and steps["user"] == "changed"

    # files: the secrets root-only, the config readable by the service, nothing else
    for name in ("token-signing-key", "session-key", "print-code-pepper"):
        assert mode(central, f"/etc/anjungan/credentials/{name}") == (0o600, "root", "root")
    assert mode(central, "/etc/anjungan/credentials") == (0o700, "root", "root")
    assert mode(central, "/etc/anjungan/central.toml") == (0o640, "root", "anjungan-central")
    secrets = {
        name: central.path(f"/etc/anjungan/credentials/{name}").read_bytes()
        for name in ("token-signing-key", "session-key", "print-code-pepper")
    }
    enabled = [c for c in calls(central) if c[:2] == ["systemctl", "enable"]]
    assert enabled and set(CENTRAL_UNITS) <= set(enabled[0])
    wants = central.path("/etc/systemd/system/anjungan-central.target.wants")
    assert sorted(p.name for p in wants.iterdir()) == sorted(CENTRAL_UNITS)
    assert central.path("/etc/systemd/system/multi-user.target.wants/anjungan-central.target")
    site = central.path("/etc/nginx/sites-enabled/anjungan-central")
    assert os.readlink(site) == "/etc/nginx/sites-available/anjungan-central"

    # the services run as the unit files say: as anjungan-central, secrets from credentials
    for unit in CENTRAL_UNITS:
        pid = int(central.path(f"/run/standin/pid/{unit}").read_text())
        status = central.path(f"/proc/{pid}/status").read_text()
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        assert uid and mode(central, "/var/lib/anjungan-central")[1] == "anjungan-central"
        assert int(uid.group(1)) == central.path("/var/lib/anjungan-central").stat().st_uid
    app = int(central.path(f"/run/standin/pid/{CENTRAL_UNITS[0]}").read_text())
    environ = central.path(f"/proc/{app}/environ").read_bytes().split(b"\0")
    credentials = f"/run/credentials/{CENTRAL_UNITS[0]}"
    assert f"CREDENTIALS_DIRECTORY={credentials}".encode() in environ
    assert mode(central, f"{credentials}/session-key") == (0o400, *["anjungan-central"] * 2)

    base = "https://127.0.0.1"

    def up() -> bool:
        try:
            with https(central) as session:
                return (
                    all(
                        session.get(f"http://127.0.0.1:{port}/health", timeout=2).ok
                        for port in PORTS
                    )
                    and session.get(f"{base}/health", timeout=2).ok
                )
        except requests.RequestException:
            return False

    assert on_loopback(lambda: wait_for(up, timeout_s=60)) is not False

    def through_nginx() -> dict[str, object]:
        with https(central) as session:
            css = session.get(f"{base}/static/fleet.css", timeout=10)
            plain = session.get(
                "http://127.0.0.1/fleet/", headers={"Host": SERVER}, allow_redirects=False
            )
            return {"css": css.content, "redirect": (plain.status_code, plain.headers["location"])}

    seen = on_loopback(through_nginx)
    assert isinstance(seen, dict)
    assert seen["css"] == (
        central.path("/opt/anjungan/central_server/static/fleet.css").read_bytes()
    )
    assert seen["redirect"] == (301, f"https://{SERVER}/fleet/")

    # a technician (made as the README says) gives the kiosk a one-time code
    made = central.run(
        "runuser", "-u", "anjungan-central", "--", "env", "PYTHONPATH=/opt/anjungan",
        "/opt/anjungan/.venv/bin/python", "-m", "central_server.auth",
        "--db", "postgresql+psycopg://anjungan-central@/anjungan?host=/run/postgresql",
        "create-user", "teknisi", "--role", "technician", "--password", TECH_PASSWORD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(central.path("/etc/anjungan/tls/central.crt")))

    def enrolment_code() -> str:
        tech = Staff(base, "teknisi", TECH_PASSWORD)
        assert tech.login_response.status_code == 303, tech.login_response.text
        answer = tech.http.post(
            f"{base}/api/v1/enrolment-codes",
            json={"office_code": OFFICE, "kiosk_id": KIOSK},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["code"])

    code = on_loopback(enrolment_code)
    ca = kiosk.path("/root/central-ca.pem")
    ca.write_bytes(central.path("/etc/anjungan/tls/central.crt").read_bytes())
    kiosk_command = [
        "/usr/bin/python3", "/opt/anjungan/provisioning/provision.py", "--system",
        "--kiosk-id", KIOSK, "--office-code", OFFICE, "--central-url", f"https://{SERVER}",
        "--central-ca", "/root/central-ca.pem", "--printer-usb", "0416:5011",
        "--cups-uri", "ipp://localhost:8631/ipp/print",
    ]  # fmt: skip
    # CUPS runs before provisioning, as on an installed Debian (cups.socket); no printer
    # answers at the URI (ippeveprinter needs avahi), so CUPS makes the queue without a PPD
    assert kiosk.run("systemctl", "start", "cups.service").returncode == 0
    with kiosk.path("/etc/hosts").open("a") as hosts:  # the kiosk finds the server by name
        hosts.write(f"127.0.0.1 {SERVER}\n")
    kiosk_steps = provision(kiosk, [*kiosk_command, f"--enrolment-code={code}"])
    assert kiosk_steps["enrolment"] == "changed" and kiosk_steps["user"] == "changed"
    assert "anjungan:" not in host_users.replace("anjungan-", "")
    assert mode(kiosk, "/etc/anjungan/kiosk.toml") == (0o640, "root", "anjungan")
    assert mode(kiosk, "/etc/anjungan/outbox.key") == (0o600, "anjungan", "anjungan")
    kiosk_groups = [
        line.split(":")[0]
        for line in kiosk.path("/etc/group").read_text().splitlines()
        if "anjungan" in line.split(":")[3].split(",")
    ]
    assert {"video", "input", "dialout", "lp"} <= set(kiosk_groups)
    assert ["systemctl", "enable", "anjungan-kiosk.service"] in calls(kiosk)
    assert ["udevadm", "control", "--reload-rules"] in calls(kiosk)
    # the A4 queue exists with the kiosk's policy: its user may resume it, not stop it
    assert kiosk_steps["cups queue"] == kiosk_steps["cups queue policy"] == "changed"
    printers = kiosk.path("/etc/cups/printers.conf").read_text()
    assert "<Printer A4>" in printers and "OpPolicy anjungan" in printers
    as_kiosk = ["runuser", "-u", "anjungan", "--"]
    assert kiosk.run(*as_kiosk, "cupsenable", "A4").returncode == 0
    refused = kiosk.run(*as_kiosk, "cupsdisable", "A4")
    assert refused.returncode != 0 and "forbidden" in refused.stderr, refused.stderr
    assert not kiosk.path("/etc/systemd/system/anjungan-central@.service").exists()
    token = re.search(
        r'central_token = "([^"]+)"', kiosk.path("/etc/anjungan/kiosk.toml").read_text()
    )
    assert token

    def kiosk_call() -> list[object]:
        client = CentralClient(
            base, KIOSK, OFFICE, token=token.group(1), ca_file=kiosk.path(CA_INSIDE)
        )
        try:
            return list(client.slots("akta_kelahiran"))
        finally:
            client.close()

    assert isinstance(on_loopback(kiosk_call), list)  # the enrolled token opens the kiosk API

    # twice: nothing changes, no new secret, no error
    before = len(calls(central))
    again = provision(central, CENTRAL)
    changed = {name: outcome for name, outcome in again.items() if outcome.startswith("changed")}
    assert changed == {}, again
    for name, value in secrets.items():
        assert central.path(f"/etc/anjungan/credentials/{name}").read_bytes() == value
    assert not [c for c in calls(central)[before:] if c[1] in ("enable", "restart")]
    kiosk_again = provision(kiosk, kiosk_command)
    changed = {k: v for k, v in kiosk_again.items() if v.startswith("changed")}
    assert changed == {}, kiosk_again
    assert on_loopback(up)
