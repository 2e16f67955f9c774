"""The verification day's queue: check-in, counters calling in order of arrival, the display's
state and today's waiting times. Every function works inside the caller's transaction.

Order at a counter: citizens transferred to it first, then the priority lane (lansia,
disabilitas, ibu hamil), then first come first served among the services it handles. On
PostgreSQL the next citizen is taken with SELECT ... FOR UPDATE SKIP LOCKED, so two officers
pressing "Panggil berikutnya" together never get the same one; SQLite transactions are serial.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from central_server import lifecycle, numbering, seals
from central_server.lifecycle import Notify, State, TransitionRefused
from central_server.models import Application
from central_server.queue.models import QueueCounter, QueueEvent
from central_server.review_models import Arrival
from central_server.settings import WIB, now_wib
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.terbilang import call_sentence
from kiosk_app.services import receipt_seal

log = logging.getLogger("central_server.queue")

CHANNEL = "anjungan_queue"  # PostgreSQL NOTIFY channel; the payload is the office code
PRIORITY_REASONS: dict[str, str] = {
    "lansia": "Lansia",
    "disabilitas": "Penyandang disabilitas",
    "ibu_hamil": "Ibu hamil",
}
# Dafduk (population registration) and Capil (civil records) work at different counters.
COUNTER_GROUPS: dict[str, str] = {
    "akta_kelahiran": "Pencatatan Sipil",
    "akta_kematian": "Pencatatan Sipil",
}
DEFAULT_COUNTER_GROUP = "Pendaftaran Penduduk"
CHECKIN_OPENS_BEFORE = timedelta(minutes=60)  # before the window starts
DEFAULT_SERVICE_MINUTES = 10  # until today's first finished verification gives an average
NO_SHOW_AFTER_CALLS = 3
NEXT_SHOWN = 8  # numbers the display lists as next
WAITING, CALLED, NO_SHOW, DONE = "waiting", "called", "no_show", "done"


class QueueRefused(TransitionRefused):
    """A refused check-in or counter action, with the details the kiosk shows (date, window)."""

    def __init__(
        self, code: str, message: str, *, status: int = 409, extra: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, message, status)
        self.extra = extra or {}


@dataclass(frozen=True)
class Lookup:
    """How the citizen identified the booking: exactly one of these is set."""

    seal: str | None = None
    registration_number: str | None = None
    nik: str | None = None


def service_name(service: str) -> str:
    """The service's Indonesian title."""
    info = SERVICES.get(service)
    return info.title("id") if info is not None else service


def counter_group(service: str) -> str:
    """Which group of counters handles a service."""
    return COUNTER_GROUPS.get(service, DEFAULT_COUNTER_GROUP)


def _window_bounds(day: date, window: str) -> tuple[datetime, datetime]:
    start_text, _, end_text = window.partition("-")

    def at(hhmm: str) -> datetime:
        hours, _, minutes = hhmm.partition(".")
        return datetime.combine(day, time(int(hours), int(minutes or 0)), WIB)

    return at(start_text), at(end_text)


def _slot_extra(app: Application) -> dict[str, str]:
    return {"date": app.slot_date.isoformat(), "window": app.slot_window}


def find_application(
    session: Session, office_code: str, lookup: Lookup, today: date
) -> Application:
    """The booking a kiosk's check-in names (404 not_found when there is none). A scanned QR
    is a signed seal (issue 16: the kiosk's key must have signed it, 409 bad_seal otherwise)
    or, on older tickets, the bare registration number."""
    if lookup.nik is not None:
        return _booking_of_holder(session, office_code, lookup.nik.strip(), today)
    number = lookup.registration_number
    if lookup.seal is not None:
        sealed = receipt_seal.parse_qr(lookup.seal)
        if sealed is None:
            number = lookup.seal
        else:
            found = seals.find(session, sealed)
            if not found.valid:
                raise QueueRefused(
                    "bad_seal", f"the ticket's seal does not verify ({found.status})"
                )
            if found.application is None:  # booked offline, the kiosk has not sent it yet
                raise QueueRefused("not_found", "the sealed booking has not arrived", status=404)
            return found.application
    number = (number or "").strip()
    if not numbering.REGISTRATION_NUMBER_RE.match(number):  # also keeps NUL bytes from the SQL
        raise QueueRefused("not_found", "unknown registration number", status=404)
    app = session.scalar(select(Application).where(Application.registration_number == number))
    if app is None:
        raise QueueRefused("not_found", "unknown registration number", status=404)
    return app


def _booking_of_holder(session: Session, office_code: str, nik: str, today: date) -> Application:
    """The card holder's booking at this office: today's (one not yet served first), else the
    nearest other one so the kiosk can say which day it is on."""
    rows = list(
        session.scalars(
            select(Application)
            .where(
                Application.applicant_nik == nik,
                Application.office_code == office_code,
                Application.status != State.rejected.value,
            )
            .order_by(Application.slot_date, Application.slot_window, Application.id)
        )
    )
    if not rows:
        raise QueueRefused(
            "not_found", f"no booking for NIK {mask_nik(nik)} at this office", status=404
        )
    todays = [a for a in rows if a.slot_date == today]
    open_today = [a for a in todays if a.status == State.approved.value]
    if open_today:
        return open_today[0]
    if todays:
        return todays[0]
    upcoming = [a for a in rows if a.slot_date > today]
    return (upcoming or rows)[0]


def check_in(
    session: Session, office_code: str, lookup: Lookup, now: datetime, actor: str
) -> dict[str, Any]:
    """Check a citizen in at a kiosk of `office_code` at `now` (WIB) and answer their calling
    ticket; a second check-in answers the same ticket (repeat)."""
    now = now.astimezone(WIB)  # the windows are in WIB
    today = now.date()
    app = find_application(session, office_code, lookup, today)
    extra = _slot_extra(app)
    if app.office_code != office_code:
        raise QueueRefused(
            "other_office",
            "the booking is at another office",
            extra={**extra, "office_code": app.office_code},
        )
    if app.status == State.rejected.value:
        raise QueueRefused("rejected", "the application was rejected", extra=extra)
    if app.status in (State.submitted.value, State.under_review.value, State.needs_fixing.value):
        raise QueueRefused(
            "not_ready", f"the application is not approved yet ({app.status})", extra=extra
        )
    # The application's row lock makes a double scan of one ticket on two kiosks one arrival.
    session.execute(select(Application.id).where(Application.id == app.id).with_for_update())
    arrival = session.get(Arrival, app.id)
    if app.status != State.approved.value or (arrival is not None and arrival.state == DONE):
        raise QueueRefused("already_served", "verification is already done", extra=extra)
    if arrival is not None:
        return ticket(session, app, arrival, repeat=True)
    if app.slot_date != today:
        raise QueueRefused("other_day", f"the booking is on {app.slot_date}", extra=extra)
    start, end = _window_bounds(app.slot_date, app.slot_window)
    opens = start - CHECKIN_OPENS_BEFORE
    if now < opens:
        raise QueueRefused(
            "too_early",
            f"check-in opens at {opens:%H.%M}",
            extra={**extra, "come_back_at": f"{opens:%H.%M}"},
        )
    if now >= end:
        raise QueueRefused("too_late", f"the window {app.slot_window} is over", extra=extra)
    arrival = lifecycle.check_in(session, app, actor, today)
    session.flush()
    record(session, app.office_code, today, "checkin", app.queue_number, actor, app.id)
    return ticket(session, app, arrival, repeat=False)


def ticket(session: Session, app: Application, arrival: Arrival, *, repeat: bool) -> dict[str, Any]:
    """The calling ticket's content (check-in answer)."""
    ahead = people_ahead(session, arrival)
    return {
        "calling_number": app.queue_number,
        "registration_number": app.registration_number,
        "service": app.service,
        "service_name": service_name(app.service),
        "counter_group": counter_group(app.service),
        "people_ahead": ahead,
        "estimated_wait_minutes": estimated_wait(session, arrival, ahead),
        "window": app.slot_window,
        "date": app.slot_date.isoformat(),
        "repeat": repeat,
        "priority": arrival.priority,
    }


def _waiting_for_service(session: Session, office_code: str, day: date, service: str) -> Any:
    return select(Arrival).where(
        Arrival.office_code == office_code,
        Arrival.day == day,
        Arrival.state == WAITING,
        Arrival.service == service,
    )


def people_ahead(session: Session, arrival: Arrival) -> int:
    """Citizens of the same service waiting before `arrival` (priority lane first)."""
    if arrival.state != WAITING:
        return 0
    rows = session.scalars(
        _waiting_for_service(session, arrival.office_code, arrival.day, arrival.service)
    )
    key = _order_key(arrival)
    return sum(1 for other in rows if _order_key(other) < key)


def _order_key(arrival: Arrival) -> tuple[int, int]:
    return (0 if arrival.priority else 1, arrival.sequence)


def estimated_wait(session: Session, arrival: Arrival, ahead: int) -> int:
    """Minutes: people ahead x today's average service time / the counters open for it."""
    minutes = _average_minutes(
        session, arrival.office_code, arrival.day, arrival.service, "service"
    )
    counters = sum(
        1 for c in open_counters(session, arrival.office_code) if arrival.service in c.service_list
    )
    return int(round(ahead * (minutes or DEFAULT_SERVICE_MINUTES) / max(1, counters)))


def _minutes_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


def _average_minutes(
    session: Session, office_code: str, day: date, service: str, what: str
) -> float | None:
    """Today's average waiting ("wait": arrival to first call) or service ("service": call to
    finish) minutes of a service, None before any."""
    rows = session.execute(
        select(Arrival.arrived_at, Arrival.called_at, Arrival.finished_at).where(
            Arrival.office_code == office_code, Arrival.day == day, Arrival.service == service
        )
    ).all()
    spans = [
        _minutes_between(arrived, called) if what == "wait" else _minutes_between(called, done)
        for arrived, called, done in rows
    ]
    known = [s for s in spans if s is not None]
    return sum(known) / len(known) if known else None


def record(
    session: Session,
    office_code: str,
    day: date,
    kind: str,
    calling_number: str,
    actor: str,
    application_id: int | None = None,
    counter_number: int | None = None,
    note: str = "",
) -> QueueEvent:
    """Log one queue step and wake the displays (NOTIFY is delivered when the transaction
    commits; on SQLite the caller wakes the in-process hub after the commit)."""
    event = QueueEvent(
        office_code=office_code,
        day=day,
        kind=kind,
        application_id=application_id,
        calling_number=calling_number,
        counter_number=counter_number,
        actor=actor,
        note=note[:200],
        at=now_wib(),
    )
    session.add(event)
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": office_code})
    log.info(
        "queue %s: %s %s%s by %s",
        office_code,
        kind,
        calling_number,
        f" at loket {counter_number}" if counter_number is not None else "",
        actor,
    )
    return event


# --- counters ------------------------------------------------------------------------------


def open_counters(session: Session, office_code: str) -> list[QueueCounter]:
    """The office's open counters by number."""
    return list(
        session.scalars(
            select(QueueCounter)
            .where(QueueCounter.office_code == office_code, QueueCounter.is_open.is_(True))
            .order_by(QueueCounter.number)
        )
    )


def open_counter(
    session: Session, office_code: str, number: int, services: list[str], officer: str
) -> QueueCounter:
    """Open (or re-open) counter `number` for `services`, worked by `officer`."""
    chosen = [s for s in services if s in SERVICES]
    if not chosen:
        raise QueueRefused("bad_input", "choose at least one service for the counter", status=422)
    if not 1 <= number <= 99:
        raise QueueRefused("bad_input", "counter numbers are 1-99", status=422)
    counter = session.scalar(
        select(QueueCounter).where(
            QueueCounter.office_code == office_code, QueueCounter.number == number
        )
    )
    if counter is None:
        counter = QueueCounter(office_code=office_code, number=number)
        session.add(counter)
    counter.services, counter.officer, counter.is_open = ",".join(chosen), officer, True
    counter.opened_at = now_wib()
    session.flush()
    return counter


def get_counter(session: Session, office_code: str, number: int) -> QueueCounter:
    """An open counter of the office (404 when it is not open)."""
    counter = session.scalar(
        select(QueueCounter).where(
            QueueCounter.office_code == office_code,
            QueueCounter.number == number,
            QueueCounter.is_open.is_(True),
        )
    )
    if counter is None:
        raise QueueRefused("not_found", f"counter {number} is not open", status=404)
    return counter


def serving(session: Session, counter: QueueCounter) -> tuple[Arrival, Application] | None:
    """Who the counter has called and is serving now."""
    row = session.execute(
        select(Arrival, Application)
        .join(Application, Application.id == Arrival.application_id)
        .where(Arrival.counter_id == counter.id, Arrival.state == CALLED)
        .with_for_update(of=Arrival)
    ).first()
    return None if row is None else (row[0], row[1])


def close_counter(session: Session, counter: QueueCounter, actor: str, day: date) -> None:
    """Close a counter; whoever it was serving goes back to the queue at their place."""
    current = serving(session, counter)
    if current is not None:
        arrival, _app = current
        arrival.state, arrival.counter_id = WAITING, None
    counter.is_open = False
    record(session, counter.office_code, day, "close", "", actor, counter_number=counter.number)


def call_next(session: Session, counter: QueueCounter, actor: str, day: date) -> Application | None:
    """Call the next citizen to `counter` (None when nobody waits for it)."""
    if serving(session, counter) is not None:
        raise QueueRefused(
            "counter_busy", "finish, transfer or set aside the citizen being served first"
        )
    mine = Arrival.counter_id == counter.id
    query = (
        select(Arrival)
        .where(
            Arrival.office_code == counter.office_code,
            Arrival.day == day,
            Arrival.state == WAITING,
            mine | (Arrival.counter_id.is_(None) & Arrival.service.in_(counter.service_list)),
        )
        .order_by(
            case((mine, 0), else_=1),
            case((Arrival.priority != "", 0), else_=1),
            Arrival.sequence,
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    arrival = session.scalar(query)
    if arrival is None:
        return None
    app = session.get_one(Application, arrival.application_id)
    arrival.state, arrival.counter_id, arrival.calls = CALLED, counter.id, 1
    arrival.called_at = arrival.called_at or now_wib()
    record(
        session, counter.office_code, day, "call", app.queue_number, actor, app.id, counter.number
    )
    return app


def _current(session: Session, counter: QueueCounter) -> tuple[Arrival, Application]:
    current = serving(session, counter)
    if current is None:
        raise QueueRefused("nobody_called", f"counter {counter.number} is serving nobody")
    return current


def recall(session: Session, counter: QueueCounter, actor: str, day: date) -> Application:
    """Call the citizen being served once more."""
    arrival, app = _current(session, counter)
    arrival.calls += 1
    record(
        session, counter.office_code, day, "recall", app.queue_number, actor, app.id,
        counter.number, note=f"panggilan ke-{arrival.calls}",
    )  # fmt: skip
    return app


def no_show(session: Session, counter: QueueCounter, actor: str, day: date) -> Application:
    """Set aside a citizen who did not come after three calls (restorable)."""
    arrival, app = _current(session, counter)
    if arrival.calls < NO_SHOW_AFTER_CALLS:
        raise QueueRefused(
            "not_enough_calls",
            f"call {NO_SHOW_AFTER_CALLS} times before setting aside ({arrival.calls} so far)",
        )
    arrival.state, arrival.counter_id = NO_SHOW, None
    record(
        session,
        counter.office_code,
        day,
        "no_show",
        app.queue_number,
        actor,
        app.id,
        counter.number,
    )
    return app


def restore(
    session: Session, office_code: str, calling_number: str, actor: str, day: date
) -> Application:
    """A no-show came after all: back into the queue at their arrival place."""
    if not numbering.QUEUE_NUMBER_RE.match(calling_number):
        raise QueueRefused("not_found", "not a calling number", status=404)
    row = session.execute(
        select(Arrival, Application)
        .join(Application, Application.id == Arrival.application_id)
        .where(
            Arrival.office_code == office_code,
            Arrival.day == day,
            Arrival.state == NO_SHOW,
            Application.queue_number == calling_number,
        )
        .with_for_update(of=Arrival)
    ).first()
    if row is None:
        raise QueueRefused("not_found", f"{calling_number} is not set aside today", status=404)
    arrival, app = row
    arrival.state, arrival.calls = WAITING, 0
    record(session, office_code, day, "restore", app.queue_number, actor, app.id)
    return app


def transfer(
    session: Session, counter: QueueCounter, target_number: int, actor: str, day: date
) -> Application:
    """Send the citizen being served to another open counter, where they are called first."""
    target = get_counter(session, counter.office_code, target_number)
    if target.id == counter.id:
        raise QueueRefused("bad_input", "transfer to another counter", status=422)
    arrival, app = _current(session, counter)
    arrival.state, arrival.counter_id, arrival.calls = WAITING, target.id, 0
    record(
        session, counter.office_code, day, "transfer", app.queue_number, actor, app.id,
        counter.number, note=f"ke loket {target.number}",
    )  # fmt: skip
    return app


def finish(
    session: Session, counter: QueueCounter, actor: str, day: date, *, notify: Notify | None
) -> Application:
    """Verification done at the counter: the application moves on (approved -> verified)."""
    arrival, app = _current(session, counter)
    arrival.state, arrival.finished_at = DONE, now_wib()
    if app.status == State.approved.value:
        lifecycle.transition(
            session, app, "verify", actor, f"loket {counter.number}", notify=notify
        )
    record(
        session, counter.office_code, day, "finish", app.queue_number, actor, app.id, counter.number
    )
    return app


def grant_priority(
    session: Session, app: Application, reason: str, actor: str, day: date
) -> Arrival:
    """Put a checked-in citizen in the priority lane (lansia, disabilitas, ibu hamil), logged."""
    if reason not in PRIORITY_REASONS:
        raise QueueRefused(
            "bad_input", f"priority reasons are {', '.join(PRIORITY_REASONS)}", status=422
        )
    arrival = session.get(Arrival, app.id, with_for_update=True)
    if arrival is None or arrival.day != day:
        raise QueueRefused("not_checked_in", "the citizen has not checked in today")
    arrival.priority = reason
    record(
        session, app.office_code, day, "priority", app.queue_number, actor, app.id,
        note=PRIORITY_REASONS[reason],
    )  # fmt: skip
    return arrival


# --- what the display and the officer pages show -------------------------------------------


def waiting_rows(session: Session, office_code: str, day: date, state: str = WAITING) -> list[Any]:
    """(Arrival, Application) of the office today in a state, in calling order."""
    rows = session.execute(
        select(Arrival, Application)
        .join(Application, Application.id == Arrival.application_id)
        .where(Arrival.office_code == office_code, Arrival.day == day, Arrival.state == state)
    ).all()
    return sorted(rows, key=lambda r: (0 if r[0].counter_id else 1, *_order_key(r[0])))


def display_state(session: Session, office_code: str, day: date) -> dict[str, Any]:
    """What every display of the office shows: each open counter's number being served and
    the next numbers; `event_id` is the office's latest queue event."""
    counters = []
    for counter in open_counters(session, office_code):
        current = serving(session, counter)
        counters.append(
            {
                "number": counter.number,
                "serving": current[1].queue_number if current else "",
                "services": [service_name(s) for s in counter.service_list],
            }
        )
    waiting = waiting_rows(session, office_code, day)
    latest = session.scalar(
        select(func.max(QueueEvent.id)).where(QueueEvent.office_code == office_code)
    )
    return {
        "office_code": office_code,
        "day": day.isoformat(),
        "counters": counters,
        "next": [app.queue_number for _arrival, app in waiting[:NEXT_SHOWN]],
        "waiting": len(waiting),
        "event_id": latest or 0,
    }


def call_message(event: QueueEvent) -> dict[str, Any]:
    """A call (or recall) as the displays announce it."""
    counter = event.counter_number or 0
    return {
        "event_id": event.id,
        "calling_number": event.calling_number,
        "counter": counter,
        "text": call_sentence(event.calling_number, counter),
        "audio": f"/display/audio/{event.calling_number}/{counter}.wav",
    }


def calls_since(session: Session, office_code: str, after_id: int, day: date) -> list[QueueEvent]:
    """Today's calls and recalls after event `after_id` (what a reconnecting display missed)."""
    return list(
        session.scalars(
            select(QueueEvent)
            .where(
                QueueEvent.office_code == office_code,
                QueueEvent.id > after_id,
                QueueEvent.day == day,
                QueueEvent.kind.in_(("call", "recall")),
            )
            .order_by(QueueEvent.id)
        )
    )


def today_stats(session: Session, office_code: str, day: date) -> dict[str, Any]:
    """Today's waiting minutes (arrival to call) and service minutes (call to finish) per
    service, calls, finishes, no-shows and waiting minutes per counter."""
    arrivals = {
        a.application_id: a
        for a in session.scalars(
            select(Arrival).where(Arrival.office_code == office_code, Arrival.day == day)
        )
    }
    per_service: dict[str, dict[str, Any]] = {}
    for arrival in arrivals.values():
        entry = per_service.setdefault(
            arrival.service,
            {"name": service_name(arrival.service), "arrived": 0, WAITING: 0, CALLED: 0,
             DONE: 0, NO_SHOW: 0, "waits": [], "spans": []},
        )  # fmt: skip
        entry["arrived"] += 1
        entry[arrival.state] = entry.get(arrival.state, 0) + 1
        for key, span in (
            ("waits", _minutes_between(arrival.arrived_at, arrival.called_at)),
            ("spans", _minutes_between(arrival.called_at, arrival.finished_at)),
        ):
            if span is not None:
                entry[key].append(span)
    per_counter: dict[int, dict[str, Any]] = {}
    events = session.scalars(
        select(QueueEvent).where(
            QueueEvent.office_code == office_code,
            QueueEvent.day == day,
            QueueEvent.kind.in_(("call", "finish", "no_show")),
            QueueEvent.counter_number.is_not(None),
        )
    )
    for event in events:
        entry = per_counter.setdefault(
            event.counter_number or 0, {"call": 0, "finish": 0, "no_show": 0, "waits": []}
        )
        entry[event.kind] += 1
        called = arrivals.get(event.application_id or 0)
        if event.kind == "call" and called is not None:
            wait = _minutes_between(called.arrived_at, event.at)
            if wait is not None:
                entry["waits"].append(wait)
    return {
        "services": {
            key: {
                **{k: v for k, v in e.items() if k not in ("waits", "spans")},
                "average_wait_minutes": _mean(e["waits"]),
                "average_service_minutes": _mean(e["spans"]),
            }
            for key, e in sorted(per_service.items())
        },
        "counters": {
            number: {
                **{k: v for k, v in e.items() if k != "waits"},
                "average_wait_minutes": _mean(e["waits"]),
            }
            for number, e in sorted(per_counter.items())
        },
        "no_shows": sum(e["no_show"] for e in per_counter.values()),  # restored ones too
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
