"""The verification day's queue under load: DISPLAYS waiting-room displays connected by
server-sent events, citizens checking in at the kiosk API, counters calling them.

Starts its own PostgreSQL and two app-server processes (uvicorn, each its own LISTEN connection)
on two ports; half the displays connect to each. CITIZENS approved bookings for the benchmark's
day are seeded; each checks in (POST /api/v1/checkin, alternating servers, timed); COUNTERS
counters are opened in the officer pages and call everyone (Panggil berikutnya, then Selesai)
through server A, one press at a time. Each call is timed from the press to its arrival at each
display. FIFO violations: calls out of the order of arrival.
The check-in API is timed under that load ("checkin_api_p95_ms"); check-in to the printed number
at the kiosk ("checkin_to_ticket_p95_ms": the QR read on the serial scanner to the calling ticket
cut in the printer emulator) comes from benchmarks/checkin.py's rig, run afterwards.
Last line: {"displays": 50, "checkin_to_ticket_p95_ms": .., "call_to_display_p95_ms": ..,
"fifo_violations": 0, "checkin_api_p95_ms": .., ...}.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named queue.py: never let it shadow the standard library's queue module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import asyncio  # noqa: E402 - after the path fix above
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time as timer  # noqa: E402
from datetime import date, datetime, time  # noqa: E402
from typing import Any  # noqa: E402

DISPLAYS = int(os.environ.get("BENCH_DISPLAYS", "50"))
CITIZENS = int(os.environ.get("BENCH_CITIZENS", "120"))
COUNTERS = int(os.environ.get("BENCH_COUNTERS", "4"))
DAY = date(2026, 11, 23)  # a Monday; the servers' clock is 09.00 WIB on it
OFFICE = "3517"
PASSWORD = "bench-officer-password-123"
CALL_TIMEOUT_S = 10.0


def serve_worker(db_url: str, port: int) -> None:
    """One app server (this file run with --serve): the real app on a fixed calendar."""
    import uvicorn

    from central_server.app import create_app
    from central_server.settings import WIB

    nine = datetime.combine(DAY, time(9), WIB)  # inside the morning window, whenever it runs
    app = create_app(db_url, today=lambda: DAY, clock=lambda: nine, open_enrolment=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)


def start_server(db_url: str, port: int) -> subprocess.Popen[bytes]:
    """An app-server process; waits until /health answers."""
    import requests

    process = subprocess.Popen([sys.executable, __file__, "--serve", db_url, str(port)])
    deadline = timer.monotonic() + 60
    while timer.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return process
        except requests.RequestException:
            timer.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"app server on port {port} did not start")


def seed(db_url: str, kiosk_id: str) -> list[str]:
    """CITIZENS approved morning bookings for DAY (as officers would have approved them)."""
    from central_server import numbering
    from central_server.db import Database
    from central_server.models import Application

    db = Database(db_url)
    numbers = []
    with db.transaction() as session:
        for i in range(1, CITIZENS + 1):
            number = numbering.registration_number("akta_kelahiran", OFFICE, DAY, i)
            numbers.append(number)
            session.add(
                Application(
                    registration_number=number,
                    queue_number=numbering.queue_number("A", i),
                    kiosk_id=kiosk_id,
                    idempotency_key=f"bench-{i:06d}",
                    request_hash="0" * 64,
                    office_code=OFFICE,
                    service="akta_kelahiran",
                    status="approved",
                    applicant_nik=f"3517{i:012d}",
                    applicant_name="WARGA UJI",
                    data_json="{}",
                    slot_date=DAY,
                    slot_window="08.00-11.00",
                    created_at="2026-11-19T08:00:00+07:00",
                    response_json="{}",
                )
            )
    db.dispose()
    return numbers


class Display:
    """A display's event stream (a raw HTTP/1.1 client on asyncio): when each call arrived."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls: dict[str, float] = {}  # calling number -> arrival (perf_counter)
        self.order: list[str] = []
        self.ready = asyncio.Event()
        self.ended = False

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            f"GET /display/{OFFICE}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        kind = ""
        try:
            while True:
                raw = await reader.readline()
                if not raw:  # the server ended the stream
                    self.ended = True
                    return
                line = raw.decode().strip()
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "state":
                    self.ready.set()
                elif line.startswith("data: ") and kind == "call":
                    call = json.loads(line[6:])
                    if call["calling_number"] not in self.calls:
                        self.calls[call["calling_number"]] = timer.perf_counter()
                        self.order.append(call["calling_number"])
        finally:
            writer.close()


class Officer:
    """An officer's logged-in session in the officer pages."""

    def __init__(self, base: str, username: str) -> None:
        import requests

        self.base = base
        self.http = requests.Session()
        page = self.http.get(f"{base}/login", timeout=10).text
        login = re.search(r'name="login_csrf" value="([^"]+)"', page)
        assert login
        self.http.post(
            f"{base}/login",
            data={"username": username, "password": PASSWORD, "login_csrf": login.group(1)},
            allow_redirects=False,
            timeout=10,
        )
        page = self.http.get(f"{base}/officer/counters", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page[:500]
        self.csrf = token.group(1)

    def post(self, path: str, **data: Any) -> str:
        """POST a form; the redirect's location."""
        r = self.http.post(
            f"{self.base}{path}",
            data={"csrf_token": self.csrf, "office": OFFICE, **data},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 303, r.text[:300]
        return str(r.headers["location"])


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def p95(values: list[float]) -> float:
    """95th percentile in milliseconds."""
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)


def main() -> None:
    """Start PostgreSQL and two app servers, connect displays, check in, call, print JSON."""
    import http.client

    import requests

    from central_server.auth import create_user
    from central_server.db import Database
    from central_server.settings import DEFAULT_OFFICES
    from tests.central.postgres import TemporaryPostgres

    with TemporaryPostgres(durable=True) as pg:
        url = pg.url(pg.create_database())
        db = Database(url)
        db.create_all(DEFAULT_OFFICES)
        create_user(db, "petugas", PASSWORD, "officer", office_code=OFFICE)
        db.dispose()
        ports = [free_port(), free_port()]
        servers = [start_server(url, port) for port in ports]
        try:
            enrol = {"kiosk_id": "BENCH-KIOSK", "office_code": OFFICE, "name": "bench"}
            r = requests.post(f"http://127.0.0.1:{ports[0]}/api/v1/kiosks", json=enrol, timeout=10)
            token = r.json()["token"]
            numbers = seed(url, "BENCH-KIOSK")
            result = asyncio.run(measure(ports, token, numbers, http.client))
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)
    # Check-in to the printed number at the kiosk (benchmarks/checkin.py's rig: the QR's bytes on
    # the scanner's serial line to the calling ticket cut in the printer emulator, 38400 baud),
    # run after the display load, against the rig's own server.
    result["checkin_api_p95_ms"] = result.pop("checkin_to_ticket_p95_ms")
    result["checkin_to_ticket_p95_ms"], result["kiosk_checkins"] = kiosk_checkin_p95()
    print(json.dumps(result))


def kiosk_checkin_p95() -> tuple[float, int]:
    """p95 (ms) and count of benchmarks/checkin.py's measurement (imported by its path: this
    folder is kept off sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("checkin_benchmark", HERE / "checkin.py")
    assert spec is not None and spec.loader is not None
    checkin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checkin)
    times, _ticket_bytes = checkin.checkin_to_ticket_ms()
    return round(checkin.percentile(times, 0.95), 1), len(times)


async def measure(ports: list[int], token: str, numbers: list[str], client: Any) -> dict[str, Any]:
    """Displays connected on both servers; check-ins then calls; the measurements."""
    displays = [Display(ports[i % 2]) for i in range(DISPLAYS)]
    tasks = [asyncio.create_task(d.run()) for d in displays]
    await asyncio.wait_for(asyncio.gather(*(d.ready.wait() for d in displays)), 30)
    await asyncio.sleep(1.0)  # both servers' LISTEN connections are up

    def check_in_everyone() -> tuple[list[float], list[str]]:
        connections = [client.HTTPConnection("127.0.0.1", p, timeout=30) for p in ports]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        latencies, order = [], []
        for i, number in enumerate(reversed(numbers)):  # arrival order is not booking order
            conn = connections[i % 2]
            started = timer.perf_counter()
            conn.request("POST", "/api/v1/checkin", json.dumps({"seal": number}), headers)
            response = conn.getresponse()
            body = json.loads(response.read())
            latencies.append(timer.perf_counter() - started)
            assert response.status == 200, body
            order.append(body["calling_number"])
        for conn in connections:
            conn.close()
        return latencies, order

    checkins, arrival_order = await asyncio.to_thread(check_in_everyone)

    def call_everyone() -> tuple[list[tuple[str, float]], int]:
        officer = Officer(f"http://127.0.0.1:{ports[0]}", "petugas")
        for n in range(1, COUNTERS + 1):
            officer.post("/officer/counters/open", number=str(n), service="akta_kelahiran")
        presses: list[tuple[str, float]] = []
        missed = 0
        counter = 0
        while True:
            counter = counter % COUNTERS + 1
            started = timer.perf_counter()
            location = officer.post(f"/officer/counters/{counter}/next")
            if location.endswith("ok=empty"):
                return presses, missed
            expected = arrival_order[len(presses)]
            deadline = timer.monotonic() + CALL_TIMEOUT_S
            called = None
            while timer.monotonic() < deadline:  # the number the first display was given
                if len(displays[0].order) > len(presses):
                    called = displays[0].order[len(presses)]
                    break
                timer.sleep(0.002)
            if called is None:
                missed += 1
                called = expected
            presses.append((called, started))
            officer.post(f"/officer/counters/{counter}/finish")

    presses, missed = await asyncio.to_thread(call_everyone)
    await asyncio.sleep(CALL_TIMEOUT_S / 5)
    latencies, not_delivered = [], 0
    for number, started in presses:
        for display in displays:
            arrived = display.calls.get(number)
            if arrived is None:
                not_delivered += 1
            else:
                latencies.append(arrived - started)
    called_order = [number for number, _ in presses]
    fifo_violations = sum(1 for a, b in zip(called_order, arrival_order, strict=False) if a != b)
    fifo_violations += abs(len(called_order) - len(arrival_order))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "displays": DISPLAYS,
        "checkin_to_ticket_p95_ms": p95(checkins),
        "call_to_display_p95_ms": p95(latencies),
        "fifo_violations": fifo_violations,
        "checkins": len(checkins),
        "calls": len(presses),
        "call_deliveries": len(latencies),
        "undelivered": not_delivered + missed,
        "app_servers": 2,
        "counters": COUNTERS,
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve_worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
