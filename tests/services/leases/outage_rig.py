"""A fleet of kiosks through a central-server outage, for the end-to-end test and
benchmarks/outage.py.

Real parts: the central server is a real process (the sidecar, SQLite) behind the fault proxy;
every kiosk is the real composition root (bootstrap.build_kiosk: its own data dir, outbox,
lease keeper, signing key, simulated devices) talking HTTP to the proxy, driven through its
session like a citizen at the screen. The outage partitions the proxy AND kills the server
process; the return starts a new server process on the same database.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from central_server.db import Database
from central_server.quota import DEFAULT_DAILY_QUOTA, window_capacity
from central_server.settings import DEFAULT_OFFICES
from central_server.sidecar import SidecarServer
from drivers.card_reader.citizens import citizen_count
from kiosk_app.bootstrap import Kiosk, build_kiosk
from kiosk_app.config import load_config
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.services import receipt_seal
from kiosk_app.services.session.views import Outcome, SessionView
from tests.services.faultproxy import FaultProxy

SERVICE = "akta_kelahiran"


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


@dataclass
class Booking:
    """What a citizen left a kiosk with."""

    kiosk_id: str
    outcome: Outcome
    qr: str


@dataclass
class FleetKiosk:
    """One kiosk of the fleet and what its citizens got."""

    kiosk: Kiosk
    bookings: list[Booking] = field(default_factory=list)
    turned_away: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def kiosk_id(self) -> str:
        return self.kiosk.config.kiosk_id


def build_fleet(work: Path, count: int, central_url: str, public_url: str) -> list[FleetKiosk]:
    """`count` kiosks, each with its own data dir, talking to `central_url`."""
    fleet = []
    for index in range(count):
        config = load_config(
            None,
            kiosk_id=f"KIOSK-OUT-{index:02d}",
            kiosk_name=f"outage kiosk {index}",
            central_url=central_url,
            verify_url=public_url,
            data_dir=work / f"kiosk-{index:02d}",
            headless=True,
            audio_guidance="off",
            timeouts=Timeouts(goodbye_s=0.05),
        )
        config.devices.card_read_delay_s = 0.01
        kiosk = build_kiosk(config)
        kiosk.central.timeout = 10.0
        fleet.append(FleetKiosk(kiosk))
    return fleet


def close_fleet(fleet: list[FleetKiosk]) -> None:
    """Stop every kiosk."""
    for item in fleet:
        item.kiosk.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def leases_held(item: FleetKiosk, service: str | None = None) -> int:
    """Places the kiosk can still book from its leases (of `service`, or of every one)."""
    keeper = item.kiosk.leases
    assert keeper is not None
    return sum(
        u.places - u.used for u in keeper.store.usage() if service is None or u.service == service
    )


def _view(item: FleetKiosk, predicate: Callable[[SessionView], bool], what: str) -> SessionView:
    session = item.kiosk.session

    def ready() -> bool:
        session.tick()
        return predicate(session.view)

    wait_until(ready, 30, f"{item.kiosk_id}: {what}")
    return session.view


def book(item: FleetKiosk, rng: random.Random) -> Booking | None:
    """One citizen's visit: card, form, schedule, submit; the ticket they leave with, or None
    when the kiosk turned them away (no slot offered) or the submission failed."""
    session, values = item.kiosk.session, sample_birth_values()
    _view(item, lambda v: v.state is SessionState.ATTRACT, "attract")
    session.simulate_card_tap(rng.randrange(citizen_count()))
    _view(item, lambda v: v.state is SessionState.IDENTITY, "identity")
    session.continue_to_menu()
    session.choose_service(SERVICE)
    form = SERVICES[SERVICE].form
    assert form is not None
    for index in range(len(form.pages)):
        for name in form.page_fields(index):
            session.set_value(name, values[name])
        session.next_page()
    _view(item, lambda v: v.state is SessionState.SCAN, "scan step")
    session.scan_skip_all()
    view = _view(
        item, lambda v: v.state is SessionState.SCHEDULE and not v.slots_loading, "schedule"
    )
    open_slots = [s.slot for s in view.slots if s.remaining > 0]
    if not open_slots:
        item.turned_away += 1
        _leave(item)
        return None
    session.choose_slot(rng.choice(open_slots))
    _view(item, lambda v: v.state is SessionState.REVIEW, "review")
    session.submit()
    view = _view(
        item,
        lambda v: v.state is SessionState.RESULT or (v.message is not None and not v.busy),
        "result",
    )
    if view.state is not SessionState.RESULT or view.outcome is None:
        item.failed.append(str(view.message))
        _leave(item)
        return None
    printer: Any = item.kiosk.devices.ticket_printer
    found = Booking(item.kiosk_id, view.outcome, printer.tickets[-1].qr_payload)
    item.bookings.append(found)
    _leave(item)
    return found


def _leave(item: FleetKiosk) -> None:
    """The citizen takes the card and goes (the survey skipped): the kiosk waits for the next."""
    session = item.kiosk.session
    session.finish()
    if session.view.state is SessionState.SURVEY:
        session.survey_skip()
    session.simulate_card_removal()
    _view(item, lambda v: v.state is SessionState.ATTRACT, "the next citizen")


def run_visits(fleet: list[FleetKiosk], per_kiosk: int, seed: int) -> None:
    """`per_kiosk` visits at every kiosk, the kiosks side by side (one thread each)."""
    errors: list[BaseException] = []

    def visits(item: FleetKiosk, rng: random.Random) -> None:
        try:
            for _ in range(per_kiosk):
                book(item, rng)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [
        threading.Thread(target=visits, args=(item, random.Random(seed * 1000 + n)))
        for n, item in enumerate(fleet)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def pending(fleet: list[FleetKiosk]) -> int:
    """Rows still waiting in the fleet's outboxes."""
    return sum(item.kiosk.outbox.outbox.depth() for item in fleet if item.kiosk.outbox)


@dataclass(frozen=True)
class Ledger:
    """What the central server holds after reconciliation, checked against the tickets."""

    offline: int
    overbooked: int
    lost: int
    duplicates: int


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
    """Overbooked places, tickets with no application (lost), applications twice."""
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
    lost = duplicates = offline = 0
    for item in fleet:
        for found in item.bookings:
            outcome = found.outcome
            if not outcome.offline:
                lost += outcome.registration_number not in numbers
                continue
            offline += 1
            key = (item.kiosk_id, outcome.local_reference)
            if by_local[key] == 0:
                lost += 1
            elif slots[key] != (outcome.slot.date.isoformat(), outcome.slot.window):
                lost += 1  # arrived, but not on the date and window the citizen holds
    duplicates = sum(n - 1 for n in by_local.values() if n > 1)
    duplicates += len(rows) - len({r["registration_number"] for r in rows})
    return Ledger(offline, overbooked, lost, duplicates)


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


def new_proxy(server: SidecarServer) -> FaultProxy:
    """The fault proxy in front of `server`."""
    return FaultProxy(server.port)


def reconnect(proxy: FaultProxy, server: SidecarServer) -> None:
    """The server is back: the proxy forwards to the new process."""
    proxy.upstream = ("127.0.0.1", server.port)
    proxy.set_mode("forward")


@dataclass
class Outage:
    """A fleet in front of the central server (a real process behind the fault proxy)."""

    url: str  # the server's database
    daily_quota: int
    server: SidecarServer
    proxy: FaultProxy
    fleet: list[FleetKiosk]

    def cut(self) -> None:
        """The network is cut and the server process dies."""
        self.proxy.set_mode("down")
        kill(self.server)

    def restore(self, timeout: float) -> float:
        """A new server process on the same data, the proxy forwarding to it; seconds from the
        server's return until every kiosk's outbox is empty."""
        self.server = start_central(self.url, self.daily_quota)
        returned = time.perf_counter()
        reconnect(self.proxy, self.server)
        wait_until(lambda: pending(self.fleet) == 0, timeout, "every outbox drained")
        return time.perf_counter() - returned


@contextmanager
def outage_fleet(
    work: Path, url: str, daily_quota: int, kiosks: int, leases_timeout: float
) -> Iterator[Outage]:
    """`kiosks` kiosks (data under `work`) served by a server on `url`, each holding leases."""
    server = start_central(url, daily_quota)
    proxy = new_proxy(server)
    fleet = build_fleet(work, kiosks, proxy.base_url, public_url=server.base_url)
    scene = Outage(url, daily_quota, server, proxy, fleet)
    try:
        wait_until(lambda: all(leases_held(k) > 0 for k in fleet), leases_timeout, "leases")
        yield scene
    finally:
        close_fleet(fleet)
        proxy.close()
        scene.server.stop()
