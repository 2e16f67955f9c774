"""Throttles every app server shares through the database: rate buckets and login lockouts.

Two app servers behind one PostgreSQL must not grant twice the allowance, and a lockout taken on
one must hold on the other: so the buckets and the failure counts are rows, updated under a row
lock (PostgreSQL) or inside SQLite's one writer (BEGIN IMMEDIATE), never process memory.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import DateTime, Float, Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from central_server.db import Database
from central_server.models import Base
from central_server.notify import enqueue

log = logging.getLogger("central_server.throttle")
audit = logging.getLogger("central_server.audit")

LOCKOUT_AFTER = 10  # failed logins of one account within FAILURE_WINDOW
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
BUCKET_IDLE_S = 3600.0  # buckets untouched this long are full again: their rows may go
Row = TypeVar("Row", bound=Base)


class RateBucket(Base):
    """A token bucket: tokens left at `updated_at` (seconds since the epoch)."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class LoginFailure(Base):
    """Failed logins of one normalised account name, and its lockout."""

    __tablename__ = "login_failures"
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)


def normalise_account(username: str) -> str:
    """The account a typed user name means: trimmed and case-folded, as login looks it up."""
    return username.strip().casefold()[:64]


def _row_for_update(
    session: Session, db: Database, model: type[Row], key: str, fresh: dict[str, object]
) -> Row:
    """The row of `key`, created with `fresh` if missing, locked until the transaction ends."""
    insert = pg_insert if db.is_postgresql else sqlite_insert
    session.execute(insert(model).values(**fresh).on_conflict_do_nothing())
    # Declarative models get __table__ from the metaclass, which mypy does not see on type[Row].
    column = next(iter(model.__table__.primary_key.columns))  # type: ignore[attr-defined]
    query = select(model).where(column == key)
    if db.is_postgresql:
        query = query.with_for_update()
    return session.scalars(query).one()


class DatabaseRateLimiter:
    """`burst` requests at once, then `per_minute` a minute, per key, shared by every server."""

    def __init__(
        self,
        db: Database,
        per_minute: float,
        burst: int,
        *,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.db, self.prefix, self._clock = db, prefix, clock
        self.rate_per_s = per_minute / 60.0
        self.burst = burst

    def acquire(self, key: str) -> float | None:
        """Take one token for `key`: None when allowed, else seconds until one is available."""
        with self.db.transaction() as session:
            bucket = self.hold(session, key)
            if bucket.wait is None:
                bucket.spend()
            else:  # refilled so far: the same tokens later, whether stored now or not
                bucket.row.tokens, bucket.row.updated_at = bucket.tokens, bucket.now
        return bucket.wait

    def hold(self, session: Session, key: str, now: float | None = None) -> Held:
        """The bucket of `key` locked until `session`'s transaction ends, refilled to `now`:
        a caller decides within that transaction whether to spend a token (Held.spend)."""
        key = f"{self.prefix}{key}"[:200]
        now = self._clock() if now is None else now
        row = _row_for_update(
            session,
            self.db,
            RateBucket,
            key,
            {"key": key, "tokens": float(self.burst), "updated_at": now},
        )
        tokens = min(
            float(self.burst), row.tokens + max(0.0, now - row.updated_at) * self.rate_per_s
        )
        if random.random() < 0.001:  # now and then: forget buckets idle for an hour
            session.execute(delete(RateBucket).where(RateBucket.updated_at < now - BUCKET_IDLE_S))
        return Held(row, tokens, now, self.rate_per_s)


@dataclass
class Held:
    """A locked token bucket refilled to `now`: what it has, and taking one token from it."""

    row: RateBucket
    tokens: float
    now: float
    rate_per_s: float

    @property
    def wait(self) -> float | None:
        """None when a token is there, else seconds until one is."""
        return None if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate_per_s

    def spend(self) -> None:
        """Take one token (written with the transaction)."""
        self.row.tokens, self.row.updated_at = self.tokens - 1.0, self.now


def utcnow() -> datetime:
    """Naive UTC now (stored the same way by every database)."""
    return datetime.now(UTC).replace(tzinfo=None)


class LoginGuard:
    """Counts failed logins per normalised account; locks it after LOCKOUT_AFTER and tells admins.

    `notify_admins(session, text)` is called inside the transaction that takes the lock (the
    app queues a message per configured admin address on the notification outbox).
    """

    def __init__(
        self,
        db: Database,
        *,
        notify_admins: Callable[[Session, str], None] | None = None,
        lockout_after: int = LOCKOUT_AFTER,
        lockout: timedelta = LOCKOUT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.lockout_after, self.lockout, self._clock = db, lockout_after, lockout, clock
        self._notify = notify_admins

    def locked_for(self, username: str) -> float | None:
        """Seconds the account stays locked, or None when it may try."""
        now = self._clock()
        with self.db.transaction() as session:
            row = session.get(LoginFailure, normalise_account(username))
            if row is None or row.locked_until is None or row.locked_until <= now:
                return None
            return (row.locked_until - now).total_seconds()

    def failed(self, username: str, client: str) -> bool:
        """Count a failure; True when this one locked the account."""
        account, now = normalise_account(username), self._clock()
        with self.db.transaction() as session:
            row = _row_for_update(
                session,
                self.db,
                LoginFailure,
                account,
                {"account": account, "failures": 0, "first_failed_at": now},
            )
            expired = row.locked_until is not None and row.locked_until <= now
            stale = row.locked_until is None and now - row.first_failed_at > FAILURE_WINDOW
            if expired or stale:
                row.failures, row.first_failed_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.locked_until is not None or row.failures < self.lockout_after:
                return False
            row.locked_until = now + self.lockout
            text = (
                f"Akun staf '{account}' dikunci {int(self.lockout.total_seconds() // 60)} menit "
                f"setelah {row.failures} kali gagal masuk (terakhir dari {client}). / "
                f"Staff account '{account}' locked after {row.failures} failed logins."
            )
            audit.warning(
                "login lockout: account %s after %d failures, last from %s",
                account,
                row.failures,
                client,
            )
            if self._notify is not None:
                self._notify(session, text)
            return True

    def locked(self) -> dict[str, datetime]:
        """Accounts locked now, with the time (naive UTC) their lock ends."""
        now = self._clock()
        with self.db.transaction() as session:
            rows = session.scalars(select(LoginFailure).where(LoginFailure.locked_until > now))
            return {row.account: row.locked_until for row in rows if row.locked_until}

    def succeeded(self, username: str) -> None:
        """Forget the failures of an account (it logged in, or an admin unlocked it)."""
        with self.db.transaction() as session:
            session.execute(
                delete(LoginFailure).where(LoginFailure.account == normalise_account(username))
            )


def admin_notifier(addresses: Callable[[], Sequence[str]]) -> Callable[[Session, str], None]:
    """Queue `text` for each admin address ("email:x@y", "sms:+62...", or a bare e-mail)."""

    def notify(session: Session, text: str) -> None:
        for address in addresses():
            if ":" not in address:
                address = f"email:{address}"
            channel, _, recipient = address.partition(":")
            enqueue(session, channel, recipient, "Akun staf dikunci / staff account locked", text)

    return notify
