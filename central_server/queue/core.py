"""What the verification day's queue is made of: an arrival's states, the priority lane's
reasons, which counters handle a service, a refused queue step, the calling order, and the log
of queue steps that wakes the displays. Every function works inside the caller's transaction.

The steps themselves: check-in (central_server.queue.checkin), counters calling
(central_server.queue.counters), and what displays and officer pages show
(central_server.queue.display).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from central_server.lifecycle import TransitionRefused
from central_server.queue.models import QueueEvent
from central_server.review_models import Arrival
from central_server.settings import now_wib
from kiosk_app.domain.catalogue import SERVICES

log = logging.getLogger("central_server.queue")

CHANNEL = "anjungan_queue"  # PostgreSQL NOTIFY channel; the payload is the office code
CHANGED = "queue_changed"  # session.info key: offices whose queue this transaction changed
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
WAITING, CALLED, NO_SHOW, DONE = "waiting", "called", "no_show", "done"


class QueueRefused(TransitionRefused):
    """A refused check-in or counter action, with the details the kiosk shows (date, window)."""

    def __init__(
        self, code: str, message: str, *, status: int = 409, extra: dict[str, str] | None = None
    ) -> None:
        super().__init__(code, message, status)
        self.extra = extra or {}


def service_name(service: str) -> str:
    """The service's Indonesian title."""
    info = SERVICES.get(service)
    return info.title("id") if info is not None else service


def counter_group(service: str) -> str:
    """Which group of counters handles a service."""
    return COUNTER_GROUPS.get(service, DEFAULT_COUNTER_GROUP)


def order_key(arrival: Arrival) -> tuple[int, int]:
    return (0 if arrival.priority else 1, arrival.sequence)


def minutes_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


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
    """Log one queue step and wake the displays once the transaction commits: on PostgreSQL
    its NOTIFY reaches every app server; the office is also noted in the session (`CHANGED`),
    which the in-process hub reads after the commit on SQLite (queue.hub.DisplayHub)."""
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
    session.info.setdefault(CHANGED, set()).add(office_code)
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
