"""What became of a booking held for an officer, told to the citizen.

An offline booking the server could not accept as it was (its seal's key awaiting a
technician's approval, its content failing the kiosk's rules, values outside the form) is
admitted held (central_server.reconcile). The decision that ends the hold is told once, in the
decision's own transaction (so the message exists exactly when the decision does, whichever
app server made it; the decisions lock the application's row first): admitted as booked (an
officer releasing the hold, or a technician approving the seal key it waited for), admitted on
another date or window (an officer releasing it with a move, sealed again by the server), or
rejected by an officer. The message is in Bahasa Indonesia, then English; it names the
registration number (and the receipt's LOK number), the service, the date and window, and what
to bring; it goes only to the contacts the application gave that pass the kiosk's contact
rules (central_server.content), and carries no NIK and no name.
"""

from __future__ import annotations

import logging
from datetime import date
from enum import StrEnum

from sqlalchemy.orm import Session

from central_server.models import Application
from central_server.notify.outbox import enqueue, recipients
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.dates import long_date
from kiosk_app.services import receipt_seal

log = logging.getLogger("central_server.submission")

Slot = tuple[date, str]  # (verification date, window)


class Decision(StrEnum):
    """How a held booking's hold ended."""

    admitted = "admitted"  # released: goes on on the booked date and window
    moved = "moved"  # released onto another date or window
    rejected = "rejected"  # rejected by an officer after the check


def _service(app: Application, lang: str) -> str:
    info = SERVICES.get(app.service)
    return info.title(lang) if info is not None else app.service


def _bring(app: Application, lang: str) -> str:
    """What to bring to the counter: the service's documents (originals) and the receipt."""
    info = SERVICES.get(app.service)
    documents = [d(lang) for d in info.required_documents] if info is not None else []
    receipt = "tanda terima" if lang == "id" else "the receipt"
    return "; ".join([*documents, receipt])


def _slot(app: Application, lang: str) -> str:
    at = "pukul" if lang == "id" else "at"
    return f"{long_date(app.slot_date, lang)}, {at} {app.slot_window} WIB"


def compose(
    app: Application,
    decision: Decision,
    *,
    reason: str = "",
    moved_from: Slot | None = None,
    verify_base: str = "",
) -> tuple[str, str]:
    """Subject and body (Bahasa Indonesia, then English) of a held booking's decision; no NIK,
    no name. `reason`: an officer's rejection reason; `moved_from`: the slot it was held on."""
    number = app.registration_number
    ref_id = f" (tanda terima {app.local_reference})" if app.local_reference else ""
    ref_en = f" (receipt {app.local_reference})" if app.local_reference else ""
    head_id = f"Permohonan {number}{ref_id}, {_service(app, 'id')}"
    head_en = f"Application {number}{ref_en}, {_service(app, 'en')}"
    queue = f"nomor antrean {app.queue_number}"
    if decision is Decision.rejected:
        subject = f"Disdukcapil: permohonan {number} ditolak / application {number} rejected"
        indonesian = [
            f"{head_id}, jadwal {_slot(app, 'id')}: ditolak setelah diperiksa petugas.",
            f"Alasan: {reason}",
            "Tidak perlu datang pada jadwal itu. Untuk mengajukan lagi di anjungan atau loket, "
            f"bawa: {_bring(app, 'id')}.",
        ]
        english = [
            f"{head_en}, booked for {_slot(app, 'en')}: rejected after an officer's check.",
            f"Reason: {reason}",
            f"Do not come at that time. To apply again at a kiosk or counter, bring: "
            f"{_bring(app, 'en')}.",
        ]
    else:
        subject = f"Disdukcapil: permohonan {number} diteruskan / application {number} goes ahead"
        indonesian = [f"{head_id}: sudah diperiksa petugas dan diteruskan."]
        english = [f"{head_en}: checked by an officer and going ahead."]
        if decision is Decision.moved and moved_from is not None:
            old_day, old_window = moved_from
            indonesian.append(
                f"Jadwal verifikasi dipindah dari {long_date(old_day)} pukul {old_window} WIB "
                f"ke {_slot(app, 'id')}, {queue} (jadwal pada tanda terima tidak berlaku lagi)."
            )
            english.append(
                f"Your verification moved from {long_date(old_day, 'en')} at {old_window} WIB "
                f"to {_slot(app, 'en')}, queue number {app.queue_number} (the receipt's "
                "schedule no longer holds)."
            )
            if app.server_seal:
                link = receipt_seal.qr_text(app.server_seal, verify_base)
                indonesian.append(f"Tanda terima baru (periksa keasliannya): {link}")
                english.append(f"New receipt (check it is genuine): {link}")
        else:
            indonesian.append(f"Jadwal verifikasi tetap: {_slot(app, 'id')}, {queue}.")
            english.append(
                f"Your verification stays on {_slot(app, 'en')}, queue number {app.queue_number}."
            )
        indonesian.append(f"Bawa dokumen asli: {_bring(app, 'id')}.")
        english.append(f"Bring the originals: {_bring(app, 'en')}.")
    return subject, "\n".join([*indonesian, "", *english])


def tell(
    session: Session,
    app: Application,
    decision: Decision,
    *,
    reason: str = "",
    moved_from: Slot | None = None,
    verify_base: str = "",
) -> int:
    """Queue the decision's message to each usable contact of `app` in the caller's
    transaction (the decision's); returns how many were queued."""
    contacts = recipients(app)
    if contacts:
        subject, body = compose(
            app, decision, reason=reason, moved_from=moved_from, verify_base=verify_base
        )
        for channel, address in contacts:
            enqueue(session, channel, address, subject, body, app.id)
    log.info(
        "application %s: held booking %s; %d notification(s) queued",
        app.registration_number,
        decision.value,
        len(contacts),
    )
    return len(contacts)
