"""The personal data of the kiosk's outbox rows, sealed at rest: AES-GCM with the kiosk's outbox
key, bound to each row's idempotency key (rows cannot be swapped). A row that does not decrypt
(wrong key or damaged bytes) is reported as damaged storage and kept for an attendant."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk_app.domain.ticket import Slot
from kiosk_app.services.durable import DAMAGED, NO_KEY, STORAGE, StorageError
from kiosk_app.services.outbox.records import Submission
from kiosk_app.services.sealing import OutboxError, seal, unseal


class RowCipher:
    """Seals and opens the outbox rows of the file at `path` with the 32-byte `key`; None (the
    key is missing or damaged): nothing can be sealed or opened until it is back."""

    def __init__(self, key: bytes | None, path: Path) -> None:
        self._aead = AESGCM(key) if key is not None else None
        self.path = path

    @property
    def usable(self) -> bool:
        """The key is there: rows can be sealed."""
        return self._aead is not None

    def seal(self, key: str, plaintext: bytes) -> bytes:
        """Encrypt, bound to the row's idempotency key (rows cannot be swapped)."""
        if self._aead is None:
            raise StorageError(self.path, NO_KEY, "no outbox key")
        return seal(self._aead, plaintext, key.encode())

    def open(self, key: str, blob: bytes) -> bytes:
        """Decrypt what `seal` made for the row with idempotency key `key` (OutboxError without
        the key, or when the bytes do not decrypt: reported as damaged storage)."""
        from cryptography.exceptions import InvalidTag

        if self._aead is None:
            raise OutboxError("no outbox key: the row stays sealed until the key is back")
        try:
            return unseal(self._aead, blob, key.encode())
        except InvalidTag as exc:
            STORAGE.report(
                self.path,
                DAMAGED,
                "a row does not decrypt with this kiosk's key"
                " (wrong key or damaged bytes): kept for an attendant",
            )
            raise OutboxError("outbox data does not decrypt with this kiosk's key") from exc

    def submission(self, entry_id: int, row: sqlite3.Row | None) -> Submission:
        """The submission an outbox row holds (OutboxError once wiped, or when it does not
        decrypt)."""
        if row is None or row["payload"] is None:
            raise OutboxError(f"outbox row {entry_id} holds no data (wiped or unknown)")
        data = json.loads(self.open(row["idempotency_key"], row["payload"]))
        return Submission(
            service=row["service"],
            applicant_nik=data["applicant_nik"],
            applicant_name=data["applicant_name"],
            data=data["data"],
            slot=Slot(date.fromisoformat(row["slot_date"]), row["slot_window"]),
            submitted_at=row["submitted_at"],
            lease=data.get("lease"),
        )
