"""A central server with one office, its quotas and N enrolled kiosks holding Ed25519 signing
keys, on a clock the test moves: what the slot-lease tests (and the outage end-to-end test)
start from. Everything goes over HTTP on loopback, like a kiosk."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from central_server import quota
from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from central_server.leases import LeasePolicy
from central_server.notify import RecordingChannel
from central_server.settings import WIB
from kiosk_app.services import receipt_seal
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY
from tests.central.fleet.helpers import STAFF, enrol, heartbeat_body
from tests.domain.service_values import CASES, with_contact

SERVICE = "kia"
NIK, NAME = "3517081208850001", "BUDI SANTOSO"
DATA = with_contact(SERVICE, CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}
SERVICES = ("akta_kelahiran", "akta_kematian", "cetak_ulang_ktp", "kia", "perubahan_kk", "pindah")
MONDAY = date(2026, 11, 23)  # the slot day the lease tests book
MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"


@dataclass
class Clock:
    """The server's clock for leases, moved by the test (aware UTC datetimes)."""

    now: datetime = field(default_factory=lambda: datetime.combine(TODAY, time(9), WIB))

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class LeaseKiosk:
    """An enrolled kiosk: its token and its signing key, and calls the kiosk makes."""

    base_url: str
    kiosk_id: str
    token: str
    key: Ed25519PrivateKey | None
    office: str = OFFICE
    counter: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = self.headers | kw.pop("headers", {})
        return requests.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kw)

    def leases(self, days: int | None = None) -> list[dict[str, Any]]:
        """POST /api/v1/leases: the leases it holds after the grant or renewal."""
        r = self.call("POST", "/api/v1/leases", json={} if days is None else {"days": days})
        assert r.status_code == 200, r.text
        leases: list[dict[str, Any]] = r.json()["leases"]
        return leases

    def give_back(self, returns: list[tuple[str, int]]) -> list[dict[str, Any]]:
        body = {"returns": [{"lease_id": i, "places": n} for i, n in returns]}
        r = self.call("POST", "/api/v1/leases/return", json=body)
        assert r.status_code == 200, r.text
        leases: list[dict[str, Any]] = r.json()["leases"]
        return leases

    def report(self, usage: dict[str, int]) -> None:
        """POST a heartbeat reporting the places used of each lease it holds (lease id ->)."""
        r = self.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(leases=usage))
        assert r.status_code == 200, r.text

    def seal_for(self, lease: dict[str, Any], reference: str, issued: datetime) -> str:
        """The seal the kiosk prints for an offline booking on `lease`'s slot."""
        assert self.key is not None
        claims = receipt_seal.ReceiptClaims(
            reference=reference,
            office=self.office,
            service=lease["service"],
            day=date.fromisoformat(lease["date"]),
            window=lease["window"],
            issued_at=issued.astimezone(UTC).replace(microsecond=0),
            kiosk_id=self.kiosk_id,
        )
        return receipt_seal.seal(claims, self.key)

    def offline_booking(
        self,
        lease: dict[str, Any],
        issued: datetime,
        nik: str = NIK,
        name: str = NAME,
        data: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The body the outbox sends for a booking made from `lease` while offline."""
        self.counter += 1
        reference = f"LOK-{self.kiosk_id}-{issued:%y%m%d}-{self.counter:04d}"
        return {
            "service": lease["service"],
            "applicant_nik": nik,
            "applicant_name": name,
            "data": DATA if data is None else data,
            "slot": {"date": lease["date"], "window": lease["window"]},
            "local_reference": reference,
            "if_slot_full": "next_free",
            "lease": {
                "lease_id": lease["lease_id"],
                "seal": self.seal_for(lease, reference, issued),
            },
        }

    def submit(self, body: dict[str, Any], key: str | None = None) -> requests.Response:
        """POST /api/v1/applications with an Idempotency-Key."""
        return self.call(
            "POST",
            "/api/v1/applications",
            json=body,
            headers={"Idempotency-Key": key or uuid.uuid4().hex},
        )

    def submit_batch(self, items: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """POST /api/v1/applications/batch: (key, body) pairs; the per-item results."""
        body = {"items": [{"idempotency_key": k, "application": a} for k, a in items]}
        r = self.call("POST", "/api/v1/applications/batch", json=body)
        assert r.status_code == 200, r.text
        results: list[dict[str, Any]] = r.json()["results"]
        return results


def online_booking(
    day: date | str,
    window: str,
    nik: str = NIK,
    data: dict[str, str] | None = None,
    service: str = SERVICE,
) -> dict[str, Any]:
    """The body of a booking made while the kiosk reaches the server (no lease)."""
    return {
        "service": service,
        "applicant_nik": nik,
        "applicant_name": NAME,
        "data": DATA if data is None else data,
        "slot": {"date": str(day), "window": window},
    }


def set_quota(base_url: str, service: str, daily: int, office: str = OFFICE) -> None:
    """PUT the daily quota of a service at an office (admin token)."""
    requests.put(
        f"{base_url}/api/v1/offices/{office}/quotas/{service}",
        json={"daily_quota": daily},
        headers=STAFF,
        timeout=10,
    ).raise_for_status()


def enrol_kiosk(
    base_url: str, kiosk_id: str, office: str = OFFICE, *, signing_key: bool = True
) -> LeaseKiosk:
    """Enrol a kiosk with a one-time code, registering a fresh signing key unless told not to."""
    key = receipt_seal.new_key()
    fields = {"signing_key": receipt_seal.public_key_text(key)} if signing_key else {}
    headers = enrol(base_url, kiosk_id, office, **fields)
    token = headers["Authorization"].removeprefix("Bearer ")
    return LeaseKiosk(base_url, kiosk_id, token, key, office)


def seed_office(
    base_url: str,
    kiosks: int,
    quotas: dict[str, int],
    office: str = OFFICE,
    prefix: str = "kiosk",
) -> list[LeaseKiosk]:
    """Set `quotas` (services left out: 0, so they get no leases) and enrol `kiosks` kiosks
    named <prefix>-01 ... with signing keys."""
    for service in SERVICES:
        set_quota(base_url, service, quotas.get(service, 0), office)
    return [enrol_kiosk(base_url, f"{prefix}-{n:02d}", office) for n in range(1, kiosks + 1)]


@dataclass
class LeaseServer:
    """A running server on the test's calendar (TODAY) and clock, with recording channels."""

    app: Any
    server: EmbeddedServer
    clock: Clock
    sms: RecordingChannel

    @property
    def base_url(self) -> str:
        return self.server.base_url


@contextmanager
def lease_server(
    database_url: str, policy: LeasePolicy | None = None, **options: Any
) -> Iterator[LeaseServer]:
    """Start a central server for lease tests (notifications delivered every 50 ms).
    `moving_calendar=True`: the calendar follows the clock (TODAY at 09.00 WIB at first)."""
    clock = Clock()
    sms = RecordingChannel()
    moving = options.pop("moving_calendar", False)
    app = create_app(
        database_url,
        today=(lambda: clock.now.astimezone(WIB).date()) if moving else (lambda: TODAY),
        admin_token=ADMIN_TOKEN,
        channels={"sms": sms, "whatsapp": RecordingChannel(), "email": RecordingChannel()},
        secret_key="test-session-key-0123456789abcdef",
        clock=clock,
        lease_policy=policy,
        **options,
    )
    app.state.review.worker.poll_s = 0.05
    app.state.lease_sweep.poll_s = 0.05  # the background lease sweep, when loops run
    server = EmbeddedServer(app, "127.0.0.1", 0).start()
    try:
        yield LeaseServer(app, server, clock, sms)
    finally:
        server.stop()


def over_quota(database_url: str, now: datetime) -> dict[tuple[str, date, str], int]:
    """Slots (service, day, window) of any office where bookings plus the leased places that
    count as taken at `now` exceed the window's share of the quota, read in one snapshot
    (REPEATABLE READ on PostgreSQL; SQLite reads one snapshot per transaction anyway).

    Leased places taken, written out here on their own: all unused ones of a lease until it
    expires; after that, of a lease whose kiosk reported after its booking time, those the
    kiosk used and the server has not admitted yet; of any other (in doubt), all unused ones.
    A slot whose day has begun (WIB) no longer counts its leases."""
    options = {} if database_url.startswith("sqlite") else {"isolation_level": "REPEATABLE READ"}
    engine = create_engine(database_url, **options)
    at = now.astimezone(UTC).replace(tzinfo=None) if options == {} else now
    begun = now.astimezone(WIB).date()
    try:
        with engine.connect() as conn, conn.begin():
            quotas = {
                (office, service): daily
                for office, service, daily in conn.execute(
                    text("SELECT office_code, service, daily_quota FROM quotas")
                )
            }
            counts: Counter[tuple[str, str, date, str]] = Counter()
            for office, service, day, window, n in conn.execute(
                text(
                    "SELECT office_code, service, slot_date, slot_window, count(*)"
                    " FROM applications GROUP BY office_code, service, slot_date, slot_window"
                )
            ):
                counts[(office, service, _day(day), window)] += n
            for row in conn.execute(
                text(
                    'SELECT office_code, service, day, "window", places, used, reported_used,'
                    " reported_at > book_until, expires_at > :now FROM slot_leases"
                ),
                {"now": at},
            ):
                office, service, day, window, places, used, reported, final, live = row
                if _day(day) <= begun:
                    continue
                if live or not final or reported is None:
                    counts[(office, service, _day(day), window)] += places - used
                else:
                    counts[(office, service, _day(day), window)] += max(
                        0, min(reported, places) - used
                    )
    finally:
        engine.dispose()
    return {
        (service, day, window): n
        for (office, service, day, window), n in counts.items()
        if n
        > quota.window_capacity(quotas.get((office, service), quota.DEFAULT_DAILY_QUOTA), window)
    }


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
