"""Alert history: every alert a kiosk raised and when it cleared, kept after it is gone.

The heartbeat writer compares each kiosk's codes with those of its previous heartbeat; when they
differ (or the kiosk is new) it reconciles them with the open rows of `kiosk_alerts` (a code newly
present opens a row, a code gone closes it). The migration opens rows for the codes kiosks already
had when the table arrived. "Offline too long" comes from the
gap itself: a heartbeat arriving after more than 15 minutes records the offline spell from
last_seen + 15 min until now; a kiosk silent right now shows an open spell at read time.

"Commands unacknowledged", raised by the server, is kept the same way, one spell per command:
a command handed out (`sent_at`) and acknowledged or answered more than
alerts.UNACKNOWLEDGED_AFTER later, or cancelled by a technician then, records its spell from
sent_at + 10 min until then (the heartbeat writer, fleet.pgbatch's `late`,
FleetService.record_result and .cancel); one still unacknowledged
shows an open spell at read time. Look-up budget spells and over-quota bookings are read from
their own records.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from central_server import card_holder_audit
from central_server.db import Database
from central_server.fleet import alerts
from central_server.fleet.access import Staff, StaffAccess
from central_server.fleet.models import FleetCommand, KioskAlert, KioskState
from central_server.fleet.service import unacknowledged, utc
from central_server.models import Application, Kiosk
from central_server.settings import WIB

OFFLINE = "offline_too_long"
OVER_QUOTA = "over_quota"
MAX_ROWS = 500
STATES = ("open", "cleared")


class AlertEventOut(BaseModel):
    """An alert in the history, as technicians see it."""

    kiosk_id: str
    office_code: str
    code: str
    text: str
    severity: str  # warning | critical
    raised_at: datetime
    cleared_at: datetime | None
    open: bool


# -- recording (called by the heartbeat writer, inside or after its transaction) -------------


@dataclass(frozen=True)
class Before:
    """A kiosk's state before this batch: last heartbeat time and its alert codes then."""

    seen: datetime
    codes: frozenset[str]


def last_seen(conn: Connection, kiosk_ids: Iterable[str]) -> dict[str, Before]:
    """Each kiosk's state before this batch (read before the upsert overwrites it)."""
    table = KioskState.__table__
    rows = conn.execute(
        select(table.c.kiosk_id, table.c.last_seen, table.c.problems).where(
            table.c.kiosk_id.in_(sorted(set(kiosk_ids)))
        )
    )
    return {
        kiosk_id: Before(utc(seen), frozenset(alerts.decode(codes)))
        for kiosk_id, seen, codes in rows
        if seen is not None
    }


def changed(
    problems: Mapping[str, Iterable[str]], before: Mapping[str, Before], now: datetime
) -> dict[str, set[str]]:
    """The kiosks whose history `record` must look at: codes changed, new, or back after a
    spell offline (none in the steady state, so no connection is needed to find that out)."""
    return {
        kiosk_id: set(codes)
        for kiosk_id, codes in problems.items()
        if kiosk_id not in before
        or before[kiosk_id].codes != set(codes)
        or now - before[kiosk_id].seen >= alerts.OFFLINE_ALERT_AFTER
    }


def record(
    conn: Connection,
    problems: Mapping[str, Iterable[str]],
    before: Mapping[str, Before],
    now: datetime,
) -> int:
    """Open and close history rows for these kiosks' current codes; return rows changed.

    Kiosks whose codes did not change since their last heartbeat are skipped (no read): the
    steady state costs nothing but the one read of `last_seen`."""
    table = KioskAlert.__table__
    current = changed(problems, before, now)
    if not current:
        return 0
    opened = conn.execute(
        select(table.c.id, table.c.kiosk_id, table.c.code).where(
            table.c.kiosk_id.in_(sorted(current)), table.c.cleared_at.is_(None)
        )
    ).all()
    still_open = {(kiosk_id, code) for _, kiosk_id, code in opened}
    to_close = [row_id for row_id, kiosk_id, code in opened if code not in current[kiosk_id]]
    rows = [
        {"kiosk_id": kiosk_id, "code": code, "raised_at": now, "cleared_at": None}
        for kiosk_id, codes in sorted(current.items())
        for code in sorted(codes)
        if (kiosk_id, code) not in still_open
    ]
    for kiosk_id in sorted(current):  # the offline spell that this heartbeat ends
        previous = before.get(kiosk_id)
        if previous is not None and now - previous.seen >= alerts.OFFLINE_ALERT_AFTER:
            rows.append(
                {
                    "kiosk_id": kiosk_id,
                    "code": OFFLINE,
                    "raised_at": previous.seen + alerts.OFFLINE_ALERT_AFTER,
                    "cleared_at": now,
                }
            )
    if to_close:
        conn.execute(update(KioskAlert).where(table.c.id.in_(to_close)).values(cleared_at=now))
    if rows:
        conn.execute(insert(KioskAlert), rows)
    return len(to_close) + len(rows)


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilters:
    """Which alerts to list (all optional)."""

    kiosk_id: str | None = None
    office: str | None = None
    code: str | None = None
    state: str | None = None  # open | cleared


class AlertHistory:
    """Reads the alert history of the fleet or of one kiosk, newest first."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def events(
        self, filters: HistoryFilters = HistoryFilters(), limit: int = MAX_ROWS
    ) -> list[AlertEventOut]:
        """Alerts matching the filters, newest first (open offline spells included)."""
        now = self.clock()
        query = select(KioskAlert, Kiosk.office_code).join(
            Kiosk, Kiosk.kiosk_id == KioskAlert.kiosk_id
        )
        if filters.kiosk_id:
            query = query.where(KioskAlert.kiosk_id == filters.kiosk_id)
        if filters.office:
            query = query.where(Kiosk.office_code == filters.office)
        if filters.code:
            query = query.where(KioskAlert.code == filters.code)
        if filters.state == "open":
            query = query.where(KioskAlert.cleared_at.is_(None))
        elif filters.state == "cleared":
            query = query.where(KioskAlert.cleared_at.is_not(None))
        query = query.order_by(KioskAlert.raised_at.desc(), KioskAlert.id.desc()).limit(limit)
        with self.db.transaction() as session:
            found = [
                _event(row.kiosk_id, office, row.code, utc(row.raised_at), utc(row.cleared_at))
                for row, office in session.execute(query)
            ]
            if filters.state != "cleared" and filters.code in (None, OFFLINE):
                found += self._silent(session, filters, now)
            if filters.state != "cleared" and filters.code in (None, alerts.UNACKNOWLEDGED):
                found += _unacknowledged_now(session, filters, now)
            if filters.code in (None, OVER_QUOTA):
                found += [
                    e for e in _over_quota_events(session, filters, now) if _state_ok(e, filters)
                ]
            if filters.code in (None, card_holder_audit.ALERT_CODE):
                found += [e for e in _budget_events(session, filters, now) if _state_ok(e, filters)]
        found.sort(key=lambda e: e.raised_at, reverse=True)
        return found[:limit]

    @staticmethod
    def _silent(session: Any, filters: HistoryFilters, now: datetime) -> list[AlertEventOut]:
        """Kiosks offline too long right now: an open spell since last_seen + 15 min."""
        cutoff = now - alerts.OFFLINE_ALERT_AFTER
        query = (
            select(KioskState.kiosk_id, Kiosk.office_code, KioskState.last_seen)
            .join(Kiosk, Kiosk.kiosk_id == KioskState.kiosk_id)
            .where(KioskState.last_seen < cutoff)
        )
        if filters.kiosk_id:
            query = query.where(KioskState.kiosk_id == filters.kiosk_id)
        if filters.office:
            query = query.where(Kiosk.office_code == filters.office)
        return [
            _event(kiosk_id, office, OFFLINE, utc(seen) + alerts.OFFLINE_ALERT_AFTER, None)
            for kiosk_id, office, seen in session.execute(query.limit(MAX_ROWS))
        ]


def _unacknowledged_now(
    session: Any, filters: HistoryFilters, now: datetime
) -> list[AlertEventOut]:
    """Commands unacknowledged right now (as the fleet overview finds them): an open spell
    since sent_at + 10 min."""
    query = (
        select(FleetCommand.kiosk_id, Kiosk.office_code, FleetCommand.sent_at)
        .join(Kiosk, Kiosk.kiosk_id == FleetCommand.kiosk_id)
        .where(unacknowledged(now))
    )
    if filters.kiosk_id:
        query = query.where(FleetCommand.kiosk_id == filters.kiosk_id)
    if filters.office:
        query = query.where(Kiosk.office_code == filters.office)
    query = query.order_by(FleetCommand.sent_at.desc()).limit(MAX_ROWS)
    return [
        _event(
            kiosk_id, office, alerts.UNACKNOWLEDGED, utc(sent) + alerts.UNACKNOWLEDGED_AFTER, None
        )
        for kiosk_id, office, sent in session.execute(query)
    ]


def _state_ok(event: AlertEventOut, filters: HistoryFilters) -> bool:
    return filters.state is None or (filters.state == "open") == event.open


def _over_quota_events(session: Any, filters: HistoryFilters, now: datetime) -> list[AlertEventOut]:
    """Offline bookings honoured over their slot's quota (admission flags them): an alert
    from their arrival until their verification day is over."""
    query = (
        select(
            Application.kiosk_id, Kiosk.office_code, Application.created_at, Application.slot_date
        )
        .join(Kiosk, Kiosk.kiosk_id == Application.kiosk_id)
        .where(Application.over_quota.is_(True))
    )
    if filters.kiosk_id:
        query = query.where(Application.kiosk_id == filters.kiosk_id)
    if filters.office:
        query = query.where(Kiosk.office_code == filters.office)
    found = []
    for kiosk_id, office, created, day in session.execute(query.limit(MAX_ROWS)):
        over = datetime.combine(day + timedelta(days=1), time(0), WIB)
        found.append(
            _event(
                kiosk_id, office, OVER_QUOTA, datetime.fromisoformat(created),
                over if over <= now else None,
            )
        )  # fmt: skip
    return found


def _budget_events(session: Any, filters: HistoryFilters, now: datetime) -> list[AlertEventOut]:
    """Spells of card-holder look-ups refused for the kiosk's budget (card_holder_audit)."""
    offices = dict(session.execute(select(Kiosk.kiosk_id, Kiosk.office_code)).all())
    return [
        _event(kiosk_id, offices.get(kiosk_id, ""), card_holder_audit.ALERT_CODE, raised, cleared)
        for kiosk_id, raised, cleared in card_holder_audit.spells(
            session, filters.kiosk_id, now, MAX_ROWS
        )
        if not filters.office or offices.get(kiosk_id) == filters.office
    ]


def _event(kiosk_id: str, office: str, code: str, raised: Any, cleared: Any) -> AlertEventOut:
    level, text = alerts.ALERTS.get(code, (alerts.WARNING, code))
    return AlertEventOut(
        kiosk_id=kiosk_id,
        office_code=office,
        code=code,
        text=text,
        severity="critical" if level == alerts.CRITICAL else "warning",
        raised_at=raised,
        cleared_at=cleared,
        open=cleared is None,
    )


# -- HTTP ------------------------------------------------------------------------------------

Code = Annotated[str | None, Query(pattern=f"^({'|'.join(alerts.PROBLEM_CODES)})$")]
State = Annotated[str | None, Query(pattern=f"^({'|'.join(STATES)})$")]
OfficeQ = Annotated[str | None, Query(pattern=r"^\d{4}$")]
KioskQ = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=MAX_ROWS)]


def build_router(
    history: AlertHistory, access: StaffAccess, templates: Jinja2Templates
) -> APIRouter:
    """GET /api/v1/fleet/alerts (JSON, technicians) and /fleet/alerts (the dashboard page)."""
    router = APIRouter()
    ApiStaff = Annotated[Staff, Depends(access.api)]
    PageStaff = Annotated[Staff, Depends(access.page)]

    @router.get("/api/v1/fleet/alerts", response_model=list[AlertEventOut], tags=["fleet"])
    def alert_history(
        _staff: ApiStaff,
        kiosk_id: KioskQ = None,
        office: OfficeQ = None,
        code: Code = None,
        state: State = None,
        limit: Limit = MAX_ROWS,
    ) -> list[AlertEventOut]:
        """Alerts raised and cleared, newest first, filterable by kiosk, office, code, state."""
        return history.events(HistoryFilters(kiosk_id, office, code, state), limit)

    @router.get("/fleet/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alert_page(
        request: Request,
        staff: PageStaff,
        kiosk_id: str | None = None,
        office: str | None = None,
        code: str | None = None,
        state: str | None = None,
    ) -> Response:
        """The alert history page with its filters (bad filter values are ignored)."""
        selected = {
            "kiosk_id": kiosk_id if kiosk_id and len(kiosk_id) <= 64 else None,
            "office": office if office and office.isdigit() and len(office) == 4 else None,
            "code": code if code in alerts.PROBLEM_CODES else None,
            "state": state if state in STATES else None,
        }
        events = history.events(HistoryFilters(**selected))
        return templates.TemplateResponse(
            request,
            "alerts.html",
            {
                "staff": staff,
                "events": events,
                "selected": selected,
                "problems": alerts.ALERTS,
                "states": STATES,
                "now": history.clock(),
            },
        )

    return router
