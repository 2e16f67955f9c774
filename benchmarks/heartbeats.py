"""Heartbeats per second into the central server on PostgreSQL, with p50 and p99 latency.

Starts its own PostgreSQL (durable settings: fsync on) and WORKERS uvicorn processes on
127.0.0.1 (central_server.serve), enrols KIOSKS kiosks, then CONNECTIONS keep-alive connections
send heartbeats (each a different kiosk) for DURATION_S seconds or MAX_REQUESTS requests,
whichever comes first, straight to the app servers and through nginx as provisioning/central.py
configures it (TLS unless BENCH_NGINX_TLS=0; keep-alive to the app servers). The two paths
alternate in BENCH_ROUNDS rounds (order swapped each round), so a neighbour's load on a shared
machine falls on both rather than on whichever ran second.
Last line: {"heartbeats_per_s": .., "p50_ms": .., "p99_ms": .., ..., "nginx_heartbeats_per_s": ..,
"nginx_p50_ms": .., "nginx_p99_ms": .., "nginx_ratio": ..} (ratio: through nginx / direct).
Each heartbeat is shaped like a real kiosk's: it names every slot lease the kiosk holds with
the places booked from it (kiosk_app LeaseStore.usage_report). The benchmark grants each kiosk
what the server grants a kiosk asking for the default horizon (central_server.leases: every
open window of every leasable service over 14 days, about a hundred leases; written straight
into the database, the grants' own cost is not measured here); BENCH_LEASES=0 sends none. It
names the commands it holds without a result (none), as a current kiosk does.
CPU per heartbeat, from /proc, from the second round on (the first fills each app server's
per-process memos): "app_cpu_us_per_heartbeat", "db_cpu_us_per_heartbeat" and
"client_cpu_us_per_heartbeat" (this load generator) on the direct path; "nginx_app_cpu_...",
"nginx_db_cpu_...", "nginx_cpu_us_per_heartbeat" (nginx itself) and "nginx_client_cpu_..."
through nginx. Unlike the rates they hardly move when other jobs load the machine, and they
say where the path through nginx spends what it costs more.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

KIOSKS = int(os.environ.get("BENCH_KIOSKS", "2000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "10"))
WARMUP_S = 2.0  # first round of each path; later rounds warm up for 0.5 s
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "200000"))
ADMIN = "bench-admin-token-0123456789"
NGINX_TLS = os.environ.get("BENCH_NGINX_TLS", "1") != "0"
LEASES = os.environ.get("BENCH_LEASES", "1") != "0"


def app() -> object:
    """uvicorn factory (runs in each worker process)."""
    from central_server.app import create_app

    return create_app(os.environ["BENCH_DB_URL"], admin_token=ADMIN, open_enrolment=True)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    db_url: str, port: int, factory: str = "heartbeats:app"
) -> subprocess.Popen[bytes]:
    """BENCH_WORKERS uvicorn processes (httptools, uvloop), one SO_REUSEPORT socket each.

    Waits until /health answers. See central_server/serve.py for why not `uvicorn --workers`.
    """
    env = dict(os.environ, BENCH_DB_URL=db_url, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "central_server.serve", "--factory", factory,
         "--app-dir", str(ROOT / "benchmarks"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", os.environ.get("BENCH_WORKERS", str(WORKERS))],
        env=env,
    )  # fmt: skip
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("server did not start")


def start_nginx(workdir: Path, app_port: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    """nginx (as provisioning/central.py configures it) in front of the app servers.

    Returns the process, its port (TLS unless BENCH_NGINX_TLS=0) and the certificate.
    """
    spec = importlib.util.spec_from_file_location(
        "central_provisioning", ROOT / "provisioning" / "central.py"
    )
    assert spec is not None and spec.loader is not None
    prov = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prov)
    prefix = workdir / "nginx"
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True)
    cert, key = workdir / "central.crt", workdir / "central.key"
    prov.self_signed_cert(cert, key, "127.0.0.1")
    port = free_port()
    site = prov.nginx_site(
        server_name="127.0.0.1", app_ports=(app_port,), cert=cert, key=key,
        static_dir=ROOT / "central_server" / "static", https_listen=f"127.0.0.1:{port}",
        http_listen=None, access_log="off",
    )  # fmt: skip
    if not NGINX_TLS:  # the same site, plain HTTP (to see what TLS costs)
        site = site.replace(f"listen 127.0.0.1:{port} ssl", f"listen 127.0.0.1:{port}")
    conf = prefix / "nginx.conf"
    user = "root" if os.geteuid() == 0 else None
    workers = os.environ.get("BENCH_NGINX_WORKERS", "auto")
    conf.write_text(prov.nginx_main_conf(prefix, site, user=user, workers=workers))
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port, cert
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("nginx did not start")


def enrol_all(port: int) -> list[str]:
    """Enrol KIOSKS kiosks; return their tokens."""
    import requests

    session, tokens = requests.Session(), []
    for n in range(KIOSKS):
        body = {"kiosk_id": f"BENCH-{n:06d}", "office_code": "3517", "name": f"Kiosk {n}"}
        r = session.post(f"http://127.0.0.1:{port}/api/v1/kiosks", json=body, timeout=10)
        r.raise_for_status()
        tokens.append(r.json()["token"])
    session.close()
    return tokens


def grant_leases(url: str, count: int) -> list[dict[str, int]]:
    """Give kiosk BENCH-n (n < count) the leases a grant over the default horizon gives it
    (COPY into slot_leases: 2 places each, none admitted yet, the kiosk's count reported a
    minute ago: the steady state); return each kiosk's usage report (lease id -> places it
    booked: one in every ninth lease)."""
    from datetime import UTC, datetime, timedelta

    import psycopg
    from sqlalchemy import make_url

    from central_server import quota
    from central_server.config import LeaseSettings
    from central_server.leases import day_start, leasable
    from central_server.schemas import LeasesIn
    from central_server.settings import WIB

    now = datetime.now(UTC)
    policy = LeaseSettings()
    slots = [
        (service, day, window)
        for day in quota.verification_days(now.astimezone(WIB).date(), LeasesIn().days)
        for window in quota.windows_on(day)
        for service in leasable()
    ]
    reports: list[dict[str, int]] = []
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cursor:
        columns = 'id, kiosk_id, office_code, service, day, "window", places, used, returned, '
        columns += "book_until, expires_at, granted_at, reported_used, reported_at"
        with cursor.copy(f"COPY slot_leases ({columns}) FROM STDIN") as copy:
            for k in range(count):
                report: dict[str, int] = {}
                for n, (service, day, window) in enumerate(slots):
                    lease_id = f"{k:08x}{n:08x}"  # token_hex(8), as granted
                    until = min(now + timedelta(hours=policy.hours), day_start(day))
                    expires = until + timedelta(hours=policy.margin_hours)
                    report[lease_id] = 1 if (k + n) % 9 == 0 else 0
                    copy.write_row((lease_id, f"BENCH-{k:06d}", "3517", service, day, window,
                                    2, 0, 0, until, expires, now, report[lease_id],
                                    now - timedelta(minutes=1)))  # fmt: skip
                reports.append(report)
    return reports


def request_bytes(port: int, token: str, n: int, leases: dict[str, int] | None = None) -> bytes:
    """One pre-built heartbeat request (HTTP/1.1, keep-alive)."""
    body = json.dumps({
        "app_version": "0.1.0", "uptime_s": 1000.0 + n, "disk_free_bytes": 40 << 30,
        "disk_total_bytes": 64 << 30, "cpu_temp_c": 50.0, "outbox_depth": 0, "held_submissions": 0,
        "received_commands": [],  # a current kiosk holds no command without a reported result
        "devices": {"card_reader": {"state": "ready"},
                    "ticket_printer": {"state": "online", "paper": "ok"},
                    "document_printer": {"state": "online", "paper": "ok"},
                    "scanner": {"state": "ready"}},
    } | ({} if leases is None else {"leases": leases})).encode()  # fmt: skip
    head = (
        f"POST /api/v1/fleet/heartbeat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connection(
    port: int, requests_: list[bytes], stop_at: float, measure_from: float, out: list[float],
    errors: list[int], answered: list[int], tls: ssl.SSLContext | None = None,
) -> None:  # fmt: skip
    """Send heartbeats back to back on one connection, recording latencies after warm-up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
    i = 0
    try:
        while time.monotonic() < stop_at and len(out) < MAX_REQUESTS:
            payload = requests_[i % len(requests_)]
            i += 1
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            answered[0] += 1
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(int(head[9:12]))
            elif time.monotonic() >= measure_from:
                out.append(elapsed)
    finally:
        writer.close()


async def load(
    port: int, tokens: list[str], tls: ssl.SSLContext | None = None,
    warmup_s: float = WARMUP_S, duration_s: float = DURATION_S,
    leases: list[dict[str, int]] | None = None,
) -> tuple[list[float], list[int], float, int]:  # fmt: skip
    """Run CONNECTIONS connections; return latencies, errors, the measured seconds and how
    many answers came in all (warm-up included)."""
    per_conn = [
        [
            request_bytes(port, tokens[k], k, leases[k] if leases else None)
            for k in range(c, len(tokens), CONNECTIONS)
        ]
        for c in range(CONNECTIONS)
    ]
    start = time.monotonic()
    measure_from, stop_at = start + warmup_s, start + warmup_s + duration_s
    latencies: list[float] = []
    errors: list[int] = []
    answered = [0]
    await asyncio.gather(
        *(
            connection(port, reqs, stop_at, measure_from, latencies, errors, answered, tls)
            for reqs in per_conn
        )
    )
    return latencies, errors, min(time.monotonic(), stop_at) - measure_from, answered[0]


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of process `root` and its descendants so far, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class PathFigures:
    """One path's figures over the rounds: latencies and errors measured after warm-up; CPU
    seconds per part (app servers, PostgreSQL, nginx, this client) from the second round on,
    per heartbeat answered then (the first round fills each app server's per-process memos)."""

    def __init__(self, port: int, tls: ssl.SSLContext | None) -> None:
        self.port, self.tls = port, tls
        self.latencies: list[float] = []
        self.errors: list[int] = []
        self.seconds = self.client_cpu = 0.0
        self.cpu: dict[str, float] = {}
        self.answered = 0

    def add(
        self,
        got: tuple[list[float], list[int], float, int],
        round_: int,
        client_cpu: float,
        cpu: dict[str, float],
    ) -> None:
        """One round's `load` result, this client's CPU seconds and the parts' CPU seconds."""
        self.latencies += got[0]
        self.errors += got[1]
        self.seconds += got[2]
        self.client_cpu += client_cpu
        if round_ > 0 or ROUNDS == 1:
            self.answered += got[3]
            for part, seconds in (cpu | {"client": client_cpu}).items():
                self.cpu[part] = self.cpu.get(part, 0.0) + seconds

    def rate(self) -> float:
        """Heartbeats per second after warm-up."""
        return round(len(self.latencies) / self.seconds, 1)

    def cpu_us(self, part: str) -> float:
        """CPU microseconds of `part` per heartbeat answered."""
        return round(1e6 * self.cpu.get(part, 0.0) / max(1, self.answered), 1)


def main() -> None:
    """Start everything, measure both paths, stop everything, print the JSON line."""
    from central_server.db import Database
    from central_server.settings import DEFAULT_OFFICES
    from tests.central.postgres import TemporaryPostgres

    if shutil.which("nginx") is None:
        raise SystemExit("nginx not found (apt: nginx-light)")
    workdir = Path(tempfile.mkdtemp(prefix="anjungan-bench-"))
    workdir.chmod(0o755)
    with TemporaryPostgres(durable=True, settings={"shared_buffers": "256MB"}) as pg:
        url = pg.url(pg.create_database())
        db = Database(url)
        db.create_all(DEFAULT_OFFICES)
        db.dispose()
        port = free_port()
        server = start_server(url, port)
        nginx: subprocess.Popen[bytes] | None = None
        try:
            tokens = enrol_all(port)
            leases = grant_leases(url, len(tokens)) if LEASES else None
            nginx, nginx_port, cert = start_nginx(workdir, port)
            try:
                import uvloop

                uvloop.install()
            except ImportError:
                pass
            tls = ssl.create_default_context(cafile=str(cert)) if NGINX_TLS else None
            postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
            cpu_of = {"app": server.pid, "db": postmaster, "nginx": nginx.pid}
            paths = {"direct": PathFigures(port, None), "nginx": PathFigures(nginx_port, tls)}
            for n in range(ROUNDS):
                warmup, duration = (WARMUP_S if n == 0 else 0.5), DURATION_S / ROUNDS
                for name in ["direct", "nginx"] if n % 2 == 0 else ["nginx", "direct"]:
                    path = paths[name]
                    before = {part: tree_cpu_s(pid) for part, pid in cpu_of.items()}
                    started = time.process_time()
                    got = asyncio.run(load(path.port, tokens, path.tls, warmup, duration, leases))
                    client = time.process_time() - started
                    used = {part: tree_cpu_s(pid) - before[part] for part, pid in cpu_of.items()}
                    path.add(got, n, client, used)
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(timeout=30)
            server.terminate()
            server.wait(timeout=30)
            shutil.rmtree(workdir, ignore_errors=True)
        server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    direct, via = paths["direct"], paths["nginx"]
    print(json.dumps({
        "heartbeats_per_s": direct.rate(),
        "p50_ms": percentile(direct.latencies, 0.50),
        "p99_ms": percentile(direct.latencies, 0.99),
        "requests": len(direct.latencies), "errors": len(direct.errors), "kiosks": KIOSKS,
        "connections": CONNECTIONS, "workers": WORKERS, "seconds": round(direct.seconds, 2),
        "client_cpu_s": round(direct.client_cpu, 2),
        "app_cpu_us_per_heartbeat": direct.cpu_us("app"),
        "db_cpu_us_per_heartbeat": direct.cpu_us("db"),
        "client_cpu_us_per_heartbeat": direct.cpu_us("client"),
        "server_cpu_s": round(server_cpu.ru_utime + server_cpu.ru_stime, 2),
        "rounds": ROUNDS, "nginx_tls": NGINX_TLS,
        "leases_per_kiosk": len(leases[0]) if leases else 0,
        "nginx_heartbeats_per_s": via.rate(),
        "nginx_p50_ms": percentile(via.latencies, 0.50),
        "nginx_p99_ms": percentile(via.latencies, 0.99),
        "nginx_errors": len(via.errors),
        "nginx_client_cpu_s": round(via.client_cpu, 2),
        "nginx_app_cpu_us_per_heartbeat": via.cpu_us("app"),
        "nginx_db_cpu_us_per_heartbeat": via.cpu_us("db"),
        "nginx_cpu_us_per_heartbeat": via.cpu_us("nginx"),
        "nginx_client_cpu_us_per_heartbeat": via.cpu_us("client"),
        "nginx_ratio": round(via.rate() / direct.rate(), 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
