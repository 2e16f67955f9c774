"""Notification channels: SMS/WhatsApp gateways (HTTP), email (SMTP), files, a recording channel."""

from __future__ import annotations

import os
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import requests


class DeliveryError(Exception):
    """Sending failed; `permanent` failures are not retried (e.g. a rejected recipient)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """Something that delivers one message to one recipient or raises DeliveryError."""

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Deliver the message; return only when the far end accepted it."""
        ...


@dataclass
class SentMessage:
    """One message a RecordingChannel accepted."""

    recipient: str
    subject: str
    body: str


@dataclass
class RecordingChannel:
    """Test channel: records what was sent; `fail_next` makes the next sends fail."""

    sent: list[SentMessage] = field(default_factory=list)
    fail_next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Record the message, or fail while fail_next > 0."""
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise DeliveryError("recording channel told to fail")
            self.sent.append(SentMessage(recipient, subject, body))


class HttpGatewayChannel:
    """An SMS or WhatsApp gateway taking JSON {"to", "message"} with a bearer token.

    4xx answers other than 408/429 are permanent (bad number, bad token); everything else,
    including timeouts and refused connections, is retried by the outbox.
    """

    def __init__(self, url: str, token: str = "", *, timeout_s: float = 10.0) -> None:
        self.url, self.timeout_s = url, timeout_s
        self._http = requests.Session()
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    def send(self, recipient: str, subject: str, body: str) -> None:
        """POST the message to the gateway."""
        try:
            response = self._http.post(
                self.url, json={"to": recipient, "message": body}, timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"gateway unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryError(
                f"gateway answered HTTP {response.status_code}", permanent=permanent
            )

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()


class SmtpChannel:
    """Email over SMTP (smtplib), with STARTTLS and login when configured."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "noreply@disdukcapil.go.id",
        *,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout_s = timeout_s

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Send one plain-text UTF-8 email."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, recipient, subject
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError("recipient refused by the SMTP server", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP failed: {type(exc).__name__}") from exc


class FileChannel:
    """Development channel: each message becomes a text file under `directory`, newest last.

    A newcomer running `anjungan central` sees what a citizen would have received in
    var/messages/ (file names sort by time: 20261206T101500.123456-sms-1.txt).
    """

    def __init__(self, directory: Path, channel: str) -> None:
        self.directory, self.channel = Path(directory), channel
        self._lock = threading.Lock()
        self._count = 0

    def send(self, recipient: str, subject: str, body: str) -> None:
        """Write the message atomically (a temporary file renamed into place)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        with self._lock:
            self._count += 1
            name = f"{stamp}-{self.channel}-{os.getpid()}-{self._count}.txt"
        text = f"Channel: {self.channel}\nTo: {recipient}\nSubject: {subject}\n\n{body}\n"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{name}.partial"
            partial.write_text(text, encoding="utf-8")
            partial.replace(self.directory / name)
        except OSError as exc:
            raise DeliveryError(f"cannot write message file: {exc.strerror}") from exc
