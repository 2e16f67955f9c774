"""Create many applications of one kiosk with a few statements instead of several per item.

The same rules as the single endpoint's `create` (slot problems, quota per window, registration
and queue sequences, stored answer for replays), read once per slot instead of once per item.
An item asking `if_slot_full="next_free"` whose slot is full books `first_free` instead.
Anything unusual (a sequence running out, a concurrent insert of the same key) raises
`Fallback`: the caller rolls back and goes item by item through the single endpoint's code.
"""

import json
import logging
from collections import Counter as Tally
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from central_server import numbering, quota, submission_notice
from central_server.models import Application
from central_server.schemas import ApplicationIn, SlotIn, SubmissionOut
from kiosk_app.domain.identity import mask_name, mask_nik

log = logging.getLogger("central_server")


class Fallback(Exception):
    """The batch needs the item-by-item path."""


@dataclass(frozen=True)
class Rules:
    """The app's own look-ups the batch needs (closures of create_app)."""

    today: Callable[[], date]
    now: Callable[[], str]
    daily_quota: Callable[[Session, str, str], int]
    booked: Callable[[Session, str, str, list[date]], dict[Any, int]]


@dataclass(frozen=True)
class New:
    """An item with no stored application yet."""

    key: str
    body: ApplicationIn
    digest: str


def first_free(
    session: Session, office: str, service: str, wanted: tuple[date, str], rules: Rules,
    taken: Mapping[tuple[str, date, str], int] | None = None,
) -> tuple[date, str] | None:
    """The earliest slot after the full `wanted` one (quota.later_slots) with a place left,
    locked for this transaction; None when the whole horizon is full. `taken`: places this
    transaction already holds but has not inserted yet (the batch)."""
    candidates = list(quota.later_slots(rules.today(), *wanted))
    if not candidates:
        return None
    daily = rules.daily_quota(session, office, service)
    held = taken or {}
    # Counts only grow (no booking is ever deleted), so a slot full before locking stays full;
    # one with room is locked, then counted again under the lock.
    seen = rules.booked(session, office, service, sorted({d for d, _ in candidates}))
    for day, window in candidates:
        room = quota.window_capacity(daily, window) - held.get((service, day, window), 0)
        if seen.get((day, window), 0) >= room:
            continue
        numbering.lock_slot(session, office, service, day, window)
        if rules.booked(session, office, service, [day]).get((day, window), 0) < room:
            return day, window
    return None


def create_many(
    session: Session, kiosk: Any, items: list[New], rules: Rules
) -> list[dict[str, Any] | tuple[int, str, str]]:
    """Create `items` in order: each answer is the stored response or (status, code, message)."""
    today, office = rules.today(), kiosk.office_code
    answers: list[dict[str, Any] | tuple[int, str, str]] = []
    taken: Tally[tuple[str, date, str]] = Tally()
    capacity: dict[str, int] = {}
    used: dict[str, dict[Any, int]] = {}
    locked: set[tuple[str, date, str]] = set()
    accepted: list[tuple[New, date, str]] = []  # with the slot booked (moved when full)
    for item in items:
        service, day, window = item.body.service.value, item.body.slot.date, item.body.slot.window
        movable = item.body.if_slot_full == "next_free"
        if service not in capacity:
            capacity[service] = rules.daily_quota(session, office, service)
            used[service] = {}
        problem = quota.slot_problem(today, day, window)
        if problem is None:
            slot = (service, day, window)
            if slot not in locked:
                numbering.lock_slot(session, office, service, day, window)
                locked.add(slot)
                # counted under the lock, as create() does: a concurrent batch may have booked
                used[service].update(rules.booked(session, office, service, [day]))
            booked = used[service].get((day, window), 0)
            room = quota.window_capacity(capacity[service], window) - booked
            if taken[slot] >= room:
                problem = "full"
        if problem is not None:
            # A queued row whose slot is full or no longer bookable (its day passed while the
            # kiosk was offline) moves to the first free slot after it.
            moved = (first_free(session, office, service, (day, window), rules, taken)
                     if movable else None)
            if moved is None:
                answers.append((409, "slot_full", "no places left in this slot; pick another")
                               if problem == "full" else (409, "slot_unavailable", problem))
                continue
            day, window = moved
            slot = (service, day, window)
            locked.add(slot)  # first_free locked it and counted it under the lock
            used[service].update(rules.booked(session, office, service, [day]))
        taken[slot] += 1
        accepted.append((item, day, window))
        answers.append({})  # filled below
    if not accepted:
        return answers
    first_reg = numbering.next_value(session, f"reg:{office}:{today}", len(accepted))
    per_slot = Tally((day, window) for _, day, window in accepted)
    next_queue = {
        slot: numbering.next_value(session, f"queue:{office}:{slot[0]}:{slot[1]}", n)
        for slot, n in sorted(per_slot.items())
    }
    created_at, rows, moved_from = rules.now(), [], {}
    fill = iter(n for n, a in enumerate(answers) if a == {})
    for offset, (item, day, window) in enumerate(accepted):
        body = item.body
        wanted = (body.slot.date, body.slot.window)
        try:
            number = numbering.registration_number(
                body.service.value, office, today, first_reg + offset)
            letter = quota.WINDOW_LETTERS[window]
            queue_no = numbering.queue_number(letter, next_queue[(day, window)])
        except numbering.SequenceExhausted as exc:
            raise Fallback(str(exc)) from exc
        next_queue[(day, window)] += 1
        response = SubmissionOut(
            registration_number=number, queue_number=queue_no, status="submitted",
            service=body.service, office_code=office, office_name=kiosk.office_name,
            slot=SlotIn(date=day, window=window), created_at=created_at,
            moved_from=body.slot if wanted != (day, window) else None,
        ).model_dump(mode="json")
        if wanted != (day, window):
            moved_from[number] = wanted
        answers[next(fill)] = response
        rows.append({
            "registration_number": number, "queue_number": queue_no,
            "kiosk_id": kiosk.kiosk_id, "idempotency_key": item.key,
            "request_hash": item.digest, "office_code": office, "service": body.service.value,
            "status": "submitted", "applicant_nik": body.applicant_nik,
            "applicant_name": body.applicant_name,
            "data_json": json.dumps(body.data, ensure_ascii=False, sort_keys=True),
            "slot_date": day, "slot_window": window, "local_reference": body.local_reference,
            "submitted_at": body.submitted_at.isoformat() if body.submitted_at else None,
            "created_at": created_at, "response_json": json.dumps(response, sort_keys=True),
        })
        log.info("application %s created by kiosk %s for nik=%s name=%s slot=%s %s (batch)",
                 number, kiosk.kiosk_id, mask_nik(body.applicant_nik),
                 mask_name(body.applicant_name), day, window)
    session.execute(insert(Application), rows)
    # As the single endpoint does: a "submit" event, and the applicant told when a contact is given.
    submission_notice.record_many(
        session, [r["registration_number"] for r in rows], f"kiosk:{kiosk.kiosk_id}", moved_from)
    return answers
