"""The kiosk's outbox: submissions committed durably (SQLite WAL, synchronous=FULL) before the
citizen is told they are saved, personal data encrypted at rest, sent once with their key.

What a row holds is kiosk_app.services.outbox.records; its local reference comes from
kiosk_app.services.outbox.references; the sender is kiosk_app.services.outbox.sender."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk_app.domain.ticket import Slot
from kiosk_app.services.durable import (
    NO_KEY,
    StorageError,
    immediate,
    open_durable,
)
from kiosk_app.services.outbox.cipher import RowCipher
from kiosk_app.services.outbox.records import (
    HANDLED,
    HELD,
    NEEDS_SLOT,
    PENDING,
    REJECTED,
    RETURNED,
    SENT,
    WIPED,
    Attachment,
    Entry,
    Submission,
    entry_from_row,
    readable_entries,
)
from kiosk_app.services.outbox.references import References
from kiosk_app.services.sealing import OutboxError

log = logging.getLogger(__name__)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    local_reference TEXT NOT NULL UNIQUE,   -- LOK-<kiosk>-<yymmdd>-<seq>: no personal data
    idempotency_key TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    slot_date TEXT NOT NULL,
    slot_window TEXT NOT NULL,
    status TEXT NOT NULL,
    payload BLOB,                           -- AES-GCM nonce || ciphertext; NULL once wiped
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,  -- epoch seconds
    last_error TEXT NOT NULL DEFAULT '',
    registration_number TEXT,
    queue_number TEXT,
    created_at TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_at);
CREATE TABLE IF NOT EXISTS outbox_attachments (  -- scans: sent with the submission later
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL                      -- encrypted like the payload
);
CREATE TABLE IF NOT EXISTS outbox_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_handled (  -- held rows an attendant marked handled
    submission_id INTEGER PRIMARY KEY REFERENCES outbox(id),
    status_before TEXT NOT NULL,
    attendant TEXT NOT NULL,
    handled_at TEXT NOT NULL
);
"""


class Outbox:
    """SQLite outbox of one kiosk; thread-safe (one connection behind a lock)."""

    def __init__(
        self,
        path: Path | str,
        key: bytes | None,
        kiosk_id: str,
        *,
        clock: Callable[[], float] = time.time,
        local_now: Callable[[], datetime] = datetime.now,
    ) -> None:
        """Open (or create) the outbox at `path`, encrypting with the 32-byte `key`; None (the
        key is missing or damaged): rows are kept, nothing new is stored (StorageError)."""
        self.kiosk_id = kiosk_id
        self._clock = clock
        self._local_now = local_now
        self._lock = threading.Lock()
        self.path = Path(path)
        self._cipher = RowCipher(key, self.path)
        self._db = open_durable(path, _SCHEMA, secure_delete=True)
        self._references = References(self.path, kiosk_id)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
            self._references.close()

    # -- writing -------------------------------------------------------------------------------

    def enqueue(
        self,
        submission: Submission,
        *,
        idempotency_key: str | None = None,
        attachments: Sequence[Attachment] = (),
        hold_s: float = 0.0,
        book: Callable[[str], Mapping[str, str]] | None = None,
    ) -> Entry:
        """Commit a submission (and its scans) durably; return its row. The same key twice
        returns the first row. `hold_s` keeps the sender off it while the caller tries it.
        `book(local_reference)`: books the place from a lease (committed in the lease file,
        raising when none is left) and returns the {"lease_id", "seal"} the row carries; it runs
        inside this row's transaction, so a refusal stores nothing and a crash after it loses
        a place, never gives one twice."""
        key = idempotency_key or uuid.uuid4().hex
        now = self._local_now()
        if not self._cipher.usable:  # before the counter: no reference is spent on a refusal
            raise StorageError(self.path, NO_KEY, "no outbox key: a submission cannot be sealed")
        with self._tx() as db:
            row = db.execute("SELECT id FROM outbox WHERE idempotency_key=?", (key,)).fetchone()
            if row is not None:
                return self._entry(db, row["id"])
            reference = self._references.next(db, now)
            lease = dict(book(reference)) if book is not None else submission.lease
            plain: dict[str, Any] = {
                "applicant_nik": submission.applicant_nik,
                "applicant_name": submission.applicant_name,
                "data": dict(submission.data),
            }
            if lease:
                plain["lease"] = dict(lease)
            payload = self._cipher.seal(key, json.dumps(plain, ensure_ascii=False).encode())
            cur = db.execute(
                "INSERT INTO outbox (local_reference, idempotency_key, service, slot_date,"
                " slot_window, status, payload, next_attempt_at, created_at, submitted_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    reference,
                    key,
                    submission.service,
                    submission.slot.date.isoformat(),
                    submission.slot.window,
                    PENDING,
                    payload,
                    self._clock() + hold_s,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    submission.submitted_at,
                ),
            )
            entry_id = int(cur.lastrowid or 0)
            for item in attachments:
                db.execute(
                    "INSERT INTO outbox_attachments (submission_id, name, content_type, data)"
                    " VALUES (?,?,?,?)",
                    (entry_id, item.name, item.content_type, self._cipher.seal(key, item.data)),
                )
            return self._entry(db, entry_id)

    def mark_sent(
        self, entry_id: int, registration_number: str, queue_number: str, slot: Slot | None = None
    ) -> None:
        """The server holds it: keep the log line, wipe the personal data and scans. `slot`: the
        one the server booked (a later one when the row's was full), kept on the row."""
        self.mark_sent_many(
            [(entry_id, registration_number, queue_number)],
            {entry_id: slot} if slot is not None else None,
        )

    def mark_sent_many(
        self, sent: Sequence[tuple[int, str, str]], slots: Mapping[int, Slot] | None = None
    ) -> None:
        """mark_sent for (id, registration number, queue number) rows, in one transaction; `slots`
        the booked slot by id. Not fsynced (synchronous=NORMAL): if power loss undoes it, the
        resend is replayed by key."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        booked = slots or {}
        with self._tx(synchronous="NORMAL") as db:
            db.executemany(
                "UPDATE outbox SET status=?, registration_number=?, queue_number=?, payload=NULL,"
                " last_error='', sent_at=?, slot_date=coalesce(?, slot_date),"
                " slot_window=coalesce(?, slot_window) WHERE id=?",
                [
                    (
                        SENT,
                        number,
                        queue,
                        now,
                        booked[entry_id].date.isoformat() if entry_id in booked else None,
                        booked[entry_id].window if entry_id in booked else None,
                        entry_id,
                    )
                    for entry_id, number, queue in sent
                ],
            )
            db.executemany(
                "DELETE FROM outbox_attachments WHERE submission_id=?",
                [(entry_id,) for entry_id, _, _ in sent],
            )

    def mark_retry(self, entry_id: int, delay_s: float, error: str) -> None:
        """A transient failure: try again after `delay_s`."""
        self.mark_retry_many([entry_id], delay_s, error)

    def mark_retry_many(self, ids: Sequence[int], delay_s: float, error: str) -> None:
        """mark_retry for several rows in one transaction."""
        with self._tx() as db:
            db.executemany(
                "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=?"
                " WHERE id=? AND status=?",
                [(self._clock() + delay_s, error[:300], entry_id, PENDING) for entry_id in ids],
            )

    def mark_final(self, entry_id: int, status: str, error: str) -> None:
        """Stop retrying: rejected / needs_slot keep the data for an attendant; returned wipes."""
        if status not in (REJECTED, NEEDS_SLOT, RETURNED):
            raise ValueError(f"not a final status: {status}")
        with self._tx() as db:
            wipe = ", payload=NULL" if status in WIPED else ""
            db.execute(
                f"UPDATE outbox SET status=?, attempts=attempts+1, last_error=?{wipe} WHERE id=?",
                (status, error[:300], entry_id),
            )
            if status in WIPED:
                db.execute("DELETE FROM outbox_attachments WHERE submission_id=?", (entry_id,))

    def attach_lease(
        self, entry_id: int, book: Callable[[str], Mapping[str, str]]
    ) -> Mapping[str, str] | None:
        """A pending row's place taken from a lease after all (its first try found no
        server): `book(local_reference)` books it (see enqueue) and the row carries the
        {"lease_id", "seal"} it returns from now on. None when the row is no longer pending
        (sent meanwhile); the row's own lease when it already has one."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM outbox WHERE id=?", (entry_id,)).fetchone()
            if row is None or row["status"] != PENDING or row["payload"] is None:
                return None
            key = row["idempotency_key"]
            plain = json.loads(self._cipher.open(key, row["payload"]))
            if plain.get("lease"):
                return dict(plain["lease"])
            plain["lease"] = dict(book(row["local_reference"]))
            payload = self._cipher.seal(key, json.dumps(plain, ensure_ascii=False).encode())
            db.execute("UPDATE outbox SET payload=? WHERE id=?", (payload, entry_id))
            return dict(plain["lease"])

    def reschedule(self, entry_id: int, slot: Slot) -> None:
        """An attendant picked another slot for a needs_slot row: send it again (same key)."""
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET slot_date=?, slot_window=?, status=?, next_attempt_at=0,"
                " last_error='' WHERE id=? AND status IN (?, ?)",
                (slot.date.isoformat(), slot.window, PENDING, entry_id, NEEDS_SLOT, REJECTED),
            )

    def bring_forward(self) -> int:
        """Every pending row waiting out a backoff is due now (the server answers again);
        return how many."""
        with self._tx() as db:
            now = self._clock()
            return int(
                db.execute(
                    "UPDATE outbox SET next_attempt_at=? WHERE status=? AND next_attempt_at>?",
                    (now, PENDING, now),
                ).rowcount
            )

    def requeue(self, entry_id: int, hold_s: float = 0.0) -> Entry | None:
        """Send a needs_slot row again as it is (same key and slot: the server books the next
        free place); `hold_s` keeps the sender off it while the caller tries it. None when the
        row is no longer needs_slot."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE outbox SET status=?, next_attempt_at=? WHERE id=? AND status=?",
                (PENDING, self._clock() + hold_s, entry_id, NEEDS_SLOT),
            )
            return self._entry(db, entry_id) if cur.rowcount else None

    def mark_handled(self, entry_id: int, attendant: str) -> bool:
        """An attendant dealt with a held row (e.g. called the citizen): it leaves the held list
        and is kept with its data, who and when. False when the row is not held (any more)."""
        with self._tx() as db:
            row = db.execute("SELECT status FROM outbox WHERE id=?", (entry_id,)).fetchone()
            if row is None or row["status"] not in HELD:
                return False
            db.execute("UPDATE outbox SET status=? WHERE id=?", (HANDLED, entry_id))
            db.execute(
                "INSERT INTO outbox_handled (submission_id, status_before, attendant,"
                " handled_at) VALUES (?,?,?,?)",
                (
                    entry_id,
                    row["status"],
                    attendant,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
            return True

    def set_meta(self, name: str, value: str) -> None:
        """Remember a small setting (e.g. the office name of the last receipt)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO outbox_meta (name, value) VALUES (?, ?) ON CONFLICT(name)"
                " DO UPDATE SET value=excluded.value",
                (name, value),
            )

    # -- reading -------------------------------------------------------------------------------

    def meta(self, name: str, default: str = "") -> str:
        """A value stored with set_meta."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM outbox_meta WHERE name=?", (name,)).fetchone()
            return str(row["value"]) if row else default

    def depth(self) -> int:
        """Submissions still waiting to be sent (for the health report)."""
        with self._tx() as db:
            return int(
                db.execute("SELECT count(*) FROM outbox WHERE status=?", (PENDING,)).fetchone()[0]
            )

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        with self._tx() as db:
            rows = db.execute("SELECT status, count(*) AS n FROM outbox GROUP BY status")
            return {r["status"]: int(r["n"]) for r in rows}

    def held(self) -> list[Entry]:
        """Rows the server refused or could not book, waiting for an attendant, oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM outbox WHERE status IN (?, ?) ORDER BY id", HELD
            ).fetchall()
            return readable_entries(db, rows, self.path)

    def held_count(self) -> int:
        """How many rows are held for an attendant (for the health report)."""
        counts = self.counts()
        return sum(counts.get(status, 0) for status in HELD)

    def handled_by(self, entry_id: int) -> tuple[str, str, str] | None:
        """(attendant, handled_at UTC, status before) of a handled row, or None."""
        with self._tx() as db:
            row = db.execute(
                "SELECT attendant, handled_at, status_before FROM outbox_handled"
                " WHERE submission_id=?",
                (entry_id,),
            ).fetchone()
            return None if row is None else (row[0], row[1], row[2])

    def due(self, limit: int = 50) -> list[Entry]:
        """Pending rows whose next attempt is now or past, oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM outbox WHERE status=? AND next_attempt_at<=? ORDER BY id LIMIT ?",
                (PENDING, self._clock(), limit),
            ).fetchall()
            return readable_entries(db, rows, self.path)

    def with_attachments(self, ids: Sequence[int]) -> set[int]:
        """Which of these rows carry scans (they are sent one by one, with their uploads)."""
        with self._tx() as db:
            marks = ",".join("?" * len(ids))
            rows = db.execute(
                "SELECT DISTINCT submission_id FROM outbox_attachments"
                f" WHERE submission_id IN ({marks})",
                list(ids),
            ).fetchall()
            return {int(r[0]) for r in rows}

    def next_due_at(self) -> float | None:
        """When the earliest pending row becomes due (epoch seconds), or None."""
        with self._tx() as db:
            row = db.execute(
                "SELECT min(next_attempt_at) FROM outbox WHERE status=?", (PENDING,)
            ).fetchone()
            return None if row[0] is None else float(row[0])

    def entries(self, status: str | None = None) -> list[Entry]:
        """Every row (or those with `status`), oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM outbox WHERE ?1 IS NULL OR status=?1 ORDER BY id", (status,)
            ).fetchall()
            return readable_entries(db, rows, self.path)

    def get(self, entry_id: int) -> Entry:
        """One row (KeyError when unknown)."""
        with self._tx() as db:
            return self._entry(db, entry_id)

    def submission(self, entry_id: int) -> Submission:
        """Decrypt what a row holds (OutboxError once wiped)."""
        found = self.submissions([entry_id])[entry_id]
        if isinstance(found, OutboxError):
            raise found
        return found

    def submissions(self, ids: Sequence[int]) -> dict[int, Submission | OutboxError]:
        """Decrypt several rows in one read; a wiped or undecryptable row maps to its error."""
        with self._tx() as db:
            marks = ",".join("?" * len(ids))
            rows = {
                r["id"]: r
                for r in db.execute(
                    f"SELECT * FROM outbox WHERE id IN ({marks})", list(ids)
                ).fetchall()
            }
        found: dict[int, Submission | OutboxError] = {}
        for entry_id in ids:
            try:
                found[entry_id] = self._cipher.submission(entry_id, rows.get(entry_id))
            except OutboxError as exc:
                found[entry_id] = exc
        return found

    def attachments(self, entry_id: int) -> list[Attachment]:
        """The decrypted scans of a row."""
        with self._tx() as db:
            key = db.execute(
                "SELECT idempotency_key FROM outbox WHERE id=?", (entry_id,)
            ).fetchone()
            rows = db.execute(
                "SELECT * FROM outbox_attachments WHERE submission_id=? ORDER BY id", (entry_id,)
            ).fetchall()
        return [
            Attachment(r["name"], r["content_type"], self._cipher.open(key[0], r["data"]))
            for r in rows
        ]

    # -- internals -----------------------------------------------------------------------------

    @contextmanager
    def _tx(self, synchronous: str = "FULL") -> Iterator[sqlite3.Connection]:
        """One serialised transaction (BEGIN IMMEDIATE ... COMMIT)."""
        with self._lock:
            if synchronous != "FULL":
                self._db.execute(f"PRAGMA synchronous={synchronous}")
            try:
                with immediate(self._db) as db:
                    yield db
            finally:
                if synchronous != "FULL":
                    self._db.execute("PRAGMA synchronous=FULL")

    def _entry(self, db: sqlite3.Connection, entry_id: int) -> Entry:
        row = db.execute("SELECT * FROM outbox WHERE id=?", (entry_id,)).fetchone()
        if row is None:
            raise KeyError(f"no outbox row {entry_id}")
        return entry_from_row(row)
