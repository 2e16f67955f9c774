"""Slot leases on the kiosk: places the central server set aside for this kiosk, booked here
while the server cannot be reached, so a citizen still leaves with a certain date and window.

The leases live in a durable file (kiosk_app/services/durable.py: damage kept aside, a read-only
disk reported as STORAGE health). A booking is committed there, synchronous=FULL, BEFORE the
ticket prints: after a crash the place is still counted, so it is never given twice. The
`LeaseKeeper` renews the leases on a background loop (now and then, and at once when the server
answers again after an outage), gives back the places of days this kiosk will not reach, and
registers the kiosk's public seal key with the server until the server has it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk_app.central import CentralClient, CentralError, Lease
from kiosk_app.domain.opening_hours import OpeningHours
from kiosk_app.domain.ticket import Slot
from kiosk_app.services import receipt_seal
from kiosk_app.services.drain_loop import DrainLoop
from kiosk_app.services.durable import StorageError, immediate, open_durable
from kiosk_app.services.outbox.sender import Backoff
from kiosk_app.services.seal_key import SealKeyRegistrar, key_age

log = logging.getLogger(__name__)

REFRESH_S = 300.0  # renew the leases this often while the server answers
# While the server cannot be reached, look again at least this often: its first answer ends
# every sender's backoff (CentralClient.on_answer), so offline bookings reconcile in seconds.
PROBE_S = 4.0
# How long a renewal or a return waits for the server's answer. No citizen waits on them, and
# a busy server's first grant tops up every open slot of the horizon in its own transaction each
# (108 here): 4-7 s on a loaded 2-core test machine, before a slow link's round trips. Given up
# sooner, the server's work is done but the kiosk never hears of the places, and tries again;
# the cheap probe (health) keeps the client's short default.
CALL_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    lease_id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    day TEXT NOT NULL,
    window TEXT NOT NULL,
    places INTEGER NOT NULL,           -- granted in all (the server's count, used ones included)
    server_used INTEGER NOT NULL,      -- bookings the server has admitted
    book_until TEXT NOT NULL,          -- ISO-8601 UTC
    expires_at TEXT NOT NULL,
    given_back INTEGER NOT NULL DEFAULT 0  -- 1: returned (a day this kiosk will not reach)
);
CREATE TABLE IF NOT EXISTS lease_bookings (  -- one per place taken here: no personal data
    idempotency_key TEXT PRIMARY KEY,
    lease_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    seal TEXT NOT NULL,
    booked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lease_bookings_lease ON lease_bookings(lease_id);
CREATE TABLE IF NOT EXISTS lease_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class LeaseExhausted(Exception):
    """No place is left in the lease (or it can no longer be booked from)."""


@dataclass(frozen=True)
class LeasedSlot:
    """A slot the kiosk can book from its lease right now."""

    lease_id: str
    service: str
    slot: Slot
    remaining: int


@dataclass(frozen=True)
class LeaseUse:
    """One lease and how much of it is used here (the fleet dashboard shows the server's)."""

    lease_id: str
    service: str
    slot: Slot
    places: int
    used: int  # here or on the server, whichever counted more


class ReceiptSigner:
    """Seals what the kiosk promised a citizen with its Ed25519 key (receipt_seal)."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        kiosk_id: str,
        office_code: str,
        verify_base: str = "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`verify_base`: the central server's public URL the QR points a phone to."""
        self._key = key
        self.kiosk_id = kiosk_id
        self.office_code = office_code
        self.verify_base = verify_base
        self._now = now
        self.public_key = receipt_seal.public_key_text(key)

    def use(self, key: Ed25519PrivateKey) -> None:
        """Seal with `key` from now on (the key in use was rejected: seal_key)."""
        self._key, self.public_key = key, receipt_seal.public_key_text(key)

    def seal(self, reference: str, service: str, slot: Slot) -> str:
        """The seal of `reference` for `service` on `slot`, issued now (SealInvalid when a
        field cannot be carried)."""
        claims = receipt_seal.ReceiptClaims(
            reference=reference,
            office=self.office_code,
            service=service,
            day=slot.date,
            window=slot.window,
            issued_at=self._now().replace(microsecond=0),
            kiosk_id=self.kiosk_id,
        )
        return receipt_seal.seal(claims, self._key)

    def qr(self, sealed: str) -> str:
        """What the ticket's and receipt's QR carry for `sealed`."""
        return receipt_seal.qr_text(sealed, self.verify_base)


class LeaseStore:
    """The kiosk's leases and the places booked from them; thread-safe."""

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] | None = None) -> None:
        """Open (or create) the lease file at `path`."""
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._db = open_durable(self.path, _SCHEMA)

    def now(self) -> datetime:
        """The store's clock (UTC)."""
        return self._clock()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, immediate(self._db) as db:
            yield db

    # -- from the server -----------------------------------------------------------------------
    def replace(self, leases: list[Lease]) -> None:
        """The server's current set: renewed places kept, leases it no longer holds dropped
        with their bookings (reclaimed at expiry, after every booking from them was due)."""
        with self._tx() as db:
            known = {r[0] for r in db.execute("SELECT lease_id FROM leases")}
            fresh = {lease.lease_id for lease in leases}
            db.executemany("DELETE FROM leases WHERE lease_id=?", [(k,) for k in known - fresh])
            db.executemany(
                "INSERT INTO leases (lease_id, service, day, window, places, server_used,"
                " book_until, expires_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(lease_id) DO"
                " UPDATE SET places=excluded.places, server_used=excluded.server_used,"
                " book_until=excluded.book_until, expires_at=excluded.expires_at",
                [
                    (
                        lease.lease_id,
                        lease.service,
                        lease.slot.date.isoformat(),
                        lease.slot.window,
                        lease.places,
                        lease.used,
                        lease.book_until.astimezone(UTC).isoformat(),
                        lease.expires_at.astimezone(UTC).isoformat(),
                    )
                    for lease in leases
                ],
            )
            db.execute(
                "DELETE FROM lease_bookings WHERE lease_id NOT IN (SELECT lease_id FROM leases)"
            )

    # -- booking -------------------------------------------------------------------------------
    def offer(self, service: str) -> list[LeasedSlot]:
        """The slots of `service` bookable from the leases now, earliest first."""
        now = self._clock().astimezone(UTC).isoformat()
        with self._tx() as db:
            rows = db.execute(
                f"SELECT l.lease_id, l.service, l.day, l.window, {_REMAINING} AS remaining"
                " FROM leases l WHERE l.service=? AND l.given_back=0 AND l.book_until>?"
                " ORDER BY l.day, l.window",
                (service, now),
            ).fetchall()
        return [
            LeasedSlot(r[0], r[1], Slot(date.fromisoformat(r[2]), r[3]), int(r[4]))
            for r in rows
            if int(r[4]) > 0
        ]

    def book(
        self, lease_id: str, idempotency_key: str, reference: str, seal: Callable[[Lease], str]
    ) -> dict[str, str]:
        """Take one place of `lease_id` for `reference`, committed before it returns: the
        {"lease_id", "seal"} the submission carries. The same key again returns the first
        booking. LeaseExhausted when no place is left or the lease is past its booking time."""
        with self._tx() as db:
            known = db.execute(
                "SELECT lease_id, seal FROM lease_bookings WHERE idempotency_key=?",
                (idempotency_key,),
            ).fetchone()
            if known is not None:
                return {"lease_id": known[0], "seal": known[1]}
            row = db.execute(
                f"SELECT l.*, {_REMAINING} AS remaining FROM leases l WHERE l.lease_id=?",
                (lease_id,),
            ).fetchone()
            now = self._clock().astimezone(UTC)
            if row is None or row["given_back"] or int(row["remaining"]) <= 0:
                raise LeaseExhausted(f"lease {lease_id}: no place left")
            if datetime.fromisoformat(row["book_until"]) <= now:
                raise LeaseExhausted(f"lease {lease_id}: past its booking time")
            sealed = seal(_lease(row))
            db.execute(
                "INSERT INTO lease_bookings (idempotency_key, lease_id, reference, seal,"
                " booked_at) VALUES (?,?,?,?,?)",
                (idempotency_key, lease_id, reference, sealed, now.isoformat()),
            )
        log.info("booked %s from lease %s", reference, lease_id)
        return {"lease_id": lease_id, "seal": sealed}

    def lease(self, lease_id: str) -> Lease | None:
        """One lease as the kiosk holds it (None when unknown)."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM leases WHERE lease_id=?", (lease_id,)).fetchone()
        return None if row is None else _lease(row)

    def usage(self) -> list[LeaseUse]:
        """Every lease held, with the places used of it."""
        with self._tx() as db:
            rows = db.execute(
                f"SELECT l.*, l.places - ({_REMAINING}) AS taken FROM leases l ORDER BY day, window"
            ).fetchall()
        return [
            LeaseUse(
                r["lease_id"],
                r["service"],
                Slot(date.fromisoformat(r["day"]), r["window"]),
                int(r["places"]),
                int(r["taken"]),
            )
            for r in rows
        ]

    def usage_report(self) -> dict[str, int]:
        """Lease id -> places booked from it so far, for the heartbeat: once a lease's booking
        time has passed this count is final, and the server frees the rest."""
        return {use.lease_id: use.used for use in self.usage()}

    def give_back(self, hours: OpeningHours) -> dict[str, int]:
        """Mark the leases whose booking time ends before this kiosk opens again as given
        back; return their unused places (lease id -> places) for the server."""
        now = self.now().astimezone(UTC)
        if hours.is_open(now):
            return {}
        reopens = hours.next_opening(now)
        with self._tx() as db:
            rows = db.execute(
                f"SELECT l.lease_id, l.book_until, {_REMAINING} AS remaining FROM leases l"
                " WHERE l.given_back=0"
            ).fetchall()
            found = {
                r[0]: int(r[2])
                for r in rows
                if int(r[2]) > 0 and (reopens is None or datetime.fromisoformat(r[1]) <= reopens)
            }
            db.executemany("UPDATE leases SET given_back=1 WHERE lease_id=?", [(k,) for k in found])
        return found

    # -- small settings ------------------------------------------------------------------------
    def meta(self, name: str) -> str:
        """A value set with set_meta ("" when unset)."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM lease_meta WHERE name=?", (name,)).fetchone()
        return str(row[0]) if row else ""

    def set_meta(self, name: str, value: str) -> None:
        """Remember a small setting."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO lease_meta (name, value) VALUES (?, ?) ON CONFLICT(name)"
                " DO UPDATE SET value=excluded.value",
                (name, value),
            )


# Places left in lease `l`: granted minus used, where used is what the kiosk booked or what the
# server admitted, whichever is more (a booking not sent yet counts here, not there).
_REMAINING = (
    "l.places - max(l.server_used,"
    " (SELECT count(*) FROM lease_bookings b WHERE b.lease_id=l.lease_id))"
)


def _lease(row: sqlite3.Row) -> Lease:
    return Lease(
        lease_id=row["lease_id"],
        service=row["service"],
        slot=Slot(date.fromisoformat(row["day"]), row["window"]),
        places=int(row["places"]),
        used=int(row["server_used"]),
        book_until=datetime.fromisoformat(row["book_until"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
    )


class LeaseKeeper(DrainLoop):
    """Renews the leases in the background; registers the seal key until the server has it."""

    thread_name = "lease-keeper"
    backoff: Backoff

    def __init__(
        self,
        store: LeaseStore,
        central: CentralClient,
        *,
        public_key: str,
        opening_hours: OpeningHours | None = None,
        refresh_s: float = REFRESH_S,
        probe_s: float = PROBE_S,
        backoff: Backoff | None = None,
        first_delay_s: float = 0.0,
        registrar: SealKeyRegistrar | None = None,
        call_timeout_s: float = CALL_TIMEOUT_S,
        rotate_after_days: int = 0,
        idle: Callable[[], bool] = lambda: True,
    ) -> None:
        """`public_key`: the kiosk's public seal key (public_key_text), registered by
        `registrar` (default: one without a key file, which cannot rotate); `probe_s`: the
        longest wait between two tries while the server cannot be reached; `first_delay_s`:
        let the kiosk finish starting first (the leases held are in the file meanwhile);
        `call_timeout_s`: how long a renewal or a return waits for its answer;
        `rotate_after_days`: a seal key older than this is rotated in a round where `idle`
        (no citizen being served) says so; 0: never by age."""
        self.store = store
        self.central = central
        self.public_key = public_key
        self.registrar = registrar or SealKeyRegistrar(central, public_key)
        self.hours = opening_hours or OpeningHours.always()
        self.refresh_s = refresh_s
        self.probe_s = probe_s
        self.first_delay_s = first_delay_s
        self.call_timeout_s = call_timeout_s
        self.rotate_after = timedelta(days=rotate_after_days) if rotate_after_days else None
        self.idle = idle
        self.backoff = backoff or Backoff(base_s=2.0, cap_s=refresh_s)
        self._failures = 0
        self._round = threading.Lock()
        super().__init__()

    def _bring_forward(self) -> int:
        self._failures = 0
        return 1  # one renewal due now

    def server_silent(self) -> None:
        """Some request got no answer (CentralClient.on_no_answer): from now on look again
        every few seconds, so the server's return is noticed at once."""
        if self._unreachable.is_set():
            return
        self.server_unreachable()
        self._failures = max(self._failures, 1)
        self.wake()

    def drain_once(self) -> bool:
        """One round: the seal key, places given back, the leases renewed; True when done."""
        with self._round:
            try:
                if self._unreachable.is_set():
                    # The cheapest question first: its answer ends every sender's backoff
                    # (on_answer) before the heavier renewal below.
                    self.central.health()
                self._register_key()
                self._rotate_if_old()
                returns = self.store.give_back(self.hours)
                if returns:
                    log.info("giving back %d unused place(s)", sum(returns.values()))
                    self.store.replace(
                        self.central.return_leases(returns, timeout=self.call_timeout_s)
                    )
                if self.hours.is_open(self.store.now()):  # closed: no booking, no new places
                    self.store.replace(self.central.leases(timeout=self.call_timeout_s))
            except CentralError as exc:
                # One warning per outage; the probes after it are routine.
                (log.info if self._failures else log.warning)("leases not renewed: %s", exc)
                if not exc.retriable:  # refused (e.g. a server without leases): next round
                    self._failures = 0
                    return False
                if getattr(exc, "retry_after", None) is None:
                    self.server_unreachable()
                self._failures += 1
                return False
            except StorageError as exc:  # reported as STORAGE health; tried next round
                self._failures = 0
                log.error("leases not stored: %s", exc)
                return False
            self._failures = 0
            return True

    def _register_key(self) -> None:
        """The seal key until the server has it in force (SealKeyRegistrar)."""
        self.registrar.register(self.store.meta, self.store.set_meta)

    def _rotate_if_old(self) -> None:
        """Rotate the seal key once it is older than `rotate_after`, while nobody is served."""
        key_file = self.registrar.key_file
        if self.rotate_after is None or key_file is None or not key_file.exists():
            return
        age = key_age(key_file, self.store.now().astimezone(UTC))
        if age < self.rotate_after or self.registrar.status()["state"] != "in_force":
            return  # a key not in force yet (pending) cannot prove a successor
        if not self.idle():
            return  # a citizen is being served: at a quieter round
        log.info("seal key %d days old: rotating it", age.days)
        try:
            log.info("%s", self.registrar.rotate(self.store.meta, self.store.set_meta))
        except CentralError as exc:
            if exc.retriable:
                raise  # the server is away: the round is tried again, the rotation with it
            # Refused (the key file's folder not writable, the server's refusal): not tried
            # again by age until the next start, so the leases are renewed every round.
            self.rotate_after = None
            log.error("seal key rotation refused: %s; the old key stays in use", exc)

    def rotate_seal_key(self) -> str:
        """Rotate the seal key now (the fleet's rotate_seal_key command): what became of it,
        for the technician; CentralError when the server cannot be reached or refuses."""
        with self._round:
            return self.registrar.rotate(self.store.meta, self.store.set_meta)

    def check_seal_key(self) -> str:
        """Register the seal key now (the fleet's check_seal_key command, sent when a
        technician decided on it): a rejected key is replaced at once. What became of it, for
        the technician; CentralError when the server cannot be reached."""
        with self._round:
            self._register_key()
        status = self.registrar.status()
        return ", ".join(f"{name}={value}" for name, value in status.items())

    def _loop(self) -> None:
        if self._stop.wait(self.first_delay_s):
            return
        super()._loop()

    def _next_wait(self) -> float:
        if self._failures:
            return max(0.5, min(self.probe_s, self.backoff.delay(self._failures)))
        return self.refresh_s
