"""Rate limits live in the database: two app servers on one database grant one allowance."""

from __future__ import annotations

import requests

from central_server.db import Database
from central_server.embedded import EmbeddedServer, start_embedded
from central_server.ratelimit import StatusLookupLimiter
from central_server.security import SecurityOptions
from central_server.throttle import DatabaseRateLimiter
from tests.central.conftest import ADMIN_TOKEN, TODAY
from tests.central.fleet.helpers import enrol


def slow_limiter(url: str) -> StatusLookupLimiter:
    """The status limit on the database with a refill too slow to matter during a test."""
    return StatusLookupLimiter(
        buckets=DatabaseRateLimiter(Database(url), per_minute=0.01, burst=10)
    )


def test_two_app_servers_share_one_status_lookup_budget(database_url: str) -> None:
    """A burst of 10 look-ups, spread over two servers, then 429 on both."""
    with (
        start_embedded(
            database_url,
            today=lambda: TODAY,
            admin_token=ADMIN_TOKEN,
            status_limiter=slow_limiter(database_url),
        ) as other,
        start_embedded(
            database_url,
            today=lambda: TODAY,
            admin_token=ADMIN_TOKEN,
            status_limiter=slow_limiter(database_url),
        ) as server,
    ):
        kiosk = enrol(server, "kiosk-a")
        path = "/api/v1/applications/AKTA-35.17.261119.{:04d}"
        codes = [
            requests.get(
                (server, other)[n % 2].base_url + path.format(n), headers=kiosk, timeout=10
            ).status_code
            for n in range(12)
        ]
        assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
        # Another kiosk on the same address has its own budget.
        assert (
            requests.get(
                other.base_url + path.format(1), headers=enrol(server, "kiosk-b"), timeout=10
            ).status_code
            == 404
        )


def test_a_database_bucket_refills_at_its_rate(server: EmbeddedServer, database_url: str) -> None:
    """Token bucket arithmetic on the database rows, with a fixed clock."""
    now = [1000.0]
    db = Database(database_url)
    try:
        limiter = DatabaseRateLimiter(db, per_minute=6, burst=2, clock=lambda: now[0])
        assert limiter.acquire("a") is None and limiter.acquire("a") is None
        assert limiter.acquire("a") == 10.0
        assert limiter.acquire("b") is None
        now[0] += 10.0
        assert limiter.acquire("a") is None and limiter.acquire("a") is not None
        second = DatabaseRateLimiter(db, per_minute=6, burst=2, clock=lambda: now[0])
        assert second.acquire("a") is not None  # another process sees the same bucket
    finally:
        db.dispose()


def test_enrolment_guesses_are_limited_per_client_address(database_url: str) -> None:
    """Behind a trusted proxy each client has its own budget; a forged X-Forwarded-For from an
    untrusted peer changes nothing."""
    options = SecurityOptions(trusted_proxies=("127.0.0.1",))
    body = {
        "kiosk_id": "kiosk-x",
        "office_code": "3517",
        "name": "Lobi",
        "enrolment_code": "AAAA-BBBB-CCCC-DDDD",
    }
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, security=options
    ) as proxied:
        url = f"{proxied.base_url}/api/v1/kiosks"

        def guess(client: str) -> int:
            return requests.post(
                url, json=body, headers={"X-Forwarded-For": client}, timeout=10
            ).status_code

        codes = [guess("198.51.100.7") for _ in range(20)]
        assert codes == [401] * 20  # the burst
        # then 429 (a token refills every 6 s: a very slow machine may get one more try)
        assert 429 in [guess("198.51.100.7") for _ in range(5)]
        assert guess("198.51.100.8") == 401  # another client behind the same proxy
    with start_embedded(database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN) as direct:
        r = requests.post(
            f"{direct.base_url}/api/v1/kiosks",
            json=body,
            timeout=10,
            headers={"X-Forwarded-For": "203.0.113.1"},
        )
        assert r.status_code == 401  # the peer 127.0.0.1 itself: its own fresh bucket
        forged = [
            requests.post(
                f"{direct.base_url}/api/v1/kiosks",
                json=body,
                timeout=10,
                headers={"X-Forwarded-For": f"203.0.113.{n + 2}"},
            ).status_code
            for n in range(24)
        ]
        assert 429 in forged  # the forged addresses all counted as 127.0.0.1


def test_admin_token_guesses_on_the_fleet_login_are_limited(server: EmbeddedServer) -> None:
    """30 wrong tokens from one address, then 429 with Retry-After."""
    url = f"{server.base_url}/fleet/login"
    answers = [
        requests.post(url, data={"token": f"tebakan-{n}"}, timeout=10, allow_redirects=False)
        for n in range(35)
    ]
    assert [r.status_code for r in answers[:30]] == [401] * 30
    limited = [r for r in answers[30:] if r.status_code == 429]  # refill: one try per 6 s
    assert limited and int(limited[0].headers["Retry-After"]) >= 1
