"""Token-bucket rate limits per key (client IP, kiosk) so registration numbers cannot be guessed."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from fastapi import HTTPException, Request

MAX_KEYS = 100_000  # least recently used buckets are dropped beyond this (bounded memory)


class RateLimiter:
    """`burst` requests at once, then `per_minute` a minute, per key; thread-safe, in memory."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate_per_s = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (tokens, t)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for `key`: None when allowed, else seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_s)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        return None if allowed else (1.0 - tokens) / self.rate_per_s

    def reset(self) -> None:
        """Forget every bucket."""
        with self._lock:
            self._buckets.clear()


class Limiter(Protocol):
    """A token bucket per key: RateLimiter (one process) or throttle.DatabaseRateLimiter."""

    def acquire(self, key: str) -> float | None:
        """None when allowed, else seconds until a token is available."""
        ...


def client_ip(request: Request) -> str:
    """The client address (security.SecurityMiddleware resolved it through trusted proxies)."""
    return request.client.host if request.client else "unknown"


def check_all(limiter: Limiter, keys: list[str], what: str) -> None:
    """Take a token for every key; 429 with Retry-After when any bucket is empty."""
    waits = [w for w in (limiter.acquire(k) for k in keys) if w is not None]
    if waits:
        retry_after = max(1, math.ceil(max(waits)))
        raise HTTPException(
            429,
            {"code": "rate_limited", "message": f"too many {what}; retry after {retry_after} s"},
            headers={"Retry-After": str(retry_after)},
        )


class StatusLookupLimiter:
    """Status look-ups per kiosk (its token's identity), else per client address; 429."""

    def __init__(
        self,
        per_minute: float = 30.0,
        burst: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
        buckets: Limiter | None = None,
    ) -> None:
        self.buckets = buckets or RateLimiter(per_minute, burst, clock=clock, max_keys=max_keys)

    def check(self, request: Request, kiosk_id: str | None = None) -> None:
        """Raise 429 when the kiosk (or an anonymous client's address) used up its look-ups.

        Kiosks are keyed on their own identity: behind a proxy or a NAT a whole fleet shares
        one address, and one busy kiosk must not lock out the others.
        """
        key = f"kiosk:{kiosk_id}" if kiosk_id else f"ip:{client_ip(request)}"
        check_all(self.buckets, [f"status:{key}"], "status look-ups")
