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
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from kiosk_app.central import CentralClient
from kiosk_app.central_documents import CopyOutcomeAnswer
from kiosk_app.services.durable import StorageError, immediate
from kiosk_app.services.outbox.sender import Backoff
from kiosk_app.services.report_queue import (
    PENDING,
    REJECTED,
    SENT,
    UNREADABLE,
    ReportSender,
    ReportTable,
    report_schema,
)

__all__ = ["CLEARED", "PENDING", "REJECTED", "SENT", "UNREADABLE", "CopyOutcome", "CopyOutcomes"]

log = logging.getLogger(__name__)

CLEARED = "cleared"  # refused, then cleared by a technician (fleet command): kept, not shown
NOW_TIMEOUT_S = 3.0  # the try while the citizen waits for the message
REFUSED_SHOWN_DAYS = 7  # a refused report stays in the health report this long (kept on disk)

# sent_at: when it was sent, or cleared by a technician (CLEARED)
_SCHEMA = report_schema(
    "copy_outcomes",
    """    copy_id INTEGER NOT NULL UNIQUE,        -- the server's copy: one report each
    ticket_printed INTEGER NOT NULL,
    receipt_printed INTEGER NOT NULL,
    failure TEXT NOT NULL,                  -- "ticket: PaperOut": no personal data""",
)


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


class CopyOutcomeQueue(ReportTable[CopyOutcome]):
    """The copy reports' durable queue (one connection behind a lock)."""

    table, noun, logger = "copy_outcomes", "copy outcome", log
    settled: ClassVar[tuple[str, ...]] = (SENT, CLEARED)

    def __init__(self, path: Path | str, clock: Callable[[], float]) -> None:
        """Open (or create) the queue at `path`."""
        super().__init__(path, _SCHEMA, clock)

    def enqueue(
        self, copy_id: int, ticket_printed: bool, receipt_printed: bool, failure: str
    ) -> CopyOutcome:
        """Commit the report of copy `copy_id` (a second report of one copy keeps the first,
        its key)."""
        now = self._now()
        with self._lock, immediate(self._db):  # its COMMIT reports a full disk (StorageError)
            self._db.execute(
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
            self._drop_settled(now)
            found = self._db.execute(
                "SELECT * FROM copy_outcomes WHERE copy_id=?", (copy_id,)
            ).fetchone()
        return self._row(found)

    def entries(self) -> list[CopyOutcome]:
        """Every readable row, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM copy_outcomes WHERE status!=? ORDER BY id", (UNREADABLE,)
            ).fetchall()
        return [self._row(r) for r in rows]

    def status(self) -> dict[str, str]:
        """See CopyOutcomes.status."""
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
        """See CopyOutcomes.clear_refused."""
        now = self._now().isoformat(timespec="seconds")
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

    def _row(self, raw: sqlite3.Row) -> CopyOutcome:
        if not isinstance(raw["idempotency_key"], str) or not isinstance(raw["copy_id"], int):
            raise ValueError(f"copy outcome row {raw['id']} holds damaged columns")
        return CopyOutcome(
            id=raw["id"],
            idempotency_key=raw["idempotency_key"],
            copy_id=raw["copy_id"],
            ticket_printed=bool(raw["ticket_printed"]),
            receipt_printed=bool(raw["receipt_printed"]),
            failure=str(raw["failure"]),
            status=raw["status"],
            attempts=raw["attempts"],
            last_error=raw["last_error"],
        )

    def _update(self, sql: str, params: tuple[object, ...]) -> None:
        try:
            super()._update(sql, params)
        except StorageError as exc:  # the server has the report (or will by its key)
            log.error("copy outcome queue not updated: %s", exc)


class CopyOutcomes(ReportSender[CopyOutcome, CopyOutcomeAnswer]):
    """The kiosk's queue of copy reports and its sender."""

    thread_name = "copy-outcome-sender"
    logger = log
    queue: CopyOutcomeQueue

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
        super().__init__(
            CopyOutcomeQueue(path, clock), backoff=backoff, rng=rng, timeout_s=timeout_s
        )

    def close(self) -> None:
        """Stop sending and close the database."""
        self.stop()
        self.queue.close()

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
            row = self.queue.enqueue(copy_id, ticket_printed, receipt_printed, failure)
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
        return self.queue.entries()

    def status(self) -> dict[str, str]:
        """For the health report (the heartbeat's devices): reports waiting to be sent, how
        long the oldest has waited, and reports the server refused in the last
        REFUSED_SHOWN_DAYS days, with the newest refused report's row (refused_through: the
        technician's clear_copy_reports command clears those up to it, none refused after the
        page was read). state: ok | waiting | refused (refused is the worse: that citizen's
        allowance is not corrected by a resend)."""
        return self.queue.status()

    def clear_refused(self, through: int | None = None) -> int:
        """A technician has read the refused reports (the fleet's clear_copy_reports command):
        those up to row `through` (every one if None) leave the health report. Kept aside as
        CLEARED, then dropped with the sent ones after KEEP_SENT_DAYS; they hold no personal
        data (the server's copy id, what printed, the failed device, the server's answer).
        Returns how many were cleared."""
        return self.queue.clear_refused(through)

    # -- sending -----------------------------------------------------------------------------

    def _send(self, row: CopyOutcome, timeout: float) -> tuple[str, CopyOutcomeAnswer | None]:
        where = f"receipt copy {row.copy_id} outcome (key {row.idempotency_key[:8]})"
        if row.status and row.status != PENDING:
            return row.status, None  # sent or refused before: the server has its answer
        status, answer = self._attempt(
            row.id,
            where,
            lambda: self.central.report_copy_outcome(
                row.copy_id,
                ticket_printed=row.ticket_printed,
                receipt_printed=row.receipt_printed,
                failure=row.failure,
                idempotency_key=row.idempotency_key,
                timeout=timeout,
            ),
        )
        if answer is not None:
            log.info(
                "%s applied: %s, %s",
                where,
                answer.print_outcome,
                "counted" if answer.counted else "given back (not counted today)",
            )
        return status, answer
