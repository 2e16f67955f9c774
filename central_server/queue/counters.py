"""The counters of the verification day's queue: opened and closed by officers, each calling
its next citizen (transferred to it first, then the priority lane, then first come first served
among the services it handles), calling again, setting aside a no-show, restoring, transferring
and finishing. On PostgreSQL the next citizen is taken with SELECT ... FOR UPDATE SKIP LOCKED,
so two officers pressing "Panggil berikutnya" together never get the same one; SQLite
transactions are serial. Every function works inside the caller's transaction.

Lock order (PostgreSQL): a citizen's place (their `arrivals` row) before their application's
row, on every path. The counters' actions lock the place (`serving(lock=True)`, `call_next`,
`restore`, the priority lane) and only then write the application ("Selesai verifikasi":
approved -> verified) or log a queue event (whose foreign key takes a key-share lock on the
application); a decision on the application's page (officer.pages) locks the place
(`lock_place`), then the application (FOR NO KEY UPDATE: a counter logging an event on that
citizen never waits for it), then ends the place (`end_place`). A counter's own row is written
after the place (closing) or alone (opening), never locked before a place. A kiosk's check-in
locks the application and creates the place, a new row nobody can be waiting for. The other
order deadlocks a counter's finish or recall against the page (tests/central/officer/
test_queue_lock_order.py holds the place to make them meet). The reads (what the displays'
state and the counters page show: `serving_at_open_counters`, `serving` without `lock`) lock
nothing: they neither wait for a decision nor hold one up (tests/central/officer/
test_queue_read_locks.py).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from central_server import lifecycle, numbering
from central_server.lifecycle import Notify, State
from central_server.models import Application
from central_server.queue.core import CALLED, DONE, NO_SHOW, WAITING, QueueRefused, record
from central_server.queue.models import QueueCounter
from central_server.review_models import Arrival
from central_server.settings import now_wib
from kiosk_app.domain.catalogue import SERVICES

MAX_COUNTER = 99  # counters are numbered 1-99 (the display speaks "loket" and the number)
NO_SHOW_AFTER_CALLS = 3


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
    session: Session, office_code: str, number: int, services: list[str], officer: str, day: date
) -> QueueCounter:
    """Open (or re-open) counter `number` for `services`, worked by `officer` on `day`."""
    chosen = [s for s in services if s in SERVICES]
    if not chosen:
        raise QueueRefused("bad_input", "choose at least one service for the counter", status=422)
    if not 1 <= number <= MAX_COUNTER:
        raise QueueRefused("bad_input", f"counter numbers are 1-{MAX_COUNTER}", status=422)
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
    # Logged like every other step: the displays show the counter at once (NOTIFY included).
    record(session, office_code, day, "open", "", officer, counter_number=number)
    return counter


def get_counter(session: Session, office_code: str, number: int) -> QueueCounter:
    """An open counter of the office (404 when it is not open, or no counter's number)."""
    if not 1 <= number <= MAX_COUNTER:  # never beyond the column's integers
        raise QueueRefused("not_found", f"counter {number} is not open", status=404)
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


def serving(
    session: Session, counter: QueueCounter, *, lock: bool = False
) -> tuple[Arrival, Application] | None:
    """Who the counter has called and is serving now. As read (no row lock) by default: what
    the displays and the counters page show. A decision on the application's page holds the
    place while it runs; a read that locked it would wait for that decision (and lock a place
    it never writes). The state read may be a change behind: the change's own notice re-reads
    it. `lock`: the place locked (FOR UPDATE of arrivals), for the counters' write paths, which
    then write the place and the application, in the documented order."""
    query = (
        select(Arrival, Application)
        .join(Application, Application.id == Arrival.application_id)
        .where(Arrival.counter_id == counter.id, Arrival.state == CALLED)
    )
    row = session.execute(query.with_for_update(of=Arrival) if lock else query).first()
    return None if row is None else (row[0], row[1])


def serving_at_open_counters(
    session: Session, office_code: str
) -> list[tuple[QueueCounter, tuple[Arrival, Application] | None]]:
    """The office's open counters by number (`open_counters`), each with who it serves now
    (`serving`, as read: no row lock), in one query however many counters are open: the
    displays' state and the counters page read it on every change."""
    rows = session.execute(
        select(QueueCounter, Arrival, Application)
        .outerjoin(Arrival, (Arrival.counter_id == QueueCounter.id) & (Arrival.state == CALLED))
        .outerjoin(Application, Application.id == Arrival.application_id)
        .where(QueueCounter.office_code == office_code, QueueCounter.is_open.is_(True))
        .order_by(QueueCounter.number)
    ).all()
    found: dict[int, tuple[QueueCounter, tuple[Arrival, Application] | None]] = {}
    for counter, arrival, app in rows:  # one row a counter (a second call: `serving`'s first)
        if counter.id not in found:
            found[counter.id] = (counter, None if arrival is None else (arrival, app))
    return list(found.values())


def close_counter(session: Session, counter: QueueCounter, actor: str, day: date) -> None:
    """Close a counter; whoever it was serving goes back to the queue at their place."""
    current = serving(session, counter, lock=True)
    if current is not None:
        arrival, _app = current
        arrival.state, arrival.counter_id = WAITING, None
    counter.is_open = False
    record(session, counter.office_code, day, "close", "", actor, counter_number=counter.number)


def call_next(session: Session, counter: QueueCounter, actor: str, day: date) -> Application | None:
    """Call the next citizen to `counter` (None when nobody waits for it)."""
    if serving(session, counter, lock=True) is not None:
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
    current = serving(session, counter, lock=True)
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
            Application.status == State.approved.value,  # not decided meanwhile (queue.stale)
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
    if app.status == State.approved.value:
        lifecycle.transition(
            session, app, "verify", actor, f"loket {counter.number}", notify=notify
        )
    _end(session, arrival, app, actor, counter.number)
    return app


def lock_place(session: Session, registration_number: str) -> None:
    """Lock the application's place in the queue, if it has one, before the application's own
    row is locked: the counters lock the place first too (`serving(lock=True)`, then `finish`
    writes the application), so an officer deciding on the application's page while a counter
    finishes or calls the same citizen waits instead of deadlocking; a counter's "Panggil
    berikutnya" passes over a place being decided (SKIP LOCKED)."""
    session.execute(
        select(Arrival.application_id)
        .join(Application, Application.id == Arrival.application_id)
        .where(Application.registration_number == registration_number)
        .with_for_update(of=Arrival)
    )


def end_place(session: Session, app: Application, actor: str, why: str) -> Arrival | None:
    """The application was decided outside the counters (verified or rejected on its page, or
    any action that leaves it no longer approved): a citizen still waiting, called to a counter
    or set aside leaves the queue as "Selesai verifikasi" would end it, logged as a finish with
    `actor` and `why`; a counter that had called them is free. Nothing when the citizen has not
    checked in, is already done, or the application still awaits verification. Call it with
    the place locked (`lock_place`); locked again here, read afresh: a place a kiosk made
    while the page waited for the application (`lock_place` found none) may have been
    called meanwhile, and its finish names that counter."""
    arrival = session.get(Arrival, app.id, with_for_update=True, populate_existing=True)
    if arrival is None or arrival.state == DONE or app.status == State.approved.value:
        return None
    at = None
    if arrival.state == CALLED and arrival.counter_id is not None:
        at = session.get_one(QueueCounter, arrival.counter_id).number
    _end(session, arrival, app, actor, at, why)
    return arrival


def _end(
    session: Session,
    arrival: Arrival,
    app: Application,
    actor: str,
    counter_number: int | None,
    note: str = "",
) -> None:
    arrival.state, arrival.finished_at = DONE, now_wib()
    record(
        session, arrival.office_code, arrival.day, "finish", app.queue_number, actor, app.id,
        counter_number, note=note,
    )  # fmt: skip
