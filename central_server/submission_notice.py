"""The first transition of every application: its submission, recorded and told to the citizen."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_server import content
from central_server.lifecycle import STATUS_TEXTS, data_of
from central_server.models import Application
from central_server.notify.outbox import enqueue
from central_server.review_models import ApplicationEvent
from central_server.settings import now_wib
from kiosk_app.domain.dates import long_date

log = logging.getLogger("central_server.submission")


Slot = tuple[date, str]  # (verification date, window)


def moved_note(wanted: Slot) -> str:
    """History note of an application booked on a later slot because its own was full."""
    day, window = wanted
    return (
        f"Jadwal dipindah dari {day.isoformat()} {window} karena kuota penuh "
        f"(moved from {day.isoformat()} {window}: quota full)"
    )


def held_note(reason: str) -> str:
    """History note of an application whose content an officer must check first."""
    return f"Ditahan untuk pemeriksaan petugas (held for an officer): {reason}"


def compose_submitted(
    app: Application, moved_from: Slot | None = None, held: str | None = None
) -> tuple[str, str]:
    """Subject and body (Bahasa Indonesia) confirming a submission; no NIK, no name.

    `moved_from`: the slot the citizen picked, full when the queued submission arrived, so the
    application was booked on the nearest free slot instead: the message says so first.
    `held`: why an officer must check the content first (an offline booking the server could
    not accept as it is); the date and window stay."""
    lines = [f"Permohonan {app.registration_number}: {STATUS_TEXTS['submitted']['id']}."]
    if app.lease_id and app.local_reference:  # booked offline: the receipt shows LOK-...
        lines[0] = (
            f"Permohonan {app.local_reference} kini bernomor {app.registration_number}: "
            f"{STATUS_TEXTS['submitted']['id']}."
        )
    if held is not None:
        lines.append(
            "Isian permohonan Anda perlu diperiksa petugas sebelum diproses; petugas akan "
            "menghubungi Anda. Jadwal verifikasi Anda tetap berlaku."
        )
    if moved_from is not None:
        lines.append(
            f"Kuota {long_date(moved_from[0])} pukul {moved_from[1]} WIB sudah penuh, jadwal "
            f"verifikasi Anda dipindah ke {long_date(app.slot_date)} pukul {app.slot_window} WIB "
            "(jadwal pada tanda terima tidak berlaku lagi)."
        )
    lines += [
        f"Jadwal verifikasi: {long_date(app.slot_date)}, pukul {app.slot_window} WIB, "
        f"nomor antrean {app.queue_number}. Bawa dokumen asli dan tanda terima.",
        "Kabar berikutnya dikirim ke nomor atau email ini.",
    ]
    moved = " (jadwal dipindah)" if moved_from is not None else ""
    checked = " (perlu diperiksa petugas)" if held is not None else ""
    return f"Disdukcapil: permohonan {app.registration_number}{moved}{checked}", "\n".join(lines)


def record_submission(
    session: Session,
    app: Application,
    actor: str,
    moved_from: Slot | None = None,
    held: str | None = None,
) -> int:
    """Add the "submit" event to the history and queue one message per contact; returns that count.
    `moved_from`: the full slot asked for (noted in the history and told in the message);
    `held`: why the content waits for an officer (noted and told).

    Runs inside the submission's transaction, so the message exists exactly when the application
    does (an idempotent replay of the same request queues nothing again). A contact failing
    the kiosk's rules is not used; the history says which and why (central_server.content).
    """
    data = data_of(app)
    unused = content.unused_contacts(data)
    unused_note = content.unused_note(app.service, unused)
    session.add(
        ApplicationEvent(
            application_id=app.id,
            action="submit",
            from_status=None,
            to_status=app.status,
            actor=actor,
            note="; ".join(
                ([moved_note(moved_from)] if moved_from is not None else [])
                + ([held_note(held)] if held is not None else [])
                + ([unused_note] if unused_note is not None else [])
            ),
            at=app.created_at or now_wib(),
        )
    )
    if unused:
        log.warning(
            "application %s: contact %s fails the kiosk's rules, not used",
            app.registration_number,
            ", ".join(unused),
        )
    contacts = content.recipients(data, unused)  # the contact rules run once
    if contacts:
        subject, body = compose_submitted(app, moved_from, held)
        for channel, address in contacts:
            enqueue(session, channel, address, subject, body, app.id)
    log.info(
        "application %s submitted; %d notification(s) queued",
        app.registration_number,
        len(contacts),
    )
    return len(contacts)


def record_many(
    session: Session,
    registration_numbers: list[str],
    actor: str,
    moved_from: Mapping[str, Slot] | None = None,
    held: Mapping[str, str] | None = None,
) -> int:
    """record_submission for applications inserted in bulk (the batch path); messages queued.
    `moved_from`: registration number -> full slot asked for, of those booked elsewhere;
    `held`: registration number -> why its content waits for an officer."""
    if not registration_numbers:
        return 0
    apps = session.scalars(
        select(Application)
        .where(Application.registration_number.in_(registration_numbers))
        .order_by(Application.id)
    )
    moved, holds = moved_from or {}, held or {}
    return sum(
        record_submission(
            session,
            app,
            actor,
            moved.get(app.registration_number),
            holds.get(app.registration_number),
        )
        for app in apps
    )
