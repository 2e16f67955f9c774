"""Fixtures: a central server with staff accounts, recording channels and a movable calendar."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher

from central_server.app import create_app, on_day
from central_server.auth import create_user, use_hasher
from central_server.embedded import EmbeddedServer
from central_server.notify import RecordingChannel
from central_server.ratelimit import StatusLookupLimiter
from central_server.settings import WIB

TODAY = date(2026, 11, 19)  # a Thursday
MONDAY = date(2026, 11, 23)
TUESDAY = date(2026, 11, 24)
OFFICE, OTHER_OFFICE = "3517", "3578"
PASSWORD = "rahasia-petugas-123"
NIK = "3517014501200001"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGIN_CSRF_RE = re.compile(r'name="login_csrf" value="([^"]+)"')


@dataclass
class Central:
    """A running server plus what tests need to drive it."""

    server: EmbeddedServer
    app: Any
    calendar: dict[str, date]
    sms: RecordingChannel
    email: RecordingChannel
    kiosks: dict[str, dict[str, str]] = field(default_factory=dict)
    clock: dict[str, datetime] = field(default_factory=dict)  # "now": the check-in clock

    def at(self, day: date, hour: int, minute: int = 0) -> None:
        """Move the calendar and the check-in clock to `day` at hour.minute WIB."""
        self.calendar["today"] = day
        self.clock["now"] = datetime.combine(day, time(hour, minute), WIB)

    @property
    def url(self) -> str:
        """Base URL."""
        return self.server.base_url

    def kiosk(self, kiosk_id: str = "kiosk-01", office: str = OFFICE) -> dict[str, str]:
        """Enrol a kiosk (open enrolment on a server without admin token) -> auth header."""
        if kiosk_id not in self.kiosks:
            r = requests.post(
                f"{self.url}/api/v1/kiosks",
                json={"kiosk_id": kiosk_id, "office_code": office, "name": "Lobi"},
                timeout=10,
            )
            assert r.status_code == 201, r.text
            self.kiosks[kiosk_id] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self.kiosks[kiosk_id]

    def submit(
        self,
        day: date = MONDAY,
        window: str = "08.00-11.00",
        kiosk_id: str = "kiosk-01",
        office: str = OFFICE,
        **data: str,
    ) -> str:
        """Submit an application through the kiosk API; returns its registration number."""
        values = {
            "child_name": "Budi Santoso",
            "contact_phone": "081234567890",
            "contact_email": "siti@example.test",
        } | data
        r = requests.post(
            f"{self.url}/api/v1/applications",
            json={
                "service": "akta_kelahiran",
                "applicant_nik": NIK,
                "applicant_name": "Siti Aminah",
                "data": values,
                "slot": {"date": day.isoformat(), "window": window},
            },
            headers={**self.kiosk(kiosk_id, office), "Idempotency-Key": uuid.uuid4().hex},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["registration_number"])


class Staff:
    """A logged-in browser-like session (cookies) that posts forms with their CSRF token."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str = PASSWORD,
        http: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url
        self.http = http or requests.Session()
        page = self.http.get(f"{base_url}/login", timeout=10)
        token = LOGIN_CSRF_RE.search(page.text)
        assert token, page.text
        r = self.http.post(
            f"{base_url}/login",
            data={"username": username, "password": password, "login_csrf": token.group(1)},
            allow_redirects=False,
            timeout=10,
        )
        self.login_response = r

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET a page."""
        return self.http.get(f"{self.base_url}{path}", timeout=10, **kwargs)

    def csrf(self, path: str = "/officer/applications") -> str:
        """The CSRF token shown on a page."""
        match = CSRF_RE.search(self.get(path).text)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post(
        self, path: str, data: dict[str, Any] | None = None, csrf: bool = True
    ) -> requests.Response:
        """POST a form (with the CSRF token unless csrf=False); redirects are not followed."""
        payload = dict(data or {})
        if csrf:
            payload["csrf_token"] = self.csrf()
        return self.http.post(
            f"{self.base_url}{path}", data=payload, allow_redirects=False, timeout=10
        )

    def act(self, number: str, action: str, **data: Any) -> requests.Response:
        """Apply an officer action to an application."""
        return self.post(f"/officer/applications/{number}/{action}", data)


@pytest.fixture
def central(database_url: str) -> Iterator[Central]:
    """A server on loopback (SQLite and PostgreSQL) with admin, two officers and a technician."""
    calendar = {"today": TODAY}
    clock: dict[str, datetime] = {}
    sms, email = RecordingChannel(), RecordingChannel()
    app = create_app(
        database_url,
        today=lambda: calendar["today"],
        clock=lambda: clock.get("now") or on_day(calendar["today"]),
        offices=[(OTHER_OFFICE, "Disdukcapil Kota Surabaya")],
        channels={"sms": sms, "whatsapp": sms, "email": email},
        secret_key="test-session-key-0123456789abcdef",
        status_limiter=StatusLookupLimiter(per_minute=60, burst=5),
    )
    app.state.review.worker.poll_s = 0.05
    db = app.state.db
    create_user(db, "admin", PASSWORD, "admin", full_name="Admin Kabupaten")
    create_user(db, "petugas", PASSWORD, "officer", office_code=OFFICE, full_name="Dewi Lestari")
    create_user(db, "petugas_sby", PASSWORD, "officer", office_code=OTHER_OFFICE)
    create_user(db, "teknisi", PASSWORD, "technician", full_name="Agus Teknisi")
    server = EmbeddedServer(app, "127.0.0.1", 0).start()
    try:
        yield Central(server, app, calendar, sms, email, clock=clock)
    finally:
        server.stop()


@pytest.fixture
def officer(central: Central) -> Staff:
    """The office 3517 officer, logged in."""
    staff = Staff(central.url, "petugas")
    assert staff.login_response.status_code == 303
    return staff


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with test-sized cost (production keeps the library defaults)."""
    previous = use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield
    use_hasher(previous)


def sealed_receipt(number: str, day: date, kiosk_id: str, key: Any, office: str = "3517") -> str:
    """The signed seal a kiosk prints in the receipt's QR for `number`, an akta kelahiran booked
    for `day`'s morning window; `key` is the kiosk's receipt_seal private key."""
    from datetime import UTC

    from kiosk_app.services import receipt_seal

    claims = receipt_seal.ReceiptClaims(
        reference=number,
        office=office,
        service="akta_kelahiran",
        day=day,
        window="08.00-11.00",
        issued_at=datetime(2026, 11, 19, 2, 0, tzinfo=UTC),
        kiosk_id=kiosk_id,
    )
    return receipt_seal.seal(claims, key)
