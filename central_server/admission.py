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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_server import numbering, quota, submission_notice
from central_server.kiosk_auth import KioskRef
from central_server.lifecycle import daily_quota
from central_server.models import Application
from central_server.schemas import ApplicationIn, SlotIn, SubmissionOut
from central_server.settings import now_wib
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
    return hashlib.sha256(
        json.dumps(body.model_dump(mode="json", exclude={"if_slot_full"}), sort_keys=True).encode()
    ).hexdigest()


def booked(session: Session, office_code: str, service: str, days: list[date]) -> dict[Slot, int]:
    """Applications per (day, window) of an office's service on `days`."""
    rows = session.execute(
        select(Application.slot_date, Application.slot_window, func.count())
        .where(
            Application.office_code == office_code,
            Application.service == service,
            Application.slot_date.in_(days),
        )
        .group_by(Application.slot_date, Application.slot_window)
    )
    return {(d, w): n for d, w, n in rows}


def first_free(
    session: Session,
    office: str,
    service: str,
    wanted: Slot,
    today: date,
    taken: Mapping[tuple[str, date, str], int] | None = None,
) -> Slot | None:
    """The earliest slot after the full `wanted` one (quota.later_slots) with a place left,
    locked for this transaction; None when the whole horizon is full. `taken`: places this
    transaction already holds but has not inserted yet (the batch)."""
    candidates = list(quota.later_slots(today, *wanted))
    if not candidates:
        return None
    daily = daily_quota(session, office, service)
    held = taken or {}
    # Counts only grow (no booking is ever deleted), so a slot full before locking stays full;
    # one with room is locked, then counted again under the lock.
    seen = booked(session, office, service, sorted({d for d, _ in candidates}))
    for day, window in candidates:
        room = quota.window_capacity(daily, window) - held.get((service, day, window), 0)
        if seen.get((day, window), 0) >= room:
            continue
        numbering.lock_slot(session, office, service, day, window)
        if booked(session, office, service, [day]).get((day, window), 0) < room:
            return day, window
    return None


@dataclass(frozen=True)
class _New:
    """An item with no stored application yet, with its fingerprint."""

    submission: Submission
    digest: str


class Admission:
    """The submission rules on the server's calendar (`today`) and clock (`now`)."""

    def __init__(self, today: Callable[[], date], now: Callable[[], str] = now_wib) -> None:
        self.today, self.now = today, now

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
        outcomes: list[Outcome | None] = []
        new: list[_New] = []
        for r in submissions:
            digest = request_hash(r.body)
            if r.key in stored:
                outcomes.append(_replay(stored[r.key], digest))
            else:
                outcomes.append(None)
                new.append(_New(r, digest))
        created = self._create_in_bulk(session, kiosk, new) if len(new) > 1 else None
        if created is None:
            created = [self._admit_one(session, kiosk, item) for item in new]
        answers = iter(created)
        return [o if o is not None else next(answers) for o in outcomes]

    def _create_in_bulk(
        self, session: Session, kiosk: KioskRef, new: list[_New]
    ) -> list[Outcome] | None:
        """All new items with a few statements; None when they must go one by one."""
        try:
            with session.begin_nested():
                return self._create(session, kiosk, new)
        except (numbering.SequenceExhausted, IntegrityError) as exc:
            log.info("batch of kiosk %s goes item by item: %s", kiosk.kiosk_id, type(exc).__name__)
            return None

    def _admit_one(self, session: Session, kiosk: KioskRef, item: _New) -> Outcome:
        """One new item in its own savepoint: a refusal or a lost race spoils nothing else."""
        try:
            with session.begin_nested():
                return self._create(session, kiosk, [item])[0]
        except numbering.SequenceExhausted as exc:
            return Refused(409, "sequence_exhausted", str(exc))
        except IntegrityError:
            # A concurrent request with the same key committed first (PostgreSQL; SQLite's
            # BEGIN IMMEDIATE serializes): its answer is the one to replay.
            existing = session.scalar(
                select(Application).where(
                    Application.kiosk_id == kiosk.kiosk_id,
                    Application.idempotency_key == item.submission.key,
                )
            )
            if existing is None:
                raise
            return _replay(existing, item.digest)

    def _create(self, session: Session, kiosk: KioskRef, items: list[_New]) -> list[Outcome]:
        """Book, number, store and record `items`; raises SequenceExhausted or IntegrityError."""
        today, office = self.today(), kiosk.office_code
        outcomes: list[Outcome | None] = []
        taken: Tally[tuple[str, date, str]] = Tally()
        capacity: dict[str, int] = {}
        used: dict[str, dict[Slot, int]] = {}
        locked: set[tuple[str, date, str]] = set()
        accepted: list[tuple[_New, date, str]] = []  # with the slot booked (moved when full)
        for item in items:
            body = item.submission.body
            service, day, window = body.service.value, body.slot.date, body.slot.window
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
                    used[service].update(booked(session, office, service, [day]))
                room = quota.window_capacity(capacity[service], window) - used[service].get(
                    (day, window), 0
                )
                if taken[slot] >= room:
                    problem = "full"
            if problem is not None:
                # A queued row whose slot is full or no longer bookable (its day passed while
                # the kiosk was offline) moves to the first free slot after it.
                moved = (
                    first_free(session, office, service, (day, window), today, taken)
                    if body.if_slot_full == "next_free"
                    else None
                )
                if moved is None:
                    outcomes.append(_slot_refused(problem, day, window))
                    continue
                day, window = moved
                slot = (service, day, window)
                locked.add(slot)  # first_free locked it and counted it under the lock
                used[service].update(booked(session, office, service, [day]))
            taken[slot] += 1
            accepted.append((item, day, window))
            outcomes.append(None)  # filled below
        created = iter(self._store(session, kiosk, accepted, today))
        return [o if o is not None else next(created) for o in outcomes]

    def _store(
        self,
        session: Session,
        kiosk: KioskRef,
        accepted: list[tuple[_New, date, str]],
        today: date,
    ) -> list[Outcome]:
        """Number and insert the accepted items; record their submission (history, messages)."""
        if not accepted:
            return []
        office = kiosk.office_code
        first_reg = numbering.next_value(session, f"reg:{office}:{today}", len(accepted))
        per_slot = Tally((day, window) for _, day, window in accepted)
        next_queue = {
            slot: numbering.next_value(session, f"queue:{office}:{slot[0]}:{slot[1]}", n)
            for slot, n in sorted(per_slot.items())
        }
        created_at = self.now()
        rows: list[dict[str, Any]] = []
        outcomes: list[Outcome] = []
        moved_from: dict[str, Slot] = {}
        for offset, (item, day, window) in enumerate(accepted):
            body = item.submission.body
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
            outcomes.append(Admitted(201, answer))
            rows.append(
                {
                    "registration_number": number,
                    "queue_number": queue_no,
                    "kiosk_id": kiosk.kiosk_id,
                    "idempotency_key": item.submission.key,
                    "request_hash": item.digest,
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
                }
            )
            log.info(
                "application %s created by kiosk %s for nik=%s name=%s slot=%s %s",
                number,
                kiosk.kiosk_id,
                mask_nik(body.applicant_nik),
                mask_name(body.applicant_name),
                day,
                window,
            )
        session.execute(insert(Application), rows)
        submission_notice.record_many(
            session, [r["registration_number"] for r in rows], f"kiosk:{kiosk.kiosk_id}", moved_from
        )
        return outcomes


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
