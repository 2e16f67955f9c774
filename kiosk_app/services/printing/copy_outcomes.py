"""How each receipt copy printed, on its way to the central server: committed to a small
durable queue (SQLite WAL, synchronous=FULL) before it is sent with its idempotency key, tried
at once while the citizen waits, then retried in the background with backoff (as the surveys
are), so a network drop loses no report and the server applies each once. A copy that printed
nothing is given back by the server (central_server.receipt_copy_outcomes). Nothing personal is
stored: the server's copy id, what printed, and which device failed."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk_app.central import CentralClient, CentralError, CentralUnavailable
from kiosk_app.central_documents import CopyOutcomeAnswer
from kiosk_app.services.drain_loop import DrainLoop
from kiosk_app.services.durable import (
    DAMAGED,
    STORAGE,
    StorageError,
    immediate,
    open_durable,
)
from kiosk_app.services.outbox.sender import Backoff
from kiosk_app.services.surveys import IDLE_POLL_S, KEEP_SENT_DAYS, send_later

log = logging.getLogger(__name__)

PENDING, SENT, REJECTED = "pending", "sent", "rejected"
CLEARED = "cleared"  # refused, then cleared by a technician (fleet command): kept, not shown
UNREADABLE = "unreadable"  # damaged columns: kept, never sent, no longer blocking the queue
NOW_TIMEOUT_S = 3.0  # the try while the citizen waits for the message
REFUSED_SHOWN_DAYS = 7  # a refused report stays in the health report this long (kept on disk)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS copy_outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    copy_id INTEGER NOT NULL UNIQUE,        -- the server's copy: one report each
    ticket_printed INTEGER NOT NULL,
    receipt_printed INTEGER NOT NULL,
    failure TEXT NOT NULL,                  -- "ticket: PaperOut": no personal data
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,  -- epoch seconds
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT                            -- sent, or cleared by a technician (CLEARED)
);
CREATE INDEX IF NOT EXISTS copy_outcomes_due ON copy_outcomes(status, next_attempt_at);
"""


@dataclass(frozen=True)
class CopyOutcome:
    """One copy's report, as queued."""

    id: int
    idempotency_key: str
    copy_id: int
    ticket_printed: bool
    receipt_printed: bool
    failure: str
    status: str
    attempts: int
    last_error: str


class CopyOutcomes(DrainLoop):
    """The kiosk's queue of copy reports and its sender (one connection behind a lock)."""

    thread_name = "copy-outcome-sender"
    backoff: Backoff

    def __init__(
        self,
        path: Path | str,
        central: CentralClient,
        *,
        backoff: Backoff | None = None,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.central = central
        self.backoff = backoff or Backoff()
        self._rng, self._clock, self._timeout_s = rng, clock, timeout_s
        self._lock = threading.Lock()  # the connection
        self._send_lock = threading.Lock()  # one sender at a time: a row is never sent twice
        self._failures = 0
        self._db = open_durable(path, _SCHEMA)
        super().__init__()

    def close(self) -> None:
        """Stop sending and close the database."""
        self.stop()
        with self._lock:
            self._db.close()

    # -- reporting ---------------------------------------------------------------------------

    def report(
        self,
        copy_id: int,
        *,
        ticket_printed: bool,
        receipt_printed: bool,
        failure: str = "",
        wait: bool = False,
    ) -> CopyOutcomeAnswer | None:
        """Commit the report of copy `copy_id` durably, then send it: now (`wait`, the citizen
        is told the answer) or in the background. None: not applied yet (queued, or refused)."""
        try:
            row = self._enqueue(copy_id, ticket_printed, receipt_printed, failure)
        except StorageError as exc:  # a full or damaged disk: still try once, unqueued
            log.error("receipt copy %d outcome not queued (%s): sent once now", copy_id, exc)
            row = CopyOutcome(
                0, uuid.uuid4().hex, copy_id, ticket_printed, receipt_printed, failure, "", 0, ""
            )
            return self._send(row, NOW_TIMEOUT_S)[1] if wait else None
        if not wait:
            self.wake()
            return None
        with self._send_lock:
            return self._send(row, NOW_TIMEOUT_S)[1]

    def entries(self) -> list[CopyOutcome]:
        """Every readable row, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM copy_outcomes WHERE status!=? ORDER BY id", (UNREADABLE,)
            ).fetchall()
        return [_outcome(r) for r in rows]

    def status(self) -> dict[str, str]:
        """For the health report (the heartbeat's devices): reports waiting to be sent, how
        long the oldest has waited, and reports the server refused in the last
        REFUSED_SHOWN_DAYS days, with the newest refused report's row (refused_through: the
        technician's clear_copy_reports command clears those up to it, none refused after the
        page was read). state: ok | waiting | refused (refused is the worse: that citizen's
        allowance is not corrected by a resend)."""
        since = datetime.fromtimestamp(self._clock(), UTC) - timedelta(days=REFUSED_SHOWN_DAYS)
        with self._lock:
            waiting, oldest = self._db.execute(
                "SELECT count(*), min(created_at) FROM copy_outcomes WHERE status=?", (PENDING,)
            ).fetchone()
            refused, through = self._db.execute(
                "SELECT count(*), max(id) FROM copy_outcomes WHERE status=? AND created_at>=?",
                (REJECTED, since.isoformat(timespec="seconds")),
            ).fetchone()
        state = "refused" if refused else "waiting" if waiting else "ok"
        report = {"state": state, "waiting": str(waiting), "refused": str(refused)}
        if refused:
            report["refused_through"] = str(through)
        if waiting and isinstance(oldest, str):
            try:
                waited = self._clock() - datetime.fromisoformat(oldest).timestamp()
            except ValueError:  # a damaged timestamp: the count still tells
                pass
            else:
                report["oldest_waiting_s"] = str(max(0, int(waited)))
        return report

    def clear_refused(self, through: int | None = None) -> int:
        """A technician has read the refused reports (the fleet's clear_copy_reports command):
        those up to row `through` (every one if None) leave the health report. Kept aside as
        CLEARED, then dropped with the sent ones after KEEP_SENT_DAYS; they hold no personal
        data (the server's copy id, what printed, the failed device, the server's answer).
        Returns how many were cleared."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        last = through if through is not None else (1 << 63) - 1
        with self._lock, immediate(self._db):  # its COMMIT reports a full disk (StorageError)
            copies = [
                r[0]
                for r in self._db.execute(
                    "SELECT copy_id FROM copy_outcomes WHERE status=? AND id<=? ORDER BY id",
                    (REJECTED, last),
                )
            ]
            self._db.execute(
                "UPDATE copy_outcomes SET status=?, sent_at=? WHERE status=? AND id<=?",
                (CLEARED, now, REJECTED, last),
            )
        log.warning(
            "%d refused receipt copy outcome report(s) cleared by a technician (copies %s)",
            len(copies),
            ", ".join(map(str, copies)) or "none",
        )
        return len(copies)

    def _enqueue(
        self, copy_id: int, ticket_printed: bool, receipt_printed: bool, failure: str
    ) -> CopyOutcome:
        now = datetime.now(UTC)
        with self._lock, immediate(self._db):  # its COMMIT reports a full disk (StorageError)
            self._db.execute(  # a second report of one copy keeps the first (its key)
                "INSERT OR IGNORE INTO copy_outcomes (idempotency_key, copy_id, ticket_printed,"
                " receipt_printed, failure, status, created_at) VALUES (?,?,?,?,?,?,?)",
                (
                    uuid.uuid4().hex,
                    copy_id,
                    int(ticket_printed),
                    int(receipt_printed),
                    failure[:200],
                    PENDING,
                    now.isoformat(timespec="seconds"),
                ),
            )
            old = (now - timedelta(days=KEEP_SENT_DAYS)).isoformat(timespec="seconds")
            self._db.execute(
                "DELETE FROM copy_outcomes WHERE status IN (?,?) AND sent_at<?",
                (SENT, CLEARED, old),
            )
            found = self._db.execute(
                "SELECT * FROM copy_outcomes WHERE copy_id=?", (copy_id,)
            ).fetchone()
        return _outcome(found)

    # -- sending -----------------------------------------------------------------------------

    def drain_once(self) -> int:
        """Send every due row until none is due or the server stops answering; return sent."""
        sent = 0
        with self._send_lock:
            with self._lock:
                rows = self._db.execute(
                    "SELECT * FROM copy_outcomes WHERE status=? AND next_attempt_at<=?"
                    " ORDER BY id LIMIT 50",
                    (PENDING, self._clock()),
                ).fetchall()
            for raw in rows:
                if self._stop.is_set():
                    break
                row = self._readable(raw)
                if row is None:
                    continue
                status, _ = self._send(row, self._timeout_s)
                if status == PENDING:
                    break  # the server is down: wait for the backoff
                sent += status == SENT
        return sent

    def _readable(self, raw: sqlite3.Row) -> CopyOutcome | None:
        """The row, or None: its columns no longer decode (damaged storage), so it is set
        aside (kept, named in the health report) and no longer blocks the rows behind it."""
        try:
            return _outcome(raw)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            self._update(
                "UPDATE copy_outcomes SET status=?, last_error=? WHERE id=?",
                (UNREADABLE, type(exc).__name__, raw["id"]),
            )
            log.error("copy outcome row %s is unreadable (%s): set aside", raw["id"], exc)
            STORAGE.report(self.path, DAMAGED, f"copy outcome row {raw['id']} unreadable, kept")
            return None

    def _send(self, row: CopyOutcome, timeout: float) -> tuple[str, CopyOutcomeAnswer | None]:
        where = f"receipt copy {row.copy_id} outcome (key {row.idempotency_key[:8]})"
        if row.status and row.status != PENDING:
            return row.status, None  # sent or refused before: the server has its answer
        try:
            answer = self.central.report_copy_outcome(
                row.copy_id,
                ticket_printed=row.ticket_printed,
                receipt_printed=row.receipt_printed,
                failure=row.failure,
                idempotency_key=row.idempotency_key,
                timeout=timeout,
            )
        except CentralError as exc:
            unavailable = isinstance(exc, CentralUnavailable)  # a 429 too (CentralTransport)
            retry_after = exc.retry_after if isinstance(exc, CentralUnavailable) else None
            if send_later(exc):
                if unavailable and retry_after is None:
                    self.server_unreachable()
                self._failures += 1
                delay = self.backoff.delay(self._failures, retry_after, self._rng)
                self._update(
                    "UPDATE copy_outcomes SET attempts=attempts+1, next_attempt_at=?,"
                    " last_error=? WHERE id=? AND status=?",
                    (self._clock() + delay, str(exc)[:300], row.id, PENDING),
                )
                log.info("%s not sent (%s); retry in %.1f s", where, exc.status or "-", delay)
                return PENDING, None
            self._failures = 0
            self._update(
                "UPDATE copy_outcomes SET status=?, attempts=attempts+1, last_error=? WHERE id=?",
                (REJECTED, str(exc)[:300], row.id),
            )
            log.warning("%s refused by the server: %s", where, exc)
            return REJECTED, None
        except Exception as exc:  # a bug must not lose the row: keep it and back off
            log.exception("%s: sending crashed", where)
            self._failures += 1
            self._update(
                "UPDATE copy_outcomes SET attempts=attempts+1, next_attempt_at=?, last_error=?"
                " WHERE id=? AND status=?",
                (
                    self._clock() + self.backoff.delay(self._failures, None, self._rng),
                    type(exc).__name__,
                    row.id,
                    PENDING,
                ),
            )
            return PENDING, None
        self._failures = 0
        self._update(
            "UPDATE copy_outcomes SET status=?, last_error='', sent_at=? WHERE id=?",
            (SENT, datetime.now(UTC).isoformat(timespec="seconds"), row.id),
        )
        log.info(
            "%s applied: %s, %s",
            where,
            answer.print_outcome,
            "counted" if answer.counted else "given back (not counted today)",
        )
        return SENT, answer

    def _update(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            with self._lock, immediate(self._db):
                self._db.execute(sql, params)
        except StorageError as exc:  # the server has the report (or will by its key)
            log.error("copy outcome queue not updated: %s", exc)

    def _bring_forward(self) -> int:
        """After an outage: every pending report is due now."""
        self._failures = 0
        now = self._clock()
        with self._lock, immediate(self._db):
            return int(
                self._db.execute(
                    "UPDATE copy_outcomes SET next_attempt_at=? WHERE status=? AND"
                    " next_attempt_at>?",
                    (now, PENDING, now),
                ).rowcount
            )

    def _next_wait(self) -> float:
        """Seconds until the next queued report is due (at most IDLE_POLL_S)."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(next_attempt_at) FROM copy_outcomes WHERE status=?", (PENDING,)
            ).fetchone()
        wait = IDLE_POLL_S if row[0] is None else float(row[0]) - time.time()
        return min(IDLE_POLL_S, max(0.01, wait))


def _outcome(row: sqlite3.Row) -> CopyOutcome:
    if not isinstance(row["idempotency_key"], str) or not isinstance(row["copy_id"], int):
        raise ValueError(f"copy outcome row {row['id']} holds damaged columns")
    return CopyOutcome(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        copy_id=row["copy_id"],
        ticket_printed=bool(row["ticket_printed"]),
        receipt_printed=bool(row["receipt_printed"]),
        failure=str(row["failure"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )
