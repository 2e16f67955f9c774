"""The card holder's part of the central API: own applications and one-time document printing."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.ticket import Slot
from kiosk_app.domain.timeline import ApplicationRecord, Happened, IssuedCopy


@dataclass(frozen=True)
class PrintReservation:
    """A document held for this kiosk while it prints, with its PDF."""

    token: str
    document_number: str
    document_type: str
    print_ref: str  # identifies the code in the print journal (never the code itself)
    office_name: str
    pdf: bytes = field(repr=False)


@dataclass(frozen=True)
class ReceiptCopyData:
    """A pre-application's receipt as the central server holds it now, sealed by the server."""

    registration_number: str
    queue_number: str
    service: str
    status: str
    slot: Slot
    office_name: str
    values: dict[str, str] = field(repr=False)  # the form's values (the receipt masks them)
    qr: str  # the server's seal as the QR carries it
    copied_at: str
    copies_left_today: int
    copy_id: int = 0  # the server's audit row of this copy (0: a server that reports none)


@dataclass(frozen=True)
class CopyOutcomeAnswer:
    """The server's answer to a copy's print outcome: counted or given back."""

    print_outcome: str  # printed | partly_printed | not_printed
    counted: bool
    copies_left_today: int


def record_from(raw: dict[str, Any]) -> ApplicationRecord:
    """One application of the server's answer as the domain's record."""
    doc = raw.get("document")
    document = None
    if isinstance(doc, dict):
        document = IssuedCopy(
            document_number=str(doc["document_number"]),
            print_state=str(doc["print_state"]),
            print_code=doc.get("print_code"),
            printed_at=doc.get("printed_at"),
            delivery=bool(doc.get("delivery")),
            tracking=str(doc.get("tracking") or ""),
        )
    return ApplicationRecord(
        registration_number=str(raw["registration_number"]),
        service=str(raw["service"]),
        status=str(raw["status"]),
        queue_number=str(raw.get("queue_number", "")),
        slot=Slot(date.fromisoformat(raw["slot"]["date"]), str(raw["slot"]["window"])),
        created_at=str(raw.get("created_at", "")),
        events=tuple(Happened(str(e["action"]), str(e["at"])) for e in raw.get("events", ())),
        fix_notes=tuple((str(n["target"]), str(n["note"])) for n in raw.get("fix_notes", ())),
        reason=str(raw.get("reason") or ""),
        document=document,
    )


class CardHolderApi:
    """Mixed into CentralClient: calls made for the card in the reader (NIK in the body)."""

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError  # CentralClient's

    def my_applications(self, nik: str) -> list[ApplicationRecord]:
        """The newest applications filed with this NIK, with what the timeline needs."""
        answer = self._call(
            "POST",
            "/api/v1/card-holder/applications",
            json={"nik": nik},
            what=f"applications of nik={mask_nik(nik)}",
        )
        return [record_from(item) for item in answer["applications"]]

    def reserve_print(
        self, nik: str, *, code: str | None = None, registration_number: str | None = None
    ) -> PrintReservation:
        """Hold an issued document for printing here (by print code or own application)."""
        body: dict[str, Any] = {
            "nik": nik,
            "code": code,
            "registration_number": registration_number,
        }
        what = f"reserve print of {registration_number or 'a typed code'} for nik={mask_nik(nik)}"
        answer = self._call("POST", "/api/v1/print-codes/reserve", json=body, what=what)
        return PrintReservation(
            token=str(answer["reservation"]),
            document_number=str(answer["document_number"]),
            document_type=str(answer["document_type"]),
            print_ref=str(answer["print_ref"]),
            office_name=str(answer["office_name"]),
            pdf=base64.b64decode(answer["pdf_base64"]),
        )

    def receipt_copy(self, nik: str, registration_number: str) -> ReceiptCopyData:
        """The receipt of the card holder's own application, to print again (server-sealed)."""
        answer = self._call(
            "POST",
            "/api/v1/card-holder/receipt-copy",
            json={"nik": nik, "registration_number": registration_number},
            what=f"receipt copy of {registration_number} for nik={mask_nik(nik)}",
        )
        return ReceiptCopyData(
            registration_number=str(answer["registration_number"]),
            queue_number=str(answer["queue_number"]),
            service=str(answer["service"]),
            status=str(answer["status"]),
            slot=Slot(date.fromisoformat(answer["slot"]["date"]), str(answer["slot"]["window"])),
            office_name=str(answer["office_name"]),
            values={str(k): str(v) for k, v in dict(answer.get("data") or {}).items()},
            qr=str(answer["qr"]),
            copied_at=str(answer["copied_at"]),
            copies_left_today=int(answer["copies_left_today"]),
            copy_id=int(answer.get("copy_id") or 0),
        )

    def report_copy_outcome(
        self,
        copy_id: int,
        *,
        ticket_printed: bool,
        receipt_printed: bool,
        failure: str,
        idempotency_key: str,
        timeout: float | None = None,
    ) -> CopyOutcomeAnswer:
        """Tell the server how copy `copy_id` printed (no personal data); a resent key is
        applied once. Nothing printed: the server gives the copy back."""
        answer = self._call(
            "POST",
            f"/api/v1/card-holder/receipt-copy/{copy_id}/outcome",
            json={
                "ticket_printed": ticket_printed,
                "receipt_printed": receipt_printed,
                "failure": failure[:200],
            },
            headers={"Idempotency-Key": idempotency_key},
            what=f"receipt copy {copy_id} outcome key={idempotency_key[:8]}",
            timeout=timeout,
        )
        return CopyOutcomeAnswer(
            print_outcome=str(answer["print_outcome"]),
            counted=bool(answer["counted"]),
            copies_left_today=int(answer["copies_left_today"]),
        )

    def confirm_print(self, token: str, nik: str) -> None:
        """The document came out of the printer: the code is used up."""
        self._call(
            "POST",
            f"/api/v1/print-reservations/{quote(token, safe='')}/confirm",
            json={"nik": nik},
            what=f"confirm print for nik={mask_nik(nik)}",
        )

    def release_print(self, token: str, nik: str, reason: str) -> None:
        """Printing failed: give the code back so it can be used again."""
        self._call(
            "POST",
            f"/api/v1/print-reservations/{quote(token, safe='')}/release",
            json={"nik": nik, "reason": reason[:200]},
            what=f"release print for nik={mask_nik(nik)} ({reason})",
        )
