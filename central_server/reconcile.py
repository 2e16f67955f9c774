"""Reconciling what kiosks booked offline: the seal and lease an offline booking names, the
content the kiosk could not check with the server, the place it takes from its lease, and the
same citizen applying twice for the same service (admission calls these)."""

from __future__ import annotations

import json
import logging
from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from central_server import content, seals
from central_server.kiosk_auth import KioskRef
from central_server.lifecycle import TERMINAL
from central_server.models import Application, SlotLease
from central_server.schemas import ApplicationIn
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.nik import parse_nik

log = logging.getLogger("central_server")

Problem = tuple[str, str]  # (error code, message) of a refused offline booking


def content_problem(body: ApplicationIn, today: date) -> str | None:
    """Why an officer must check an application's content before it goes on, or None: values
    in fields outside the service's form, values the server acts on that fail the kiosk's rules
    (central_server.content), and on an offline booking, which the kiosk could not have checked
    with the server, an impossible NIK."""
    reasons = []
    if body.lease is not None and parse_nik(body.applicant_nik, today) is None:
        reasons.append("NIK tidak sah (tanggal lahir atau kode wilayah mustahil) / impossible NIK")
    outside = content.outside_reason(body.service.value, body.data)
    if outside is not None:  # bounded: before the rule failures, which may run long
        reasons.append(outside)
    fields = content.hold_reason(body.service.value, body.data, today)
    if fields is not None:
        reasons.append(fields)
    return "; ".join(reasons)[: content.MAX_REASON] or None


SEAL_PENDING_HOLD = (
    "segel dibuat dengan kunci anjungan baru yang menunggu persetujuan teknisi"
    " / sealed with a new kiosk key awaiting a technician's approval"
)


def hold_reason(body: ApplicationIn, today: date, seal_status: str) -> str | None:
    """Why an offline booking is admitted held for an officer: its content (content_problem)
    and a seal signed with a key still pending approval (the citizen holds a printed
    receipt: admitted, never refused, but not processed before an officer looked)."""
    reasons = [
        reason
        for reason in (
            SEAL_PENDING_HOLD if seal_status == seals.PENDING_APPROVAL else None,
            content_problem(body, today),  # may run long: last, cut to the column
        )
        if reason is not None
    ]
    return "; ".join(reasons)[: content.MAX_REASON] or None


def lease_problem(
    session: Session, kiosk: KioskRef, body: ApplicationIn
) -> tuple[Problem | None, str]:
    """Check an offline booking's seal and lease: ((code, message) of its refusal or None,
    the seal's status)."""
    claim = body.lease
    assert claim is not None
    checked = seals.check(session, claim.seal)
    claims = checked.claims
    if claims is None or checked.status == seals.ALTERED:
        log.warning("kiosk %s sent a booking with a %s seal", kiosk.kiosk_id, checked.status)
        return ("seal_invalid", f"the receipt seal does not verify ({checked.status})"), ""
    slot = (body.service.value, body.slot.date, body.slot.window)
    if (claims.kiosk_id, claims.office, claims.service, claims.day, claims.window) != (
        kiosk.kiosk_id,
        kiosk.office_code,
        *slot,
    ):
        return ("seal_mismatch", "the seal names another kiosk, office or slot"), ""
    lease = session.get(SlotLease, claim.lease_id)
    if lease is None or (lease.kiosk_id, lease.service, lease.day, lease.window) != (
        kiosk.kiosk_id,
        *slot,
    ):
        return ("lease_mismatch", "the lease is not this kiosk's for this slot"), ""
    return None, checked.status


Citizen = tuple[str, str, str]  # (applicant NIK, service, whom the document is for)


def citizen_key(nik: str, service: str, data: Mapping[str, str]) -> Citizen:
    """Who applies for what for whom: a parent's KIA for a second child is not a duplicate."""
    info = SERVICES.get(service)
    subject = ""
    if info is not None:
        subject = data.get(info.subject_nik_field, "") if info.subject_nik_field else ""
        subject = subject or data.get(info.subject_field, "")
    return nik, service, " ".join(subject.upper().split())


def open_applications(session: Session, bodies: Sequence[ApplicationIn]) -> dict[Citizen, str]:
    """citizen_key -> the earliest still open application of that citizen, service and subject."""
    niks = sorted({b.applicant_nik for b in bodies})
    rows = session.execute(
        select(
            Application.applicant_nik,
            Application.service,
            Application.data_json,
            Application.registration_number,
        )
        .where(
            Application.applicant_nik.in_(niks),
            Application.status.not_in([s.value for s in TERMINAL]),
        )
        .order_by(Application.id.desc())
    )
    return {
        citizen_key(nik, service, json.loads(data or "{}")): number
        for nik, service, data, number in rows
    }


def spare(session: Session, lease_id: str) -> int:
    """Places of the lease not used yet, read without a row lock: the caller holds the slot's
    lock, so only returns, reclaims and releases can change it meanwhile, and the places they
    free are the booking's to take (no one else books the slot until the caller commits)."""
    left = session.scalar(select(SlotLease.places - SlotLease.used).where(SlotLease.id == lease_id))
    return int(left or 0)


@dataclass
class LeaseUses:
    """Places bookings of this transaction took from leases, not written yet (use_leases
    writes them last): per lease, and per slot (service, day, window)."""

    leases: Tally[str] = field(default_factory=Tally)
    slots: Tally[tuple[str, date, str]] = field(default_factory=Tally)

    def add(self, lease_id: str, slot: tuple[str, date, str]) -> None:
        """One more place taken from `lease_id`, on its slot."""
        self.leases[lease_id] += 1
        self.slots[slot] += 1

    def update(self, other: LeaseUses) -> None:
        """Add `other`'s places (an item admitted in its own savepoint)."""
        self.leases.update(other.leases)
        self.slots.update(other.slots)


def use_leases(session: Session, uses: Mapping[str, int]) -> None:
    """Places of leases that are now bookings (lease id -> how many), each one atomic UPDATE,
    in lease id order (the lock order, central_server.leases), after every slot lock the
    transaction takes. A place booked after it went back to the pool (released by a technician,
    the day begun) is honoured all the same: the lease grows to cover it."""
    for lease_id, n in sorted(uses.items()):
        session.execute(
            update(SlotLease)
            .where(SlotLease.id == lease_id)
            .values(
                used=SlotLease.used + n,
                places=case(
                    (SlotLease.used + n > SlotLease.places, SlotLease.used + n),
                    else_=SlotLease.places,
                ),
            )
            .execution_options(synchronize_session=False)
        )
