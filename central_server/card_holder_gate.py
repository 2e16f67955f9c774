"""Card-holder look-ups: budgeted per kiosk in citizens, limited per NIK, and audited.

A kiosk asks for a NIK's applications (registration numbers, services, statuses, slots) and
reserves documents for printing with the NIK of the card in its reader. Personal data (UU
27/2022): the per-NIK limit alone let one kiosk, or anyone holding its token, walk through many
NIKs. So each kiosk has a budget of distinct citizens (`[limits] kiosk_lookups_per_window`
within `kiosk_lookup_window_minutes`): a NIK the kiosk was answered for within the window costs
nothing again (a grandmother whose status is checked three times is one citizen), a new NIK
takes a token from a bucket in the shared `rate_buckets` rows, so every app server grants one
allowance. The kiosk's bucket row stays locked while the NIK is looked for in the audit and the
look-up written (card_holder_audit): on PostgreSQL two requests of one kiosk decide one after
the other, the second seeing the first's NIK, so a NIK asked twice at once is counted once.

A token is spent only on an answered look-up: a kiosk refused for its budget takes nothing from
the NIK's allowance, and a NIK refused for its own limit nothing from the kiosk's budget.
Refusals are counted per window (card_holder_audit.record_refusal); a kiosk refused for its
budget shows an alert on the fleet dashboard (`lookup_budget`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException

from central_server.card_holder_audit import (
    ALERT_CODE,
    KIOSK_BUDGET,
    NIK_LIMIT,
    NikKey,
    record_allowed,
    record_refusal,
    seen,
)
from central_server.config import LimitSettings
from central_server.db import Database
from central_server.throttle import DatabaseRateLimiter
from kiosk_app.domain.identity import mask_nik

audit = logging.getLogger("central_server.audit")

BUDGET_CODE = "kiosk_lookup_budget"  # the 429's detail.code (rate_limited: the NIK's own limit)


class CardHolderGate:
    """Admits a kiosk's card-holder look-up (its budget, then the NIK's limit) and audits it."""

    def __init__(
        self,
        db: Database,
        limits: LimitSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        nik_key: NikKey | None = None,
    ) -> None:
        self.db, self._clock = db, clock
        self.nik_key = nik_key or NikKey(db.url)
        self.budget = limits.kiosk_lookups_per_window
        self.window_minutes = limits.kiosk_lookup_window_minutes
        self.window = timedelta(minutes=self.window_minutes)
        self.per_kiosk = DatabaseRateLimiter(
            db,
            per_minute=self.budget / self.window_minutes,
            burst=self.budget,
            prefix="card-holder:kiosk:",
        )
        self.per_nik = DatabaseRateLimiter(
            db,
            per_minute=limits.print_lookups_per_minute,
            burst=limits.print_lookup_burst,
            prefix="print:nik:",
        )

    def admit(self, kiosk_id: str, nik: str, kind: str) -> None:
        """Record the look-up; 429 (Retry-After) when the kiosk's budget or the NIK's limit is
        used up."""
        now = self._clock().astimezone(UTC)  # stored in UTC (SQLite keeps no zone)
        stamp, nik_hash = now.timestamp(), self.nik_key(nik)
        refused: tuple[str, float] | None = None
        attempts = 0  # in the refusal's window row, this one included
        with self.db.transaction() as session:
            kiosk = self.per_kiosk.hold(session, kiosk_id, stamp)  # locked: see the docstring
            known = seen(session, kiosk_id, nik_hash, now - self.window)
            if not known and kiosk.wait is not None:
                refused = KIOSK_BUDGET, kiosk.wait
            else:
                citizen = self.per_nik.hold(session, nik_hash, stamp)
                if citizen.wait is not None:
                    refused = NIK_LIMIT, citizen.wait
                else:
                    citizen.spend()
                    if not known:
                        kiosk.spend()
                    record_allowed(session, kiosk_id, nik, nik_hash, kind, now)
            if refused is not None:
                attempts = record_refusal(
                    session,
                    self.db.is_postgresql,
                    (kiosk_id, kind, refused[0]),
                    nik,
                    nik_hash,
                    now,
                    self.window,
                )
        masked = mask_nik(nik)
        if refused is None:
            audit.info("card-holder look-up: kiosk %s %s for nik=%s", kiosk_id, kind, masked)
            return
        outcome, wait = refused
        retry = max(1, math.ceil(wait))
        if outcome == KIOSK_BUDGET:
            if attempts == 1:  # the window's first: the log says it once, the table counts
                audit.warning(
                    "card-holder look-up refused: kiosk %s used its budget (%d citizens per "
                    "%g min): %s for nik=%s, retry after %d s; fleet alert %s",
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
                f"this kiosk's card-holder look-ups are used up ({self.budget} citizens per "
                f"{self.window_minutes:g} min); retry after {retry} s",
                retry,
            )
        if attempts == 1:
            audit.info("card-holder look-up refused: nik=%s asked too often (%s)", masked, kind)
        _refuse("rate_limited", f"too many requests; retry after {retry} s", retry)


def _refuse(code: str, message: str, retry_after: int) -> None:
    raise HTTPException(
        429, {"code": code, "message": message}, headers={"Retry-After": str(retry_after)}
    )
