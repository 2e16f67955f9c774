"""A4 receipts kept for an attendant's reprint: sealed with the outbox key, for hours, not days.

The receipt carries the citizen's full name and address, so the print journal never holds it in
the clear: the rendered PDF is sealed (AES-GCM with the outbox key, bound to the kiosk and the
registration number) into the journal's payload of a receipt job. The journal wipes the payload
when the job prints, is reprinted or dismissed; `ReceiptSealer.expire` wipes what is left at the
end of the kiosk's day or after `keep`, whichever comes first.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.sealing import seal, unseal

log = logging.getLogger(__name__)

RECEIPT_KEEP = timedelta(hours=4)
_PREFIX = "aesgcm1:"


class SealError(Exception):
    """A sealed receipt that cannot be opened (another key, another kiosk, or tampered)."""


def receipt_cutoff(now: datetime, keep: timedelta = RECEIPT_KEEP) -> datetime:
    """Receipts created before this are wiped: `keep` ago, and never from before today (local)."""
    local = now.astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(local - keep, midnight).astimezone(UTC)


class ReceiptSealer:
    """Seals rendered receipts for the journal and opens them for a reprint."""

    def __init__(
        self,
        key: bytes,
        kiosk_id: str,
        *,
        keep: timedelta = RECEIPT_KEEP,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`key`: the outbox's 32-byte key (load_key)."""
        if keep <= timedelta(0):
            raise ValueError("keep must be positive")
        self._aead = AESGCM(key)
        self.kiosk_id = kiosk_id
        self.keep = keep
        self._now = now

    def seal(self, reference: str, pdf: bytes) -> str:
        """The journal payload for receipt `reference`: nonce and ciphertext, base64."""
        sealed = seal(self._aead, bytes(pdf), self._aad(reference))
        return _PREFIX + base64.b64encode(sealed).decode("ascii")

    def open(self, reference: str, payload: str) -> bytes:
        """The PDF sealed for `reference`; SealError when it cannot be opened."""
        if not payload.startswith(_PREFIX):
            raise SealError("not a sealed receipt")
        try:
            sealed = base64.b64decode(payload[len(_PREFIX) :], validate=True)
            return unseal(self._aead, sealed, self._aad(reference))
        except (ValueError, InvalidTag) as exc:
            raise SealError(f"sealed receipt for {reference} cannot be opened") from exc

    def cutoff(self) -> datetime:
        """Receipts journalled before this (UTC) are no longer kept."""
        return receipt_cutoff(self._now(), self.keep)

    def kept(self, created_at: str) -> bool:
        """Whether a receipt journalled at `created_at` (the journal's UTC stamp) is kept."""
        return created_at >= self.cutoff().isoformat(timespec="seconds")

    def expire(self, journal: PrintJournal) -> int:
        """Wipe sealed receipts past their window; return how many."""
        wiped = journal.purge_payloads(self.cutoff(), kind="receipt")
        if wiped:
            log.info("wiped %d kept receipt(s) past their reprint window", wiped)
        return wiped

    def _aad(self, reference: str) -> bytes:
        return f"receipt|{self.kiosk_id}|{reference}".encode()
