"""Receipt seals checked on the server: the kiosk's registered key, and what a seal vouches for.

The kiosk signs every ticket's and receipt's QR (kiosk_app.services.receipt_seal); the server
keeps each kiosk's public key (enrolment, or PUT /api/v1/kiosk/signing-key: a replacement is
in force at once only with proof of the current key, pending a technician's approval otherwise)
and checks a seal
for admission (offline bookings), the officer pages and the public page GET /r/{seal}. An
application moved to another slot is sealed again by the server (server_seal); the seal it
replaced then verifies as superseded, "moved to <date, window>".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from central_server.lease_reports import utc
from central_server.lifecycle import STATUS_TEXTS
from central_server.models import Application, Kiosk, KioskSigningKey, Office
from central_server.server_seal import SERVER_ID, ServerSealer
from central_server.settings import WIB
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.services import receipt_seal
from kiosk_app.services.receipt_seal import ReceiptClaims, SealInvalid

log = logging.getLogger("central_server.seals")
audit = logging.getLogger("central_server.audit")

VALID, ALTERED, UNKNOWN_KIOSK, MALFORMED = "valid", "bad_signature", "unknown_kiosk", "malformed"
SUPERSEDED = "superseded"  # genuine, but its application was moved to another date or window
# Signed with a key the kiosk submitted without proof of its old one: neither valid nor
# forged until a technician approves the key (then valid) or rejects it (then bad_signature).
PENDING_APPROVAL = "pending_approval"
IN_FORCE, PENDING, REJECTED = "in_force", "pending", "rejected"  # KioskSigningKey.state
MAX_TYPED = 700  # what a verification page reads of a scanned or pasted code
CLOCK_SKEW = timedelta(minutes=10)  # a seal this near a key change is tried with both keys


@dataclass(frozen=True)
class SealCheck:
    """How a seal verified: `status` is VALID, SUPERSEDED (genuine, but the application was
    moved since: its date and window are the application's now), ALTERED (altered or forged),
    UNKNOWN_KIOSK (no key registered for the kiosk it names), PENDING_APPROVAL (signed with a
    key still waiting for a technician's approval) or MALFORMED; `claims` unless
    malformed (unverified unless VALID or SUPERSEDED); `application` the row it vouches for,
    None when it has not arrived (yet)."""

    status: str
    claims: ReceiptClaims | None
    application: Application | None = None

    @property
    def valid(self) -> bool:
        """True when the named kiosk's key signed exactly these claims."""
        return self.status == VALID

    @property
    def genuine(self) -> bool:
        """True when the seal is genuine: valid, or superseded (its application moved since;
        the application's own date and window hold)."""
        return self.status in (VALID, SUPERSEDED)


def register_key(
    session: Session,
    kiosk: Kiosk,
    public_key: str,
    now: datetime,
    by: str,
    state: str = IN_FORCE,
    predecessor_for: timedelta | None = None,
) -> bool:
    """Record `public_key` as the kiosk's receipt signing key from `now` on: in force (the
    first key, enrolment with a technician's code, or a replacement proven with the current
    key) or PENDING (a replacement without that proof: a technician approves or rejects it on
    the fleet page). False when nothing changed (the key already in force, or already
    pending). Seals issued before stay checked with the key then in force (`keys_at`).
    `predecessor_for` (a proven rotation): how long after `now` the key replaced still
    verifies seals until the kiosk acknowledges its swap (`swap_seen`): the kiosk
    seals with it until it hears this answer, which may be lost."""
    if kiosk.signing_key == public_key:
        return False
    if state == PENDING and public_key in _keys_in(session, kiosk.kiosk_id, PENDING):
        return False
    if state == IN_FORCE and kiosk.signing_key is not None and by.endswith("+proof"):
        # Proven with the key in force: the kiosk seals with that one, so it swapped to it.
        swap_seen(session, kiosk.kiosk_id, kiosk.signing_key, now)
    session.add(
        KioskSigningKey(
            kiosk_id=kiosk.kiosk_id,
            public_key=public_key,
            valid_from=now,
            registered_by=by,
            state=state,
            predecessor_until=None if predecessor_for is None else now + predecessor_for,
        )
    )
    if state == PENDING:
        audit.warning(
            "kiosk %s submitted receipt signing key %s without proof of its key %s (%s):"
            " pending a technician's approval; its seals verify as pending meanwhile",
            kiosk.kiosk_id,
            public_key[:8],
            (kiosk.signing_key or "-")[:8],
            by,
        )
        return True
    previous, kiosk.signing_key = kiosk.signing_key, public_key
    if previous is None:
        log.info("kiosk %s registered receipt signing key %s", kiosk.kiosk_id, public_key[:8])
    else:
        audit.warning(
            "kiosk %s replaced receipt signing key %s with %s (%s): seals issued from %s on"
            " verify with the new key only",
            kiosk.kiosk_id,
            previous[:8],
            public_key[:8],
            by,
            now.isoformat(timespec="seconds"),
        )
    return True


def key_state(session: Session, kiosk_id: str, public_key: str) -> str | None:
    """The newest state of `public_key` among the kiosk's keys (None: never submitted)."""
    return session.scalar(
        select(KioskSigningKey.state)
        .where(KioskSigningKey.kiosk_id == kiosk_id, KioskSigningKey.public_key == public_key)
        .order_by(KioskSigningKey.id.desc())
        .limit(1)
    )


def decide(
    session: Session, kiosk_id: str, key_id: int, approve: bool, by: str, now: datetime
) -> bool:
    """A technician's decision on a pending key: approved, it is in force from when it was
    submitted (the seals the kiosk printed meanwhile become valid) and the kiosk's current
    key if none newer is; rejected, its seals verify as forged. Audited with `by`; False when
    the key is not pending (decided already, or not this kiosk's)."""
    # Read again under the lock (populate_existing): a decision committed meanwhile by another
    # app server is seen, so a key is decided, and its bookings admitted, once.
    row = session.get(KioskSigningKey, key_id, with_for_update=True, populate_existing=True)
    if row is None or row.kiosk_id != kiosk_id or row.state != PENDING:
        return False
    row.state, row.decided_by, row.decided_at = (IN_FORCE if approve else REJECTED), by, now
    if approve:
        session.flush()
        kiosk = session.get(Kiosk, kiosk_id, with_for_update=True)
        newest = session.scalar(
            select(KioskSigningKey.public_key)
            .where(KioskSigningKey.kiosk_id == kiosk_id, KioskSigningKey.state == IN_FORCE)
            .order_by(KioskSigningKey.valid_from.desc(), KioskSigningKey.id.desc())
            .limit(1)
        )
        if kiosk is not None:
            kiosk.signing_key = newest
    audit.warning(
        "technician %s %s receipt signing key %s of kiosk %s (submitted %s)%s",
        by,
        "approved" if approve else "rejected",
        row.public_key[:8],
        kiosk_id,
        utc(row.valid_from).isoformat(timespec="seconds"),
        ": in force from then on" if approve else ": seals signed with it verify as forged",
    )
    return True


def _keys_in(session: Session, kiosk_id: str, state: str) -> list[str]:
    return list(
        session.scalars(
            select(KioskSigningKey.public_key).where(
                KioskSigningKey.kiosk_id == kiosk_id, KioskSigningKey.state == state
            )
        )
    )


def pending_keys_at(session: Session, kiosk_id: str, issued_at: datetime) -> list[bytes]:
    """The raw pending keys a seal issued at `issued_at` may be signed with: those submitted
    before it (CLOCK_SKEW allowed)."""
    rows = session.execute(
        select(KioskSigningKey.public_key, KioskSigningKey.valid_from).where(
            KioskSigningKey.kiosk_id == kiosk_id, KioskSigningKey.state == PENDING
        )
    )
    return [
        receipt_seal.public_key_from_text(key)
        for key, since in rows
        if utc(since) - CLOCK_SKEW <= utc(issued_at)
    ]


def key_history(session: Session, kiosk_id: str, state: str | None = None) -> list[KioskSigningKey]:
    """Every signing key the kiosk registered (or those in `state`), oldest first."""
    query = select(KioskSigningKey).where(KioskSigningKey.kiosk_id == kiosk_id)
    if state is not None:
        query = query.where(KioskSigningKey.state == state)
    return list(session.scalars(query.order_by(KioskSigningKey.valid_from, KioskSigningKey.id)))


def keys_at(session: Session, kiosk_id: str, issued_at: datetime) -> list[bytes]:
    """The raw public keys a kiosk's seal issued at `issued_at` may be signed with: the one in
    force then (the first one for an earlier time), and any other in force within CLOCK_SKEW
    of it (the kiosk's clock is its own; keys replaced within seconds of each other). A key a
    proven rotation replaced signs until the kiosk's acknowledged swap, or while none came, as
    long as a lease renewed at the rotation let the kiosk book (`_in_force_until`): the kiosk
    seals with it until it hears the server's answer, which may have been lost."""
    history = [
        (
            k.public_key,
            utc(k.valid_from),
            None if k.predecessor_until is None else utc(k.predecessor_until),
        )
        for k in key_history(session, kiosk_id, IN_FORCE)
    ]
    if not history:  # a key stored before history was kept
        current = session.scalar(select(Kiosk.signing_key).where(Kiosk.kiosk_id == kiosk_id))
        history = [(current, utc(issued_at), None)] if current else []
    at = utc(issued_at)
    picked = [
        key
        for i, (key, since, _) in enumerate(history)
        if (i == 0 or since - CLOCK_SKEW <= at)  # in force from then (the first: always)
        and at < _in_force_until(history, i) + CLOCK_SKEW  # until its successor took over
    ]
    raw: list[bytes] = []
    for text in picked:
        try:
            raw.append(receipt_seal.public_key_from_text(text))
        except SealInvalid:
            log.warning("kiosk %s has an unusable signing key", kiosk_id)
    return raw


def _in_force_until(history: list[tuple[str, datetime, datetime | None]], i: int) -> datetime:
    """Until when the i-th key of `history` signs: its successor's valid_from, or when its
    successor was a proven rotation, the successor's predecessor_until (the kiosk's swap,
    acknowledged, or the lease-bounded wait for it), never past the key after the successor."""
    if i + 1 == len(history):
        return datetime.max.replace(tzinfo=UTC) - CLOCK_SKEW
    _, since, extended = history[i + 1]
    if extended is None or extended <= since:
        return since
    if i + 2 < len(history):  # a later key took over: the kiosk swapped before it
        extended = min(extended, history[i + 2][1])
    return max(since, extended)


def swap_seen(
    session: Session, kiosk_id: str, public_key: str, sealing_since: datetime
) -> KioskSigningKey | None:
    """Evidence the kiosk seals with `public_key` from `sealing_since` (its clock, the one its
    seals are dated by) on: the key's predecessor, waiting for it, verifies seals issued until
    then (never before the key's valid_from, never past the wait's bound) and no later. The
    newest in-force row of the key; None when there is none. Only the first evidence counts."""
    row = session.scalars(
        select(KioskSigningKey)
        .where(
            KioskSigningKey.kiosk_id == kiosk_id,
            KioskSigningKey.public_key == public_key,
            KioskSigningKey.state == IN_FORCE,
        )
        .order_by(KioskSigningKey.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if row is None or row.swapped_at is not None:
        return row
    row.swapped_at = utc(sealing_since)  # stored in UTC: SQLite keeps no offset
    if row.predecessor_until is not None:
        since = utc(row.valid_from)
        cut = min(utc(row.predecessor_until), max(since, utc(sealing_since)))
        row.predecessor_until = cut
        audit.warning(
            "kiosk %s seals with key %s since %s: its predecessor verifies seals issued until"
            " %s only",
            kiosk_id,
            public_key[:8],
            utc(sealing_since).isoformat(timespec="seconds"),
            cut.isoformat(timespec="seconds"),
        )
    return row


def check(session: Session, sealed: str, server: ServerSealer | None = None) -> SealCheck:
    """Verify `sealed` with the key the kiosk it names held when the seal says it was issued
    (`keys_at`), or the server's (`server`) for a server seal (the signature only)."""
    try:
        claims = receipt_seal.read(sealed)
    except SealInvalid:
        return SealCheck(MALFORMED, None)
    if claims.kiosk_id == SERVER_ID:
        candidates = [server.public_key()] if server is not None else []
    else:
        candidates = keys_at(session, claims.kiosk_id, claims.issued_at)
    status = UNKNOWN_KIOSK
    for raw in candidates:
        try:
            return SealCheck(VALID, receipt_seal.verify(sealed, lambda _kiosk: raw))  # noqa: B023
        except SealInvalid as exc:
            status = exc.reason
    if claims.kiosk_id != SERVER_ID:
        for raw in pending_keys_at(session, claims.kiosk_id, claims.issued_at):
            try:
                receipt_seal.verify(sealed, lambda _kiosk: raw)  # noqa: B023
            except SealInvalid:
                continue
            return SealCheck(PENDING_APPROVAL, claims)
    return SealCheck(status, claims)


def find(session: Session, sealed: str, server: ServerSealer | None = None) -> SealCheck:
    """`check`, and for a valid seal the application it vouches for: the one admitted with this
    seal, the kiosk's application of that local reference, or the registration number itself
    (an online booking is sealed after the server answered, a server seal names it). An
    application now on another date or window than the seal's makes it SUPERSEDED. A seal
    pending approval names only the booking admitted with that very seal."""
    result = check(session, sealed, server)
    if result.status == PENDING_APPROVAL and result.claims is not None:
        admitted = session.scalars(select(Application).where(Application.seal == sealed)).first()
        return SealCheck(PENDING_APPROVAL, result.claims, admitted)
    if not result.valid or result.claims is None:
        return result
    claims = result.claims
    application = session.scalars(
        select(Application)
        .where(
            or_(
                Application.seal == sealed,
                Application.server_seal == sealed,
                (Application.kiosk_id == claims.kiosk_id)
                & (Application.local_reference == claims.reference),
                Application.registration_number == claims.reference,
            ),
            Application.office_code == claims.office,
        )
        .order_by(Application.id)
        .limit(1)
    ).first()
    if application is not None and (application.slot_date, application.slot_window) != (
        claims.day,
        claims.window,
    ):
        return SealCheck(SUPERSEDED, claims, application)
    return SealCheck(result.status, claims, application)


def describe(session: Session, sealed: str, server: ServerSealer | None = None) -> dict[str, Any]:
    """What a verification page shows of a seal; no personal data (the public page uses it):
    the verdict, the claims, the office's name, the service's title and, once the
    application has arrived, its registration number and status."""
    sealed = receipt_seal.parse_qr(sealed[:MAX_TYPED]) or sealed[:MAX_TYPED]
    found = find(session, sealed, server)
    context: dict[str, Any] = {
        "check": found,
        "claims": found.claims,
        "by_server": found.claims is not None and found.claims.kiosk_id == SERVER_ID,
    }
    if found.claims is not None:
        office = session.get(Office, found.claims.office)
        info = SERVICES.get(found.claims.service)
        context |= {
            "office_name": office.name if office else found.claims.office,
            "service_title": info.title.id if info else found.claims.service,
            "issued_wib": found.claims.issued_at.astimezone(WIB).strftime("%d-%m-%Y %H.%M WIB"),
        }
    if found.application is not None:
        context["status_text"] = STATUS_TEXTS.get(found.application.status, {})
    return context


def verdict(found: SealCheck) -> dict[str, Any]:
    """A seal check as JSON: the status, the claims, and the registration number and status of
    its application once arrived (null before). No personal data."""
    claims = found.claims
    app = found.application
    return {
        "status": found.status,
        "claims": None
        if claims is None
        else {
            "reference": claims.reference,
            "office": claims.office,
            "service": claims.service,
            "date": claims.day.isoformat(),
            "window": claims.window,
            "issued_at": claims.issued_at.isoformat(),
            "kiosk_id": claims.kiosk_id,
        },
        "application": None
        if app is None
        else {"registration_number": app.registration_number, "status": app.status},
        "moved_to": None
        if app is None or found.status != SUPERSEDED
        else {"date": app.slot_date.isoformat(), "window": app.slot_window},
    }
