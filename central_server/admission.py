"""Admission: the kiosk submission rules, one function for one application and for a batch.

`admit` is what `POST /api/v1/applications` and `POST /api/v1/applications/batch` both call:
idempotency (a stored key replays its first answer, the same key with another body is refused),
the slot rules (bookable day and window, quota per window counted under the slot's lock, a
full or past slot moved to the first free one when the item asks `if_slot_full="next_free"`),
registration and queue sequences, the stored answer, and the "submit" history event with the
citizen's notifications. Many new items are created with a few statements; when something
unusual happens (a sequence running out, a concurrent insert of the same key) the batch is
rolled back to its savepoint and admitted item by item, each in its own savepoint, so a
refusal spoils nothing else.

Places lent to kiosks (slot leases, central_server.leases) and not used yet count as taken: a
slot's room is its quota less its bookings less those places. An item booked offline from a
lease ("lease": {"lease_id", "seal"}) is admitted on exactly its sealed date and window against
its lease (used += 1), never moved and never refused for quota; its seal must verify with the
kiosk's key (a kiosk with no key registered yet is admitted, noted "unknown_kiosk"), and the same
seal twice is the same application. Its content refused (an impossible NIK) does not turn the
citizen away: it is admitted held for an officer, and the citizen told; so is any application
whose form values the server acts on fail the kiosk's rules (central_server.content). Any new
application of a citizen who already has an open one for the same service is admitted and
flagged (those checks live in central_server.reconcile). A place booked from a lease after it
went back to the pool (released by a technician) is honoured, and flagged over_quota when the
slot is then over.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import Counter as Tally
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_server import numbering, quota, reconcile, submission_notice
from central_server.kiosk_auth import KioskRef
from central_server.lifecycle import daily_quota
from central_server.models import Application
from central_server.schemas import ApplicationIn, SlotIn, SubmissionOut
from central_server.settings import now_wib
from central_server.slot_room import first_free, occupied
from kiosk_app.domain.identity import mask_name, mask_nik

log = logging.getLogger("central_server")

Slot = tuple[date, str]  # (verification date, window)


@dataclass(frozen=True)
class Submission:
    """One application a kiosk sends, with its idempotency key."""

    key: str
    body: ApplicationIn


@dataclass(frozen=True)
class Admitted:
    """The stored answer: 201 when created now, 200 when an earlier request is replayed."""

    status: int
    answer: dict[str, Any]

    @property
    def replayed(self) -> bool:
        """True when the answer was stored by an earlier request with the same key."""
        return self.status == 200


@dataclass(frozen=True)
class Refused:
    """Why an application was not admitted: HTTP status, error code, message, extra detail."""

    status: int
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


Outcome = Admitted | Refused


def request_hash(body: ApplicationIn) -> str:
    """The fingerprint of an application (idempotency conflicts), the same on both paths.

    `if_slot_full` is left out: it says what to do when nothing is stored yet, so a row first
    tried at the kiosk ("refuse", answer lost) and resent from the queue ("next_free") is the
    same request and replays, and fingerprints stored before the field existed still match."""
    left_out = {"if_slot_full"} | ({"lease"} if body.lease is None else set())
    return hashlib.sha256(
        json.dumps(body.model_dump(mode="json", exclude=left_out), sort_keys=True).encode()
    ).hexdigest()


@dataclass(frozen=True)
class _New:
    """An item with no stored application yet, with its fingerprint."""

    submission: Submission
    digest: str


@dataclass(frozen=True)
class _Accepted:
    """An item that will be stored: on (day, window), moved or not; its lease and flags."""

    item: _New
    day: date
    window: str
    seal_status: str | None = None
    hold_reason: str | None = None
    over_quota: bool = False


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Admission:
    """The submission rules on the server's calendar (`today`) and clock (`now`, `clock`)."""

    def __init__(
        self,
        today: Callable[[], date],
        now: Callable[[], str] = now_wib,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.today, self.now, self.clock = today, now, clock

    def admit(
        self, session: Session, kiosk: KioskRef, submissions: Sequence[Submission]
    ) -> list[Outcome]:
        """Admit `submissions` (distinct keys) in the caller's transaction; one outcome each."""
        keys = [s.key for s in submissions]
        stored = {
            a.idempotency_key: a
            for a in session.scalars(
                select(Application).where(
                    Application.kiosk_id == kiosk.kiosk_id, Application.idempotency_key.in_(keys)
                )
            )
        }
        sealed = _seals(submissions)
        by_seal = (
            {
                a.seal: a
                for a in session.scalars(select(Application).where(Application.seal.in_(sealed)))
            }
            if sealed
            else {}
        )
        outcomes: list[Outcome | None] = []
        new: list[_New] = []
        later: dict[int, str] = {}  # the same seal again in this request: replayed after
        fresh: set[str] = set()
        for index, r in enumerate(submissions):
            digest = request_hash(r.body)
            seal = r.body.lease.seal if r.body.lease is not None else None
            if r.key in stored:
                outcomes.append(_replay(stored[r.key], digest))
            elif seal is not None and seal in by_seal:
                outcomes.append(_same_seal(by_seal[seal]))
            elif seal is not None and seal in fresh:
                outcomes.append(None)
                later[index] = seal
            else:
                outcomes.append(None)
                new.append(_New(r, digest))
                if seal is not None:
                    fresh.add(seal)
        # The lock order (central_server.leases): every slot first, in slot order (a moved
        # item's later slot after them), the leases' rows last, in id order (`uses`).
        numbering.lock_slots(session, kiosk.office_code, self._slots(new))
        uses = reconcile.LeaseUses()  # places taken from leases, written at the end
        created = self._create_in_bulk(session, kiosk, new, uses) if len(new) > 1 else None
        if created is None:
            created = [self._admit_one(session, kiosk, item, uses) for item in new]
        reconcile.use_leases(session, uses.leases)
        answers = iter(created)
        result = [
            o if o is not None or i in later else next(answers) for i, o in enumerate(outcomes)
        ]
        for index, seal in later.items():
            first = session.scalar(select(Application).where(Application.seal == seal))
            result[index] = (
                _same_seal(first)
                if first is not None
                else Refused(409, "seal_invalid", "the receipt seal was refused")
            )
        return [o for o in result if o is not None]

    def _slots(self, new: list[_New]) -> list[tuple[str, date, str]]:
        """The slots the items name that can be booked (sealed ones whatever their day)."""
        today, slots = self.today(), set()
        for item in new:
            body = item.submission.body
            day, window = body.slot.date, body.slot.window
            if body.lease is not None or quota.slot_problem(today, day, window) is None:
                slots.add((body.service.value, day, window))
        return sorted(slots)

    def _create_in_bulk(
        self, session: Session, kiosk: KioskRef, new: list[_New], uses: reconcile.LeaseUses
    ) -> list[Outcome] | None:
        """All new items with a few statements; None when they must go one by one."""
        mine = reconcile.LeaseUses()
        try:
            with session.begin_nested():
                outcomes = self._create(session, kiosk, new, uses, mine)
        except (numbering.SequenceExhausted, IntegrityError) as exc:
            log.info("batch of kiosk %s goes item by item: %s", kiosk.kiosk_id, type(exc).__name__)
            return None
        uses.update(mine)
        return outcomes

    def _admit_one(
        self, session: Session, kiosk: KioskRef, item: _New, uses: reconcile.LeaseUses
    ) -> Outcome:
        """One new item in its own savepoint: a refusal or a lost race spoils nothing else."""
        mine = reconcile.LeaseUses()
        try:
            with session.begin_nested():
                [outcome] = self._create(session, kiosk, [item], uses, mine)
            uses.update(mine)
            return outcome
        except numbering.SequenceExhausted as exc:
            return Refused(409, "sequence_exhausted", str(exc))
        except IntegrityError:
            # A concurrent request with the same key (or seal) committed first (PostgreSQL;
            # SQLite's BEGIN IMMEDIATE serializes): its answer is the one to replay.
            existing = session.scalar(
                select(Application).where(
                    Application.kiosk_id == kiosk.kiosk_id,
                    Application.idempotency_key == item.submission.key,
                )
            )
            if existing is not None:
                return _replay(existing, item.digest)
            lease = item.submission.body.lease
            if lease is not None:
                same = session.scalar(select(Application).where(Application.seal == lease.seal))
                if same is not None:
                    return _same_seal(same)
            raise

    def _create(
        self,
        session: Session,
        kiosk: KioskRef,
        items: list[_New],
        earlier: reconcile.LeaseUses,
        uses: reconcile.LeaseUses,
    ) -> list[Outcome]:
        """Book, number, store and record `items`; raises SequenceExhausted or IntegrityError.
        The places taken from leases go to `uses`; `earlier`: those of items stored before in
        this transaction, not written yet (their slots count them twice: booked, and unused)."""
        today, office, now = self.today(), kiosk.office_code, self.clock()

        def count(service: str, day: date) -> dict[Slot, int]:
            seen = occupied(session, office, service, [day], now)
            return {(d, w): n - earlier.slots[(service, d, w)] for (d, w), n in seen.items()}

        outcomes: list[Outcome | None] = []
        taken: Tally[tuple[str, date, str]] = Tally()
        capacity: dict[str, int] = {}
        used: dict[str, dict[Slot, int]] = {}
        locked: set[tuple[str, date, str]] = set()
        accepted: list[_Accepted] = []  # with the slot booked (moved when full)
        for item in items:
            body = item.submission.body
            service, day, window = body.service.value, body.slot.date, body.slot.window
            if body.lease is not None:
                refusal, status = reconcile.lease_problem(session, kiosk, body)
                if refusal is not None:
                    outcomes.append(Refused(409, *refusal))
                    continue
                # The sealed slot, whatever its quota: the place was lent for it.
                numbering.lock_slot(session, office, service, day, window)
                over = False
                lease_id = body.lease.lease_id
                left = reconcile.spare(session, lease_id) - earlier.leases[lease_id]
                uses.add(lease_id, (service, day, window))
                if left < uses.leases[lease_id]:
                    # its place went back to the pool meanwhile: one more in the slot
                    slot = (service, day, window)
                    taken[slot] += 1
                    if service not in capacity:
                        capacity[service] = daily_quota(session, office, service)
                        used[service] = {}
                    room = quota.window_capacity(capacity[service], window)
                    seen = count(service, day).get((day, window), 0)
                    over = seen + taken[slot] > room
                hold = reconcile.hold_reason(body, today, status)
                accepted.append(_Accepted(item, day, window, status, hold, over))
                outcomes.append(None)
                continue
            if service not in capacity:
                capacity[service] = daily_quota(session, office, service)
                used[service] = {}
            slot = (service, day, window)
            problem = quota.slot_problem(today, day, window)
            if problem is None:
                if slot not in locked:
                    numbering.lock_slot(session, office, service, day, window)
                    locked.add(slot)
                    # counted under the lock: a concurrent submission may have booked
                    used[service].update(count(service, day))
                room = quota.window_capacity(capacity[service], window) - used[service].get(
                    (day, window), 0
                )
                if taken[slot] >= room:
                    problem = "full"
            if problem is not None:
                # A queued row whose slot is full or no longer bookable (its day passed while
                # the kiosk was offline) moves to the first free slot after it.
                held = Tally(taken)
                held.subtract(earlier.slots)  # counted twice by first_free's count
                moved = (
                    first_free(session, office, service, (day, window), today, now, held)
                    if body.if_slot_full == "next_free"
                    else None
                )
                if moved is None:
                    outcomes.append(_slot_refused(problem, day, window))
                    continue
                day, window = moved
                slot = (service, day, window)
                locked.add(slot)  # first_free locked it and counted it under the lock
                used[service].update(count(service, day))
            taken[slot] += 1
            hold = reconcile.content_problem(body, today)
            accepted.append(_Accepted(item, day, window, hold_reason=hold))
            outcomes.append(None)  # filled below
        created = iter(self._store(session, kiosk, accepted, today))
        return [o if o is not None else next(created) for o in outcomes]

    def _store(
        self,
        session: Session,
        kiosk: KioskRef,
        accepted: list[_Accepted],
        today: date,
    ) -> list[Outcome]:
        """Number and insert the accepted items; record their submission (history, messages)."""
        if not accepted:
            return []
        office = kiosk.office_code
        first_reg = numbering.next_value(session, f"reg:{office}:{today}", len(accepted))
        per_slot = Tally((a.day, a.window) for a in accepted)
        next_queue = {
            slot: numbering.next_value(session, f"queue:{office}:{slot[0]}:{slot[1]}", n)
            for slot, n in sorted(per_slot.items())
        }
        earlier = reconcile.open_applications(session, [a.item.submission.body for a in accepted])
        created_at = self.now()
        rows: list[dict[str, Any]] = []
        outcomes: list[Outcome] = []
        moved_from: dict[str, Slot] = {}
        held: dict[str, str] = {}
        for offset, accept in enumerate(accepted):
            body, day, window = accept.item.submission.body, accept.day, accept.window
            wanted = (body.slot.date, body.slot.window)
            number = numbering.registration_number(
                body.service.value, office, today, first_reg + offset
            )
            letter = quota.WINDOW_LETTERS[window]
            queue_no = numbering.queue_number(letter, next_queue[(day, window)])
            next_queue[(day, window)] += 1
            answer = SubmissionOut(
                registration_number=number,
                queue_number=queue_no,
                status="submitted",
                service=body.service,
                office_code=office,
                office_name=kiosk.office_name,
                slot=SlotIn(date=day, window=window),
                created_at=created_at,
                moved_from=body.slot if wanted != (day, window) else None,
            ).model_dump(mode="json")
            if wanted != (day, window):
                moved_from[number] = wanted
            if accept.hold_reason is not None:
                held[number] = accept.hold_reason
            if accept.over_quota:
                log.warning(
                    "application %s booked offline by kiosk %s from a place given back "
                    "meanwhile: slot %s %s %s is over its quota by one (honoured, flagged)",
                    number,
                    kiosk.kiosk_id,
                    body.service.value,
                    day,
                    window,
                )
            citizen = reconcile.citizen_key(body.applicant_nik, body.service.value, body.data)
            duplicate_of = earlier.get(citizen)
            earlier.setdefault(citizen, number)
            outcomes.append(Admitted(201, answer))
            rows.append(
                {
                    "registration_number": number,
                    "queue_number": queue_no,
                    "kiosk_id": kiosk.kiosk_id,
                    "idempotency_key": accept.item.submission.key,
                    "request_hash": accept.item.digest,
                    "office_code": office,
                    "service": body.service.value,
                    "status": "submitted",
                    "applicant_nik": body.applicant_nik,
                    "applicant_name": body.applicant_name,
                    "data_json": json.dumps(body.data, ensure_ascii=False, sort_keys=True),
                    "slot_date": day,
                    "slot_window": window,
                    "local_reference": body.local_reference,
                    "submitted_at": body.submitted_at.isoformat() if body.submitted_at else None,
                    "created_at": created_at,
                    "response_json": json.dumps(answer, sort_keys=True),
                    "lease_id": body.lease.lease_id if body.lease else None,
                    "seal": body.lease.seal if body.lease else None,
                    "seal_status": accept.seal_status,
                    "duplicate_of": duplicate_of,
                    "hold_reason": accept.hold_reason,
                    "over_quota": accept.over_quota,
                }
            )
            log.info(
                "application %s created by kiosk %s for nik=%s name=%s slot=%s %s%s%s%s",
                number,
                kiosk.kiosk_id,
                mask_nik(body.applicant_nik),
                mask_name(body.applicant_name),
                day,
                window,
                f" from lease {body.lease.lease_id}" if body.lease else "",
                f" duplicate of {duplicate_of}" if duplicate_of else "",
                " held for an officer" if accept.hold_reason else "",
            )
        session.execute(insert(Application), rows)
        submission_notice.record_many(
            session,
            [r["registration_number"] for r in rows],
            f"kiosk:{kiosk.kiosk_id}",
            moved_from,
            held,
        )
        return outcomes


def _seals(submissions: Sequence[Submission]) -> list[str]:
    return sorted({s.body.lease.seal for s in submissions if s.body.lease is not None})


def _same_seal(existing: Application) -> Outcome:
    """The application already admitted with this seal (resent under another key)."""
    return Admitted(200, json.loads(existing.response_json))


def _replay(existing: Application, digest: str) -> Outcome:
    """The stored answer of the same request, or a conflict when the key came with another body."""
    if not hmac.compare_digest(existing.request_hash, digest):
        return Refused(409, "idempotency_conflict", "Idempotency-Key reused with a different body")
    return Admitted(200, json.loads(existing.response_json))


def _slot_refused(problem: str, day: date, window: str) -> Refused:
    """A slot that is full, or not bookable (`problem` says why)."""
    code, message = (
        ("slot_full", "no places left in this slot; pick another")
        if problem == "full"
        else ("slot_unavailable", problem)
    )
    return Refused(409, code, message, {"slot": {"date": str(day), "window": window}})
