"""Registration and queue numbers (format explained in docs/registration-numbers.md)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
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


def next_value(session: Session, name: str) -> int:
    """Increment and return counter `name` (1 for a new one) inside the caller's transaction."""
    counter = session.scalar(select(Counter).where(Counter.name == name).with_for_update())
    if counter is None:
        session.add(Counter(name=name, value=1))
        session.flush()
        return 1
    counter.value += 1
    session.flush()
    return counter.value
