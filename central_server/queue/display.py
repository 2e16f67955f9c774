"""What the displays and the officer pages show of the verification day's queue: each open
counter's number being served and the next numbers, the calls a reconnecting display missed,
and today's waiting and service times. Every function works inside the caller's transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from central_server.models import Application
from central_server.queue.core import (
    CALLED,
    DONE,
    NO_SHOW,
    WAITING,
    minutes_between,
    order_key,
    service_name,
)
from central_server.queue.counters import serving_at_open_counters
from central_server.queue.models import QueueEvent
from central_server.review_models import Arrival
from kiosk_app.domain.terbilang import call_sentence

NEXT_SHOWN = 8  # numbers the display lists as next
CALL_KINDS = ("call", "recall")  # the events a display announces (and speaks)


def waiting_rows(session: Session, office_code: str, day: date, state: str = WAITING) -> list[Any]:
    """(Arrival, Application) of the office today in a state, in calling order."""
    rows = session.execute(
        select(Arrival, Application)
        .join(Application, Application.id == Arrival.application_id)
        .where(Arrival.office_code == office_code, Arrival.day == day, Arrival.state == state)
    ).all()
    return sorted(rows, key=lambda r: (0 if r[0].counter_id else 1, *order_key(r[0])))


def display_state(session: Session, office_code: str, day: date) -> dict[str, Any]:
    """What every display of the office shows: each open counter's number being served and
    the next numbers; `event_id` is the office's latest queue event."""
    counters = [
        {
            "number": counter.number,
            "serving": current[1].queue_number if current else "",
            "services": [service_name(s) for s in counter.service_list],
        }
        for counter, current in serving_at_open_counters(session, office_code)
    ]
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
        "audio": f"/display/{event.office_code}/audio/{event.calling_number}/{counter}.wav",
    }


def was_called(
    session: Session, office_code: str, calling_number: str, counter: int, day: date
) -> bool:
    """True when `calling_number` was called or recalled to `counter` at the office on `day`:
    the only sentences a display asks the voice of (anyone may ask; espeak-ng costs ~80 ms of
    CPU and the answer ~320 KB, so no other number/counter pair is synthesised)."""
    return session.scalar(call_lookup(office_code, calling_number, counter, day)) is not None


def call_lookup(office_code: str, calling_number: str, counter: int, day: date) -> Select[Any]:
    """The query of `was_called`: one event id, read through ix_queue_events_call (office,
    day, calling number; tests/central/test_migrations.py checks the plan on PostgreSQL)."""
    return (
        select(QueueEvent.id)
        .where(
            QueueEvent.office_code == office_code,
            QueueEvent.day == day,
            QueueEvent.kind.in_(CALL_KINDS),
            QueueEvent.calling_number == calling_number,
            QueueEvent.counter_number == counter,
        )
        .limit(1)
    )


def calls_since(session: Session, office_code: str, after_id: int, day: date) -> list[QueueEvent]:
    """Today's calls and recalls after event `after_id` (what a reconnecting display missed)."""
    return list(
        session.scalars(
            select(QueueEvent)
            .where(
                QueueEvent.office_code == office_code,
                QueueEvent.id > after_id,
                QueueEvent.day == day,
                QueueEvent.kind.in_(CALL_KINDS),
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
            ("waits", minutes_between(arrival.arrived_at, arrival.called_at)),
            ("spans", minutes_between(arrival.called_at, arrival.finished_at)),
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
            wait = minutes_between(called.arrived_at, event.at)
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
