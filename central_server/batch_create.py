"""Create many applications of one kiosk with a few statements instead of several per item.

The same rules as the single endpoint's `create` (slot problems, quota per window, registration
and queue sequences, stored answer for replays), read once per slot instead of once per item.
Anything unusual (a sequence running out, a concurrent insert of the same key) raises
`Fallback`: the caller rolls back and goes item by item through the single endpoint's code.
"""

import json
import logging
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from central_server import numbering, quota, submission_notice
from central_server.models import Application, Counter
from central_server.schemas import ApplicationIn, SubmissionOut
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
    accepted: list[New] = []
    for item in items:
        service, day, window = item.body.service.value, item.body.slot.date, item.body.slot.window
        problem = quota.slot_problem(today, day, window)
        if problem:
            answers.append((409, "slot_unavailable", problem))
            continue
        slot = (service, day, window)
        if slot not in locked:
            numbering.lock_slot(session, office, service, day, window)
            locked.add(slot)
        if service not in capacity:
            capacity[service] = rules.daily_quota(session, office, service)
            days = sorted({i.body.slot.date for i in items if i.body.service.value == service})
            used[service] = rules.booked(session, office, service, days)
        booked = used[service].get((day, window), 0)
        room = quota.window_capacity(capacity[service], window) - booked
        if taken[slot] >= room:
            answers.append((409, "slot_full", "no places left in this slot; pick another"))
            continue
        taken[slot] += 1
        accepted.append(item)
        answers.append({})  # filled below
    if not accepted:
        return answers
    first_reg = _reserve(session, f"reg:{office}:{today}", len(accepted))
    per_slot = Tally((i.body.slot.date, i.body.slot.window) for i in accepted)
    next_queue = {
        slot: _reserve(session, f"queue:{office}:{slot[0]}:{slot[1]}", n)
        for slot, n in sorted(per_slot.items())
    }
    created_at, rows = rules.now(), []
    fill = iter(n for n, a in enumerate(answers) if a == {})
    for offset, item in enumerate(accepted):
        body = item.body
        day, window = body.slot.date, body.slot.window
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
            slot=body.slot, created_at=created_at,
        ).model_dump(mode="json")
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
        session, [r["registration_number"] for r in rows], f"kiosk:{kiosk.kiosk_id}")
    return answers


def _reserve(session: Session, name: str, count: int) -> int:
    """Advance counter `name` by `count` atomically; return the first value reserved."""
    dialect = session.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = upsert(Counter).values(name=name, value=count)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Counter.name], set_={"value": Counter.value + count}
    ).returning(Counter.value)
    return int(session.execute(stmt).scalar_one()) - count + 1
