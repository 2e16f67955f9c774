"""Satisfaction surveys on their way to the central server: committed to a small durable queue
(SQLite WAL, synchronous=FULL), sent in the background with their idempotency key, retried
with backoff while the server is down. Nothing personal is stored: service, date, answers."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kiosk_app.central import CentralClient
from kiosk_app.domain import ikm
from kiosk_app.services.durable import immediate
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

__all__ = [  # the queue's states and rules, as they were named here first
    "PENDING",
    "REJECTED",
    "SENT",
    "UNREADABLE",
    "QueuedSurvey",
    "SurveyQueue",
    "SurveySender",
]

log = logging.getLogger(__name__)

_SCHEMA = report_schema(
    "surveys",
    """    service TEXT NOT NULL,
    survey_date TEXT NOT NULL,
    answers TEXT NOT NULL,                  -- JSON {"U1": 1..4, ...}: no personal data""",
)


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


class SurveyQueue(ReportTable[QueuedSurvey]):
    """The kiosk's durable queue of surveys; thread-safe (one connection behind a lock)."""

    table, noun, logger = "surveys", "survey", log

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        """Open (or create) the queue at `path`."""
        super().__init__(path, _SCHEMA, clock)

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
                self._drop_settled(now)
            return self._get(key)

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        with self._lock:
            rows = self._db.execute("SELECT status, count(*) FROM surveys GROUP BY status")
            return {status: int(n) for status, n in rows}

    def entries(self) -> list[QueuedSurvey]:
        """Every row, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM surveys ORDER BY id").fetchall()
        return [self._row(r) for r in rows]

    def _get(self, key: str) -> QueuedSurvey:
        return self._row(
            self._db.execute("SELECT * FROM surveys WHERE idempotency_key=?", (key,)).fetchone()
        )

    def _row(self, raw: sqlite3.Row) -> QueuedSurvey:
        return QueuedSurvey(
            id=raw["id"],
            idempotency_key=raw["idempotency_key"],
            service=raw["service"],
            survey_date=date.fromisoformat(raw["survey_date"]),
            answers={k: int(v) for k, v in json.loads(raw["answers"]).items()},
            status=raw["status"],
            attempts=raw["attempts"],
            last_error=raw["last_error"],
        )


class SurveySender(ReportSender[QueuedSurvey, Any]):
    """Sends queued surveys on a background thread; `submit()` commits one and wakes it."""

    thread_name = "survey-sender"
    logger = log
    queue: SurveyQueue

    def __init__(
        self,
        queue: SurveyQueue,
        central: CentralClient,
        *,
        backoff: Backoff | None = None,
        rng: Callable[[], float] = random.random,
        timeout_s: float = 5.0,
    ) -> None:
        self.central = central
        super().__init__(queue, backoff=backoff, rng=rng, timeout_s=timeout_s)

    def submit(self, service: str, survey_date: date, answers: Mapping[str, int]) -> QueuedSurvey:
        """Commit a survey durably, then let the background thread send it."""
        row = self.queue.enqueue(service, survey_date, answers)
        log.info("survey %s for %s queued", row.idempotency_key[:8], service)
        self._wake.set()
        return row

    def _send(self, row: QueuedSurvey, timeout: float) -> tuple[str, Any]:
        where = f"survey {row.idempotency_key[:8]}"
        status, _ = self._attempt(
            row.id,
            where,
            lambda: self.central.submit_survey(
                service=row.service,
                survey_date=row.survey_date,
                answers=row.answers,
                idempotency_key=row.idempotency_key,
                timeout=timeout,
            ),
        )
        if status == SENT:
            log.info("%s sent", where)
        return status, None
