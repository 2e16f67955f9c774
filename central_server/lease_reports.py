"""What happens to a slot lease after its booking time: the kiosk's usage reports, the
reclaim at expiry, places in doubt, a technician's release, and the background sweep.

A kiosk books from a lease until `book_until`; its bookings reach the server through its outbox,
perhaps long after. Each heartbeat carries, per lease it holds, the places it has used so far
(`record`). At `expires_at` the unused places go back to the pool only for leases whose kiosk
reported after their `book_until`: that count is final, no booking can come from the lease any
more, so the lease keeps exactly the places already used (admitted or still on their way) and
gives back the rest. A heartbeat names every lease its kiosk holds, so a report after a
lease's `book_until` that does not name it is final too: the grant's answer never reached the
kiosk, nothing was booked from it. A lease whose kiosk has been silent since before
`book_until` keeps its unused places "in doubt": they still count as taken (`held`) until the
kiosk reports, a technician releases them (`release`, the fleet dashboard) or the slot's day
begins. So for every slot, places leased and not used plus places booked never exceed the
quota.

A booking that still arrives for a released place someone else took meanwhile is honoured (the
citizen holds a signed receipt) and flagged `over_quota` for officers and the fleet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from central_server.db import Database
from central_server.models import SlotLease
from central_server.settings import WIB

log = logging.getLogger("central_server.leases")
audit = logging.getLogger("central_server.audit")

SWEEP_S = 60.0  # how often the background sweep writes expired leases down


def utc(value: datetime) -> datetime:
    """`value` in UTC (SQLite gives naive datetimes back: they were stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day_begun(now: datetime) -> date:
    """The last slot day that has begun at `now` (WIB): its leases no longer matter."""
    return utc(now).astimezone(WIB).date()


def _reported_final() -> ColumnElement[bool]:
    """The kiosk reported after the lease's booking time: its count is final."""
    return and_(
        SlotLease.reported_used.is_not(None),
        SlotLease.reported_at.is_not(None),
        SlotLease.reported_at > SlotLease.book_until,
    )


def _owed() -> ColumnElement[int]:
    """Of a finally reported lease, the places it must keep: those the kiosk used (at least the
    ones admitted, at most the places it held)."""
    reported = case(
        (SlotLease.reported_used > SlotLease.places, SlotLease.places),
        else_=SlotLease.reported_used,
    )
    return case((reported > SlotLease.used, reported), else_=SlotLease.used)


def held(now: datetime) -> ColumnElement[int]:
    """The places of a lease that count as taken at `now` (with `counted`): all unused ones
    until expiry; after it, those still owed to a kiosk that reported, or all unused ones in
    doubt (never reported after its booking time, not released)."""
    now = utc(now)
    return case(
        (SlotLease.expires_at > now, SlotLease.places - SlotLease.used),
        (_reported_final(), _owed() - SlotLease.used),
        else_=SlotLease.places - SlotLease.used,
    )


def counted(now: datetime) -> ColumnElement[bool]:
    """Leases whose places can still count (their slot's day has not begun at `now`)."""
    return SlotLease.day > day_begun(now)


def in_doubt(now: datetime) -> ColumnElement[bool]:
    """Expired leases with unused places whose kiosk has not reported since their booking
    time (and whose day has not begun)."""
    return and_(
        SlotLease.expires_at <= utc(now),
        SlotLease.places > SlotLease.used,
        counted(now),
        or_(SlotLease.reported_at.is_(None), SlotLease.reported_at <= SlotLease.book_until),
    )


def reclaim(session: Session, now: datetime, office: str | None = None) -> int:
    """Write down that the unused places of leases expired at `now` and finally reported went
    back to the pool (they stopped counting at expiry already), and those in doubt whose day
    has begun; places in doubt of later days stay. Returns how many leases gave places back."""
    now = utc(now)
    final = and_(_reported_final(), SlotLease.places > _owed())
    begun_in_doubt = and_(
        SlotLease.day <= day_begun(now), SlotLease.places > SlotLease.used, ~_reported_final()
    )
    # The lock order (central_server.leases): every row first, in id order; no slot lock.
    locking = select(SlotLease.id).where(SlotLease.expires_at <= now, or_(final, begun_in_doubt))
    if office is not None:
        locking = locking.where(SlotLease.office_code == office)
    ids = list(session.scalars(locking.order_by(SlotLease.id).with_for_update(key_share=True)))
    if not ids:
        return 0
    query = update(SlotLease).where(SlotLease.id.in_(ids), SlotLease.expires_at <= now, final)
    done = session.execute(
        query.values(
            returned=SlotLease.returned + SlotLease.places - _owed(), places=_owed()
        ).execution_options(synchronize_session=False)
    )
    count = int(getattr(done, "rowcount", 0) or 0)
    # In doubt until their day began: they no longer count (`counted`); written down too.
    begun = update(SlotLease).where(
        SlotLease.id.in_(ids), SlotLease.expires_at <= now, begun_in_doubt
    )
    done = session.execute(
        begun.values(
            returned=SlotLease.returned + SlotLease.places - SlotLease.used,
            places=SlotLease.used,
        ).execution_options(synchronize_session=False)
    )
    count += int(getattr(done, "rowcount", 0) or 0)
    if count:
        log.info("reclaimed the unused places of %d expired lease(s)", count)
    return count


def doubtful(session: Session, kiosk_id: str, now: datetime) -> list[SlotLease]:
    """A kiosk's leases in doubt at `now`, earliest slot first (the fleet dashboard)."""
    return list(
        session.scalars(
            select(SlotLease)
            .where(SlotLease.kiosk_id == kiosk_id, in_doubt(now))
            .order_by(SlotLease.day, SlotLease.window, SlotLease.service)
        )
    )


def release(session: Session, kiosk_id: str, now: datetime, actor: str) -> int:
    """A technician gives the places in doubt of a kiosk's expired leases back to the pool
    (the kiosk is gone or will not report); returns how many places. Audit-logged. A booking
    that still arrives from them is honoured and, when the place was taken, flagged."""
    now = utc(now)
    places = 0
    locked = (  # the lock order (central_server.leases): by id, no slot lock
        select(SlotLease)
        .where(SlotLease.kiosk_id == kiosk_id, in_doubt(now))
        .order_by(SlotLease.id)
        .with_for_update(key_share=True)
    )
    for lease in session.scalars(locked):
        spare = lease.places - lease.used
        lease.returned += spare
        lease.places = lease.used
        lease.released_by, lease.released_at = actor[:64], now
        places += spare
        audit.warning(
            "technician %s released %d place(s) in doubt of lease %s (kiosk %s, %s %s %s)",
            actor,
            spare,
            lease.id,
            kiosk_id,
            lease.service,
            lease.day,
            lease.window,
        )
    return places


_REPORT = (
    update(SlotLease)
    .where(
        SlotLease.id == bindparam("lid"),
        SlotLease.kiosk_id == bindparam("kid"),
        # Only what changes something: a higher count, or the first report after the booking
        # time (the one that makes the count final); the steady state writes nothing.
        or_(
            SlotLease.reported_used.is_(None),
            SlotLease.reported_used < bindparam("n"),
            and_(
                SlotLease.reported_at <= SlotLease.book_until,
                SlotLease.book_until < bindparam("at", type_=SlotLease.reported_at.type),
            ),
        ),
    )
    # Places booked from a lease only grow: a lower count is an old heartbeat replayed late or
    # a kiosk lying after its final report, and would free places a booking on its way holds.
    .values(
        reported_used=case(
            (SlotLease.reported_used > bindparam("n"), SlotLease.reported_used),
            else_=bindparam("n"),
        ),
        reported_at=bindparam("at"),
    )
)


# A kiosk's heartbeat names every lease it holds (kiosk_app LeaseStore.usage_report), and the
# kiosk keeps each lease the server lists until the server stops listing it (`live`): a report
# after a lease's booking time that does not name it proves the kiosk never had it (the grant's
# answer never arrived), so none was booked from it. Its count becomes final: 0, or the last
# count the kiosk gave if it ever named it (its lease file lost since: the safer count). Runs
# after _REPORT, which makes every named lease past its booking time final first, so exactly
# the unnamed ones are left; the first final report is the only write (then never again).
def _unnamed(at: object, begun: object) -> ColumnElement[bool]:
    """Leases past their booking time at `at` with no final report yet, whose day has not
    begun (`begun`) and with places unused (values or bound parameters)."""
    return and_(
        SlotLease.book_until < at,
        or_(SlotLease.reported_at.is_(None), SlotLease.reported_at <= SlotLease.book_until),
        SlotLease.day > begun,
        SlotLease.places > SlotLease.used,
    )


_UNNAMED = (
    update(SlotLease)
    .where(
        SlotLease.id == bindparam("lid"),
        _unnamed(
            bindparam("at", type_=SlotLease.reported_at.type),
            bindparam("begun", type_=SlotLease.day.type),
        ),
    )
    .values(reported_used=func.coalesce(SlotLease.reported_used, 0), reported_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)


def record(conn: Connection, reports: Mapping[str, Mapping[str, int]], now: datetime) -> None:
    """Store the lease usage kiosks reported at `now` (kiosk id -> lease id -> places used,
    every lease the kiosk holds; an empty mapping: it holds none); leases of other kiosks or
    unknown ones are ignored. A kiosk's lease past its booking time that its report does not
    name was never received by it: reported unused, final (`_UNNAMED`). Each statement
    updates one lease, in lease id order whichever kiosks they belong to (the lock order,
    central_server.leases)."""
    at = utc(now)
    rows = sorted(
        (
            {"lid": lease_id, "kid": kiosk_id, "n": int(used), "at": at}
            for kiosk_id, usage in reports.items()
            for lease_id, used in usage.items()
        ),
        key=lambda row: (row["lid"], row["kid"]),
    )
    if rows:
        conn.execute(_REPORT, rows)
    if reports:
        begun = day_begun(at)
        unnamed = conn.scalars(  # read without a lock; _UNNAMED checks each again
            select(SlotLease.id)
            .where(SlotLease.kiosk_id.in_(sorted(reports)), _unnamed(at, begun))
            .order_by(SlotLease.id)
        ).all()
        if unnamed:
            conn.execute(_UNNAMED, [{"lid": lid, "at": at, "begun": begun} for lid in unnamed])


def live(now: datetime) -> ColumnElement[bool]:
    """Leases a kiosk still holds at `now`: unexpired, or expired with places still counted
    (in doubt, or owed to bookings on their way). The kiosk keeps them, with its bookings
    from them, and reports them until they settle."""
    return or_(SlotLease.expires_at > utc(now), and_(counted(now), held(now) > 0))


class LeaseSweep:
    """Writes expired leases down in the background (`reclaim`), with no kiosk calling: in the
    app server when it runs its background loops (development), else in the worker
    (`anjungan central --worker`, once per deployment)."""

    def __init__(
        self, db: Database, clock: Callable[[], datetime], poll_s: float = SWEEP_S
    ) -> None:
        self.db, self.clock, self.poll_s = db, clock, poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One sweep: how many leases gave places back."""
        with self.db.transaction() as session:
            return reclaim(session, self.clock())

    def start(self) -> None:
        """Sweep every `poll_s` in a background thread until stop()."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="lease-sweep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database outage: try again on the next pass
                log.exception("lease sweep failed; retrying")
            self._stop.wait(self.poll_s)
