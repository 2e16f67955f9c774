"""The signed payload in a ticket's and a receipt's QR code: verifiable without the network.

A kiosk signs what it promised the citizen (reference, office, service, date, window, when and
which kiosk) with its own Ed25519 key, made at provisioning; the central server knows the public
key from enrolment. The officer pages and the public verification page check a seal even when
the kiosk's application has not arrived yet (it was booked during an outage).

Format (compact, for a small QR): ``AJ1.<body>.<signature>``, both base64url without padding.
The body is the claims joined by ``~``; the signature covers ``AJ1.`` followed by the body's
bytes, so a seal of another format version can never verify as this one. A QR carries either
the bare seal or a verification URL ending in ``/r/<seal>`` (a phone's camera opens the page).

It lives among the services, not in the (standard-library-only) domain, because it signs and
verifies with `cryptography`; the central server imports it to verify what kiosks signed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = "AJ1"
SEPARATOR = "~"
MAX_SEAL_CHARS = 400  # a seal is about 180 characters; anything much longer is not ours
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
_FIELD = re.compile(r"^[A-Za-z0-9._:\-]{1,40}$")  # references, codes, windows, kiosk ids
_WINDOW = re.compile(r"^\d{2}\.\d{2}-\d{2}\.\d{2}$")
_QR = re.compile(r"^(?:.*/r/)?(AJ1\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)/?$")


class SealInvalid(ValueError):
    """A seal that does not verify; `reason` says why, for the log and the officer page:
    "malformed" (not a seal of this format), "unknown_kiosk" (no key for the kiosk named),
    "bad_signature" (altered or forged)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ReceiptClaims:
    """What a kiosk promised: `reference` is the registration number, or LOK-... offline."""

    reference: str
    office: str  # the office code, e.g. "3517"
    service: str  # the catalogue's service key, e.g. "akta_kelahiran"
    day: date  # the verification date
    window: str  # "08.00-11.00"
    issued_at: datetime  # UTC, whole seconds
    kiosk_id: str

    def body(self) -> str:
        """The claims as the signed text; raises SealInvalid("malformed") for a field that
        cannot be carried (a separator, a non-ASCII character, too long)."""
        fields = (self.reference, self.office, self.service, self.kiosk_id)
        for value in fields:
            if not _FIELD.match(value):
                raise SealInvalid("malformed", f"field {value[:40]!r} cannot be sealed")
        if not _WINDOW.match(self.window):
            raise SealInvalid("malformed", f"window {self.window[:20]!r}")
        issued = int(self.issued_at.timestamp())
        parts = (
            self.reference,
            self.office,
            self.service,
            f"{self.day:%Y%m%d}",
            self.window,
            str(issued),
            self.kiosk_id,
        )
        return SEPARATOR.join(parts)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SealInvalid("malformed", "not base64url") from exc


def _signed_bytes(body: str) -> bytes:
    return f"{VERSION}.".encode("ascii") + body.encode("ascii")


def seal(claims: ReceiptClaims, key: Ed25519PrivateKey) -> str:
    """The seal of `claims` signed with the kiosk's private key."""
    body = claims.body()
    signature = key.sign(_signed_bytes(body))
    return f"{VERSION}.{_b64(body.encode('ascii'))}.{_b64(signature)}"


def qr_text(sealed: str, verify_base: str = "") -> str:
    """What the QR carries: the verification URL `<verify_base>/r/<seal>`, or the bare seal."""
    return f"{verify_base.rstrip('/')}/r/{sealed}" if verify_base else sealed


def parse_qr(text: str) -> str | None:
    """The seal in a scanned QR's text (bare or inside a verification URL), or None when the
    text carries no seal (e.g. an older receipt's bare registration number)."""
    text = text.strip()
    if len(text) > MAX_SEAL_CHARS + 200:
        return None
    match = _QR.match(text)
    return match.group(1) if match else None


def _parts(sealed: str) -> tuple[str, bytes]:
    if len(sealed) > MAX_SEAL_CHARS:
        raise SealInvalid("malformed", f"{len(sealed)} characters")
    pieces = sealed.split(".")
    if len(pieces) != 3 or pieces[0] != VERSION:
        raise SealInvalid("malformed", "not an AJ1 seal")
    try:
        body = _unb64(pieces[1]).decode("ascii")
    except UnicodeDecodeError as exc:
        raise SealInvalid("malformed", "body is not ASCII") from exc
    signature = _unb64(pieces[2])
    if len(signature) != SIGNATURE_BYTES:
        raise SealInvalid("malformed", "signature length")
    return body, signature


def _claims(body: str) -> ReceiptClaims:
    fields = body.split(SEPARATOR)
    if len(fields) != 7:
        raise SealInvalid("malformed", f"{len(fields)} fields")
    reference, office, service, day, window, issued, kiosk_id = fields
    try:
        claims = ReceiptClaims(
            reference=reference,
            office=office,
            service=service,
            day=datetime.strptime(day, "%Y%m%d").date(),
            window=window,
            issued_at=datetime.fromtimestamp(int(issued), UTC),
            kiosk_id=kiosk_id,
        )
    except (ValueError, OverflowError, OSError) as exc:
        raise SealInvalid("malformed", "date or time") from exc
    if claims.body() != body:  # every field well-formed and in its canonical spelling
        raise SealInvalid("malformed", "not canonical")
    return claims


def read(sealed: str) -> ReceiptClaims:
    """The claims of a seal WITHOUT checking the signature (to find which kiosk's key to use,
    or to show what an unverifiable seal says); raises SealInvalid("malformed")."""
    body, _signature = _parts(sealed)
    return _claims(body)


def verify(sealed: str, public_key_of: Callable[[str], bytes | None]) -> ReceiptClaims:
    """The claims of a seal whose signature is the named kiosk's; raises SealInvalid otherwise.

    `public_key_of(kiosk_id)` gives the kiosk's raw 32-byte public key, or None when unknown.
    """
    body, signature = _parts(sealed)
    claims = _claims(body)
    raw = public_key_of(claims.kiosk_id)
    if raw is None:
        raise SealInvalid("unknown_kiosk", claims.kiosk_id)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, _signed_bytes(body))
    except (InvalidSignature, ValueError) as exc:
        raise SealInvalid("bad_signature", claims.kiosk_id) from exc
    return claims


KEY_CHANGE = "AJK1"  # a key replacement's proof: never the bytes of a seal ("AJ1.")


def _key_change_bytes(kiosk_id: str, new_public_key: str, nonce: str) -> bytes:
    return f"{KEY_CHANGE}.{kiosk_id}{SEPARATOR}{new_public_key}{SEPARATOR}{nonce}".encode()


def sign_key_change(
    old_key: Ed25519PrivateKey, kiosk_id: str, new_public_key: str, nonce: str
) -> str:
    """Proof that the holder of `old_key` (the key the server has) hands kiosk `kiosk_id`'s
    seals over to `new_public_key` (public_key_text); `nonce`: the server's one-time nonce."""
    return _b64(old_key.sign(_key_change_bytes(kiosk_id, new_public_key, nonce)))


def key_change_signed(
    old_public_key: bytes, kiosk_id: str, new_public_key: str, nonce: str, signature: str
) -> bool:
    """True when `signature` is `sign_key_change` of these by the key `old_public_key`."""
    try:
        raw = _unb64(signature)
        Ed25519PublicKey.from_public_bytes(old_public_key).verify(
            raw, _key_change_bytes(kiosk_id, new_public_key, nonce)
        )
    except (SealInvalid, InvalidSignature, ValueError):
        return False
    return True


def _swap_marker(sealing_since: datetime) -> str:
    # In the nonce's place: "@" is never in a nonce, so an acknowledgment is never a proof.
    return "swapped@" + sealing_since.astimezone(UTC).isoformat(timespec="seconds")


def sign_key_swap(key: Ed25519PrivateKey, kiosk_id: str, sealing_since: datetime) -> str:
    """The kiosk's acknowledgment that it seals with `key` from `sealing_since` on (after a
    rotation, once the server took the key in force), signed with that key itself."""
    return sign_key_change(key, kiosk_id, public_key_text(key), _swap_marker(sealing_since))


def key_swap_signed(
    public_key: str, kiosk_id: str, sealing_since: datetime, signature: str
) -> bool:
    """True when `signature` is `sign_key_swap` of these by `public_key` (public_key_text)."""
    try:
        raw = public_key_from_text(public_key)
    except SealInvalid:
        return False
    return key_change_signed(raw, kiosk_id, public_key, _swap_marker(sealing_since), signature)


def new_key() -> Ed25519PrivateKey:
    """A fresh kiosk signing key (made at provisioning)."""
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The kiosk's public key as registered at enrolment: 32 raw bytes, base64url."""
    return _b64(key.public_key().public_bytes_raw())


def public_key_from_text(text: str) -> bytes:
    """The raw public key of `public_key_text`; raises SealInvalid("malformed") otherwise."""
    raw = _unb64(text.strip())
    if len(raw) != PUBLIC_KEY_BYTES:
        raise SealInvalid("malformed", "public key length")
    Ed25519PublicKey.from_public_bytes(raw)  # raises ValueError for a key it cannot load
    return raw
