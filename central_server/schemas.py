"""Request and response bodies of the kiosk API (pydantic 2)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints


class Service(StrEnum):
    """Services a kiosk can pre-register (prefixes in numbering.SERVICE_PREFIXES)."""

    akta_kelahiran = "akta_kelahiran"
    akta_kematian = "akta_kematian"
    perubahan_kk = "perubahan_kk"
    cetak_ulang_ktp = "cetak_ulang_ktp"
    kia = "kia"
    pindah = "pindah"


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")
]  # not blank
DataKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
DataValue = Annotated[str, StringConstraints(max_length=2000)]


class Error(BaseModel):
    """Error body: {"detail": {"code": ..., "message": ...}}."""

    class Detail(BaseModel):
        """Machine-readable code and an English explanation."""

        code: str
        message: str

    detail: Detail


class KioskIn(BaseModel):
    """Kiosk enrolment request."""

    kiosk_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    office_code: Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
    name: Name


class KioskOut(BaseModel):
    """Kiosk enrolment answer; the token is shown only here."""

    kiosk_id: str
    token: str


class QuotaIn(BaseModel):
    """New daily quota of one service at one office."""

    daily_quota: int = Field(ge=0, le=300)


class QuotaOut(BaseModel):
    """Stored daily quota."""

    office_code: str
    service: Service
    daily_quota: int


class SlotIn(BaseModel):
    """A verification appointment: date and window."""

    date: dt.date
    window: Annotated[str, StringConstraints(max_length=20)]


class SlotOut(SlotIn):
    """A bookable slot and how many places are left in it."""

    remaining: int


class ApplicationIn(BaseModel):
    """A pre-application sent by a kiosk."""

    service: Service
    applicant_nik: Annotated[str, StringConstraints(pattern=r"^\d{16}$")]
    applicant_name: Name
    data: dict[DataKey, DataValue] = Field(default_factory=dict, max_length=100)
    slot: SlotIn
    local_reference: Annotated[str, StringConstraints(max_length=64)] | None = None
    submitted_at: dt.datetime | None = None
    if_slot_full: Literal["refuse", "next_free"] = Field(
        "refuse",
        description="When the slot is full: refuse (409 slot_full, the citizen picks another) or "
        "book the nearest free slot after it within the booking horizon (queued sends: the "
        "citizen has left). Not part of the idempotency fingerprint.",
    )


class SubmissionOut(BaseModel):
    """Answer to a submission (replayed verbatim for the same Idempotency-Key)."""

    registration_number: str
    queue_number: str
    status: str
    service: Service
    office_code: str
    office_name: str
    slot: SlotIn
    created_at: str
    moved_from: SlotIn | None = Field(
        None, description="The slot asked for, when it was full and `slot` was booked instead."
    )


class StatusText(BaseModel):
    """Bilingual status line for the citizen."""

    id: str
    en: str


class ApplicationStatusOut(BaseModel):
    """Public status of an application: no NIK, masked name only."""

    registration_number: str
    service: Service
    status: str
    status_text: StatusText
    masked_name: str
    slot: SlotIn
    office_name: str
    created_at: str
