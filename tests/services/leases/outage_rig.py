"""A fleet of kiosks through a central-server outage, for the end-to-end test and
benchmarks/outage.py.

Real processes: the central server (the sidecar, SQLite or PostgreSQL) behind a fault proxy
per kiosk, and every kiosk in its own process (kiosk_child: the real composition root with its
own data dir, outbox, lease keeper, signing key, simulated devices) talking HTTP to its proxy,
driven through its session like a citizen at the screen (kiosk_fleet). The outage partitions
the proxies AND kills the server process, so the kiosks' real sockets are refused; the return
starts a new server process on the same database. A kiosk can be SIGKILLed mid-visit, or
after the server took its bookings but before it heard so, and restarted on its data dir.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from central_server.db import Database
from central_server.quota import DEFAULT_DAILY_QUOTA, window_capacity
from central_server.settings import DEFAULT_OFFICES
from central_server.sidecar import SidecarServer
from kiosk_app.services import receipt_seal
from tests.services.faultproxy import FaultProxy
from tests.services.leases.kiosk_child import SERVICE
from tests.services.leases.kiosk_fleet import (
    FleetKiosk,
    Ticket,
    build_fleet,
    close_fleet,
    leases_held,
    pending,
    renew,
    run_visits,
    wait_until,
)

__all__ = [  # the fleet's side, used by the test and the benchmark through this module
    "SERVICE",
    "FleetKiosk",
    "Ticket",
    "leases_held",
    "pending",
    "renew",
    "run_visits",
]
BATCH = b"POST /api/v1/applications/batch"  # how an outbox sends what waited (request line)


def start_central(url: str, daily_quota: int) -> SidecarServer:
    """The central server in its own process on the database at `url` (SQLite or PostgreSQL),
    with `daily_quota` for SERVICE."""
    db = Database(url)
    try:
        db.create_all(DEFAULT_OFFICES)  # PostgreSQL: migrated; a no-op once done
    finally:
        db.dispose()
    server = SidecarServer(url)
    server.wait_healthy(60)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("DELETE FROM quotas WHERE office_code='3517' AND service=:s"), {"s": SERVICE}
            )
            conn.execute(
                text(
                    "INSERT INTO quotas (office_code, service, daily_quota) VALUES ('3517', :s, :q)"
                ),
                {"s": SERVICE, "q": daily_quota},
            )
    finally:
        engine.dispose()
    return server


def kill(server: SidecarServer) -> None:
    """SIGKILL the server process (no graceful shutdown)."""
    process = server._process  # the child of the sidecar: killed like a crashed host
    process.kill()
    process.wait(10)


@dataclass(frozen=True)
class Ledger:
    """What the central server holds after reconciliation, checked against the tickets."""

    offline: int
    overbooked: int
    lost: int
    duplicates: int
    unticketed: int  # applications no citizen left with a ticket for (a kiosk killed mid-visit)


def server_rows(url: str) -> list[dict[str, Any]]:
    """The applications the central server stored."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT registration_number, kiosk_id, local_reference, service, slot_date,"
                    " slot_window FROM applications"
                )
            )
            return [{**row._mapping, "slot_date": str(row._mapping["slot_date"])} for row in rows]
    finally:
        engine.dispose()


def over_quota_now(url: str) -> int:
    """Places past a slot's quota, counting bookings AND unused places of live leases (the
    server's invariant: leased plus booked never exceed the quota)."""
    from tests.central.lease_rig import over_quota  # the server's side of issue 16

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            quotas = {
                str(service): int(daily)
                for service, daily in conn.execute(
                    text("SELECT service, daily_quota FROM quotas WHERE office_code='3517'")
                )
            }
    finally:
        engine.dispose()
    return sum(
        n - window_capacity(quotas.get(service, DEFAULT_DAILY_QUOTA), window)
        for (service, _, window), n in over_quota(url, datetime.now(UTC)).items()
    )


def ledger(url: str, fleet: list[FleetKiosk], daily_quota: int) -> Ledger:
    """Overbooked places, tickets with no application (lost), applications twice, and
    applications with no ticket."""
    rows = server_rows(url)
    per_slot = Counter((r["service"], r["slot_date"], r["slot_window"]) for r in rows)
    overbooked = over_quota_now(url) + sum(
        max(0, n - window_capacity(daily_quota, window)) for (_, _, window), n in per_slot.items()
    )
    by_local = Counter((r["kiosk_id"], r["local_reference"]) for r in rows if r["local_reference"])
    numbers = {r["registration_number"] for r in rows}
    slots = {
        (r["kiosk_id"], r["local_reference"]): (r["slot_date"], r["slot_window"]) for r in rows
    }
    tickets: list[Ticket] = [found for item in fleet for found in item.bookings]
    lost = offline = 0
    for found in tickets:
        if not found.offline:
            lost += found.registration_number not in numbers
            continue
        offline += 1
        key = (found.kiosk_id, found.local_reference)
        if by_local[key] == 0:
            lost += 1
        elif slots[key] != (found.slot_date, found.slot_window):
            lost += 1  # arrived, but not on the date and window the citizen holds
    duplicates = sum(n - 1 for n in by_local.values() if n > 1)
    duplicates += len(rows) - len({r["registration_number"] for r in rows})
    held = {(t.kiosk_id, t.local_reference) for t in tickets} | {
        ("", t.registration_number) for t in tickets
    }
    unticketed = sum(
        (r["kiosk_id"], r["local_reference"]) not in held
        and ("", r["registration_number"]) not in held
        for r in rows
    )
    return Ledger(offline, overbooked, lost, duplicates, unticketed)


def seal_verdict(base_url: str, qr: str) -> dict[str, Any]:
    """What the central server's public page says of a ticket's QR, as JSON: "status"
    (valid, bad_signature, unknown_kiosk, malformed), the claims, and the application the
    seal vouches for once it arrived."""
    sealed = receipt_seal.parse_qr(qr)
    if sealed is None:
        return {"status": "malformed", "claims": None, "application": None}
    answer = requests.get(
        f"{base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10
    )
    found: dict[str, Any] = answer.json()
    return found


def seal_status(base_url: str, qr: str) -> str:
    """The status alone of seal_verdict."""
    return str(seal_verdict(base_url, qr)["status"])


def forge(qr: str) -> str:
    """The same QR with one claim changed (a later window) and the signature kept."""
    sealed = receipt_seal.parse_qr(qr)
    assert sealed is not None
    version, body, signature = sealed.split(".")
    claims = receipt_seal.read(sealed)
    window = "13.00-15.00" if claims.window != "13.00-15.00" else "08.00-11.00"
    altered = claims.body().replace(claims.window, window)
    encoded = receipt_seal._b64(altered.encode("ascii"))
    return f"{version}.{encoded}.{signature}"


def arrived(url: str, kiosk_id: str) -> int:
    """Applications the central server holds from `kiosk_id`."""
    return sum(row["kiosk_id"] == kiosk_id for row in server_rows(url))


@dataclass
class Outage:
    """A fleet in front of the central server (a real process behind a fault proxy per
    kiosk, so one kiosk's network can fail alone)."""

    url: str  # the server's database
    daily_quota: int
    server: SidecarServer
    proxies: list[FaultProxy]  # kiosk i talks through proxies[i]
    fleet: list[FleetKiosk]

    def cut(self) -> None:
        """The network is cut and the server process dies."""
        for proxy in self.proxies:
            proxy.set_mode("down")
        kill(self.server)

    def restore(self, timeout: float, kill: Sequence[int] = ()) -> float:
        """A new server process on the same data, the proxies forwarding to it; seconds from
        the server's return until every kiosk's outbox is empty. The kiosks numbered in `kill`
        lose the answers to what they send until the server has taken some of their offline
        bookings; then they are SIGKILLed and restarted on their data dir, their network whole
        again: they send those bookings again, and each must still be there exactly once."""
        before = {index: arrived(self.url, self.fleet[index].kiosk_id) for index in kill}
        self.server = start_central(self.url, self.daily_quota)
        returned = time.perf_counter()
        for index, proxy in enumerate(self.proxies):
            proxy.upstream = ("127.0.0.1", self.server.port)
            if index in before:  # the server admits the batch; its answer is lost
                proxy.only = BATCH
                proxy.set_mode("reset_after_forward")
            else:
                proxy.set_mode("forward")
        for index, count in before.items():
            item = self.fleet[index]
            wait_until(
                lambda: arrived(self.url, item.kiosk_id) > count,  # noqa: B023  # waited here
                timeout,
                f"{item.kiosk_id}: its offline bookings reaching the server",
                0.02,
            )
            item.kill()  # the server took them; the kiosk never heard so
            self.proxies[index].set_mode("forward")
            self.proxies[index].only = None
            item.restart()
        wait_until(lambda: pending(self.fleet) == 0, timeout, "every outbox drained", 0.05)
        return time.perf_counter() - returned


@contextmanager
def outage_fleet(
    work: Path, url: str, daily_quota: int, kiosks: int, leases_timeout: float
) -> Iterator[Outage]:
    """`kiosks` kiosks (data under `work`) served by a server on `url`, each holding leases."""
    server = start_central(url, daily_quota)
    proxies = [FaultProxy(server.port) for _ in range(kiosks)]
    try:
        fleet = build_fleet(work, [p.base_url for p in proxies], public_url=server.base_url)
    except BaseException:
        for proxy in proxies:
            proxy.close()
        server.stop()
        raise
    scene = Outage(url, daily_quota, server, proxies, fleet)
    try:
        renew(fleet)  # enrol and take leases now, not after the keeper's first delay
        wait_until(lambda: all(leases_held(k) > 0 for k in fleet), leases_timeout, "leases")
        yield scene
    finally:
        close_fleet(fleet)
        for proxy in proxies:
            proxy.close()
        scene.server.stop()
