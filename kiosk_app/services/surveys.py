"""Satisfaction surveys on their way to the central server: committed to a small durable queue
(SQLite WAL, synchronous=FULL), sent in the background with their idempotency key, retried
with backoff while the server is down. Nothing personal is stored: service, date, answers."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kiosk_app.central import CentralClient, CentralError, CentralUnavailable
from kiosk_app.domain import ikm
from kiosk_app.services.drain_loop import DrainLoop
from kiosk_app.services.durable import DAMAGED, STORAGE, immediate, open_durable
from kiosk_app.services.outbox.sender import Backoff

log = logging.getLogger(__name__)

PENDING, SENT, REJECTED = "pending", "sent", "rejected"
UNREADABLE = "unreadable"  # damaged columns: kept, never sent, no longer blocking the queue
IDLE_POLL_S = 60.0
KEEP_SENT_DAYS = 30
RETRY_LATER = (401, 403, 408)  # a token being rotated or a proxy timing out: not the survey


def send_later(exc: CentralError) -> bool:
    """True when a queued report failed for a reason of the moment, not its own: the server
    unreachable or busy (a 429 is a CentralUnavailable), a token being rotated, a proxy timing
    out, the kiosk without its token yet (enrolment under way). Kept and sent again."""
    return (
        isinstance(exc, CentralUnavailable) or exc.status in RETRY_LATER or exc.code == "no_token"
    )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    survey_date TEXT NOT NULL,
    answers TEXT NOT NULL,                  -- JSON {"U1": 1..4, ...}: no personal data
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,  -- epoch seconds
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS surveys_due ON surveys(status, next_attempt_at);
"""


@dataclass(frozen=True)
class QueuedSurvey:
    """One survey row."""

    id: int
    idempotency_key: str
    service: str
    survey_date: date
    answers: dict[str, int]
    status: str
    attempts: int
    last_error: str


class SurveyQueue:
    """The kiosk's durable queue of surveys; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        """Open (or create) the queue at `path`."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_durable(path, _SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def enqueue(
        self,
        service: str,
        survey_date: date,
        answers: Mapping[str, object],
        idempotency_key: str | None = None,
    ) -> QueuedSurvey:
        """Commit a complete survey (validated); the same key twice returns the first row."""
        clean = ikm.validate(answers)
        key = idempotency_key or uuid.uuid4().hex
        now = datetime.now(UTC)
        with self._lock, immediate(self._db):  # its COMMIT reports a full disk (StorageError)
            row = self._db.execute(
                "SELECT id FROM surveys WHERE idempotency_key=?", (key,)
            ).fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO surveys (idempotency_key, service, survey_date, answers, status,"
                    " created_at) VALUES (?,?,?,?,?,?)",
                    (
                        key,
                        service,
                        survey_date.isoformat(),
                        json.dumps(clean, sort_keys=True),
                        PENDING,
                        now.isoformat(timespec="seconds"),
                    ),
                )
                old = (now - timedelta(days=KEEP_SENT_DAYS)).isoformat(timespec="seconds")
                self._db.execute("DELETE FROM surveys WHERE status=? AND sent_at<?", (SENT, old))
            return self._get(key)

    def due(self, limit: int = 50) -> list[QueuedSurvey]:
        """Pending rows whose next attempt is now or past, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, idempotency_key FROM surveys WHERE status=? AND next_attempt_at<=?"
                " ORDER BY id LIMIT ?",
                (PENDING, self._clock(), limit),
            ).fetchall()
            found = []
            for row in rows:
                try:
                    found.append(self._get(row[1]))
                except (ValueError, TypeError, KeyError, AttributeError) as exc:
                    self._db.execute(
                        "UPDATE surveys SET status=?, last_error=? WHERE id=?",
                        (UNREADABLE, type(exc).__name__, row[0]),
                    )
                    STORAGE.report(self.path, DAMAGED, f"survey row {row[0]} unreadable, kept")
            return found

    def next_due_at(self) -> float | None:
        """When the earliest pending row becomes due (epoch seconds), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT min(next_attempt_at) FROM surveys WHERE status=?", (PENDING,)
            ).fetchone()
            return None if row[0] is None else float(row[0])

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        with self._lock:
            rows = self._db.execute("SELECT status, count(*) FROM surveys GROUP BY status")
            return {status: int(n) for status, n in rows}

    def entries(self) -> list[QueuedSurvey]:
        """Every row, oldest first."""
        with self._lock:
            keys = self._db.execute("SELECT idempotency_key FROM surveys ORDER BY id").fetchall()
            return [self._get(k[0]) for k in keys]

    def mark_sent(self, survey_id: int) -> None:
        """The server holds it (a resend after a lost update is replayed by its key)."""
        self._update(
            "UPDATE surveys SET status=?, last_error='', sent_at=? WHERE id=?",
            (SENT, datetime.now(UTC).isoformat(timespec="seconds"), survey_id),
        )

    def mark_retry(self, survey_id: int, delay_s: float, error: str) -> None:
        """A transient failure: try again after `delay_s`."""
        self._update(
            "UPDATE surveys SET attempts=attempts+1, next_attempt_at=?, last_error=?"
            " WHERE id=? AND status=?",
            (self._clock() + delay_s, error[:300], survey_id, PENDING),
        )

    def bring_forward(self) -> int:
        """Every pending survey waiting out a backoff is due now; return how many."""
        now = self._clock()
        with self._lock, immediate(self._db):
            return int(
                self._db.execute(
                    "UPDATE surveys SET next_attempt_at=? WHERE status=? AND next_attempt_at>?",
                    (now, PENDING, now),
                ).rowcount
            )

    def mark_rejected(self, survey_id: int, error: str) -> None:
        """The server refused it for good: keep the row and the reason for the technician."""
        self._update(
            "UPDATE surveys SET status=?, attempts=attempts+1, last_error=? WHERE id=?",
            (REJECTED, error[:300], survey_id),
        )

    def _update(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock, immediate(self._db):
            self._db.execute(sql, params)

    def _get(self, key: str) -> QueuedSurvey:
        row = self._db.execute("SELECT * FROM surveys WHERE idempotency_key=?", (key,)).fetchone()
        return QueuedSurvey(
            id=row["id"],
            idempotency_key=row["idempotency_key"],
            service=row["service"],
            survey_date=date.fromisoformat(row["survey_date"]),
            answers={k: int(v) for k, v in json.loads(row["answers"]).items()},
            status=row["status"],
            attempts=row["attempts"],
            last_error=row["last_error"],
        )


class SurveySender(DrainLoop):
    """Sends queued surveys on a background thread; `submit()` commits one and wakes it."""

    thread_name = "survey-sender"
    backoff: Backoff

    def __init__(
        self,
        queue: SurveyQueue,
        central: CentralClient,
        *,
        backoff: Backoff | None = None,
        rng: Callable[[], float] = random.random,
        timeout_s: float = 5.0,
    ) -> None:
        self.queue = queue
        self.central = central
        self.backoff = backoff or Backoff()
        self._rng = rng
        self._timeout_s = timeout_s
        self._failures = 0
        self._send_lock = threading.Lock()  # one sender at a time: a row is never sent twice
        super().__init__()

    def submit(self, service: str, survey_date: date, answers: Mapping[str, int]) -> QueuedSurvey:
        """Commit a survey durably, then let the background thread send it."""
        row = self.queue.enqueue(service, survey_date, answers)
        log.info("survey %s for %s queued", row.idempotency_key[:8], service)
        self._wake.set()
        return row

    def drain_once(self) -> int:
        """Send every due row until none is due or the server stops answering; return sent."""
        sent = 0
        with self._send_lock:
            for row in self.queue.due():
                if self._stop.is_set():
                    break
                outcome = self._send(row)
                if outcome == PENDING:
                    break  # the server is down: wait for the backoff
                sent += outcome == SENT
        return sent

    def _send(self, row: QueuedSurvey) -> str:
        where = f"survey {row.idempotency_key[:8]}"
        try:
            self.central.submit_survey(
                service=row.service,
                survey_date=row.survey_date,
                answers=row.answers,
                idempotency_key=row.idempotency_key,
                timeout=self._timeout_s,
            )
        except CentralError as exc:
            retry_after = exc.retry_after if isinstance(exc, CentralUnavailable) else None
            if send_later(exc):
                if isinstance(exc, CentralUnavailable) and retry_after is None:
                    self.server_unreachable()
                self._failures += 1
                delay = self.backoff.delay(self._failures, retry_after, self._rng)
                self.queue.mark_retry(row.id, delay, str(exc))
                log.info("%s not sent (%s); retry in %.1f s", where, exc.status or "-", delay)
                return PENDING
            self._failures = 0
            self.queue.mark_rejected(row.id, str(exc))
            log.warning("%s refused by the server: %s", where, exc)
            return REJECTED
        except Exception as exc:  # a bug must not lose the row: keep it and back off
            log.exception("%s: sending crashed", where)
            self._failures += 1
            self.queue.mark_retry(
                row.id, self.backoff.delay(self._failures, None, self._rng), type(exc).__name__
            )
            return PENDING
        self._failures = 0
        self.queue.mark_sent(row.id)
        log.info("%s sent", where)
        return SENT

    def _bring_forward(self) -> int:
        """After an outage: every pending survey is due now."""
        self._failures = 0
        return self.queue.bring_forward()

    def _next_wait(self) -> float:
        """Seconds until the next queued survey is due (at most IDLE_POLL_S)."""
        due_at = self.queue.next_due_at()
        wait = IDLE_POLL_S if due_at is None else due_at - time.time()
        return min(IDLE_POLL_S, max(0.01, wait))
