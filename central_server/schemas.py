"""Request and response bodies of the kiosk API (pydantic 2)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints


class Service(StrEnum):
    """Services a kiosk can pre-register (prefixes in numbering.SERVICE_PREFIXES)."""

    akta_kelahiran = "akta_kelahiran"
    akta_kematian = "akta_kematian"
    perubahan_kk = "perubahan_kk"
    cetak_ulang_ktp = "cetak_ulang_ktp"
    kia = "kia"
    pindah = "pindah"


# No control characters anywhere a client sends text (PostgreSQL refuses a NUL in a string: a
# 500 instead of a 422); free text keeps tab and line breaks.
PLAIN = r"^[^\x00-\x1f\x7f]*$"  # one line of text
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # free text: tabs and line breaks too
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=100,
        # the one visible character is no control character either (\S alone let a NUL in)
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    ),
]  # not blank
SigningKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
LeaseId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
DATA_KEY_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"  # a form field's name
DataKey = Annotated[str, StringConstraints(pattern=DATA_KEY_PATTERN)]
DataValue = Annotated[str, StringConstraints(max_length=2000, pattern=TEXT)]
LocalReference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


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
    signing_key: SigningKey | None = Field(
        None, description="Ed25519 public key of the kiosk's receipt seals (base64url, 32 bytes)"
    )


class KeyProof(BaseModel):
    """Proof that the kiosk holds the key in force: the Ed25519 signature by that key of
    ``AJK1.<kiosk_id>~<new signing_key>~<nonce>`` (receipt_seal.sign_key_change), the nonce
    being the one POST /api/v1/kiosk/signing-key/challenge gave (one use, 5 minutes)."""

    nonce: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,64}$")] = Field(
        description="the one-time nonce from POST /api/v1/kiosk/signing-key/challenge"
    )
    signature: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")] = Field(
        description="Ed25519 signature (64 bytes, base64url) by the key in force"
    )


class SigningKeyIn(BaseModel):
    """A kiosk's Ed25519 public key for its receipt seals (receipt_seal.public_key_text). The
    first key is taken with the kiosk token; a replacement is in force at once only with
    `proof` (signed with the key in force), otherwise it waits for a technician's approval."""

    signing_key: SigningKey
    proof: KeyProof | None = Field(
        None, description="proof of possession of the key in force (needed to replace it at once)"
    )


class SigningKeySwapIn(BaseModel):
    """The kiosk's acknowledgment, after a rotation the server confirmed, that it seals with
    `signing_key` from `sealing_since` (its clock) on: the key replaced stops verifying seals
    issued after then. Signed with `signing_key` itself (receipt_seal.sign_key_swap)."""

    signing_key: SigningKey
    sealing_since: AwareDatetime = Field(description="when the kiosk began sealing with the key")
    signature: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")] = Field(
        description="Ed25519 signature (64 bytes, base64url) by `signing_key`"
    )


class SigningKeyOut(BaseModel):
    """A replacement key recorded but not in force: a technician approves or rejects it on
    the fleet dashboard; seals signed with it verify as pending approval meanwhile."""

    state: Literal["pending"]
    message: str


class KeyChallengeOut(BaseModel):
    """A one-time nonce for a key replacement's proof (KeyProof), valid until `expires_at`."""

    nonce: str
    expires_at: dt.datetime


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
    window: Annotated[str, StringConstraints(max_length=20, pattern=PLAIN)]


class SlotOut(SlotIn):
    """A bookable slot and how many places are left in it."""

    remaining: int


class LeaseClaim(BaseModel):
    """An offline booking's place: the kiosk's slot lease and the seal printed on the receipt."""

    lease_id: LeaseId
    seal: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,400}$")]


class ApplicationIn(BaseModel):
    """A pre-application sent by a kiosk."""

    service: Service
    applicant_nik: Annotated[str, StringConstraints(pattern=r"^\d{16}$")]
    applicant_name: Name
    data: dict[DataKey, DataValue] = Field(
        default_factory=dict,
        max_length=100,
        json_schema_extra={"propertyNames": {"pattern": DATA_KEY_PATTERN}},  # the keys' rule
    )
    slot: SlotIn
    local_reference: LocalReference | None = None
    submitted_at: dt.datetime | None = None
    if_slot_full: Literal["refuse", "next_free"] = Field(
        "refuse",
        description="When the slot is full: refuse (409 slot_full, the citizen picks another) or "
        "book the nearest free slot after it within the booking horizon (queued sends: the "
        "citizen has left). Not part of the idempotency fingerprint.",
    )
    lease: LeaseClaim | None = Field(
        None,
        description="Booked offline from a slot lease: admitted on exactly its sealed date and "
        "window against the lease (never moved, never refused for quota); the same seal twice "
        "is the same application.",
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


class LeasesIn(BaseModel):
    """Grant or renew the kiosk's slot leases over the next `days` days."""

    days: int = Field(default=14, ge=1, le=14)


class LeaseReturn(BaseModel):
    """Unused places of one lease given back to the pool."""

    lease_id: LeaseId
    places: int = Field(ge=1, le=300)


class LeaseReturnsIn(BaseModel):
    """Places a kiosk gives back."""

    returns: list[LeaseReturn] = Field(max_length=500)


class LeaseOut(BaseModel):
    """Places of one slot lent to the kiosk; it books offline from them until `book_until`."""

    lease_id: str
    service: Service
    date: dt.date
    window: str
    places: int
    used: int
    book_until: dt.datetime
    expires_at: dt.datetime


class LeasesOut(BaseModel):
    """What the kiosk holds now, and the server's clock (UTC)."""

    leases: list[LeaseOut]
    server_time: dt.datetime
