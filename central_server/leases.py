"""Slot leases: places of a slot lent to one kiosk ahead of time, to book from while the
central server cannot be reached (issue 16; the contract is docs of POST /api/v1/leases).

A kiosk asks for its leases (POST /api/v1/leases) whenever it can: every open window of every
service over the horizon gets a lease sized from the kiosk's recent use (quota.lease_demand),
never more than a fair share of what is left (quota.lease_top_up), topped up, never taken back,
and its times renewed. The kiosk books from a lease until `book_until` (at most the slot's day:
a booking is always for a later day); at `expires_at`, a margin later, the unused places go
back to the pool once the kiosk has reported its final use, else they stay in doubt
(central_server.lease_reports), so an offline booking made in time and sent late is honoured
and never overbooks. Unused places count as taken for everyone else (slot_room.occupied): for
every slot, places leased and not used plus places booked never exceed the quota. Each slot is
topped up in its own short transaction under the slot's lock (numbering.lock_slot, the one the
booking path takes).

The lock order (PostgreSQL; SQLite runs one transaction at a time). Slot locks
(numbering.lock_slot) and lease rows (slot_leases) are taken in one global order, so no two
transactions wait for each other in a circle:
1. slot locks first, in slot order (service, day, window): a batch locks all the slots its
   items name at once, sorted (numbering.lock_slots); an item moved to a later free slot
   (slot_room.first_free) locks that one after them, still before any lease row (out of slot
   order: two batches moving items into slots the other holds at once can still meet there;
   PostgreSQL then fails one, which the kiosk's outbox sends again);
2. lease rows last, in lease id order: a batch writes the places it used (reconcile.use_leases)
   after its last slot lock; a top-up writes the one row of the slot it has locked;
3. a transaction that locks lease rows without holding a slot lock (renewal, return, heartbeat
   usage reports, reclaim and the lease sweep, a technician's release) takes no slot lock at
   all, locks its rows in id order (SELECT ... ORDER BY id FOR NO KEY UPDATE, or one UPDATE per
   id in id order) and is short: a grant reclaims, renews and tops up in separate transactions.
Row locks are FOR NO KEY UPDATE (what an UPDATE of these columns takes), so the key-share locks
an application's foreign key takes on its lease never conflict with them.
"""

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from central_server import numbering, quota
from central_server.config import LeaseSettings
from central_server.db import Database
from central_server.kiosk_auth import ERRORS, KioskGuard, KioskRef
from central_server.lease_reports import live, reclaim, utc
from central_server.lifecycle import daily_quota
from central_server.models import Application, Kiosk, SlotLease
from central_server.schemas import LeaseOut, LeaseReturn, LeaseReturnsIn, LeasesIn, LeasesOut
from central_server.settings import WIB
from central_server.slot_room import booked, leased, occupied
from kiosk_app.domain.catalogue import SERVICES

log = logging.getLogger("central_server.leases")
Slot = tuple[str, date, str]  # (service, day, window)


LeasePolicy = LeaseSettings  # how long leases last and how they are sized ([leases])


def day_start(day: date) -> datetime:
    """Midnight WIB opening `day`, in UTC: the last moment a booking for `day` can be made."""
    return datetime.combine(day, time(0), WIB).astimezone(UTC)


def lease_out(lease: SlotLease) -> LeaseOut:
    """A lease as the kiosk reads it."""
    return LeaseOut(
        lease_id=lease.id,
        service=lease.service,  # type: ignore[arg-type]  # validated into the enum
        date=lease.day,
        window=lease.window,
        places=lease.places,
        used=lease.used,
        book_until=utc(lease.book_until),
        expires_at=utc(lease.expires_at),
    )


@dataclass(frozen=True)
class LeaseTotals:
    """One kiosk's unexpired leases summed: places held (used ones included) and used."""

    places: int = 0
    used: int = 0

    @property
    def unused(self) -> int:
        """Places still free to book from."""
        return self.places - self.used


class Leases:
    """Grants, renewals, returns and reclaims on the server's calendar and clock."""

    def __init__(
        self,
        db: Database,
        today: Callable[[], date],
        clock: Callable[[], datetime],
        policy: LeasePolicy | None = None,
    ) -> None:
        self.db, self.today, self.clock = db, today, clock
        self.policy = policy or LeasePolicy()

    def times(self, day: date, now: datetime) -> tuple[datetime, datetime]:
        """(book_until, expires_at) of a lease on `day` granted or renewed at `now`."""
        until = min(now + timedelta(hours=self.policy.hours), day_start(day))
        return until, until + timedelta(hours=self.policy.margin_hours)

    def grant(self, kiosk: KioskRef, days: int) -> LeasesOut:
        """Grant, top up and renew the kiosk's leases over the next `days` days."""
        now, today = utc(self.clock()), self.today()
        candidates = [d for d in quota.verification_days(today, days) if day_start(d) > now]
        # Each step its own transaction (the lock order, above): rows locked by id, no slot lock.
        with self.db.transaction() as session:
            reclaim(session, now, kiosk.office_code)
        with self.db.transaction() as session:
            self._renew(session, kiosk, candidates, now)
        with self.db.transaction() as session:  # reads only
            wanted, kiosks = self._top_ups(session, kiosk, candidates, now, today)
        # PostgreSQL: one transaction per slot, so a grant holds one slot lock at a time;
        # SQLite serializes whole transactions anyway: one for all (a commit each is slow).
        groups = [[w] for w in wanted] if self.db.is_postgresql else [wanted]
        for group in groups:
            with self.db.transaction() as session:
                for slot, demand in group:
                    self._top_up(session, kiosk, slot, demand, kiosks, now)
        with self.db.transaction() as session:
            return self.current(session, kiosk, now)

    def give_back(self, kiosk: KioskRef, returns: Sequence[LeaseReturn]) -> LeasesOut:
        """Return unused places (used ones stay); unknown or foreign leases are skipped."""
        now = utc(self.clock())
        with self.db.transaction() as session:
            for item in sorted(returns, key=lambda r: r.lease_id):  # the lock order: by id
                spare = SlotLease.places - SlotLease.used
                back = case((spare < item.places, spare), else_=item.places)
                done = session.execute(
                    update(SlotLease)
                    .where(
                        SlotLease.id == item.lease_id,
                        SlotLease.kiosk_id == kiosk.kiosk_id,
                        live(now),  # expired places in doubt too: the kiosk knows
                    )
                    .values(places=SlotLease.places - back, returned=SlotLease.returned + back)
                    .execution_options(synchronize_session=False)
                )
                if not getattr(done, "rowcount", 0):
                    log.warning(
                        "kiosk %s returned places of lease %s it does not hold",
                        kiosk.kiosk_id,
                        item.lease_id[:32],
                    )
            log.info("kiosk %s returned places of %d lease(s)", kiosk.kiosk_id, len(returns))
            return self.current(session, kiosk, now)

    def current(self, session: Session, kiosk: KioskRef, now: datetime) -> LeasesOut:
        """The leases the kiosk holds (lease_reports.live), earliest slot first."""
        rows = session.scalars(
            select(SlotLease)
            .where(SlotLease.kiosk_id == kiosk.kiosk_id, live(now))
            .order_by(SlotLease.day, SlotLease.window, SlotLease.service)
        )
        return LeasesOut(leases=[lease_out(r) for r in rows], server_time=now)

    def _renew(
        self, session: Session, kiosk: KioskRef, candidates: list[date], now: datetime
    ) -> None:
        """Move the times of the kiosk's unexpired leases on (never back): holding them longer
        changes no count now, so no slot lock is needed; the rows are locked in id order."""
        for lease in session.scalars(
            select(SlotLease)
            .where(
                SlotLease.kiosk_id == kiosk.kiosk_id,
                SlotLease.day.in_(candidates),
                SlotLease.expires_at > now,
            )
            .order_by(SlotLease.id)
            .with_for_update(key_share=True)  # FOR NO KEY UPDATE, as an UPDATE locks
        ):
            until, expires = self.times(lease.day, now)
            lease.book_until = max(utc(lease.book_until), until)
            lease.expires_at = max(utc(lease.expires_at), expires)

    def _demand(self, session: Session, kiosk: KioskRef, today: date) -> dict[str, int]:
        """Places per slot each service should have at this kiosk, from its recent bookings."""
        since = today - timedelta(days=self.policy.history_days)
        windows = quota.windows_between(since, today)
        recent = dict(
            session.execute(
                select(Application.service, func.count())
                .where(
                    Application.kiosk_id == kiosk.kiosk_id,
                    Application.created_at >= since.isoformat(),
                )
                .group_by(Application.service)
            ).all()
        )
        return {
            service: quota.lease_demand(int(recent.get(service, 0)), windows, self.policy.headroom)
            for service in leasable()
        }

    def _top_ups(
        self,
        session: Session,
        kiosk: KioskRef,
        candidates: list[date],
        now: datetime,
        today: date,
    ) -> tuple[list[tuple[Slot, int]], int]:
        """Slots where the kiosk should get more places with its demand there, judged without
        locks (the top-up counts again under the slot's lock), and the office's kiosks."""
        demand = self._demand(session, kiosk, today)
        kiosks = _kiosks_of(session, kiosk.office_code)
        mine = {
            (lease.service, lease.day, lease.window): lease.places - lease.used
            for lease in session.scalars(
                select(SlotLease).where(
                    SlotLease.kiosk_id == kiosk.kiosk_id,
                    SlotLease.day.in_(candidates),
                    SlotLease.expires_at > now,
                )
            )
        }
        wanted: list[tuple[Slot, int]] = []
        for service in leasable():
            daily = daily_quota(session, kiosk.office_code, service)
            taken = occupied(session, kiosk.office_code, service, candidates, now)
            for day in candidates:
                for window in quota.windows_on(day):
                    free = quota.window_capacity(daily, window) - taken.get((day, window), 0)
                    holding = mine.get((service, day, window), 0)
                    if quota.lease_top_up(demand[service], free, holding, kiosks) > 0:
                        wanted.append(((service, day, window), demand[service]))
        return wanted, kiosks

    def _top_up(
        self,
        session: Session,
        kiosk: KioskRef,
        slot: Slot,
        demand: int,
        kiosks: int,
        now: datetime,
    ) -> None:
        """Add places to the kiosk's lease of one slot, counted under the slot's lock."""
        service, day, window = slot
        office = kiosk.office_code
        numbering.lock_slot(session, office, service, day, window)
        capacity = quota.window_capacity(daily_quota(session, office, service), window)
        free = (
            capacity
            - booked(session, office, service, [day]).get((day, window), 0)
            - leased(session, office, service, [day], now).get((day, window), 0)
        )
        lease = session.scalar(
            select(SlotLease).where(
                SlotLease.kiosk_id == kiosk.kiosk_id,
                SlotLease.service == service,
                SlotLease.day == day,
                SlotLease.window == window,
            )
        )
        holding = lease.places - lease.used if lease is not None else 0
        add = quota.lease_top_up(demand, free, holding, kiosks)
        if add <= 0:
            return
        until, expires = self.times(day, now)
        if lease is None:
            lease = SlotLease(
                id=secrets.token_hex(8),
                kiosk_id=kiosk.kiosk_id,
                office_code=office,
                service=service,
                day=day,
                window=window,
                places=0,
                used=0,
                returned=0,
                granted_at=now,
            )
            session.add(lease)
        else:  # renewed already (_renew), or expired and renewed now: never moved back. An
            # expired lease keeps what it still holds (owed or in doubt): the kiosk counts its
            # bookings from it against it, also those still on their way.
            until, expires = max(utc(lease.book_until), until), max(utc(lease.expires_at), expires)
        lease.places += add
        lease.book_until, lease.expires_at = until, expires
        log.info(
            "lease %s: kiosk %s holds %d unused place(s) of %s %s %s",
            lease.id,
            kiosk.kiosk_id,
            lease.places - lease.used,
            service,
            day,
            window,
        )


def leasable() -> list[str]:
    """The services a kiosk can book (their form is built)."""
    return sorted(key for key, info in SERVICES.items() if info.available)


def _kiosks_of(session: Session, office: str) -> int:
    """How many kiosks an office has (the fair share's divisor)."""
    return int(session.scalar(select(func.count()).where(Kiosk.office_code == office)) or 0)


def totals(session: Session, now: datetime) -> dict[str, LeaseTotals]:
    """Each kiosk's leases held (lease_reports.live) summed (the fleet dashboard)."""
    rows = session.execute(
        select(SlotLease.kiosk_id, func.sum(SlotLease.places), func.sum(SlotLease.used))
        .where(live(now))
        .group_by(SlotLease.kiosk_id)
    )
    return {k: LeaseTotals(int(p or 0), int(u or 0)) for k, p, u in rows}


def of_kiosk(session: Session, kiosk_id: str, now: datetime) -> list[SlotLease]:
    """A kiosk's leases held, earliest slot first (the fleet dashboard's kiosk page)."""
    return list(
        session.scalars(
            select(SlotLease)
            .where(SlotLease.kiosk_id == kiosk_id, live(now))
            .order_by(SlotLease.day, SlotLease.window, SlotLease.service)
        )
    )


def build_router(leases: Leases, current_kiosk: KioskGuard) -> APIRouter:
    """POST /api/v1/leases and POST /api/v1/leases/return (kiosk token)."""
    router = APIRouter(tags=["slot leases"])
    KioskDep = Annotated[KioskRef, Depends(current_kiosk)]

    @router.post("/api/v1/leases", response_model=LeasesOut, responses=ERRORS)
    def grant(kiosk: KioskDep, body: LeasesIn | None = None) -> LeasesOut:
        """Grant or renew (top up) the kiosk's slot leases; calling again returns the set."""
        return leases.grant(kiosk, (body or LeasesIn()).days)

    @router.post("/api/v1/leases/return", response_model=LeasesOut, responses=ERRORS)
    def give_back(body: LeaseReturnsIn, kiosk: KioskDep) -> LeasesOut:
        """Give unused places back to the pool; answers what the kiosk still holds."""
        return leases.give_back(kiosk, body.returns)

    return router
