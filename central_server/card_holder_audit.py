"""Card-holder look-ups as the data controller must be able to show them (UU 27/2022).

Every look-up a kiosk made of a card holder's applications, and every print reservation, leaves
a row: kiosk, time, the NIK masked and keyed (an HMAC under the server's `nik-audit-key`: a
supervisor's typed NIK finds its rows, and a copy of the database alone does not turn the
hashes back into NIKs, as it would a plain SHA-256 of a 16-digit number), what, outcome.

Refused attempts are counted, not written one by one: a script hammering a kiosk token would
otherwise fill the table. A kiosk's refusals for its budget make one row per kiosk, kind and
budget window (`attempts`, first `at`, `last_at`); a NIK's own limit, one row per kiosk, NIK,
kind and window. The gate (card_holder_gate) writes the rows; the officers' page
(officer/lookups) and the fleet's `lookup_budget` alert read them.
"""

from __future__ import annotations

import hmac
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    Select,
    String,
    delete,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from central_server import keys
from central_server.lease_reports import utc
from central_server.leases import day_start
from central_server.models import Base, Kiosk
from central_server.settings import WIB
from kiosk_app.domain.identity import mask_nik

ALERT_CODE = "lookup_budget"  # central_server.fleet.alerts.ALERTS
ALERT_HOLD = timedelta(hours=24)  # the alert stays this long after the last refusal
KEEP = timedelta(days=90)  # audit rows older than this are deleted now and then
ALLOWED, KIOSK_BUDGET, NIK_LIMIT = "allowed", "kiosk_budget", "nik_limit"
REFUSALS = (KIOSK_BUDGET, NIK_LIMIT)
LISTS, RESERVES = "applications", "print_reserve"


class CardHolderLookup(Base):
    """A card-holder look-up a kiosk made (one row each), or its refused attempts of one
    window (one row, `attempts` of them from `at` to `last_at`)."""

    __tablename__ = "card_holder_lookups"
    __table_args__ = (
        Index("ix_card_holder_lookups_kiosk_at", "kiosk_id", "at"),
        Index("ix_card_holder_lookups_outcome_at", "outcome", "at"),
        Index("ix_card_holder_lookups_nik_at", "nik_hash", "at"),
        Index("ux_card_holder_lookups_refusal_key", "refusal_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    masked_nik: Mapped[str] = mapped_column(String(16))  # a refusal row's: its first attempt's
    kind: Mapped[str] = mapped_column(String(20))  # applications | print_reserve | receipt_copy
    outcome: Mapped[str] = mapped_column(String(20))  # allowed | kiosk_budget | nik_limit
    # HMAC-SHA256 of the NIK (nik_key); None on rows from before it, and on budget refusals
    # (one row for whatever NIKs a kiosk tried in a window)
    nik_hash: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    last_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # refusals only
    # kiosk|outcome|kind|window[|nik hash] of a refusal row (None on look-ups): its upsert key
    refusal_key: Mapped[str | None] = mapped_column(String(200))


class NikKey:
    """The keyed hash of a NIK: HMAC-SHA256 under the `nik-audit-key` secret (keys.py)."""

    def __init__(self, database_url: str, secret: str | None = None) -> None:
        self._url, self._secret = database_url, secret.encode() if secret else None

    def __call__(self, nik: str) -> str:
        """The NIK's hash as 64 hex digits."""
        if self._secret is None:
            self._secret = keys.load_secret(keys.NIK_AUDIT_KEY, self._url).encode()
        return hmac.new(self._secret, f"nik:{nik}".encode(), "sha256").hexdigest()


def seen(session: Session, kiosk_id: str, nik_hash: str, since: datetime) -> bool:
    """True when the kiosk was answered for this NIK since `since` (one citizen, counted once)."""
    return (
        session.scalar(
            select(CardHolderLookup.id)
            .where(
                CardHolderLookup.nik_hash == nik_hash,
                CardHolderLookup.kiosk_id == kiosk_id,
                CardHolderLookup.outcome == ALLOWED,
                CardHolderLookup.at >= since,
            )
            .limit(1)
        )
        is not None
    )


def record_allowed(
    session: Session, kiosk_id: str, nik: str, nik_hash: str, kind: str, now: datetime
) -> None:
    """One answered look-up."""
    session.add(
        CardHolderLookup(
            kiosk_id=kiosk_id,
            at=now,
            masked_nik=mask_nik(nik),
            kind=kind,
            outcome=ALLOWED,
            nik_hash=nik_hash,
            attempts=1,
        )
    )
    if random.random() < 0.001:  # now and then: forget look-ups past the retention
        session.execute(delete(CardHolderLookup).where(CardHolderLookup.at < now - KEEP))


def record_refusal(
    session: Session,
    dialect_is_postgresql: bool,
    refusal: tuple[str, str, str],
    nik: str,
    nik_hash: str,
    now: datetime,
    window: timedelta,
) -> int:
    """Count a refused attempt (`refusal`: kiosk, kind, outcome) in its window's row, made by
    the first one; returns how many that row holds now. An upsert: two app servers refusing at
    once add to one row."""
    kiosk_id, kind, outcome = refusal
    index = math.floor(now.timestamp() / window.total_seconds())
    key = f"{kiosk_id}|{outcome}|{kind}|{index}"
    attributable = outcome == NIK_LIMIT  # a budget's refusals are the kiosk's, whatever NIK
    if attributable:
        key += f"|{nik_hash}"
    insert = pg_insert if dialect_is_postgresql else sqlite_insert
    table = CardHolderLookup.__table__.c
    statement = insert(CardHolderLookup).values(
        kiosk_id=kiosk_id,
        at=now,
        last_at=now,
        masked_nik=mask_nik(nik),
        kind=kind,
        outcome=outcome,
        nik_hash=nik_hash if attributable else None,
        attempts=1,
        refusal_key=key,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[table.refusal_key], set_={"attempts": table.attempts + 1, "last_at": now}
    )
    return int(session.execute(upsert.returning(table.attempts)).scalar_one())


# -- the officers' page ------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """What a supervisor filters the audit by (each optional)."""

    kiosk_id: str = ""
    office: str = ""
    start: date | None = None  # WIB days, both included
    end: date | None = None
    nik_hash: str = ""  # NikKey of a typed NIK
    outcome: str = ""  # "answered" | "refused"


@dataclass(frozen=True)
class Entry:
    """A row of the page: times in WIB, the kiosk's office."""

    at: datetime
    last_at: datetime | None
    kiosk_id: str
    office_code: str
    masked_nik: str
    kind: str
    outcome: str
    attempts: int


def search(session: Session, filters: Search, offset: int, limit: int) -> list[Entry]:
    """Rows matching `filters`, newest first."""
    office = func.coalesce(Kiosk.office_code, "")
    query = select(CardHolderLookup, office).outerjoin(
        Kiosk, Kiosk.kiosk_id == CardHolderLookup.kiosk_id
    )
    if filters.kiosk_id:
        query = query.where(CardHolderLookup.kiosk_id == filters.kiosk_id)
    if filters.office:
        query = query.where(Kiosk.office_code == filters.office)
    if filters.start is not None:
        query = query.where(CardHolderLookup.at >= day_start(filters.start))
    if filters.end is not None:
        query = query.where(CardHolderLookup.at < day_start(filters.end + timedelta(days=1)))
    if filters.nik_hash:
        query = query.where(CardHolderLookup.nik_hash == filters.nik_hash)
    if filters.outcome == "answered":
        query = query.where(CardHolderLookup.outcome == ALLOWED)
    elif filters.outcome == "refused":
        query = query.where(CardHolderLookup.outcome.in_(REFUSALS))
    query = query.order_by(CardHolderLookup.at.desc(), CardHolderLookup.id.desc())
    return [
        Entry(
            at=utc(row.at).astimezone(WIB),
            last_at=utc(row.last_at).astimezone(WIB) if row.last_at is not None else None,
            kiosk_id=row.kiosk_id,
            office_code=code,
            masked_nik=row.masked_nik,
            kind=row.kind,
            outcome=row.outcome,
            attempts=row.attempts,
        )
        for row, code in session.execute(query.offset(offset).limit(limit))
    ]


def kiosks_seen(session: Session) -> list[str]:
    """Kiosks with rows in the audit (the page's kiosk choice)."""
    query = select(CardHolderLookup.kiosk_id).distinct().order_by(CardHolderLookup.kiosk_id)
    return list(session.scalars(query))


# -- the fleet's alert -------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusals:
    """A kiosk's look-ups refused for its budget within ALERT_HOLD: how many, first, last."""

    count: int
    first: datetime
    last: datetime


_LAST = func.coalesce(CardHolderLookup.last_at, CardHolderLookup.at)


def over_budget(
    session: Session, now: datetime, kiosk_ids: Iterable[str] | None = None
) -> dict[str, Refusals]:
    """Kiosks refused for their budget within ALERT_HOLD before `now` (those of `kiosk_ids`)."""
    query = (
        select(
            CardHolderLookup.kiosk_id,
            func.sum(CardHolderLookup.attempts),
            func.min(CardHolderLookup.at),
            func.max(_LAST),
        )
        .where(CardHolderLookup.outcome == KIOSK_BUDGET, _LAST >= now - ALERT_HOLD)
        .group_by(CardHolderLookup.kiosk_id)
    )
    if kiosk_ids is not None:
        query = query.where(CardHolderLookup.kiosk_id.in_(sorted(set(kiosk_ids))))
    return {
        kiosk_id: Refusals(int(count), utc(first), utc(last))
        for kiosk_id, count, first, last in session.execute(query)
    }


def over_budget_ids(now: datetime) -> Select[str]:
    """A subquery of the kiosks over_budget finds (for a filter of the fleet list)."""
    return (
        select(CardHolderLookup.kiosk_id)
        .where(CardHolderLookup.outcome == KIOSK_BUDGET, _LAST >= now - ALERT_HOLD)
        .distinct()
    )


def spells(
    session: Session, kiosk_id: str | None, now: datetime, limit: int
) -> list[tuple[str, datetime, datetime | None]]:
    """(kiosk, raised, cleared or None while open) of the newest refusal spells: refusals
    less than ALERT_HOLD apart make one spell, cleared ALERT_HOLD after its last refusal."""
    query = select(CardHolderLookup.kiosk_id, CardHolderLookup.at, _LAST).where(
        CardHolderLookup.outcome == KIOSK_BUDGET
    )
    if kiosk_id:
        query = query.where(CardHolderLookup.kiosk_id == kiosk_id)
    rows = session.execute(query.order_by(CardHolderLookup.at.desc()).limit(limit * 50)).all()
    found: list[tuple[str, datetime, datetime | None]] = []
    current: dict[str, tuple[datetime, datetime]] = {}  # kiosk -> (first, last) of its spell

    def close(kiosk: str, first: datetime, last: datetime) -> None:
        cleared = last + ALERT_HOLD
        found.append((kiosk, first, cleared if cleared <= now else None))

    for kiosk, at, last in rows:  # newest first
        at, last = utc(at), utc(last)
        spell = current.get(kiosk)
        if spell is not None and spell[0] - last >= ALERT_HOLD:
            close(kiosk, *spell)
            spell = None
        current[kiosk] = (at, max(spell[1], last) if spell is not None else last)
    for kiosk, spell in current.items():
        close(kiosk, *spell)
    found.sort(key=lambda s: s[1], reverse=True)
    return found[:limit]
