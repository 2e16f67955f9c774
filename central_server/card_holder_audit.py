"""Card-holder look-ups: audited with the NIK masked, and budgeted per kiosk.

A kiosk asks for a NIK's applications (registration numbers, services, statuses, slots) and
reserves documents for printing with the NIK of the card in its reader. Personal data (UU
27/2022): the per-NIK limit alone let one kiosk, or anyone holding its token, walk through many
NIKs. So each kiosk has a budget whatever the NIK (`[limits] kiosk_lookups_per_window` within
`kiosk_lookup_window_minutes`, a token bucket in the shared `rate_buckets` rows, so every app
server grants one allowance), every look-up leaves a row here (kiosk, time, masked NIK, what,
outcome) and a kiosk refused for its budget shows an alert on the fleet dashboard
(`lookup_budget`) until ALERT_HOLD after its last refusal.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException
from sqlalchemy import DateTime, Index, Select, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from central_server.config import LimitSettings
from central_server.db import Database
from central_server.kiosk_auth import hash_secret
from central_server.lease_reports import utc
from central_server.models import Base
from central_server.ratelimit import Limiter
from central_server.throttle import DatabaseRateLimiter
from kiosk_app.domain.identity import mask_nik

audit = logging.getLogger("central_server.audit")

ALERT_CODE = "lookup_budget"  # central_server.fleet.alerts.ALERTS
ALERT_HOLD = timedelta(hours=24)  # the alert stays this long after the last refusal
KEEP = timedelta(days=90)  # audit rows older than this are deleted now and then
ALLOWED, KIOSK_BUDGET, NIK_LIMIT = "allowed", "kiosk_budget", "nik_limit"
BUDGET_CODE = "kiosk_lookup_budget"  # the 429's detail.code (rate_limited: the NIK's own limit)
LISTS, RESERVES = "applications", "print_reserve"


class CardHolderLookup(Base):
    """One card-holder look-up a kiosk asked for: when, whose NIK (masked), what, outcome."""

    __tablename__ = "card_holder_lookups"
    __table_args__ = (
        Index("ix_card_holder_lookups_kiosk_at", "kiosk_id", "at"),
        Index("ix_card_holder_lookups_outcome_at", "outcome", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    masked_nik: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(20))  # applications | print_reserve
    outcome: Mapped[str] = mapped_column(String(20))  # allowed | kiosk_budget | nik_limit


class CardHolderGate:
    """Admits a kiosk's card-holder look-up (its budget, then the NIK's limit) and audits it."""

    def __init__(
        self,
        db: Database,
        limits: LimitSettings,
        *,
        per_nik: Limiter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self._clock = db, clock
        self.budget = limits.kiosk_lookups_per_window
        self.window_minutes = limits.kiosk_lookup_window_minutes
        self.per_kiosk = DatabaseRateLimiter(
            db,
            per_minute=self.budget / self.window_minutes,
            burst=self.budget,
            prefix="card-holder:kiosk:",
        )
        self.per_nik = per_nik or DatabaseRateLimiter(
            db, per_minute=limits.print_lookups_per_minute, burst=limits.print_lookup_burst
        )

    def admit(self, kiosk_id: str, nik: str, kind: str) -> None:
        """Record the look-up; 429 (Retry-After) when the kiosk's budget or the NIK's limit is
        used up. A kiosk over budget takes nothing from the NIK's allowance."""
        masked = mask_nik(nik)
        wait = self.per_kiosk.acquire(kiosk_id)
        if wait is not None:
            retry = max(1, math.ceil(wait))
            self._record(kiosk_id, masked, kind, KIOSK_BUDGET)
            audit.warning(
                "card-holder look-up refused: kiosk %s used its budget (%d per %g min, any "
                "NIK): %s for nik=%s, retry after %d s; fleet alert %s",
                kiosk_id,
                self.budget,
                self.window_minutes,
                kind,
                masked,
                retry,
                ALERT_CODE,
            )
            _refuse(
                BUDGET_CODE,
                f"this kiosk's card-holder look-ups are used up ({self.budget} per "
                f"{self.window_minutes:g} min, any NIK); retry after {retry} s",
                retry,
            )
        wait = self.per_nik.acquire(f"print:nik:{hash_secret(nik)}")
        if wait is not None:
            retry = max(1, math.ceil(wait))
            self._record(kiosk_id, masked, kind, NIK_LIMIT)
            audit.info("card-holder look-up refused: nik=%s asked too often (%s)", masked, kind)
            _refuse("rate_limited", f"too many requests; retry after {retry} s", retry)
        self._record(kiosk_id, masked, kind, ALLOWED)
        audit.info("card-holder look-up: kiosk %s %s for nik=%s", kiosk_id, kind, masked)

    def _record(self, kiosk_id: str, masked: str, kind: str, outcome: str) -> None:
        now = self._clock()
        with self.db.transaction() as session:
            session.add(
                CardHolderLookup(
                    kiosk_id=kiosk_id, at=now, masked_nik=masked, kind=kind, outcome=outcome
                )
            )
            if random.random() < 0.001:  # now and then: forget look-ups past the retention
                session.execute(delete(CardHolderLookup).where(CardHolderLookup.at < now - KEEP))


def _refuse(code: str, message: str, retry_after: int) -> None:
    raise HTTPException(
        429, {"code": code, "message": message}, headers={"Retry-After": str(retry_after)}
    )


# -- the fleet's alert -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusals:
    """A kiosk's look-ups refused for its budget within ALERT_HOLD: how many, first, last."""

    count: int
    first: datetime
    last: datetime


def over_budget(
    session: Session, now: datetime, kiosk_ids: Iterable[str] | None = None
) -> dict[str, Refusals]:
    """Kiosks refused for their budget within ALERT_HOLD before `now` (those of `kiosk_ids`)."""
    query = (
        select(
            CardHolderLookup.kiosk_id,
            func.count(),
            func.min(CardHolderLookup.at),
            func.max(CardHolderLookup.at),
        )
        .where(CardHolderLookup.outcome == KIOSK_BUDGET, CardHolderLookup.at >= now - ALERT_HOLD)
        .group_by(CardHolderLookup.kiosk_id)
    )
    if kiosk_ids is not None:
        query = query.where(CardHolderLookup.kiosk_id.in_(sorted(set(kiosk_ids))))
    return {
        kiosk_id: Refusals(int(count), utc(first), utc(last))
        for kiosk_id, count, first, last in session.execute(query)
    }


def over_budget_ids(now: datetime) -> Select[str]:
    """A subquery of the kiosks over_budget finds (for a filter of the fleet list)."""
    return (
        select(CardHolderLookup.kiosk_id)
        .where(CardHolderLookup.outcome == KIOSK_BUDGET, CardHolderLookup.at >= now - ALERT_HOLD)
        .distinct()
    )


def spells(
    session: Session, kiosk_id: str | None, now: datetime, limit: int
) -> list[tuple[str, datetime, datetime | None]]:
    """(kiosk, raised, cleared or None while open) of the newest refusal spells: refusals
    less than ALERT_HOLD apart make one spell, cleared ALERT_HOLD after its last refusal."""
    query = select(CardHolderLookup.kiosk_id, CardHolderLookup.at).where(
        CardHolderLookup.outcome == KIOSK_BUDGET
    )
    if kiosk_id:
        query = query.where(CardHolderLookup.kiosk_id == kiosk_id)
    rows = session.execute(query.order_by(CardHolderLookup.at.desc()).limit(limit * 50)).all()
    found: list[tuple[str, datetime, datetime | None]] = []
    current: dict[str, tuple[datetime, datetime]] = {}  # kiosk -> (first, last) of its spell

    def close(kiosk: str, first: datetime, last: datetime) -> None:
        cleared = last + ALERT_HOLD
        found.append((kiosk, first, cleared if cleared <= now else None))

    for kiosk, at in rows:  # newest first
        at = utc(at)
        spell = current.get(kiosk)
        if spell is not None and spell[0] - at >= ALERT_HOLD:
            close(kiosk, *spell)
            spell = None
        current[kiosk] = (at, spell[1] if spell is not None else at)
    for kiosk, spell in current.items():
        close(kiosk, *spell)
    found.sort(key=lambda s: s[1], reverse=True)
    return found[:limit]
