"""The durable notification outbox: rows written with each transition, sent by a retrying worker."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_server import content
from central_server.db import Database
from central_server.lifecycle import STATUS_TEXTS, data_of, open_fix_notes, wants_delivery
from central_server.models import Application
from central_server.notify.channels import Channel, DeliveryError
from central_server.review_models import ApplicationEvent, OutboxMessage
from kiosk_app.domain.contact import is_email, normalize_phone
from kiosk_app.domain.dates import long_date
from kiosk_app.services import receipt_seal

log = logging.getLogger("central_server.notify")

LEASE = timedelta(minutes=5)  # a claimed message is retried after this if its worker died
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
MAX_ATTEMPTS = 8


SECRET = re.compile("\u27e6([^\u27e7]*)\u27e7")  # ⟦...⟧ marks a secret inside a message body
ERASED = "[dihapus setelah dikirim / erased once sent]"


def conceal(secret: str) -> str:
    """`secret` marked in a message body: sent as is, erased from the outbox once sent."""
    return f"\u27e6{secret}\u27e7"


def for_sending(body: str) -> str:
    """The body the citizen receives: secrets in clear, without their marks."""
    return SECRET.sub(lambda m: m.group(1), body)


def erased(body: str) -> str:
    """The body the outbox keeps once the message is sent or given up: secrets erased."""
    return SECRET.sub(ERASED, body)


def utcnow() -> datetime:
    """Naive UTC now (the column type every database stores the same way)."""
    return datetime.now(UTC).replace(tzinfo=None)


def backoff(attempts: int) -> timedelta:
    """Delay before retry number `attempts` + 1: 30 s, 1 min, 2 min, ... capped at 1 h."""
    delay: timedelta = BASE_DELAY * 2 ** max(0, attempts - 1)
    return min(delay, MAX_DELAY)


def enqueue(
    session: Session,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    application_id: int | None = None,
) -> OutboxMessage:
    """Write one message to the outbox inside the caller's transaction."""
    now = utcnow()
    message = OutboxMessage(
        application_id=application_id,
        channel=channel,
        recipient=recipient,
        subject=subject[:200],
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    session.add(message)
    return message


def recipients(app: Application) -> list[tuple[str, str]]:
    """(channel, address) pairs from the form that pass the kiosk's contact rules
    (central_server.content): contact_phone via contact_channel, contact_email."""
    return content.recipients(data_of(app))


def sendable(channel: str, recipient: str) -> bool:
    """Whether `recipient` may be handed to a channel: an e-mail address, or a mobile number
    for the others, passing the kiosk's rules (kiosk_app.domain.contact), and no control
    character at all (a CR or LF never reaches an SMTP header or a gateway)."""
    if not recipient.isprintable():
        return False
    return is_email(recipient) if channel == "email" else normalize_phone(recipient) is not None


def compose(
    session: Session, app: Application, event: ApplicationEvent, verify_base: str = ""
) -> tuple[str, str]:
    """Subject and body (Bahasa Indonesia) telling the citizen what changed; no NIK, no name.
    `verify_base`: where citizens reach the server (a moved application's new seal's link)."""
    state = event.to_status
    lines = [f"Permohonan {app.registration_number}: {STATUS_TEXTS[state]['id']}."]
    if state == "approved":
        lines.append(
            f"Jadwal verifikasi: {long_date(app.slot_date)}, pukul {app.slot_window} WIB, "
            f"nomor antrean {app.queue_number}. Bawa dokumen asli."
        )
        if app.server_seal:
            link = receipt_seal.qr_text(app.server_seal, verify_base)
            lines.append(
                "Jadwal ini menggantikan jadwal pada tanda terima anjungan. "
                f"Tanda terima baru (periksa keasliannya): {link}"
            )
    elif state == "needs_fixing":
        lines += [f"- {n.target}: {n.note}" for n in open_fix_notes(session, app)]
        lines.append("Perbaiki di anjungan atau di loket dengan nomor pendaftaran ini.")
    elif state == "rejected":
        lines.append(f"Alasan: {event.note}")
    elif state == "document_ready":
        lines.append(
            "Dokumen akan dikirim lewat Pos."
            if wants_delivery(app)
            else "Silakan ambil di kantor Disdukcapil dengan membawa tanda terima."
        )
    elif state == "delivered" and event.note:
        lines.append(f"Nomor resi Pos: {event.note}")
    return f"Disdukcapil: permohonan {app.registration_number}", "\n".join(lines)


def enqueue_for_transition(
    session: Session, app: Application, event: ApplicationEvent, verify_base: str = ""
) -> int:
    """Queue the citizen's notifications for a transition; returns how many were queued."""
    contacts = recipients(app)
    if contacts:
        subject, body = compose(session, app, event, verify_base)
        for channel, address in contacts:
            enqueue(session, channel, address, subject, body, app.id)
    return len(contacts)


class OutboxWorker:
    """Sends due messages through the configured channels with exponential backoff."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 50,
        poll_s: float = 2.0,
    ) -> None:
        self.db, self.channels, self.clock = db, dict(channels), clock
        self.batch, self.poll_s = batch, poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _claim(self) -> list[OutboxMessage]:
        now = self.clock()
        with self.db.transaction() as session:
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    OutboxMessage.channel.in_(list(self.channels)),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            claimed = list(session.scalars(query))
            for message in claimed:
                message.attempts += 1
                message.next_attempt_at = now + LEASE
            return claimed

    def _finish(self, message_id: int, error: DeliveryError | None) -> None:
        now = self.clock()
        with self.db.transaction() as session:
            message = session.get_one(OutboxMessage, message_id)
            if error is None:
                message.status, message.sent_at, message.last_error = "sent", now, ""
                message.body = erased(message.body)
                return
            message.last_error = str(error)[:500]
            if error.permanent or message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
                message.body = erased(message.body)
                log.warning(
                    "notification %d via %s failed for good after %d attempts: %s",
                    message.id,
                    message.channel,
                    message.attempts,
                    error,
                )
            else:
                message.next_attempt_at = now + backoff(message.attempts)

    def run_once(self) -> int:
        """Send every due message once; returns how many were sent successfully."""
        sent = 0
        for message in self._claim():
            error: DeliveryError | None = None
            if not sendable(message.channel, message.recipient):  # logged as failed for good
                self._finish(message.id, DeliveryError("unusable recipient", permanent=True))
                continue
            try:
                self.channels[message.channel].send(
                    message.recipient, message.subject, for_sending(message.body)
                )
                sent += 1
            except DeliveryError as exc:
                error = exc
            except Exception as exc:  # a channel bug must not kill the worker
                log.exception("notification %d: channel %s crashed", message.id, message.channel)
                error = DeliveryError(f"channel crashed: {type(exc).__name__}")
            self._finish(message.id, error)
        return sent

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("outbox worker pass failed; retrying")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        """Run in a background thread until stop()."""
        if self._thread is None and self.channels:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="outbox-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the background thread (waits for the pass in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None
