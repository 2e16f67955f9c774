"""The production shape, for real on loopback: nginx (TLS) -> two app servers -> PostgreSQL,
one notification worker; an app server SIGKILLed under load loses nothing the kiosks were told.

nginx's config comes from provisioning/central.py, the units' command lines from systemd/.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import psycopg
import pytest
import requests

from central_server.app import STATIC_DIR
from central_server.auth import create_user
from central_server.db import Database
from kiosk_app.central import CentralClient, CentralError
from tests.central.conftest import OFFICE, wait_for
from tests.central.officer.conftest import LOGIN_CSRF_RE, PASSWORD
from tests.central.postgres import TemporaryPostgres, find_binary
from tests.domain.service_values import CASES, with_contact

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 4
ROUNDS = 12  # each client: a heartbeat and a submission per round
KILL_AFTER = CLIENTS * ROUNDS // 3  # acknowledged submissions before one app server dies
MAX_TRIES = 200
DATA = with_contact("kia", CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}
T = TypeVar("T")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("nginx") is None
    or shutil.which("openssl") is None
    or find_binary("initdb") is None,
    reason="needs root, nginx (apt: nginx-light), openssl and PostgreSQL",
)


def provisioning() -> ModuleType:
    """provisioning/central.py (a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "central_provisioning", ROOT / "provisioning" / "central.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def retried(call: Callable[[], T], tries: list[int]) -> T:
    """The kiosk's retry: the same request again until the server answers (counted in tries)."""
    for _ in range(MAX_TRIES):
        try:
            return call()
        except CentralError:
            tries[0] += 1
            threading.Event().wait(0.02)
    raise AssertionError(f"no answer after {MAX_TRIES} tries")


class Deployment:
    """PostgreSQL, app servers, the worker and nginx, started here and stopped in close()."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.pg = TemporaryPostgres().start()
        self.db_dsn = self.pg.dsn(database := self.pg.create_database())
        self.db_url = self.pg.url(database)
        self.https, self.http = free_port(), free_port()
        self.app_ports = (free_port(), free_port())
        prov = provisioning()
        self.cert, key = tmp / "tls/central.crt", tmp / "tls/central.key"
        prov.self_signed_cert(self.cert, key, "127.0.0.1")
        self.config = tmp / "central.toml"
        self.config.write_text(f"""
[server]
database_url = "{self.db_url}"
public_url = "https://127.0.0.1:{self.https}/"
trusted_proxies = ["127.0.0.1"]
background_loops = false
[notify.file]
directory = "{tmp / "messages"}"
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANJUNGAN_")}
        env["PYTHONPATH"] = str(ROOT)
        self.env = env
        self.apps = [self.start("central", "--port", str(port)) for port in self.app_ports]
        self.worker = self.start("central", "--worker")
        prefix = tmp / "nginx"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / kind).mkdir(parents=True)
        site = prov.nginx_site(
            server_name="127.0.0.1", app_ports=self.app_ports, cert=self.cert, key=key,
            static_dir=STATIC_DIR, https_listen=f"127.0.0.1:{self.https}",
            http_listen=f"127.0.0.1:{self.http}", access_log="off",
        )  # fmt: skip
        conf = prefix / "nginx.conf"
        conf.write_text(prov.nginx_main_conf(prefix, site, user="root"))
        self.nginx = self.spawn(["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"])
        self.base_url = f"https://127.0.0.1:{self.https}"

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """`anjungan central --config ... <args>` as its systemd unit runs it."""
        return self.spawn([sys.executable, "-m", "kiosk_app", *args, "--config", str(self.config)])

    def spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        """Start `command`; its stderr goes to a file (journald's part: a pipe nobody read
        filled after a few tracebacks and hung the app server writing its log)."""
        log = self.tmp / f"process-{len(self.processes)}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                command, cwd=self.tmp, env=self.env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        self.processes.append(process)
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        """What a process started here wrote to stderr."""
        return (self.tmp / f"process-{self.processes.index(process)}.log").read_text()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (requests#3829)
        session.verify = str(self.cert)
        return session

    def wait_ready(self) -> None:
        with self.session() as session:

            def up() -> bool:
                for process in self.processes:
                    assert process.poll() is None, self.log_of(process)
                try:
                    return (
                        all(
                            session.get(f"http://127.0.0.1:{port}/health", timeout=2).ok
                            for port in self.app_ports
                        )
                        and session.get(f"{self.base_url}/health", timeout=2).ok
                    )
                except requests.RequestException:
                    return False

            wait_for(up, timeout_s=60)

    def enrol(self, kiosk_id: str) -> str:
        """A kiosk's token, got as in production: a technician's one-time code, then enrolment
        with it (a deployment's config runs no open enrolment)."""
        with self.session() as session:
            if not self.query("SELECT 1 FROM users WHERE username = 'teknisi'"):
                db = Database(self.db_url)
                create_user(db, "teknisi", PASSWORD, "technician")
                db.dispose()
            form = LOGIN_CSRF_RE.search(session.get(f"{self.base_url}/login", timeout=10).text)
            assert form is not None
            login = {"username": "teknisi", "password": PASSWORD, "login_csrf": form.group(1)}
            session.post(f"{self.base_url}/login", data=login, timeout=10)
            code = session.post(
                f"{self.base_url}/api/v1/enrolment-codes",
                json={"office_code": OFFICE, "kiosk_id": kiosk_id},
                timeout=10,
            )
            assert code.status_code == 201, code.text
            enrolled = session.post(
                f"{self.base_url}/api/v1/kiosks",
                json={"kiosk_id": kiosk_id, "office_code": OFFICE, "name": "Anjungan lobi",
                      "enrolment_code": code.json()["code"]},
                timeout=10,
            )  # fmt: skip
            assert enrolled.status_code == 201, enrolled.text
            return str(enrolled.json()["token"])

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_dsn) as conn:
            return list(conn.execute(sql).fetchall())

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
        self.pg.stop()


class Kiosk:
    """One kiosk's client through nginx, and what the server told it."""

    def __init__(self, deployment: Deployment, n: int) -> None:
        self.client = CentralClient(
            deployment.base_url,
            f"KIOSK-PROD-{n:02d}",
            OFFICE,
            timeout=10,
            session=deployment.session(),
        )
        self.client.token = deployment.enrol(self.client.kiosk_id)
        self.tries = [0]
        self.last_heartbeat = -1
        self.numbers: list[str] = []
        self.error: BaseException | None = None

    def run(self, acknowledged: Callable[[], None]) -> None:
        try:
            slot = retried(lambda: self.client.slots("kia", days=14), self.tries)[0].slot
            for n in range(ROUNDS):
                report = {
                    "app_version": "0.1.0",
                    "uptime_s": float(n),
                    "disk_free_bytes": 10 << 30,
                    "disk_total_bytes": 64 << 30,
                }
                retried(lambda r=report: self.client.heartbeat(r), self.tries)  # type: ignore[misc]
                self.last_heartbeat = n
                key = uuid.uuid4().hex  # one key per submission, kept across its retries
                receipt = retried(
                    lambda k=key: self.client.submit(  # type: ignore[misc]
                        service="kia",
                        applicant_nik="3517081208850001",
                        applicant_name="BUDI SANTOSO",
                        data=DATA,
                        slot=slot,
                        idempotency_key=k,
                        if_slot_full="next_free",
                    ),
                    self.tries,
                )
                self.numbers.append(receipt.registration_number)
                acknowledged()
        except BaseException as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.client.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Any:
    tmp_path.chmod(0o755)
    deployment = Deployment(tmp_path)
    try:
        deployment.wait_ready()
        yield deployment
    finally:
        deployment.close()


def test_killing_an_app_server_under_load_loses_no_heartbeat_or_submission(
    deployment: Deployment,
) -> None:
    victim, survivor = deployment.apps
    acked = threading.Semaphore(0)
    kiosks = [Kiosk(deployment, n) for n in range(CLIENTS)]
    threads = [threading.Thread(target=k.run, args=(acked.release,)) for k in kiosks]
    for thread in threads:
        thread.start()
    for _ in range(KILL_AFTER):
        assert acked.acquire(timeout=120), [k.error for k in kiosks]
    victim.send_signal(signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=300)
    assert [k.error for k in kiosks] == [None] * CLIENTS
    assert victim.wait(timeout=10) == -signal.SIGKILL and survivor.poll() is None

    told = sorted(number for k in kiosks for number in k.numbers)
    assert len(told) == len(set(told)) == CLIENTS * ROUNDS
    stored = sorted(
        row[0] for row in deployment.query("SELECT registration_number FROM applications")
    )
    assert stored == told  # every acknowledged submission once, nothing else
    states = dict(deployment.query("SELECT kiosk_id, uptime_s FROM kiosk_states"))
    assert states == {k.client.kiosk_id: float(ROUNDS - 1) for k in kiosks}
    assert all(k.last_heartbeat == ROUNDS - 1 for k in kiosks)

    # The one worker told every applicant once, whichever app server took the submission.
    messages = deployment.tmp / "messages"
    wait_for(lambda: len(list(messages.glob("*.txt"))) >= len(told), timeout_s=30)
    bodies = [p.read_text() for p in messages.glob("*.txt")]
    assert sorted(n for n in told for body in bodies if n in body) == told
    deployment.worker.terminate()  # systemctl stop: the pass in progress ends, exit 0
    assert deployment.worker.wait(timeout=30) == 0


def test_nginx_terminates_tls_limits_bodies_and_serves_static_files_itself(
    deployment: Deployment,
) -> None:
    with deployment.session() as session:
        plain = session.get(
            f"http://127.0.0.1:{deployment.http}/health", timeout=10, allow_redirects=False
        )
        assert plain.status_code == 301
        answers = [plain]
        assert plain.headers["Location"].startswith("https://127.0.0.1")
        huge = session.post(
            f"{deployment.base_url}/api/v1/kiosks",
            data=b"x" * (10 << 20),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert huge.status_code == 413 and len(huge.content) < 1000
        answers.append(huge)  # nginx's own 413 (over client_max_body_size)
        # X-Forwarded-Proto from a trusted proxy: the app's own redirects stay on https
        slash = session.get(f"{deployment.base_url}/fleet", timeout=10, allow_redirects=False)
        assert slash.status_code == 307
        assert slash.headers["Location"] == f"{deployment.base_url}/fleet/"
        answers.append(slash)  # an app server's: its headers, not doubled by nginx's
        css = (STATIC_DIR / "fleet.css").read_bytes()
        for app in deployment.apps:
            app.send_signal(signal.SIGKILL)
            app.wait(timeout=10)
        dead = session.get(f"{deployment.base_url}/health", timeout=10)
        assert dead.status_code == 502
        static = session.get(f"{deployment.base_url}/static/fleet.css", timeout=10)
        assert static.status_code == 200 and static.content == css  # no app server needed
        missing = session.get(f"{deployment.base_url}/static/none.css", timeout=10)
        assert missing.status_code == 404
    # What nginx answers itself has the headers an app server's answers have, once each.
    for answer in [*answers, dead, static, missing]:
        headers = answer.raw.headers
        assert headers.getlist("X-Content-Type-Options") == ["nosniff"], answer.url
        assert headers.getlist("X-Frame-Options") == ["DENY"]
        assert headers.getlist("Referrer-Policy") == ["no-referrer"]
        [policy] = headers.getlist("Content-Security-Policy")
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy if answer is slash else "script" not in policy
        assert ("Strict-Transport-Security" in headers) == answer.url.startswith("https")
        assert headers["Server"] == "nginx"  # no version
