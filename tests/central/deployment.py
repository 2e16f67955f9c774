"""A deployment as provisioning/central.py builds it, on loopback: nginx (TLS) -> app servers
-> PostgreSQL, one notification worker. nginx's config comes from provisioning/central.py, the
app servers' command lines from systemd/ (`anjungan central --config ...`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import requests
from requests.adapters import HTTPAdapter

from central_server.app import STATIC_DIR
from central_server.auth import create_user
from central_server.db import Database
from kiosk_app.central_transport import closed_before_answer
from tests.central.conftest import OFFICE, wait_for
from tests.central.officer.conftest import LOGIN_CSRF_RE, PASSWORD
from tests.central.postgres import TemporaryPostgres, find_binary

ROOT = Path(__file__).resolve().parents[2]

needs_a_deployment = pytest.mark.skipif(
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


class BrowserResend(HTTPAdapter):
    """A browser's resend: a request (any method) whose kept-alive connection the server
    closed before any byte of the answer came is sent again, once, on a new connection
    (Chromium's HttpNetworkTransaction::ShouldResendRequest; Firefox does the same). A
    browser does so only on a reused connection; here on any, which only loopback reaches."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().send(request, *args, **kwargs)
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.Timeout) or not closed_before_answer(exc):
                raise
            return super().send(request, *args, **kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Deployment:
    """PostgreSQL, app servers, the worker and nginx, started here and stopped in close()."""

    def __init__(self, tmp: Path, apps: int = 2, **timers: int) -> None:
        self.tmp = tmp
        self.processes: list[subprocess.Popen[bytes]] = []
        self.pg = TemporaryPostgres().start()
        self.db_dsn = self.pg.dsn(database := self.pg.create_database())
        self.db_url = self.pg.url(database)
        self.https, self.http = free_port(), free_port()
        self.app_ports = tuple(free_port() for _ in range(apps))
        prov = provisioning()
        # nginx's timers (nginx_site's fail_timeout_s, upstream_keepalive_s): production's
        # unless given; a rolling restart waits fail_timeout out after each app server
        self.fail_timeout_s: int = timers.get(
            "fail_timeout_s", importlib.import_module("central_restart").FAIL_TIMEOUT_S
        )
        self.cert, key = tmp / "tls/central.crt", tmp / "tls/central.key"
        prov.self_signed_cert(self.cert, key, "127.0.0.1")
        self.trust = self.cert  # what the clients' sessions verify the server's certificate by
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
            **timers,
        )  # fmt: skip
        conf = prefix / "nginx.conf"
        conf.write_text(prov.nginx_main_conf(prefix, site, user="root"))
        self.nginx_command = ["nginx", "-p", str(prefix), "-c", str(conf)]
        self.nginx = self.spawn([*self.nginx_command, "-g", "daemon off;"])
        self.base_url = f"https://127.0.0.1:{self.https}"

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """`anjungan central --config ... <args>` as its systemd unit runs it."""
        return self.spawn([sys.executable, "-m", "kiosk_app", *args, "--config", str(self.config)])

    def restart_app(self, port: int) -> None:
        """`systemctl restart anjungan-central@PORT`: SIGTERM (systemd's stop), the process's
        exit, a new one on the same port (not waited for: provisioning's rolling_restart is)."""
        index = self.app_ports.index(port)
        old = self.apps[index]
        old.terminate()  # uvicorn ends by raising the signal again: systemd counts it clean
        assert old.wait(timeout=120) in (0, -signal.SIGTERM), self.log_of(old)
        self.apps[index] = self.start("central", "--port", str(port))

    def nginx_workers(self) -> set[int]:
        """The process ids of nginx's workers (its master's children)."""
        children = Path(f"/proc/{self.nginx.pid}/task/{self.nginx.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    def reload_nginx(self, reload: Callable[[], object] | None = None) -> None:
        """`nginx -s reload` (what `systemctl reload nginx` runs), or `reload`, waited for:
        new workers with the config and certificate read again, the old ones gone (each
        closes its idle connections at once and every other after the request on it is
        answered), the master the same process (a reload, not a restart)."""
        old = self.nginx_workers()
        if reload is None:
            subprocess.run(
                [*self.nginx_command, "-s", "reload"], check=True, capture_output=True, timeout=60
            )
        else:
            reload()

        def reloaded() -> bool:
            assert self.nginx.poll() is None, self.log_of(self.nginx)
            workers = self.nginx_workers()
            return bool(workers) and not workers & old

        wait_for(reloaded, timeout_s=120)

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

    def session(self, browser: bool = False) -> requests.Session:
        """A client's session trusting the server's certificate; `browser`: one resending a
        request whose connection closed before any answer, as a browser does."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (requests#3829)
        session.verify = str(self.trust)
        if browser:
            session.mount("https://", BrowserResend())
        return session

    def wait_ready(self) -> None:
        """Every app server answers /health on its own port, and nginx through TLS. The probes
        to the app servers keep no connection: an app server's drain on stop waits for every
        open connection to close (central_server/drain.py), and one left kept-alive here would
        hold close() for its whole timeout."""
        with self.session() as session:
            direct = {"Connection": "close"}

            def up() -> bool:
                for process in self.processes:
                    assert process.poll() is None, self.log_of(process)
                try:
                    return (
                        all(
                            session.get(
                                f"http://127.0.0.1:{port}/health", headers=direct, timeout=2
                            ).ok
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

    def execute(self, sql: str) -> None:
        """One statement, committed (e.g. a fault: a table renamed under the app servers)."""
        with psycopg.connect(self.db_dsn) as conn:
            conn.execute(sql)

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


@contextmanager
def deployed(tmp: Path, apps: int = 2, **timers: int) -> Iterator[Deployment]:
    """A deployment with `apps` app servers under `tmp`, ready, stopped on leaving; `timers`:
    nginx_site's (fail_timeout_s, upstream_keepalive_s), production's unless given."""
    tmp.chmod(0o755)
    deployment = Deployment(tmp, apps, **timers)
    try:
        deployment.wait_ready()
        yield deployment
    finally:
        deployment.close()
