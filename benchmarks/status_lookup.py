"""p99 latency of a status look-up by registration number with 1,000,000 applications stored.

Starts its own PostgreSQL, bulk-loads APPLICATIONS rows with COPY, starts the server (uvicorn,
one worker, rate limit lifted for the measurement) and looks up LOOKUPS random numbers over one
keep-alive connection (http.client).
Last line: {"applications": .., "p99_ms": .., "p50_ms": .., ...}.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "benchmarks"))  # last: its queue.py must not hide the stdlib's

APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", "1000000"))
LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", "5000"))
PER_DAY = 9999  # the registration number's daily sequence has four digits
FIRST_DAY = date(2024, 1, 1)


def app() -> object:
    """uvicorn factory: the real app, with the status look-up rate limit lifted."""
    from central_server.app import create_app
    from central_server.ratelimit import StatusLookupLimiter

    return create_app(
        os.environ["BENCH_DB_URL"],
        open_enrolment=True,
        status_limiter=StatusLookupLimiter(per_minute=1e9, burst=10**9),
    )


def number(i: int) -> str:
    """Registration number of the i-th generated application."""
    day = FIRST_DAY + timedelta(days=i // PER_DAY)
    return f"AKTA-35.17.{day:%y%m%d}.{i % PER_DAY + 1:04d}"


VARYING = {
    "id": lambda i: str(i + 1),
    "registration_number": number,
    "queue_number": lambda i: f"A-{i % 999 + 1:03d}",
    "idempotency_key": lambda i: f"bench-{i:08d}",
    "applicant_nik": lambda i: f"3517{i:012d}",
    "slot_date": lambda i: (FIRST_DAY + timedelta(days=i // PER_DAY + 1)).isoformat(),
}
CONSTANT = {
    "kiosk_id": "BENCH-KIOSK",
    "request_hash": "0" * 64,
    "office_code": "3517",
    "service": "akta_kelahiran",
    "status": "submitted",
    "applicant_name": "WARGA UJI",
    "data_json": "{}",
    "slot_window": "08.00-11.00",
    "created_at": "2024-01-01T08:00:00+07:00",
    "response_json": "{}",
}


def column_value(column: object) -> object:
    """A function of the row index, or a constant COPY text value (new columns included)."""
    name = column.name  # type: ignore[attr-defined]
    if name in VARYING:
        return VARYING[name]
    if name in CONSTANT:
        return CONSTANT[name]
    if column.nullable or column.server_default is not None:  # type: ignore[attr-defined]
        return "\\N"
    python = column.type.python_type  # type: ignore[attr-defined]
    return "0" if python in (int, float, bool) else ""


def bulk_load(dsn: str) -> float:
    """COPY APPLICATIONS rows into applications; return the seconds it took."""
    import psycopg

    from central_server.models import Application

    columns = list(Application.__table__.columns)
    values = [column_value(c) for c in columns]
    names = ", ".join(c.name for c in columns)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO kiosks (kiosk_id, office_code, name, token_hash, registered_at) "
            "VALUES ('BENCH-KIOSK', '3517', 'bench', 'x', 'now') ON CONFLICT DO NOTHING"
        )
        # Bulk load as a restore does: no per-row foreign-key triggers (rows are consistent).
        conn.execute("SET session_replication_role = replica")
        with conn.cursor().copy(f"COPY applications ({names}) FROM STDIN") as copy:
            for start in range(0, APPLICATIONS, 50_000):
                lines = (
                    "\t".join(v(i) if callable(v) else v for v in values) + "\n"  # type: ignore[operator]
                    for i in range(start, min(start + 50_000, APPLICATIONS))
                )
                copy.write("".join(lines))
        conn.execute(f"SELECT setval(pg_get_serial_sequence('applications', 'id'), {APPLICATIONS})")
        conn.execute("ANALYZE applications")
    return time.perf_counter() - started


def lookups(port: int, token: str) -> tuple[list[float], int]:
    """LOOKUPS random look-ups, one at a time on one keep-alive connection (lean client).

    http.client instead of requests: the same HTTP round trip without ~1 ms of client-side
    Python per request competing for this 2-core machine's CPU with the server.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(5)
    latencies: list[float] = []
    errors = 0
    for n in range(LOOKUPS + 200):
        wanted = number(rng.randrange(APPLICATIONS))
        started = time.perf_counter()
        conn.request("GET", f"/api/v1/applications/{wanted}", headers=headers)
        response = conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200 or json.loads(payload)["registration_number"] != wanted:
            errors += 1
        elif n >= 200:  # the first 200 warm the caches and the connection pool
            latencies.append(elapsed)
    conn.close()
    return latencies, errors


def main() -> None:
    """Start PostgreSQL and the server, load, measure, stop, print the JSON line."""
    import requests
    from heartbeats import free_port, start_server

    from central_server.db import Database
    from central_server.settings import DEFAULT_OFFICES
    from tests.central.postgres import TemporaryPostgres

    with TemporaryPostgres(durable=True, settings={"shared_buffers": "256MB"}) as pg:
        name = pg.create_database()
        db = Database(pg.url(name))
        db.create_all(DEFAULT_OFFICES)
        db.dispose()
        load_s = bulk_load(pg.dsn(name))
        os.environ["BENCH_WORKERS"] = "1"
        port = free_port()
        server = start_server(pg.url(name), port, factory="status_lookup:app")
        try:
            body = {"kiosk_id": "BENCH-LOOKUP", "office_code": "3517", "name": "bench"}
            token = requests.post(f"http://127.0.0.1:{port}/api/v1/kiosks", json=body, timeout=10)
            latencies, errors = lookups(port, token.json()["token"])
        finally:
            server.terminate()
            server.wait(timeout=30)
    latencies.sort()

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    print(json.dumps({
        "applications": APPLICATIONS, "p99_ms": pct(0.99), "p50_ms": pct(0.50),
        "lookups": len(latencies), "errors": errors, "bulk_load_s": round(load_s, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
