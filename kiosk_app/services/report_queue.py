"""The durable report queue shared by the kiosk's small senders (satisfaction surveys, receipt
copies' print outcomes): each report is a row committed to SQLite (WAL, synchronous=FULL) with
its idempotency key and the same tracking columns, sent in the background, retried with backoff
while the server is down or busy, kept with the server's reason when it refuses it for good.

A queue names its table and its own columns (ReportTable); its sender (ReportSender) says how
one row is sent and what is logged when it is applied."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from kiosk_app.central import CentralError, CentralUnavailable
from kiosk_app.services.drain_loop import DrainLoop
from kiosk_app.services.durable import DAMAGED, STORAGE, immediate, open_durable
from kiosk_app.services.outbox.sender import Backoff

PENDING, SENT, REJECTED = "pending", "sent", "rejected"
UNREADABLE = "unreadable"  # damaged columns: kept, never sent, no longer blocking the queue
IDLE_POLL_S = 60.0
KEEP_SENT_DAYS = 30
RETRY_LATER = (401, 403, 408)  # a token being rotated or a proxy timing out: not the report
# what a damaged row's columns raise while they are read back
UNREADABLE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


Row = TypeVar("Row")
Answer = TypeVar("Answer")


def send_later(exc: CentralError) -> bool:
    """True when a queued report failed for a reason of the moment, not its own: the server
    unreachable or busy (a 429 is a CentralUnavailable), a token being rotated, a proxy timing
    out, the kiosk without its token yet (enrolment under way). Kept and sent again."""
    return (
        isinstance(exc, CentralUnavailable) or exc.status in RETRY_LATER or exc.code == "no_token"
    )


def report_schema(table: str, columns: str) -> str:
    """The table of a report queue: its id and idempotency key, `columns` (the report's own,
    each line ending in a comma), then the tracking columns every queue shares."""
    return f"""
CREATE TABLE IF NOT EXISTS {table} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
{columns}
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,  -- epoch seconds
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS {table}_due ON {table}(status, next_attempt_at);
"""


class ReportTable(Generic[Row]):
    """One queue's table behind one connection and a lock: what is due, and each row's fate.

    A subclass sets `table`, `noun` (for log lines and the storage health) and `logger`, and
    reads a row back in `_row()` (raising one of UNREADABLE_ERRORS for damaged columns)."""

    table: ClassVar[str]
    noun: ClassVar[str]
    logger: ClassVar[logging.Logger]
    settled: ClassVar[tuple[str, ...]] = (SENT,)  # statuses dropped after KEEP_SENT_DAYS

    def __init__(self, path: Path | str, schema: str, clock: Callable[[], float]) -> None:
        """Open (or create) the queue at `path`."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()  # the connection
        self._db = open_durable(path, schema)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _row(self, raw: sqlite3.Row) -> Row:
        """The row as the sender uses it (provided by the queue)."""
        raise NotImplementedError

    def due(self, limit: int = 50) -> list[Row]:
        """Pending rows whose next attempt is now or past, oldest first. A row whose columns
        no longer decode (damaged storage) is set aside: kept, named in the health report, no
        longer blocking the rows behind it."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM {self.table} WHERE status=? AND next_attempt_at<=?"
                " ORDER BY id LIMIT ?",
                (PENDING, self._clock(), limit),
            ).fetchall()
        found = []
        for raw in rows:
            try:
                found.append(self._row(raw))
            except UNREADABLE_ERRORS as exc:
                self._update(
                    f"UPDATE {self.table} SET status=?, last_error=? WHERE id=?",
                    (UNREADABLE, type(exc).__name__, raw["id"]),
                )
                self.logger.error(
                    "%s row %s is unreadable (%s): set aside", self.noun, raw["id"], exc
                )
                STORAGE.report(self.path, DAMAGED, f"{self.noun} row {raw['id']} unreadable, kept")
        return found

    def next_due_at(self) -> float | None:
        """When the earliest pending row becomes due (epoch seconds), or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT min(next_attempt_at) FROM {self.table} WHERE status=?",
                (PENDING,),
            ).fetchone()
            return None if row[0] is None else float(row[0])

    def _now(self) -> datetime:
        """The queue's clock as a time of day: what it stamps is measured by the same clock."""
        return datetime.fromtimestamp(self._clock(), UTC)

    def mark_sent(self, row_id: int) -> None:
        """The server holds it (a resend after a lost update is replayed by its key)."""
        self._update(
            f"UPDATE {self.table} SET status=?, last_error='', sent_at=? WHERE id=?",
            (SENT, self._now().isoformat(timespec="seconds"), row_id),
        )

    def mark_retry(self, row_id: int, delay_s: float, error: str) -> None:
        """A transient failure: try again after `delay_s`."""
        self._update(
            f"UPDATE {self.table} SET attempts=attempts+1, next_attempt_at=?,"
            " last_error=? WHERE id=? AND status=?",
            (self._clock() + delay_s, error[:300], row_id, PENDING),
        )

    def mark_rejected(self, row_id: int, error: str) -> None:
        """The server refused it for good: keep the row and the reason for the technician."""
        self._update(
            f"UPDATE {self.table} SET status=?, attempts=attempts+1, last_error=? WHERE id=?",
            (REJECTED, error[:300], row_id),
        )

    def bring_forward(self) -> int:
        """Every pending row waiting out a backoff is due now; return how many."""
        now = self._clock()
        with self._lock, immediate(self._db):
            return int(
                self._db.execute(
                    f"UPDATE {self.table} SET next_attempt_at=? WHERE status=?"
                    " AND next_attempt_at>?",
                    (now, PENDING, now),
                ).rowcount
            )

    def _drop_settled(self, now: datetime) -> None:
        """Inside a write transaction: drop the rows settled more than KEEP_SENT_DAYS ago."""
        old = (now - timedelta(days=KEEP_SENT_DAYS)).isoformat(timespec="seconds")
        marks = ",".join("?" * len(self.settled))
        self._db.execute(
            f"DELETE FROM {self.table} WHERE status IN ({marks}) AND sent_at<?",
            (*self.settled, old),
        )

    def _update(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock, immediate(self._db):  # its COMMIT reports a full disk (StorageError)
            self._db.execute(sql, params)


class ReportSender(DrainLoop, Generic[Row, Answer]):
    """Sends a ReportTable's due rows on a background thread, one sender at a time (a row is
    never sent twice), backing off while the server does not take them.

    A subclass calls `__init__` with its queue and provides `_send()` (one row: its answer, or
    the status it was left in) using `_attempt()`."""

    backoff: Backoff
    logger: ClassVar[logging.Logger]

    def __init__(
        self,
        queue: ReportTable[Row],
        *,
        backoff: Backoff | None = None,
        rng: Callable[[], float] = random.random,
        timeout_s: float = 5.0,
    ) -> None:
        self.queue = queue
        self.backoff = backoff or Backoff()
        self._rng = rng
        self._timeout_s = timeout_s
        self._failures = 0
        self._send_lock = threading.Lock()  # one sender at a time: a row is never sent twice
        super().__init__()

    def _send(self, row: Row, timeout: float) -> tuple[str, Answer | None]:
        """Send one row (provided by the sender)."""
        raise NotImplementedError

    def drain_once(self) -> int:
        """Send every due row until none is due or the server stops answering; return sent."""
        sent = 0
        with self._send_lock:
            for row in self.queue.due():
                if self._stop.is_set():
                    break
                status, _ = self._send(row, self._timeout_s)
                if status == PENDING:
                    break  # the server is down: wait for the backoff
                sent += status == SENT
        return sent

    def _attempt(
        self, row_id: int, where: str, send: Callable[[], Answer]
    ) -> tuple[str, Answer | None]:
        """Call `send` and record the row's fate: sent (with the server's answer), kept for a
        retry after a backoff (a failure of the moment, or a bug: never lost), or refused."""
        try:
            answer = send()
        except CentralError as exc:
            retry_after = exc.retry_after if isinstance(exc, CentralUnavailable) else None
            if send_later(exc):
                if isinstance(exc, CentralUnavailable) and retry_after is None:
                    self.server_unreachable()
                self._failures += 1
                delay = self.backoff.delay(self._failures, retry_after, self._rng)
                self.queue.mark_retry(row_id, delay, str(exc))
                self.logger.info(
                    "%s not sent (%s); retry in %.1f s", where, exc.status or "-", delay
                )
                return PENDING, None
            self._failures = 0
            self.queue.mark_rejected(row_id, str(exc))
            self.logger.warning("%s refused by the server: %s", where, exc)
            return REJECTED, None
        except Exception as exc:  # a bug must not lose the row: keep it and back off
            self.logger.exception("%s: sending crashed", where)
            self._failures += 1
            self.queue.mark_retry(
                row_id, self.backoff.delay(self._failures, None, self._rng), type(exc).__name__
            )
            return PENDING, None
        self._failures = 0
        self.queue.mark_sent(row_id)
        return SENT, answer

    def _bring_forward(self) -> int:
        """After an outage: every pending row is due now."""
        self._failures = 0
        return self.queue.bring_forward()

    def _next_wait(self) -> float:
        """Seconds until the next queued row is due (at most IDLE_POLL_S)."""
        due_at = self.queue.next_due_at()
        wait = IDLE_POLL_S if due_at is None else due_at - time.time()
        return min(IDLE_POLL_S, max(0.01, wait))
