"""Registration and queue numbers (format explained in docs/registration-numbers.md)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central_server.models import Counter
from kiosk_app.domain.catalogue import SERVICES

# One source of truth: the kiosk's service catalogue names each service's prefix.
SERVICE_PREFIXES: dict[str, str] = {key: s.registration_prefix for key, s in SERVICES.items()}
REGISTRATION_NUMBER_RE = re.compile(
    rf"^(?P<prefix>{'|'.join(SERVICE_PREFIXES.values())})-(?P<province>\d{{2}})\.(?P<regency>\d{{2}})"
    r"\.(?P<yymmdd>\d{6})\.(?P<sequence>\d{4})$"
)
QUEUE_NUMBER_RE = re.compile(r"^(?P<window>[AB])-(?P<sequence>\d{3})$")
MAX_DAILY_SEQUENCE = 9999
MAX_SLOT_SEQUENCE = 999


class SequenceExhausted(Exception):
    """A fixed-width sequence ran out for the day or the slot."""


def registration_number(service: str, office_code: str, day: date, sequence: int) -> str:
    """Build e.g. AKTA-35.17.261122.0007 (no NIK: UU 27/2022 on personal data)."""
    if not 1 <= sequence <= MAX_DAILY_SEQUENCE:
        raise SequenceExhausted(f"daily sequence {sequence} out of range")
    prefix = SERVICE_PREFIXES[service]
    return f"{prefix}-{office_code[:2]}.{office_code[2:4]}.{day:%y%m%d}.{sequence:04d}"


def queue_number(window_letter: str, sequence: int) -> str:
    """Build e.g. A-007: window letter and the arrival order within that slot."""
    if not 1 <= sequence <= MAX_SLOT_SEQUENCE:
        raise SequenceExhausted(f"slot sequence {sequence} out of range")
    return f"{window_letter}-{sequence:03d}"


def next_value(session: Session, name: str, count: int = 1) -> int:
    """Advance counter `name` by `count` inside the caller's transaction and return the first
    value taken (1 for a new counter); `count` > 1 reserves a run of values (a batch).

    One atomic INSERT ... ON CONFLICT DO UPDATE ... RETURNING: concurrent callers on PostgreSQL
    queue on the row lock (no lost update, no duplicate insert); SQLite is serial anyway.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    upsert = (
        insert(Counter)
        .values(name=name, value=count)
        .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + count})
        .returning(Counter.value)
    )
    return int(session.execute(upsert).scalar_one()) - count + 1


def lock_slot(session: Session, office_code: str, service: str, day: date, window: str) -> None:
    """Serialize bookings of one slot until the transaction ends (PostgreSQL advisory lock).

    SQLite transactions already start with BEGIN IMMEDIATE; on PostgreSQL (READ COMMITTED) the
    count-then-insert of a booking would otherwise let two kiosks overbook the last place.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = f"slot:{office_code}:{service}:{day}:{window}"
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def lock_slots(session: Session, office_code: str, slots: list[tuple[str, date, str]]) -> None:
    """lock_slot each of `slots` ((service, day, window)), in that order: callers pass them
    sorted, so two transactions locking several slots take them in the same order."""
    for service, day, window in slots:
        lock_slot(session, office_code, service, day, window)
