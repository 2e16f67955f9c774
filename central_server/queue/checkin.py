"""Check-in at a kiosk: the booking a citizen names (a sealed QR, a registration number or the
card holder's NIK), whether it can be checked in now, and the calling ticket it answers with
(people ahead, estimated wait); the priority lane an attendant or officer grants after it.
Every function works inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_server import lifecycle, numbering, seals
from central_server.lifecycle import State
from central_server.models import Application
from central_server.queue.core import (
    DONE,
    PRIORITY_REASONS,
    WAITING,
    QueueRefused,
    counter_group,
    minutes_between,
    order_key,
    record,
    service_name,
)
from central_server.queue.counters import open_counters
from central_server.review_models import Arrival
from central_server.server_seal import ServerSealer
from central_server.settings import WIB
from kiosk_app.domain.identity import mask_nik
from kiosk_app.services import receipt_seal

CHECKIN_OPENS_BEFORE = timedelta(minutes=60)  # before the window starts
DEFAULT_SERVICE_MINUTES = 10  # until today's first finished verification gives an average


@dataclass(frozen=True)
class Lookup:
    """How the citizen identified the booking: exactly one of these is set."""

    seal: str | None = None
    registration_number: str | None = None
    nik: str | None = None


def _window_bounds(day: date, window: str) -> tuple[datetime, datetime]:
    start_text, _, end_text = window.partition("-")

    def at(hhmm: str) -> datetime:
        hours, _, minutes = hhmm.partition(".")
        return datetime.combine(day, time(int(hours), int(minutes or 0)), WIB)

    return at(start_text), at(end_text)


def _slot_extra(app: Application) -> dict[str, str]:
    return {"date": app.slot_date.isoformat(), "window": app.slot_window}


def find_application(
    session: Session,
    office_code: str,
    lookup: Lookup,
    today: date,
    sealer: ServerSealer | None = None,
) -> Application:
    """The booking a kiosk's check-in names (404 not_found when there is none). A scanned QR
    is a signed seal (issue 16: the kiosk's key, or the server's for a booking moved by an
    officer, must have signed it, 409 bad_seal otherwise; a kiosk seal superseded by the move
    still names its booking; one signed with a key pending approval is 409 seal_pending, for
    an attendant) or, on older tickets, the bare registration number."""
    if lookup.nik is not None:
        return _booking_of_holder(session, office_code, lookup.nik.strip(), today)
    number = lookup.registration_number
    if lookup.seal is not None:
        sealed = receipt_seal.parse_qr(lookup.seal)
        if sealed is None:
            number = lookup.seal
        else:
            found = seals.find(session, sealed, sealer)
            if found.status == seals.PENDING_APPROVAL:
                # Neither valid nor forged: an officer checks the citizen in by hand.
                raise QueueRefused(
                    "seal_pending",
                    "the ticket was sealed with a kiosk key awaiting a technician's approval",
                )
            if not found.genuine:
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
    session: Session,
    office_code: str,
    lookup: Lookup,
    now: datetime,
    actor: str,
    sealer: ServerSealer | None = None,
) -> dict[str, Any]:
    """Check a citizen in at a kiosk of `office_code` at `now` (WIB) and answer their calling
    ticket; a second check-in answers the same ticket (repeat)."""
    now = now.astimezone(WIB)  # the windows are in WIB
    today = now.date()
    app = find_application(session, office_code, lookup, today, sealer)
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
    key = order_key(arrival)
    return sum(1 for other in rows if order_key(other) < key)


def estimated_wait(session: Session, arrival: Arrival, ahead: int) -> int:
    """Minutes: people ahead x today's average service time / the counters open for it."""
    minutes = _average_minutes(
        session, arrival.office_code, arrival.day, arrival.service, "service"
    )
    counters = sum(
        1 for c in open_counters(session, arrival.office_code) if arrival.service in c.service_list
    )
    return int(round(ahead * (minutes or DEFAULT_SERVICE_MINUTES) / max(1, counters)))


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
        minutes_between(arrived, called) if what == "wait" else minutes_between(called, done)
        for arrived, called, done in rows
    ]
    known = [s for s in spans if s is not None]
    return sum(known) / len(known) if known else None


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
    # Finished at a counter, or verified or rejected on the page (a place the code before
    # end_place left open is ended at the server's start: queue.stale).
    if arrival.state == DONE or app.status != State.approved.value:
        raise QueueRefused("already_served", "the citizen's place in the queue has ended")
    arrival.priority = reason
    record(
        session, app.office_code, day, "priority", app.queue_number, actor, app.id,
        note=PRIORITY_REASONS[reason],
    )  # fmt: skip
    return arrival
