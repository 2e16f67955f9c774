"""A kiosk replacing its receipt seal key (PUT /api/v1/kiosk/signing-key).

The first key is taken with the kiosk's token. A replacement is in force at once only with
proof of possession of the key in force: the old key's signature over the kiosk id, the new
key and a one-time nonce the server issued (POST /api/v1/kiosk/signing-key/challenge), so a
stolen token alone cannot hand the kiosk's seals to a key of its own, and a captured proof
cannot be replayed. Without the proof (the kiosk lost its key file: a damaged disk, a
reinstall) the key is recorded PENDING: its seals verify as "pending approval" until a
technician approves it on the fleet page (`decide`). The offline bookings admitted held only
because their seal's key was pending are admitted when it is approved; rejected, they stay
held for an officer; their history says why either way.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_server import hold_notice, lifecycle, seals
from central_server.lease_reports import utc
from central_server.models import Application, Kiosk, KioskSigningKey
from central_server.reconcile import SEAL_PENDING_HOLD
from central_server.schemas import KeyProof
from central_server.settings import WIB
from kiosk_app.services import receipt_seal
from kiosk_app.services.receipt_seal import SealInvalid

audit = logging.getLogger("central_server.audit")

NONCE_VALID = timedelta(minutes=5)
IN_FORCE, PENDING = seals.IN_FORCE, seals.PENDING
KEY_APPROVED = (
    "kunci segel anjungan disetujui teknisi: segel sah, tahanan karena kunci dilepas"
    " / the kiosk's seal key was approved: the seal is valid, its hold released"
)
STILL_HELD = "masih ditahan / still held: {reason}"
KEY_REJECTED = (
    "kunci segel anjungan ditolak teknisi: segel tidak sah, tetap ditahan untuk diperiksa"
    " petugas / the kiosk's seal key was rejected: the seal is not valid, still held for an"
    " officer's check"
)


@dataclass(frozen=True)
class KeyRefused:
    """Why a key was not taken: an error code and an English message (HTTP 409)."""

    code: str
    message: str


def challenge(session: Session, kiosk_id: str, now: datetime) -> tuple[str, datetime]:
    """The one-time nonce for the kiosk's next key replacement: the one outstanding until it is
    used or expires, else a new one. Given again rather than replaced, a stolen token asking
    cannot void the nonce the kiosk is signing (its rotation would fall back to pending)."""
    kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
    assert kiosk is not None  # the caller authenticated it
    nonce, expires = kiosk.key_nonce, kiosk.key_nonce_expires
    if nonce is not None and expires is not None and utc(expires) > now:
        return nonce, utc(expires)
    kiosk.key_nonce = secrets.token_urlsafe(24)
    kiosk.key_nonce_expires = now + NONCE_VALID
    return kiosk.key_nonce, kiosk.key_nonce_expires


def submit(
    session: Session,
    kiosk_id: str,
    public_key: str,
    proof: KeyProof | None,
    now: datetime,
    predecessor_for: timedelta = timedelta(0),
) -> str | KeyRefused:
    """Take `public_key` for the kiosk's seals: IN_FORCE (first key, the key already in force,
    or a valid proof), PENDING (a replacement without proof), or a KeyRefused (a proof that
    does not verify, its nonce used or expired; a key a technician rejected). A proof's nonce
    is used up when the proof verifies (never replayed) or has expired; a refused proof leaves
    it for the kiosk (a thief given the nonce cannot void it with a bogus proof; a signature
    cannot be guessed). A proven replacement leaves the key it replaces verifying seals for
    `predecessor_for` more, or until the kiosk acknowledges its swap (`acknowledge`): the
    kiosk seals with the old key until it hears this answer, which may be lost. The caller
    commits before answering."""
    kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
    assert kiosk is not None
    if proof is not None:
        refused = _check_proof(kiosk, public_key, proof, now)
        if refused is not None:
            audit.warning(
                "kiosk %s: seal key replacement by %s refused: %s",
                kiosk_id,
                public_key[:8],
                refused.message,
            )
            return refused
        seals.register_key(
            session, kiosk, public_key, now, "kiosk+proof", predecessor_for=predecessor_for
        )
        return IN_FORCE
    if kiosk.signing_key is None or kiosk.signing_key == public_key:
        seals.register_key(session, kiosk, public_key, now, "kiosk")
        return IN_FORCE
    if seals.key_state(session, kiosk_id, public_key) == seals.REJECTED:
        return KeyRefused("key_rejected", "a technician rejected this key: make a new one")
    seals.register_key(session, kiosk, public_key, now, "kiosk", state=PENDING)
    return PENDING


def acknowledge(
    session: Session,
    kiosk_id: str,
    public_key: str,
    sealing_since: datetime,
    signature: str,
) -> KeyRefused | None:
    """The kiosk says it seals with `public_key` from `sealing_since` (its clock) on, signed
    with that key (receipt_seal.sign_key_swap): the key a proven rotation replaced stops
    verifying seals issued after then (seals.swap_seen). Only the first acknowledgment of a key
    counts; one signed otherwise (a stolen token, the old key) is refused and changes nothing,
    so neither can cut the old key short nor keep it alive."""
    kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
    assert kiosk is not None
    if not receipt_seal.key_swap_signed(public_key, kiosk_id, sealing_since, signature):
        audit.warning(
            "kiosk %s: acknowledgment of seal key %s refused: not signed with that key",
            kiosk_id,
            public_key[:8],
        )
        return KeyRefused("proof_invalid", "the acknowledgment is not signed with that key")
    if kiosk.signing_key != public_key:  # a key replaced since: its successor's proof ended it
        return KeyRefused("key_not_in_force", "that key is not the kiosk's key in force")
    seals.swap_seen(session, kiosk_id, public_key, sealing_since)
    return None


def _check_proof(
    kiosk: Kiosk, public_key: str, proof: KeyProof, now: datetime
) -> KeyRefused | None:
    nonce, expires = kiosk.key_nonce, kiosk.key_nonce_expires
    if nonce is None or expires is None or not secrets.compare_digest(nonce, proof.nonce):
        return KeyRefused("proof_invalid", "unknown or used nonce: ask for a new challenge")
    if utc(expires) <= now:
        kiosk.key_nonce = kiosk.key_nonce_expires = None
        return KeyRefused("proof_invalid", "the nonce expired: ask for a new challenge")
    if kiosk.signing_key is not None:  # else nothing to prove yet: the first key
        try:
            current = receipt_seal.public_key_from_text(kiosk.signing_key)
        except SealInvalid:
            return KeyRefused("proof_invalid", "the key in force is unusable")
        if not receipt_seal.key_change_signed(
            current, kiosk.kiosk_id, public_key, proof.nonce, proof.signature
        ):
            return KeyRefused("proof_invalid", "the proof is not signed with the key in force")
    kiosk.key_nonce = kiosk.key_nonce_expires = None  # used: never replayed
    return None


def decide(
    session: Session, kiosk_id: str, key_id: int, approve: bool, by: str, now: datetime
) -> bool:
    """A technician's decision on a pending key (seals.decide), and the offline bookings held
    because their seal was signed with it: approved, those whose seal now verifies valid are
    admitted (the hold for the key lifted; a hold for their content stays); rejected, they
    stay held for an officer. Each one's history says why, with `by`. False when the key is
    not pending (decided already, or not this kiosk's)."""
    if not seals.decide(session, kiosk_id, key_id, approve, by, now):
        return False
    session.flush()
    row = session.get_one(KioskSigningKey, key_id)  # locked and read by seals.decide
    try:
        raw = receipt_seal.public_key_from_text(row.public_key)
    except SealInvalid:
        return True  # no seal verifies with it: nothing was admitted with it
    at = now.astimezone(WIB).isoformat(timespec="seconds")
    held = session.scalars(
        select(Application)
        .where(
            Application.kiosk_id == kiosk_id,
            Application.seal_status == seals.PENDING_APPROVAL,
            Application.hold_reason.startswith(SEAL_PENDING_HOLD, autoescape=True),
        )
        .order_by(Application.id)
        .with_for_update()
    )
    released = kept = 0
    for app in held:
        if app.seal is None or not _signed_with(app.seal, raw):
            continue  # another key's pending seal
        reason = app.hold_reason or ""
        if not approve:
            app.seal_status = seals.ALTERED
            lifecycle.note_hold(session, app, by, KEY_REJECTED, reason, at)
            kept += 1
            continue
        if not seals.check(session, app.seal).valid:
            continue  # not within the key's time in force (another key took over)
        rest = reason.removeprefix(SEAL_PENDING_HOLD).removeprefix("; ") or None
        note = KEY_APPROVED + ("; " + STILL_HELD.format(reason=rest) if rest else "")
        app.seal_status = seals.VALID
        lifecycle.note_hold(session, app, by, note, rest, at)
        if rest is None:  # admitted: the citizen is told, in this decision's transaction
            hold_notice.tell(session, app, hold_notice.Decision.admitted)
        released, kept = released + (rest is None), kept + (rest is not None)
    audit.warning(
        "kiosk %s: seal key %s %s by %s: %d offline booking(s) sealed with it admitted, %d"
        " still held for an officer",
        kiosk_id,
        row.public_key[:8],
        "approved" if approve else "rejected",
        by,
        released,
        kept,
    )
    return True


def _signed_with(sealed: str, raw: bytes) -> bool:
    try:
        receipt_seal.verify(sealed, lambda _kiosk: raw)
    except SealInvalid:
        return False
    return True
