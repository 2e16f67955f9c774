"""provisioning/central.py --system and provisioning/provision.py --system, run for real as root.

Each script runs in a sandbox (tests/system_sandbox.py): a private copy of this machine's /etc,
/var and /usr in a mount namespace, so dpkg-query, useradd, psql/createuser/createdb, nginx -t
and the files they write are real and the host never changes. The central server and the kiosk
are two sandboxes sharing one loopback. PostgreSQL is the test server of tests/central/postgres.py
at Debian's socket path. Only systemctl and udevadm are stand-ins (systemd is not PID 1 in these
containers: see tests/standins/): the stand-in enables units from their [Install] sections after
`systemd-analyze verify`, and starts them as the unit files say (User=, LoadCredential=,
StateDirectory=...), nginx as Debian's nginx.service does. The central server's units under the
real systemd (ordering, Restart=, ProtectHome=...): tests/test_systemd_real.py; the kiosk's
unit (cage and the app, Type=notify, the watchdog, the sandbox): tests/test_systemd_kiosk.py.

Then the server answers over TLS through the installed nginx, a technician makes an enrolment
code, the kiosk enrols with it, and a second run of each script changes nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import psycopg
import pytest
import requests

from kiosk_app.central import CentralClient
from tests.central.conftest import wait_for
from tests.central.officer.conftest import Staff
from tests.central.postgres import TemporaryPostgres, find_binary
from tests.system_sandbox import ROOT, Sandbox, join_network
from tests.systemd_machine import SystemdMachine

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
BASE = "https://127.0.0.1"  # the certificate names 127.0.0.1 too
CREDENTIALS = "/etc/anjungan/credentials"
SECRETS = (
    "token-signing-key",
    "session-key",
    "print-code-pepper",
    "seal-signing-key",
    "nik-audit-key",
)
KIOSK_COMMAND = [
    "/usr/bin/python3", "/opt/anjungan/provisioning/provision.py", "--system",
    "--kiosk-id", KIOSK, "--office-code", OFFICE, "--central-url", f"https://{SERVER}",
    "--central-ca", "/root/central-ca.pem", "--printer-usb", "0416:5011",
    "--cups-uri", "ipp://localhost:8631/ipp/print",
]  # fmt: skip

needs_root = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("unshare") is None
    or shutil.which("nsenter") is None
    or shutil.which("nginx") is None
    or find_binary("initdb") is None
    or not Path("/usr/bin/python3").exists(),
    reason="needs root, util-linux (unshare, nsenter), nginx and PostgreSQL",
)


def script_module(name: str) -> ModuleType:
    """provisioning/<name> (scripts, not a package; central.py imports its sibling)."""
    sys.path.insert(0, str(ROOT / "provisioning"))
    try:
        spec = importlib.util.spec_from_file_location(
            f"provisioning_{name[:-3]}", ROOT / "provisioning" / name
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "provisioning"))


@pytest.fixture
def postgres() -> Iterator[TemporaryPostgres]:
    """The test PostgreSQL with Debian's superuser role (peer authentication is trust here)."""
    pg = TemporaryPostgres().start()
    try:
        pg.execute("CREATE ROLE postgres SUPERUSER LOGIN")
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def central(postgres: TemporaryPostgres, tmp_path: Path) -> Iterator[Sandbox]:
    """A central-server machine: the test PostgreSQL at /run/postgresql, nothing provisioned."""
    socket = postgres.dir / f".s.PGSQL.{postgres.port}"
    sandbox = Sandbox(tmp_path / "central", pg_socket=socket)
    try:
        sandbox.start()
        # the services run the code of this checkout, installed at /opt/anjungan (the venv's
        # own editable install may point at another checkout)
        sandbox.path("/run/standin/service.env").write_text("PYTHONPATH=/opt/anjungan\n")
        yield sandbox
    finally:
        sandbox.close()


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
    with ThreadPoolExecutor(1, initializer=join_network, initargs=(central.pid,)) as thread:
        yield lambda call: thread.submit(call).result(timeout=120)


def provision(
    sandbox: Sandbox, command: list[str], env: dict[str, str] | None = None
) -> dict[str, str]:
    done = sandbox.run(*command, env=env)
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


def https(sandbox: Sandbox | SystemdMachine) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.path("/etc/anjungan/tls/central.crt"))
    return session


def test_dev_setup_installs_every_package_provisioning_installs() -> None:
    """CI's machine (provisioning/dev-setup.sh) has them all: --system then needs no network."""
    script = (ROOT / "provisioning" / "dev-setup.sh").read_text()
    listed = script.split("APT_PACKAGES=(", 1)[1].split("\n)", 1)[0]
    packages = {word for line in listed.splitlines() for word in line.split("#")[0].split()}
    for name in ("central.py", "provision.py"):
        assert set(script_module(name).PACKAGES) <= packages, name
    assert set(script_module("central_certbot.py").CERTBOT_PACKAGES) <= packages  # --certbot


def test_central_system_steps_refuse_a_throwaway_root(tmp_path: Path) -> None:
    done = subprocess.run(
        ["/usr/bin/python3", str(ROOT / "provisioning/central.py"), "--system"]
        + ["--server-name", SERVER, "--root", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--system changes the running machine" in done.stderr
    assert not any(tmp_path.iterdir())  # refused before writing anything


def uid(sandbox: Sandbox, user: str) -> int:
    for line in sandbox.path("/etc/passwd").read_text().splitlines():
        if line.startswith(f"{user}:"):
            return int(line.split(":")[2])
    raise AssertionError(f"no user {user} in the sandbox")


def changed(steps: dict[str, str]) -> dict[str, str]:
    return {name: outcome for name, outcome in steps.items() if outcome.startswith("changed")}


def check_central_machine(central: Sandbox, postgres: TemporaryPostgres) -> None:
    """What central.py --system left: user, database, files, enabled and running units."""
    assert "anjungan-central:" not in Path("/etc/passwd").read_text()  # the host is untouched
    assert not Path("/etc/nginx/sites-enabled/anjungan-central").exists()
    with psycopg.connect(postgres.dsn()) as conn:
        owner = conn.execute(
            "SELECT datdba::regrole::text FROM pg_database WHERE datname = %s", ["anjungan"]
        ).fetchall()
    assert owner == [('"anjungan-central"',)]
    # the secrets root-only, the config readable by the service, nothing else
    for name in SECRETS:
        assert mode(central, f"/etc/anjungan/credentials/{name}") == (0o600, "root", "root")
    assert mode(central, "/etc/anjungan/credentials") == (0o700, "root", "root")
    assert mode(central, "/etc/anjungan/central.toml") == (0o640, "root", "anjungan-central")
    enabled = [c for c in calls(central) if c[:2] == ["systemctl", "enable"]]
    assert enabled and set(CENTRAL_UNITS) <= set(enabled[0])
    wants = central.path("/etc/systemd/system/anjungan-central.target.wants")
    assert sorted(p.name for p in wants.iterdir()) == sorted(CENTRAL_UNITS)
    assert central.path("/etc/systemd/system/multi-user.target.wants/anjungan-central.target")
    site = central.path("/etc/nginx/sites-enabled/anjungan-central")
    assert os.readlink(site) == "/etc/nginx/sites-available/anjungan-central"
    # the services run as their unit files say: as anjungan-central, secrets as credentials
    service_uid = uid(central, "anjungan-central")
    for unit in CENTRAL_UNITS:
        pid = int(central.path(f"/run/standin/pid/{unit}").read_text())
        status = central.path(f"/proc/{pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{service_uid}\s", status, re.M), (unit, status)
    assert mode(central, "/var/lib/anjungan-central")[1:] == ("anjungan-central",) * 2
    # in their units' sandbox: all read-only but the state directory, a private /tmp
    mounts = central.path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    options = {line.split()[4]: line.split()[5].split(",")[0] for line in mounts}
    assert options["/"] == options["/etc"] == options["/opt/anjungan"] == "ro"
    assert options["/var/lib/anjungan-central"] == options["/tmp"] == "rw"
    app = int(central.path(f"/run/standin/pid/{CENTRAL_UNITS[0]}").read_text())
    environ = central.path(f"/proc/{app}/environ").read_bytes().split(b"\0")
    credentials = f"/run/credentials/{CENTRAL_UNITS[0]}"
    assert f"CREDENTIALS_DIRECTORY={credentials}".encode() in environ
    assert mode(central, f"{credentials}/session-key") == (0o400, *["anjungan-central"] * 2)


def check_kiosk_machine(kiosk: Sandbox, steps: dict[str, str]) -> None:
    """What provision.py --system left: user and groups, files, unit, udev, the CUPS queue."""
    assert steps["enrolment"] == "changed" and steps["user"] == "changed"
    assert not [u for u in Path("/etc/passwd").read_text().splitlines() if u[:9] == "anjungan:"]
    assert mode(kiosk, "/etc/anjungan/kiosk.toml") == (0o640, "root", "anjungan")
    assert mode(kiosk, "/etc/anjungan/outbox.key") == (0o600, "anjungan", "anjungan")
    # the seal key in the state directory, where the kiosk may rewrite it (not in /etc)
    assert mode(kiosk, "/var/lib/anjungan") == (0o700, "anjungan", "anjungan")
    assert mode(kiosk, "/var/lib/anjungan/signing.key") == (0o600, "anjungan", "anjungan")
    assert not kiosk.path("/etc/anjungan/signing.key").exists()
    groups = [
        line.split(":")[0]
        for line in kiosk.path("/etc/group").read_text().splitlines()
        if "anjungan" in line.split(":")[3].split(",")
    ]
    assert {"video", "input", "dialout", "lp"} <= set(groups)
    assert ["systemctl", "enable", "anjungan-kiosk.service"] in calls(kiosk)
    assert kiosk.path("/etc/systemd/system/graphical.target.wants/anjungan-kiosk.service")
    assert not kiosk.path("/etc/systemd/system/anjungan-central@.service").exists()
    assert ["udevadm", "control", "--reload-rules"] in calls(kiosk)
    # the A4 queue exists with the kiosk's policy: its user may resume it, not stop it
    assert steps["cups queue"] == steps["cups queue policy"] == "changed"
    printers = kiosk.path("/etc/cups/printers.conf").read_text()
    assert "<Printer A4>" in printers and "OpPolicy anjungan" in printers
    as_kiosk = ["runuser", "-u", "anjungan", "--"]
    assert kiosk.run(*as_kiosk, "cupsenable", "A4").returncode == 0
    refused = kiosk.run(*as_kiosk, "cupsdisable", "A4")
    assert refused.returncode != 0 and "forbidden" in refused.stderr, refused.stderr


def enrolment_code(
    central: Sandbox | SystemdMachine,
    *,
    as_user: str = "anjungan-central",
    db: str = "postgresql+psycopg://anjungan-central@/anjungan?host=/run/postgresql",
    base: str = BASE,
) -> Callable[[], str]:
    """A technician, made as the README says, asks the server for a one-time code."""
    made = central.run(
        "runuser", "-u", as_user, "--", "env", "PYTHONPATH=/opt/anjungan",
        "/opt/anjungan/.venv/bin/python", "-m", "central_server.auth", "--db", db,
        "create-user", "teknisi", "--role", "technician", "--password", TECH_PASSWORD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    def code() -> str:
        tech = Staff(base, "teknisi", TECH_PASSWORD)  # verify: REQUESTS_CA_BUNDLE
        assert tech.login_response.status_code == 303, tech.login_response.text
        answer = tech.http.post(
            f"{base}/api/v1/enrolment-codes",
            json={"office_code": OFFICE, "kiosk_id": KIOSK},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["code"])

    return code


@needs_root
def test_system_provisioning_of_a_server_and_a_kiosk_runs_and_is_idempotent(
    postgres: TemporaryPostgres,
    central: Sandbox,
    kiosk: Sandbox,
    on_loopback: Callable[[Callable[[], object]], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = provision(central, CENTRAL)
    assert steps["packages"] == "unchanged" and steps["user"] == "changed"
    check_central_machine(central, postgres)
    secrets = {name: central.path(f"{CREDENTIALS}/{name}").read_bytes() for name in SECRETS}

    def up() -> bool:
        try:
            with https(central) as session:
                direct = [session.get(f"http://127.0.0.1:{p}/health", timeout=2) for p in PORTS]
                return all(a.ok for a in direct) and session.get(f"{BASE}/health", timeout=2).ok
        except requests.RequestException:
            return False

    on_loopback(lambda: wait_for(up, timeout_s=60))

    def through_nginx() -> tuple[bytes, int, str]:
        with https(central) as session:
            css = session.get(f"{BASE}/static/fleet.css", timeout=10)
            plain = session.get(
                "http://127.0.0.1/fleet/", headers={"Host": SERVER}, allow_redirects=False
            )
            return css.content, plain.status_code, plain.headers["location"]

    static = central.path("/opt/anjungan/central_server/static/fleet.css").read_bytes()
    assert on_loopback(through_nginx) == (static, 301, f"https://{SERVER}/fleet/")

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(central.path("/etc/anjungan/tls/central.crt")))
    code = on_loopback(enrolment_code(central))
    kiosk.path("/root/central-ca.pem").write_bytes(
        central.path("/etc/anjungan/tls/central.crt").read_bytes()
    )
    with kiosk.path("/etc/hosts").open("a") as hosts:  # the kiosk finds the server by name
        hosts.write(f"127.0.0.1 {SERVER}\n")
    # CUPS runs before provisioning, as on an installed Debian (cups.socket); no printer
    # answers at the URI (ippeveprinter needs avahi), so CUPS makes the queue without a PPD
    assert kiosk.run("systemctl", "start", "cups.service").returncode == 0
    kiosk_steps = provision(kiosk, [*KIOSK_COMMAND, f"--enrolment-code={code}"])
    check_kiosk_machine(kiosk, kiosk_steps)
    token = re.search(
        r'central_token = "([^"]+)"', kiosk.path("/etc/anjungan/kiosk.toml").read_text()
    )
    assert token

    def kiosk_call() -> list[object]:
        ca = kiosk.path(CA_INSIDE)
        client = CentralClient(BASE, KIOSK, OFFICE, token=token.group(1), ca_file=ca)
        try:
            return list(client.slots("akta_kelahiran"))
        finally:
            client.close()

    assert isinstance(on_loopback(kiosk_call), list)  # the enrolled token opens the kiosk API

    # twice: nothing changes, no new secret, no restart, no error
    before = len(calls(central))
    again = provision(central, CENTRAL)
    assert changed(again) == {}, again
    for name, value in secrets.items():
        assert central.path(f"{CREDENTIALS}/{name}").read_bytes() == value
    assert [c[1] for c in calls(central)[before:]] == ["is-active", "is-enabled", "is-active"]
    kiosk_again = provision(kiosk, KIOSK_COMMAND)
    assert changed(kiosk_again) == {}, kiosk_again
    assert on_loopback(up)


@needs_root
def test_a_missing_package_stops_system_provisioning_with_apt_gets_words(tmp_path: Path) -> None:
    """The path the main test does not reach: apt-get install really runs (dpkg removed a
    package in the sandbox) and, with no network there and no downloaded .deb, fails;
    provisioning stops before it changes anything else and says which command failed and why."""
    sandbox = Sandbox(tmp_path / "machine").start()
    try:
        removed = sandbox.run("dpkg", "--remove", "--force-depends", "--no-triggers", "espeak-ng")
        assert removed.returncode == 0, removed.stderr
        archives = "/var/cache/apt/archives"  # a .deb apt kept would install without network
        emptied = sandbox.run(
            "sh", "-c", f"mount -t tmpfs none {archives} && mkdir {archives}/partial"
        )
        assert emptied.returncode == 0, emptied.stderr
        done = sandbox.run(*CENTRAL)
        assert done.returncode == 1
        assert "packages failed: apt-get install -y --no-install-recommends espeak-ng" in (
            done.stderr
        )
        assert "E: Failed to fetch" in done.stderr  # apt-get's own reason follows
        assert "anjungan-central:" not in sandbox.path("/etc/passwd").read_text()
        host = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", "espeak-ng"], capture_output=True, text=True
        )
        assert host.stdout == "install ok installed"  # removed in the sandbox only
    finally:
        sandbox.close()
