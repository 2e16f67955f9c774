"""The room left in a slot: its bookings, the places lent to kiosks and not used yet, and the
first free slot after a full one (admission moves a queued booking there; leases size their
top-ups by it). Counted under the slot's lock (numbering.lock_slot) where it decides."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_server import lifecycle, numbering, quota
from central_server.lifecycle import daily_quota
from central_server.models import Application

Slot = tuple[date, str]  # (verification date, window)


def booked(session: Session, office_code: str, service: str, days: list[date]) -> dict[Slot, int]:
    """Applications per (day, window) of an office's service on `days`."""
    rows = session.execute(
        select(Application.slot_date, Application.slot_window, func.count())
        .where(
            Application.office_code == office_code,
            Application.service == service,
            Application.slot_date.in_(days),
        )
        .group_by(Application.slot_date, Application.slot_window)
    )
    return {(d, w): n for d, w, n in rows}


leased = lifecycle.leased_places  # places lent to kiosks and not used yet, per (day, window)


def occupied(
    session: Session, office_code: str, service: str, days: list[date], now: datetime
) -> dict[Slot, int]:
    """Places of each slot that are not free: bookings plus places lent and not used yet."""
    counts = Tally(booked(session, office_code, service, days))
    counts.update(leased(session, office_code, service, days, now))
    return dict(counts)


def first_free(
    session: Session,
    office: str,
    service: str,
    wanted: Slot,
    today: date,
    now: datetime,
    taken: Mapping[tuple[str, date, str], int] | None = None,
) -> Slot | None:
    """The earliest slot after the full `wanted` one (quota.later_slots) with a place left,
    locked for this transaction; None when the whole horizon is full. `taken`: places this
    transaction already holds but has not inserted yet (the batch)."""
    candidates = list(quota.later_slots(today, *wanted))
    if not candidates:
        return None
    daily = daily_quota(session, office, service)
    held = taken or {}
    # A slot full before locking rarely frees up (only a lease given back or expiring), so
    # it is skipped; one with room is locked, then counted again under the lock.
    seen = occupied(session, office, service, sorted({d for d, _ in candidates}), now)
    for day, window in candidates:
        room = quota.window_capacity(daily, window) - held.get((service, day, window), 0)
        if seen.get((day, window), 0) >= room:
            continue
        numbering.lock_slot(session, office, service, day, window)
        if occupied(session, office, service, [day], now).get((day, window), 0) < room:
            return day, window
    return None
