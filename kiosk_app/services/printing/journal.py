"""The print journal: every print recorded durably before it is sent, so none is lost or doubled."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import CallingTicket, Slot, Ticket
from kiosk_app.services.durable import StorageError, immediate, open_durable

# States: printing -> done | failed; printing found at start-up -> interrupted.
# failed/interrupted -> reprinted (a new job) | dismissed.  done may be reprinted on request.
UNRESOLVED = ("failed", "interrupted")
# Kinds whose printed job keeps a payload with nothing personal for one asked-for reprint
# (keep_for_reprint); the reprint takes it, so a second one finds nothing.
KEPT_ONCE = ("calling",)
_NIK_LIKE = re.compile(r"\d{16}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,            -- ticket | receipt | document | calling
    reference TEXT NOT NULL,       -- registration or document number, never a NIK
    actor TEXT NOT NULL,           -- citizen | officer id that asked for it
    kiosk_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    reprint_of INTEGER REFERENCES print_jobs(id),
    code_hash TEXT,                -- sha256 of a one-time print code, never the code
    payload TEXT,                  -- what is needed to reprint; wiped once resolved
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS print_jobs_ref ON print_jobs(kind, reference);
CREATE UNIQUE INDEX IF NOT EXISTS print_jobs_code ON print_jobs(code_hash)
    WHERE code_hash IS NOT NULL AND state IN ('printing', 'done', 'interrupted');
"""


class JournalError(Exception):
    """A print the journal refuses; `citizen_message` is safe to show."""

    citizen_message = Text(
        "Dokumen ini tidak dapat dicetak. Silakan hubungi petugas.",
        "This document cannot be printed. Please ask an attendant.",
    )


class DuplicatePrint(JournalError):
    """The same thing was printed (or started printing) before; only a reprint may follow."""

    citizen_message = Text(
        "Dokumen ini sudah dicetak. Petugas dapat mencetak ulang bila perlu.",
        "This was already printed. An attendant can reprint it if needed.",
    )


class CodeAlreadyUsed(JournalError):
    """A one-time print code was used already."""

    citizen_message = Text(
        "Kode cetak ini sudah digunakan. Silakan hubungi petugas.",
        "This print code has already been used. Please ask an attendant.",
    )


@dataclass(frozen=True)
class PrintJob:
    """One row of the journal (the log view: no personal data besides the reprint payload)."""

    id: int
    kind: str
    reference: str
    actor: str
    kiosk_id: str
    state: str
    reason: str
    reprint_of: int | None
    created_at: str
    finished_at: str | None
    payload: str | None


class PrintJournal:
    """SQLite (WAL, synchronous=FULL) journal of print jobs on this kiosk."""

    def __init__(
        self,
        path: Path | str,
        kiosk_id: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """Open (or create) the journal; call recover() once at start-up."""
        self.path = Path(path)
        self.kiosk_id = kiosk_id
        self._now = now
        self._lock = threading.Lock()
        self._db = open_durable(path, _SCHEMA)  # a recorded job survives power loss

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # -- the print cycle ------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        reference: str,
        *,
        actor: str = "citizen",
        payload: str | None = None,
        code: str | None = None,
        reprint_of: int | None = None,
    ) -> PrintJob:
        """Record a job before sending it; DuplicatePrint/CodeAlreadyUsed when not allowed."""
        _no_personal_data(kind, reference, actor)
        code_hash = _hash(code) if code else None
        with self._tx() as db:
            if reprint_of is None and code_hash is None:
                seen = db.execute(
                    "SELECT id, state FROM print_jobs WHERE kind=? AND reference=?"
                    " AND state != 'dismissed' LIMIT 1",
                    (kind, reference),
                ).fetchone()
                if seen is not None:
                    raise DuplicatePrint(
                        f"{kind} {reference} already journalled as job "
                        f"{seen['id']} ({seen['state']})"
                    )
            if code_hash is not None:
                used = db.execute(
                    "SELECT id, state FROM print_jobs WHERE code_hash=? AND state IN"
                    " ('printing','done','interrupted')",
                    (code_hash,),
                ).fetchone()
                if used is not None:
                    raise CodeAlreadyUsed(
                        f"print code for {kind} {reference} used by job "
                        f"{used['id']} ({used['state']})"
                    )
            return self._insert(db, kind, reference, actor, payload, code_hash, reprint_of)

    def mark_done(self, job_id: int) -> None:
        """The printer took the whole job: wipe the payload, keep the log line."""
        self._finish(job_id, "done", "", wipe=True)

    def mark_failed(self, job_id: int, reason: str) -> None:
        """The printer refused or broke off (reason: an error class name, no personal data)."""
        self._finish(job_id, "failed", reason, wipe=False)

    @contextmanager
    def track(
        self, kind: str, reference: str, *, retry: bool = False, **kwargs: Any
    ) -> Iterator[PrintJob]:
        """Record, run the body (the printing), then mark done, or failed if it raises.
        `retry`: the same thing journalled before but not printed (failed, interrupted) is
        printed as its reprint instead of refused (DuplicatePrint still when it printed)."""
        job = self._retry(kind, reference, kwargs.get("actor", "citizen")) if retry else None
        if job is None:
            job = self.record(kind, reference, **kwargs)
        try:
            yield job
        except BaseException as exc:
            self.mark_failed(job.id, type(exc).__name__)
            raise
        self.mark_done(job.id)

    def _retry(self, kind: str, reference: str, actor: str) -> PrintJob | None:
        """The reprint of `kind` `reference`'s newest unprinted job, or None when none waits."""
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM print_jobs WHERE kind=? AND reference=? AND state IN (?, ?)"
                " ORDER BY id DESC LIMIT 1",
                (kind, reference, *UNRESOLVED),
            ).fetchone()
        if row is None:
            return None
        try:
            return self.reprint(row["id"], actor)
        except DuplicatePrint:  # an attendant reprinted or dismissed it meanwhile
            return None

    # -- after a crash, and the attendant's choices ---------------------------------------------

    def recover(self) -> list[PrintJob]:
        """At start-up: jobs left 'printing' by a crash become 'interrupted'; return them.
        A journal that cannot be written (read-only or full disk) marks nothing: the kiosk
        starts, and the health report already names the file."""
        try:
            with self._tx() as db:
                rows = db.execute("SELECT id FROM print_jobs WHERE state='printing'").fetchall()
                db.execute(
                    "UPDATE print_jobs SET state='interrupted', reason='kiosk stopped while "
                    "printing', finished_at=? WHERE state='printing'",
                    (self._stamp(),),
                )
                return [self._get(db, r["id"]) for r in rows]
        except StorageError:
            return []

    def pending(self) -> list[PrintJob]:
        """Jobs that did not print (failed or interrupted) and wait for a reprint or dismissal."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT id FROM print_jobs WHERE state IN (?, ?) ORDER BY id", UNRESOLVED
            ).fetchall()
            return [self._get(db, r["id"]) for r in rows]

    def reprint(self, job_id: int, actor: str) -> PrintJob:
        """Start an asked-for reprint of a job: a new job carrying the same payload."""
        _no_personal_data("", "", actor)
        with self._tx() as db:
            old = self._get(db, job_id)
            if old.state not in (*UNRESOLVED, "done"):
                raise DuplicatePrint(f"job {job_id} is {old.state}: nothing to reprint")
            if old.state == "done" and old.kind in KEPT_ONCE and not old.payload:
                raise DuplicatePrint(f"job {job_id} was reprinted before: not printed twice")
            if old.state in UNRESOLVED:
                db.execute(
                    "UPDATE print_jobs SET state='reprinted', payload=NULL WHERE id=?", (job_id,)
                )
            elif old.payload:  # a printed job's kept payload goes to its one reprint
                db.execute("UPDATE print_jobs SET payload=NULL WHERE id=?", (job_id,))
            return self._insert(db, old.kind, old.reference, actor, old.payload, None, job_id)

    def keep_for_reprint(self, job_id: int, payload: str) -> None:
        """A printed job of a KEPT_ONCE kind keeps `payload` (nothing personal) for one
        asked-for reprint, until that reprint or drop_kept."""
        _no_personal_data(payload)
        with self._tx() as db:
            db.execute(
                "UPDATE print_jobs SET payload=? WHERE id=? AND state='done' AND kind IN"
                f" ({','.join('?' * len(KEPT_ONCE))})",
                (payload, job_id, *KEPT_ONCE),
            )

    def kept(self, kind: str, since: datetime) -> list[PrintJob]:
        """Printed jobs of `kind` created since `since` that still keep a reprint payload."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT id FROM print_jobs WHERE kind=? AND state='done' AND payload IS NOT NULL"
                " AND created_at >= ? ORDER BY id",
                (kind, _stamp_of(since)),
            ).fetchall()
            return [self._get(db, r["id"]) for r in rows]

    def drop_kept(self, kind: str, before: datetime) -> int:
        """Wipe what printed jobs of `kind` created before `before` kept; how many."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE print_jobs SET payload=NULL WHERE kind=? AND state='done' AND"
                " payload IS NOT NULL AND created_at < ?",
                (kind, _stamp_of(before)),
            )
            return cur.rowcount

    def dismiss(self, job_id: int, actor: str) -> None:
        """Give up on a failed or interrupted job (e.g. the citizen has left)."""
        _no_personal_data("", "", actor)
        with self._tx() as db:
            db.execute(
                "UPDATE print_jobs SET state='dismissed', payload=NULL, reason=? "
                "WHERE id=? AND state IN (?, ?)",
                (f"dismissed by {actor}", job_id, *UNRESOLVED),
            )

    def purge_payloads(self, older_than: datetime, kind: str | None = None) -> int:
        """Wipe reprint payloads of jobs (of `kind`) created before `older_than`; how many."""
        stamp = _stamp_of(older_than)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE print_jobs SET payload=NULL WHERE payload IS NOT NULL AND "
                "created_at < ? AND kind = coalesce(?, kind)",
                (stamp, kind),
            )
            return cur.rowcount

    def log(self, since: datetime | None = None) -> list[PrintJob]:
        """Every print: who, what, when, which kiosk (payloads left out)."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT id FROM print_jobs WHERE created_at >= ? ORDER BY id",
                (since.isoformat(timespec="seconds") if since else "",),
            ).fetchall()
            return [_without_payload(self._get(db, r["id"])) for r in rows]

    def get(self, job_id: int) -> PrintJob:
        """One job by id (KeyError when unknown)."""
        with self._tx() as db:
            return self._get(db, job_id)

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One serialised write transaction (BEGIN IMMEDIATE ... COMMIT)."""
        with self._lock, immediate(self._db) as db:
            yield db

    def _insert(
        self,
        db: sqlite3.Connection,
        kind: str,
        reference: str,
        actor: str,
        payload: str | None,
        code_hash: str | None,
        reprint_of: int | None,
    ) -> PrintJob:
        """Add a job in state 'printing'."""
        cur = db.execute(
            "INSERT INTO print_jobs (kind, reference, actor, kiosk_id, state, reprint_of,"
            " code_hash, payload, created_at) VALUES (?,?,?,?, 'printing', ?,?,?,?)",
            (kind, reference, actor, self.kiosk_id, reprint_of, code_hash, payload, self._stamp()),
        )
        return self._get(db, int(cur.lastrowid or 0))

    def _finish(self, job_id: int, state: str, reason: str, wipe: bool) -> None:
        """Move a printing job to its final state."""
        with self._tx() as db:
            db.execute(
                f"UPDATE print_jobs SET state=?, reason=?, finished_at=?"
                f"{', payload=NULL' if wipe else ''} WHERE id=? AND state='printing'",
                (state, reason, self._stamp(), job_id),
            )

    def _get(self, db: sqlite3.Connection, job_id: int) -> PrintJob:
        """Read one job."""
        row = db.execute("SELECT * FROM print_jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(f"no print job {job_id}")
        return PrintJob(**{k: row[k] for k in PrintJob.__dataclass_fields__})

    def _stamp(self) -> str:
        """Now, as stored."""
        return self._now().isoformat(timespec="seconds")


def _stamp_of(moment: datetime) -> str:
    """`moment` as the stamps are stored (UTC when it is aware: compare like with like)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")


def _hash(code: str) -> str:
    """The stored form of a one-time print code."""
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def _no_personal_data(*fields: str) -> None:
    """Refuse to log anything that looks like a NIK."""
    if any(_NIK_LIKE.search(f) for f in fields):
        raise ValueError("print journal fields must not carry a NIK")


def _without_payload(job: PrintJob) -> PrintJob:
    """The log view of a job."""
    return PrintJob(**{**asdict(job), "payload": None})


def ticket_payload(ticket: Ticket) -> str:
    """Serialise a ticket for a later reprint (it holds only the masked name)."""
    data = asdict(ticket)
    data["slot"]["date"] = ticket.slot.date.isoformat()
    return json.dumps(data, ensure_ascii=False)


def ticket_from_payload(payload: str) -> Ticket:
    """Rebuild the ticket a payload was made from."""
    data = json.loads(payload)
    slot = Slot(date.fromisoformat(data["slot"]["date"]), data["slot"]["window"])
    return Ticket(**{**_with_texts(data), "slot": slot})


def calling_reference(ticket: CallingTicket, day: date) -> str:
    """A calling ticket's journal reference: its number, the application's and the day
    ("A-012/AKTA-35.17.261119.0001/2026-12-07"; a rebooked verification day prints anew)."""
    return f"{ticket.calling_number}/{ticket.registration_number}/{day.isoformat()}"


def calling_of_day(reference: str, day: date) -> bool:
    """Whether a calling ticket's journal reference (calling_reference) is of `day`."""
    return reference.endswith(f"/{day.isoformat()}")


def calling_payload(ticket: CallingTicket) -> str:
    """Serialise a check-in's calling ticket for a later reprint (it holds no name at all)."""
    return json.dumps(asdict(ticket), ensure_ascii=False)


def kept_calling_payload(ticket: CallingTicket) -> str:
    """What a printed calling ticket keeps for one reprint: the calling number, service,
    counter group, office and time; no registration number, and no place in the queue (stale
    by then: the reprint says CETAK ULANG instead)."""
    return calling_payload(
        replace(
            ticket, registration_number="", people_ahead=0, estimated_wait_minutes=0, reprint=True
        )
    )


def calling_from_payload(payload: str) -> CallingTicket:
    """Rebuild the calling ticket a payload was made from."""
    return CallingTicket(**_with_texts(json.loads(payload)))


def _with_texts(data: dict[str, Any]) -> dict[str, Any]:
    """A ticket payload's fields with its service and notes made Text again."""
    return {
        **data,
        "service": Text(**data["service"]),
        "notes": tuple(Text(**n) for n in data["notes"]),
    }
