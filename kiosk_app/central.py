"""HTTP client of the central server: the calls a kiosk makes and the answers they decode.
How a request travels and how every failure maps to a precise CentralError is
kiosk_app.central_transport; its errors are part of this client's contract, named here too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from kiosk_app.central_documents import CardHolderApi
from kiosk_app.central_transport import (
    CentralError,
    CentralRejected,
    CentralTransport,
    CentralUnavailable,
    NotFound,
    SlotFull,
)
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot

__all__ = [
    "ApplicationStatus",
    "CentralClient",
    "CentralError",
    "CentralRejected",
    "CentralUnavailable",
    "CheckinAnswer",
    "Lease",
    "NotFound",
    "SlotAvailability",
    "SlotFull",
    "SubmissionReceipt",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlotAvailability:
    """A bookable slot and the places left in it."""

    slot: Slot
    remaining: int


@dataclass(frozen=True)
class SubmissionReceipt:
    """The central server's answer to a submission."""

    registration_number: str
    queue_number: str
    status: str
    service: str
    office_code: str
    office_name: str
    slot: Slot
    created_at: str


@dataclass(frozen=True)
class ApplicationStatus:
    """Public status of an application (no NIK, masked name only)."""

    registration_number: str
    service: str
    status: str
    status_text: Text
    masked_name: str
    slot: Slot
    office_name: str
    created_at: str


@dataclass(frozen=True)
class Lease:
    """Places of one office's service, day and window the server set aside for this kiosk: it
    books them itself while the server cannot be reached (issue 16)."""

    lease_id: str
    service: str
    slot: Slot
    places: int  # granted in all, used ones included
    used: int  # bookings from it the server has already admitted
    book_until: datetime  # UTC: no offline booking from it after this
    expires_at: datetime  # UTC: the server reclaims the unused places then


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _leases(answer: dict[str, Any]) -> list[Lease]:
    return [
        Lease(
            lease_id=str(item["lease_id"]),
            service=str(item["service"]),
            slot=_slot(item),
            places=int(item["places"]),
            used=int(item["used"]),
            book_until=_utc(item["book_until"]),
            expires_at=_utc(item["expires_at"]),
        )
        for item in answer["leases"]
    ]


@dataclass(frozen=True)
class CheckinAnswer:
    """The server's answer to a check-in: the calling number and where the citizen waits."""

    calling_number: str
    registration_number: str
    service: str
    service_name: str
    counter_group: str
    people_ahead: int
    estimated_wait_minutes: int
    window: str
    repeat: bool  # checked in before: the same number again
    priority: str = ""  # "", "lansia", "disabilitas" or "ibu_hamil" (the priority lane)


def _checkin_answer(answer: dict[str, Any]) -> CheckinAnswer:
    return CheckinAnswer(
        calling_number=str(answer["calling_number"]),
        registration_number=str(answer["registration_number"]),
        service=str(answer["service"]),
        service_name=str(answer.get("service_name") or answer["service"]),
        counter_group=str(answer.get("counter_group") or ""),
        people_ahead=int(answer.get("people_ahead") or 0),
        estimated_wait_minutes=int(answer.get("estimated_wait_minutes") or 0),
        window=str(answer.get("window") or ""),
        repeat=bool(answer.get("repeat")),
        priority=str(answer.get("priority") or ""),
    )


def _slot(raw: dict[str, Any]) -> Slot:
    return Slot(date=date.fromisoformat(raw["date"]), window=str(raw["window"]))


def _application_body(
    *,
    service: str,
    applicant_nik: str,
    applicant_name: str,
    data: dict[str, str],
    slot: Slot,
    local_reference: str | None = None,
    submitted_at: str | None = None,
    if_slot_full: str = "refuse",
    lease: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON of one pre-application, for the single and the batch endpoint alike; `lease`:
    {"lease_id", "seal"} of a place the kiosk booked from its lease."""
    body: dict[str, Any] = {
        "service": service,
        "applicant_nik": applicant_nik,
        "applicant_name": applicant_name,
        "data": data,
        "slot": {"date": slot.date.isoformat(), "window": slot.window},
        "local_reference": local_reference,
        "submitted_at": submitted_at,
    }
    if if_slot_full != "refuse":  # the server's default: old servers never see the field
        body["if_slot_full"] = if_slot_full
    if lease:
        body["lease"] = {"lease_id": lease["lease_id"], "seal": lease["seal"]}
    return body


def _receipt(answer: dict[str, Any]) -> SubmissionReceipt:
    return SubmissionReceipt(
        registration_number=answer["registration_number"],
        queue_number=answer["queue_number"],
        status=answer["status"],
        service=answer["service"],
        office_code=answer["office_code"],
        office_name=answer["office_name"],
        slot=_slot(answer["slot"]),
        created_at=answer["created_at"],
    )


class CentralClient(CentralTransport, CardHolderApi):
    """Talks to one central server as one kiosk; no retries here (the outbox retries later)."""

    def health(self) -> None:
        """Return if the server answers /health, else raise CentralError."""
        self._call("GET", "/health", auth=False)

    def put_signing_key(self, public_key: str, proof: dict[str, str] | None = None) -> str:
        """(Re)register this kiosk's public seal key with the server (kiosk token auth), with
        `proof` ({"nonce", "signature"}: receipt_seal.sign_key_change) of the key in force:
        "in_force", or "pending" (a replacement without proof: a technician approves it)."""
        body: dict[str, object] = {"signing_key": public_key}
        if proof is not None:
            body["proof"] = proof
        answer = self._call(
            "PUT", "/api/v1/kiosk/signing-key", json=body, what="register signing key"
        )
        return (
            "pending"
            if isinstance(answer, dict) and answer.get("state") == "pending"
            else "in_force"
        )

    def signing_key_swapped(self, public_key: str, sealing_since: str, signature: str) -> None:
        """Tell the server this kiosk seals with `public_key` since `sealing_since` (ISO time;
        `signature`: receipt_seal.sign_key_swap), ending the key it replaced."""
        body = {"signing_key": public_key, "sealing_since": sealing_since, "signature": signature}
        self._call("POST", "/api/v1/kiosk/signing-key/swapped", json=body, what="seal key swapped")

    def signing_key_challenge(self) -> str:
        """A one-time nonce for the proof of a seal key replacement."""
        answer = self._call(
            "POST", "/api/v1/kiosk/signing-key/challenge", what="signing key challenge"
        )
        return str(answer["nonce"])

    def leases(self, days: int | None = None, timeout: float | None = None) -> list[Lease]:
        """Grant or renew this kiosk's slot leases (idempotent): every lease it holds now."""
        body = {} if days is None else {"days": days}
        answer = self._call(
            "POST", "/api/v1/leases", json=body, what="leases", timeout=timeout, idempotent=True
        )
        return _leases(answer)

    def return_leases(self, returns: dict[str, int], timeout: float | None = None) -> list[Lease]:
        """Give unused places back (lease id -> places): the leases the kiosk still holds."""
        body = {"returns": [{"lease_id": k, "places": n} for k, n in returns.items()]}
        answer = self._call(
            "POST", "/api/v1/leases/return", json=body, what="return leases", timeout=timeout
        )
        return _leases(answer)

    def slots(self, service: str, days: int = 10) -> list[SlotAvailability]:
        """Bookable verification slots of this kiosk's office for `service`."""
        answer = self._call("GET", "/api/v1/slots", params={"service": service, "days": days})
        return [SlotAvailability(_slot(item), int(item["remaining"])) for item in answer]

    def submit(
        self,
        *,
        service: str,
        applicant_nik: str,
        applicant_name: str,
        data: dict[str, str],
        slot: Slot,
        idempotency_key: str,
        local_reference: str | None = None,
        submitted_at: str | None = None,
        timeout: float | None = None,
        if_slot_full: str = "refuse",
        lease: dict[str, str] | None = None,
    ) -> SubmissionReceipt:
        """Submit a pre-application; resending with the same key returns the first receipt.

        `if_slot_full="next_free"`: a full slot books the nearest free one after it (the
        receipt's slot) instead of refusing; for queued rows whose citizen has left."""
        body = _application_body(
            service=service,
            applicant_nik=applicant_nik,
            applicant_name=applicant_name,
            data=data,
            slot=slot,
            local_reference=local_reference,
            submitted_at=submitted_at,
            if_slot_full=if_slot_full,
            lease=lease,
        )
        what = f"submit {service} nik={mask_nik(applicant_nik)} key={idempotency_key}"
        answer = self._call(
            "POST",
            "/api/v1/applications",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            what=what,
            timeout=timeout,
        )
        log.info("%s -> %s", what, answer.get("registration_number"))
        return _receipt(answer)

    def submit_batch(
        self, items: list[tuple[str, dict[str, Any]]], timeout: float | None = None
    ) -> list[SubmissionReceipt | CentralError]:
        """Submit queued pre-applications at once: (idempotency key, submit() keywords) each.

        One answer per item, in order: its receipt (created or replayed) or its refusal."""
        body = {
            "items": [
                {"idempotency_key": key, "application": _application_body(**kw)}
                for key, kw in items
            ]
        }
        what = f"submit batch of {len(items)}"
        answer = self._call(  # each item's key makes a resent batch replay its receipts
            "POST",
            "/api/v1/applications/batch",
            json=body,
            what=what,
            timeout=timeout,
            idempotent=True,
        )
        results: list[SubmissionReceipt | CentralError] = []
        for (key, kw), item in zip(items, answer["results"], strict=True):
            if item.get("application") is not None:
                results.append(_receipt(item["application"]))
                continue
            error, status = item.get("error") or {}, int(item["status"])
            message = (
                f"submit {kw['service']} nik={mask_nik(kw['applicant_nik'])} key={key}: "
                f"HTTP {status} {error.get('code', '-')}: {error.get('message', '')!s:.300}"
            )
            kind = (
                SlotFull
                if error.get("code") in ("slot_full", "slot_unavailable")
                else (CentralUnavailable if status == 429 or status >= 500 else CentralRejected)
            )
            results.append(self._log(kind(message, status=status, code=error.get("code"))))
        log.info("%s -> %d stored", what, sum(isinstance(r, SubmissionReceipt) for r in results))
        return results

    def status(self, registration_number: str) -> ApplicationStatus:
        """Look up the public status of an application."""
        answer = self._call("GET", f"/api/v1/applications/{quote(registration_number, safe='')}")
        return ApplicationStatus(
            registration_number=answer["registration_number"],
            service=answer["service"],
            status=answer["status"],
            status_text=Text(answer["status_text"]["id"], answer["status_text"]["en"]),
            masked_name=answer.get("masked_name", ""),
            slot=_slot(answer["slot"]),
            office_name=answer["office_name"],
            created_at=answer["created_at"],
        )

    def checkin(self, *, field: str, value: str) -> CheckinAnswer:
        """Check a citizen in for today's verification by one of "seal" (a QR's text),
        "registration_number" or "nik" (the card holder's booking today).

        Refusals raise CentralRejected with the server's code ("too_early", "other_day", ...)
        and its details (date, window, come_back_at) in `extra`; an unknown one NotFound."""
        if field not in ("seal", "registration_number", "nik"):
            raise ValueError(f"no check-in by {field!r}")
        shown = mask_nik(value) if field == "nik" else value[:40]
        answer = self._call(
            "POST", "/api/v1/checkin", json={field: value}, what=f"check-in {field}={shown}"
        )
        log.info("check-in %s=%s -> %s", field, shown, answer.get("calling_number"))
        return _checkin_answer(answer)

    def queue_priority(
        self, registration_number: str, reason: str, attendant: str
    ) -> CheckinAnswer:
        """An attendant puts a checked-in citizen in the priority lane ("lansia", "disabilitas",
        "ibu_hamil"); the calling ticket recomputed. Refusals as for checkin()."""
        body = {
            "registration_number": registration_number,
            "reason": reason,
            "attendant": attendant,
        }
        what = f"priority {reason} for {registration_number} by {attendant}"
        answer = self._call("POST", "/api/v1/queue/priority", json=body, what=what)
        log.info("%s -> %s", what, answer.get("calling_number"))
        return _checkin_answer(answer)

    def upload_scan(self, registration_number: str, name: str, pdf: bytes) -> None:
        """Attach one scanned document (a PDF) to an application; re-sending replaces it."""
        number = quote(registration_number, safe="")
        self._call(
            "PUT",
            f"/api/v1/applications/{number}/scans/{quote(name, safe='')}",
            data=pdf,
            headers={"Content-Type": "application/pdf"},
            what=f"upload scan {name} ({len(pdf)} bytes) for {registration_number}",
        )

    def submit_survey(
        self,
        *,
        service: str,
        survey_date: date,
        answers: dict[str, int],
        idempotency_key: str,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one satisfaction survey (no personal data); a resent key is counted once."""
        body = {"service": service, "survey_date": survey_date.isoformat(), "answers": answers}
        answer: dict[str, Any] = self._call(
            "POST",
            "/api/v1/surveys",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            what=f"survey {service} key={idempotency_key[:8]}",
            timeout=timeout,
        )
        return answer

    def heartbeat(self, report: dict[str, Any]) -> dict[str, Any]:
        """Send the kiosk's health report; the answer carries queued remote commands.

        Sent twice, a report has the effect of once (the latest report wins, lease usage is a
        count, not an increment): resent when its connection closed before any answer."""
        answer: dict[str, Any] = self._call(
            "POST", "/api/v1/fleet/heartbeat", json=report, what="heartbeat", idempotent=True
        )
        return answer

    def report_command(self, command_id: int, result: dict[str, Any]) -> None:
        """Tell the server how a remote command ended."""
        self._call(
            "POST",
            f"/api/v1/fleet/commands/{command_id}/result",
            json=result,
            what=f"command {command_id} result",
        )
