"""Status look-ups by registration number are rate-limited per kiosk."""

from __future__ import annotations

import requests

from central_server.ratelimit import RateLimiter
from tests.central.officer.conftest import Central


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0])
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == 10.0  # one token every 10 s
    assert limiter.acquire("b") is None  # keys are independent
    now[0] = 10.0
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") is not None


def test_enumerating_registration_numbers_gets_429(central: Central) -> None:
    number = central.submit()
    url = f"{central.url}/api/v1/applications"
    kiosk = central.kiosk()
    codes = [
        requests.get(f"{url}/AKTA-35.17.261119.{n:04d}", headers=kiosk, timeout=10).status_code
        for n in range(2, 7)
    ]
    assert codes == [404] * 5  # burst of 5
    limited = requests.get(f"{url}/{number}", headers=kiosk, timeout=10)
    assert limited.status_code == 429
    assert limited.json()["detail"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # another kiosk behind the same address (a proxy, a NAT) has its own budget
    other = central.kiosk("kiosk-02")
    assert requests.get(f"{url}/{number}", headers=other, timeout=10).status_code == 200
