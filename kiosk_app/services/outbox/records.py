"""What the kiosk's outbox holds: the statuses of its rows, the submission a row carries (sent to
the central server, encrypted at rest), its scans, and a row as attendants and the health
report see it (no personal data). The store is kiosk_app.services.outbox.store."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kiosk_app.domain.ticket import Slot
from kiosk_app.services.durable import DAMAGED, STORAGE

log = logging.getLogger("kiosk_app.services.outbox.store")  # the outbox's one logger

# Statuses: pending -> sent | rejected | needs_slot; returned = the citizen at the kiosk was
# told on screen (slot full / refused) and starts again; payloads are wiped in sent/returned.
# rejected / needs_slot are held for an attendant: needs_slot may go back to pending, either
# may become handled (kept, with who and when in outbox_handled, out of the attendant's list).
# unreadable = a row whose columns no longer decode (damaged storage): kept, never sent, and
# named in the health report; it no longer blocks the rows behind it.
PENDING, SENT, REJECTED, NEEDS_SLOT, RETURNED, HANDLED, UNREADABLE = (
    "pending",
    "sent",
    "rejected",
    "needs_slot",
    "returned",
    "handled",
    "unreadable",
)
WIPED = (SENT, RETURNED)
HELD = (REJECTED, NEEDS_SLOT)


@dataclass(frozen=True)
class Attachment:
    """A scanned document stored with a submission."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Submission:
    """What is sent to the central server (personal data: encrypted at rest)."""

    service: str
    applicant_nik: str
    applicant_name: str
    data: Mapping[str, str]
    slot: Slot
    submitted_at: str
    # {"lease_id", "seal"}: the place was booked from the kiosk's lease (the server honours it)
    lease: Mapping[str, str] | None = None

    def request(self) -> dict[str, Any]:
        """Keyword arguments of CentralClient.submit (without key and reference)."""
        found: dict[str, Any] = {
            "service": self.service,
            "applicant_nik": self.applicant_nik,
            "applicant_name": self.applicant_name,
            "data": dict(self.data),
            "slot": self.slot,
            "submitted_at": self.submitted_at,
        }
        if self.lease:
            found["lease"] = dict(self.lease)
        return found


@dataclass(frozen=True)
class Entry:
    """One outbox row as an attendant or the health report sees it (no personal data)."""

    id: int
    local_reference: str
    idempotency_key: str
    service: str
    slot: Slot
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str
    registration_number: str | None
    queue_number: str | None
    created_at: str
    sent_at: str | None


def entry_from_row(row: sqlite3.Row) -> Entry:
    """An Entry from an outbox row (ValueError when a column was damaged)."""
    if any(isinstance(value, str) and "\ufffd" in value for value in tuple(row)):
        raise ValueError(f"outbox row {row['id']} holds damaged text")
    return Entry(
        id=row["id"],
        local_reference=row["local_reference"],
        idempotency_key=row["idempotency_key"],
        service=row["service"],
        slot=Slot(date.fromisoformat(row["slot_date"]), row["slot_window"]),
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        registration_number=row["registration_number"],
        queue_number=row["queue_number"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


def readable_entries(
    db: sqlite3.Connection, rows: Sequence[sqlite3.Row], path: Path
) -> list[Entry]:
    """Entries of `rows` (of the outbox file at `path`); a row that no longer decodes is set
    aside as unreadable (kept, reported), so it cannot block the rows behind it."""
    found: list[Entry] = []
    for row in rows:
        try:
            found.append(entry_from_row(row))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            try:
                db.execute(
                    "UPDATE outbox SET status=?, last_error=? WHERE id=?",
                    (UNREADABLE, f"unreadable: {type(exc).__name__}", row["id"]),
                )
            except sqlite3.DatabaseError:
                pass  # the page itself is damaged: skipped on every read until repaired
            log.error(
                "outbox row %s is unreadable (%s): set aside, kept in %s",
                row["id"],
                type(exc).__name__,
                path,
            )
            STORAGE.report(path, DAMAGED, f"outbox row {row['id']} unreadable, kept")
    return found
