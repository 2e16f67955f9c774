"""The state machine of an application, its history, fix notes, verification slots and arrivals."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_server import lease_reports, numbering, quota
from central_server.models import Application, Quota, SlotLease
from central_server.review_models import ApplicationEvent, Arrival, FixNote
from central_server.settings import now_wib
from kiosk_app.domain.identity import mask_nik

log = logging.getLogger("central_server.lifecycle")


class State(StrEnum):
    """Where an application stands."""

    submitted = "submitted"
    under_review = "under_review"
    needs_fixing = "needs_fixing"
    approved = "approved"
    verified = "verified"
    document_ready = "document_ready"
    collected = "collected"
    delivered = "delivered"
    rejected = "rejected"


S = State
# action: (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[State], State]] = {
    "review": (frozenset({S.submitted}), S.under_review),
    "ask_fix": (frozenset({S.submitted, S.under_review}), S.needs_fixing),
    "resubmit": (frozenset({S.needs_fixing}), S.submitted),
    "approve": (frozenset({S.submitted, S.under_review}), S.approved),
    "reject": (frozenset({S.submitted, S.under_review, S.needs_fixing, S.approved}), S.rejected),
    "verify": (frozenset({S.approved}), S.verified),
    "issue": (frozenset({S.verified}), S.document_ready),
    "collect": (frozenset({S.document_ready}), S.collected),
    "deliver": (frozenset({S.document_ready}), S.delivered),
}
TERMINAL = frozenset({S.collected, S.delivered, S.rejected})

STATUS_TEXTS: dict[str, dict[str, str]] = {
    "submitted": {
        "id": "Pra-permohonan diterima, menunggu pemeriksaan petugas",
        "en": "Pre-application received, awaiting an officer's review",
    },
    "under_review": {"id": "Sedang diperiksa petugas", "en": "Being reviewed by an officer"},
    "needs_fixing": {
        "id": "Perlu perbaikan, lihat catatan petugas",
        "en": "Needs fixing, see the officer's notes",
    },
    "approved": {
        "id": "Disetujui, datang ke kantor sesuai jadwal verifikasi",
        "en": "Approved, come to the office at your verification slot",
    },
    "verified": {"id": "Berkas sudah diverifikasi", "en": "Documents verified"},
    "document_ready": {"id": "Dokumen sudah terbit", "en": "Document issued"},
    "collected": {"id": "Dokumen sudah diambil", "en": "Document collected"},
    "delivered": {"id": "Dokumen dikirim lewat Pos", "en": "Document sent by Pos"},
    "rejected": {"id": "Permohonan ditolak, hubungi petugas", "en": "Rejected, see an officer"},
    # states of the skeleton, kept for rows written before the lifecycle existed
    "in_process": {"id": "Dokumen sedang diproses", "en": "Document being processed"},
    "completed": {"id": "Dokumen selesai, silakan diambil", "en": "Document ready for pick-up"},
}
STATE_LABELS: dict[str, str] = {
    "submitted": "Baru masuk",
    "under_review": "Sedang diperiksa",
    "needs_fixing": "Perlu perbaikan",
    "approved": "Disetujui",
    "verified": "Terverifikasi",
    "document_ready": "Dokumen terbit",
    "collected": "Sudah diambil",
    "delivered": "Dikirim Pos",
    "rejected": "Ditolak",
}


MAX_MESSAGE = 300


class TransitionRefused(Exception):
    """An action that the application's state or the rules do not allow (HTTP 409)."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        message = message[:MAX_MESSAGE]  # a message may quote the input: never much of it
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def data_of(app: Application) -> dict[str, str]:
    """The form values of an application."""
    value: dict[str, str] = json.loads(app.data_json or "{}")
    return value


# Tells the citizen about a recorded transition (notify.outbox.enqueue_for_transition in the
# server): handed in by the caller, so the lifecycle depends on no way of sending.
Notify = Callable[[Session, Application, ApplicationEvent], object]


def wants_delivery(app: Application) -> bool:
    """True when the citizen chose delivery by Pos (form value delivery=pos)."""
    return data_of(app).get("delivery", "").strip().lower() == "pos"


def transition(
    session: Session,
    app: Application,
    action: str,
    actor: str,
    note: str = "",
    *,
    notify: Notify | None,
) -> ApplicationEvent:
    """Apply `action` to `app`, record it in the history and tell `notify` (None: nobody)."""
    if action not in TRANSITIONS:
        raise TransitionRefused("unknown_action", f"unknown action {action!r}", 400)
    sources, target = TRANSITIONS[action]
    current = app.status
    if current not in sources:
        allowed = ", ".join(sorted(a for a, (src, _) in TRANSITIONS.items() if current in src))
        raise TransitionRefused(
            "illegal_transition",
            f"cannot {action} an application in state {current}; "
            f"allowed: {allowed or 'nothing (final state)'}",
        )
    if action == "verify" and session.get(Arrival, app.id) is None:
        # Verification happens at the counter: never before the citizen came on the slot's day.
        raise TransitionRefused(
            "not_arrived", "the citizen has not been checked in at the counter (arrive first)"
        )
    if action == "deliver" and not wants_delivery(app):
        raise TransitionRefused("no_delivery", "the citizen did not choose delivery by Pos")
    app.status = target.value
    event = ApplicationEvent(
        application_id=app.id,
        action=action,
        from_status=current,
        to_status=target.value,
        actor=actor,
        note=note,
        at=now_wib(),
    )
    session.add(event)
    session.flush()
    if notify is not None:
        notify(session, app, event)
    log.info(
        "application %s: %s -> %s by %s", app.registration_number, current, target.value, actor
    )
    return event


def daily_quota(session: Session, office_code: str, service: str) -> int:
    """The office's daily quota for a service (the default when none is set)."""
    row = session.get(Quota, (office_code, service))
    return quota.DEFAULT_DAILY_QUOTA if row is None else row.daily_quota


def leased_places(
    session: Session, office_code: str, service: str, days: list[date], now: datetime
) -> dict[tuple[date, str], int]:
    """Places lent to kiosks (slot leases) and not used yet per (day, window) that count as
    taken for everyone else at `now` (lease_reports.held: unexpired, owed or in doubt)."""
    rows = session.execute(
        select(SlotLease.day, SlotLease.window, func.sum(lease_reports.held(now)))
        .where(
            SlotLease.office_code == office_code,
            SlotLease.service == service,
            SlotLease.day.in_(days),
            lease_reports.counted(now),
        )
        .group_by(SlotLease.day, SlotLease.window)
    )
    return {(d, w): int(n or 0) for d, w, n in rows}


def places_taken(
    session: Session, app: Application, day: date, window: str, now: datetime | None = None
) -> int:
    """Places of (day, window) for its office and service held by applications other than
    `app` and by kiosks' slot leases (unused, unexpired at `now`, default the current time)."""
    booked = (
        session.scalar(
            select(func.count()).where(
                Application.office_code == app.office_code,
                Application.service == app.service,
                Application.slot_date == day,
                Application.slot_window == window,
                Application.status != S.rejected.value,
                Application.id != app.id,
            )
        )
        or 0
    )
    lent = leased_places(session, app.office_code, app.service, [day], now or datetime.now(UTC))
    return booked + lent.get((day, window), 0)


def approve(
    session: Session,
    app: Application,
    actor: str,
    day: date,
    window: str,
    today: date,
    *,
    notify: Notify | None,
    now: datetime | None = None,
    reseal: Callable[[Application], str] | None = None,
) -> ApplicationEvent:
    """Approve with a verification slot that is open and within the office's quota (places
    lent to kiosks and unused at `now` count as taken). Moved to another slot, the application
    is sealed again by `reseal` (the server's key): the kiosk's seal no longer tells the truth,
    and the citizen is told with the new seal's verification link."""
    if app.status not in TRANSITIONS["approve"][0]:
        transition(session, app, "approve", actor, notify=None)  # raises the illegal transition
    if app.hold_reason:
        raise TransitionRefused(
            "content_held", f"the content is held for an officer's check: {app.hold_reason}"
        )
    if (day, window) != (app.slot_date, app.slot_window):
        move_slot(session, app, day, window, today, now, reseal)
    else:
        _check_room(session, app, day, window, now)
    return transition(
        session, app, "approve", actor, f"jadwal {day.isoformat()} {window}", notify=notify
    )


def _check_room(
    session: Session, app: Application, day: date, window: str, now: datetime | None
) -> None:
    capacity = quota.window_capacity(daily_quota(session, app.office_code, app.service), window)
    if places_taken(session, app, day, window, now) >= capacity:
        raise TransitionRefused("slot_full", f"slot {day} {window} is full (quota {capacity})")


def move_slot(
    session: Session,
    app: Application,
    day: date,
    window: str,
    today: date,
    now: datetime | None = None,
    reseal: Callable[[Application], str] | None = None,
) -> None:
    """Book `app` on another slot that is open and within the office's quota (counted under
    the slot's lock, as kiosks' bookings and lease grants are), with a new queue number, sealed
    again by `reseal` (the server's key: the kiosk's seal no longer tells the truth)."""
    problem = quota.slot_problem(today, day, window)
    if problem:
        raise TransitionRefused("slot_unavailable", problem)
    numbering.lock_slot(session, app.office_code, app.service, day, window)
    _check_room(session, app, day, window, now)
    seq = numbering.next_value(session, f"queue:{app.office_code}:{day}:{window}")
    app.queue_number = numbering.queue_number(quota.WINDOW_LETTERS[window], seq)
    app.slot_date, app.slot_window = day, window
    if reseal is not None:
        app.server_seal = reseal(app)


def release_hold(
    session: Session,
    app: Application,
    actor: str,
    to: tuple[date, str] | None = None,
    *,
    today: date | None = None,
    now: datetime | None = None,
    reseal: Callable[[Application], str] | None = None,
) -> ApplicationEvent:
    """An officer checked the content held at admission (an offline booking the server could
    not accept as it was): the hold ends, the application goes on as any other; on another
    slot when `to` names one (its own day passed meanwhile, or it is over its quota: see
    move_slot, `today` required then)."""
    if not app.hold_reason:
        raise TransitionRefused("not_held", "the application is not held")
    note = f"isian diperiksa, tahanan dilepas (was held: {app.hold_reason})"
    if to is not None and to != (app.slot_date, app.slot_window):
        day, window = to
        move_slot(session, app, day, window, today or day, now, reseal)
        note = f"jadwal dipindah ke {day.isoformat()} {window}; {note}"
    return note_hold(session, app, actor, note, None, now_wib())


def note_hold(
    session: Session, app: Application, actor: str, note: str, reason: str | None, at: str
) -> ApplicationEvent:
    """Record in the application's history why its hold changed or stays (`note`): `reason`
    is the hold from now on, None when released (the application goes on as any other)."""
    event = ApplicationEvent(
        application_id=app.id,
        action="release" if reason is None else "hold",
        from_status=app.status,
        to_status=app.status,
        actor=actor,
        note=note[:500],
        at=at,
    )
    session.add(event)
    app.hold_reason = reason
    if reason is None:
        log.info("application %s: hold released by %s", app.registration_number, actor)
    return event


def ask_fix(
    session: Session,
    app: Application,
    actor: str,
    notes: Sequence[tuple[str, str]],
    *,
    notify: Notify | None,
) -> ApplicationEvent:
    """Send back for fixing with one note per field or document."""
    cleaned = [(t.strip(), n.strip()) for t, n in notes if t.strip() and n.strip()]
    if not cleaned:
        raise TransitionRefused("notes_required", "write at least one note for the citizen", 422)
    summary = "; ".join(f"{t}: {n}" for t, n in cleaned)
    event = transition(session, app, "ask_fix", actor, summary, notify=None)  # told with notes
    for target, note in cleaned:
        session.add(
            FixNote(application_id=app.id, event_id=event.id, target=target[:80], note=note[:500])
        )
    session.flush()
    if notify is not None:
        notify(session, app, event)
    return event


def resubmit(
    session: Session, app: Application, actor: str, *, notify: Notify | None
) -> ApplicationEvent:
    """The citizen fixed what was asked: the open notes are resolved, review starts over."""
    event = transition(session, app, "resubmit", actor, notify=notify)
    for note in session.scalars(select(FixNote).where(FixNote.application_id == app.id)):
        note.resolved = True
    return event


def reject(
    session: Session, app: Application, actor: str, reason: str, *, notify: Notify | None
) -> ApplicationEvent:
    """Reject with a reason the citizen will read."""
    if not reason.strip():
        raise TransitionRefused("reason_required", "a rejection needs a reason", 422)
    return transition(session, app, "reject", actor, reason.strip()[:500], notify=notify)


def check_in(session: Session, app: Application, actor: str, today: date) -> Arrival:
    """Record that the citizen arrived at the counter today (the queue's first-come order)."""
    if app.status != S.approved.value:
        raise TransitionRefused(
            "not_approved", f"only approved applications check in ({app.status})"
        )
    if app.slot_date != today:
        raise TransitionRefused("wrong_day", f"the verification slot is on {app.slot_date}")
    if session.get(Arrival, app.id) is not None:
        raise TransitionRefused("already_arrived", "the citizen has already checked in")
    seq = numbering.next_value(session, f"arrival:{app.office_code}:{today}")
    arrival = Arrival(
        application_id=app.id,
        office_code=app.office_code,
        day=today,
        sequence=seq,
        service=app.service,  # the counters' queue takes citizens by service
        arrived_at=now_wib(),
    )
    session.add(arrival)
    session.add(
        ApplicationEvent(
            application_id=app.id,
            action="arrive",
            from_status=app.status,
            to_status=app.status,
            actor=actor,
            note=f"hadir, urutan {seq}",
            at=arrival.arrived_at,
        )
    )
    log.info("application %s checked in as %d", app.registration_number, seq)
    return arrival


def arrival_queue(session: Session, office_code: str, today: date) -> list[dict[str, Any]]:
    """Today's approved or verified applications: arrived first-come, then those not yet here."""
    rows = session.execute(
        select(Application, Arrival)
        .outerjoin(Arrival, Arrival.application_id == Application.id)
        .where(
            Application.office_code == office_code,
            Application.slot_date == today,
            Application.status.in_([S.approved.value, S.verified.value]),
        )
    ).all()
    arrived = sorted((r for r in rows if r[1] is not None), key=lambda r: r[1].sequence)
    waiting = sorted(
        (r for r in rows if r[1] is None), key=lambda r: (r[0].slot_window, r[0].queue_number)
    )
    return [
        {"app": a, "arrival": arr, "masked_nik": mask_nik(a.applicant_nik)}
        for a, arr in arrived + waiting
    ]


def history(session: Session, app: Application) -> list[ApplicationEvent]:
    """Every recorded event of an application, oldest first."""
    return list(
        session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == app.id)
            .order_by(ApplicationEvent.id)
        )
    )


def open_fix_notes(session: Session, app: Application) -> list[FixNote]:
    """Notes the citizen still has to act on."""
    return list(
        session.scalars(
            select(FixNote)
            .where(FixNote.application_id == app.id, FixNote.resolved.is_(False))
            .order_by(FixNote.id)
        )
    )
