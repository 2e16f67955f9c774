"""The outbox worker's retries and backoff, and the real SMTP and HTTP gateway channels."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from central_server import notify
from central_server.db import Database
from central_server.notify.outbox import BASE_DELAY, LEASE, MAX_ATTEMPTS, utcnow
from central_server.review_models import OutboxMessage


class Clock:
    """A settable UTC clock."""

    def __init__(self) -> None:
        self.now = utcnow() + timedelta(minutes=1)  # messages queued now are due

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move time forward."""
        self.now += delta


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """An empty database with every table (SQLite and PostgreSQL)."""
    database = Database(database_url)
    database.create_all(())
    yield database
    database.dispose()


def queue(db: Database, channel: str = "sms", recipient: str = "081234567890") -> int:
    """Put one message in the outbox."""
    with db.transaction() as session:
        message = notify.enqueue(session, channel, recipient, "Subjek", "Isi pesan ✓")
        session.flush()
        return message.id


def row(db: Database, message_id: int) -> OutboxMessage:
    """Read a message back."""
    with db.transaction() as session:
        return session.get_one(OutboxMessage, message_id)


def test_retries_with_exponential_backoff(db: Database) -> None:
    clock, channel = Clock(), notify.RecordingChannel(fail_next=2)
    worker = notify.OutboxWorker(db, {"sms": channel}, clock=clock)
    message_id = queue(db)
    assert worker.run_once() == 0
    assert row(db, message_id).next_attempt_at == clock.now + BASE_DELAY
    clock.advance(BASE_DELAY - timedelta(seconds=1))
    assert worker.run_once() == 0 and row(db, message_id).attempts == 1  # not due yet
    clock.advance(timedelta(seconds=1))
    assert worker.run_once() == 0
    assert row(db, message_id).next_attempt_at == clock.now + 2 * BASE_DELAY
    clock.advance(2 * BASE_DELAY)
    assert worker.run_once() == 1
    sent = row(db, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, "")
    assert [m.body for m in channel.sent] == ["Isi pesan ✓"]
    assert worker.run_once() == 0  # sent exactly once


def test_gives_up_after_max_attempts_and_on_permanent_errors(db: Database) -> None:
    clock = Clock()
    channel = notify.RecordingChannel(fail_next=MAX_ATTEMPTS)
    worker = notify.OutboxWorker(db, {"sms": channel}, clock=clock)
    message_id = queue(db)
    for _ in range(MAX_ATTEMPTS):
        worker.run_once()
        clock.advance(timedelta(hours=2))
    assert (row(db, message_id).status, row(db, message_id).attempts) == ("failed", MAX_ATTEMPTS)

    class Refusing:
        def send(self, recipient: str, subject: str, body: str) -> None:
            raise notify.DeliveryError("nomor tidak valid", permanent=True)

    other = queue(db, "whatsapp")
    notify.OutboxWorker(db, {"whatsapp": Refusing()}, clock=clock).run_once()
    assert row(db, other).status == "failed" and row(db, other).attempts == 1


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "siti@example.test\r\nBcc: all@example.test"),  # SMTP header injection
        ("email", "siti@example.test\n"),
        ("email", "not-an-address"),
        ("email", "a" * 65 + "@example.test"),  # a local part over 64 characters
        ("sms", "0812\r\n34567890"),  # the kiosk's rule would strip the line break: not here
        ("sms", "0812"),
        ("whatsapp", "+44 20 7946 0000"),
        ("whatsapp", "08123456789012345678"),
    ],
)
def test_the_worker_never_hands_an_unusable_recipient_to_a_channel(
    db: Database, channel: str, recipient: str
) -> None:
    """Rows written before the server checked contacts, or by a future bug, are refused for
    good by the worker itself (kiosk_app.domain.contact rules, no control characters)."""
    clock, recording = Clock(), notify.RecordingChannel()
    worker = notify.OutboxWorker(db, {channel: recording}, clock=clock)
    bad = queue(db, channel, recipient)
    good = queue(db, channel, "dewi@contoh.id" if channel == "email" else "+6281234567890")
    assert worker.run_once() == 1
    assert len(recording.sent) == 1 and recording.sent[0].recipient != recipient
    failed = row(db, bad)
    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        1,
        "unusable recipient",
    )
    assert row(db, good).status == "sent"


def test_unconfigured_channels_wait_and_crashed_workers_are_retried(db: Database) -> None:
    clock, channel = Clock(), notify.RecordingChannel()
    email_id = queue(db, "email", "a@b.test")
    sms_id = queue(db)
    claimed = notify.OutboxWorker(db, {"sms": channel}, clock=clock)._claim()  # then "dies"
    assert [m.id for m in claimed] == [sms_id]
    worker = notify.OutboxWorker(db, {"sms": channel}, clock=clock)
    assert worker.run_once() == 0  # leased by the dead worker
    clock.advance(LEASE)
    assert worker.run_once() == 1
    assert row(db, email_id).status == "pending" and row(db, email_id).attempts == 0


class Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def test_email_over_a_real_smtp_server() -> None:
    inbox = Inbox()
    with socket.socket() as probe:  # a free loopback port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = notify.SmtpChannel("127.0.0.1", port, "dukcapil@jombang.test")
        channel.send("siti@example.test", "Disdukcapil: permohonan AKTA-1", "Jadwal: Senin ✓")
    finally:
        controller.stop()
    (mail,) = inbox.messages
    assert mail["To"] == "siti@example.test" and mail["Subject"] == "Disdukcapil: permohonan AKTA-1"
    assert mail.get_content().strip() == "Jadwal: Senin ✓"
    with pytest.raises(notify.DeliveryError) as failure:
        notify.SmtpChannel("127.0.0.1", port, timeout_s=2).send("x@y.test", "s", "b")
    assert not failure.value.permanent  # server gone: retried later


def test_sms_gateway_over_http() -> None:
    received: list[tuple[str, dict[str, str]]] = []
    answers = [200, 503, 400]

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            length = int(self.headers["Content-Length"])
            received.append((self.headers["Authorization"], json.loads(self.rfile.read(length))))
            self.send_response(answers.pop(0))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    channel = notify.HttpGatewayChannel(f"http://127.0.0.1:{server.server_port}/send", "tok")
    try:
        channel.send("081234567890", "s", "Permohonan disetujui")
        with pytest.raises(notify.DeliveryError) as busy:
            channel.send("081234567890", "s", "b")
        with pytest.raises(notify.DeliveryError) as bad:
            channel.send("0", "s", "b")
    finally:
        channel.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert received[0] == ("Bearer tok", {"to": "081234567890", "message": "Permohonan disetujui"})
    assert not busy.value.permanent and bad.value.permanent
    with pytest.raises(notify.DeliveryError, match="unreachable"):
        notify.HttpGatewayChannel(f"http://127.0.0.1:{server.server_port}/send", timeout_s=2).send(
            "0", "s", "b"
        )
