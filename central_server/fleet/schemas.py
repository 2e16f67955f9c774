"""Request and response bodies of the fleet API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from central_server.downloads import UploadType as AttachmentType
from central_server.schemas import PLAIN, TEXT, LeaseId

Short = Annotated[str, StringConstraints(max_length=40, pattern=PLAIN)]
Word = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=PLAIN)]
Detail = Annotated[str, StringConstraints(max_length=200, pattern=PLAIN)]
DeviceState = Annotated[dict[Word, Detail], Field(max_length=20)]  # at most 20 keys a device
MAX_ARGS_BYTES = 16_384
CommandId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a command's id in a URL
MAX_ATTACHMENT_B64 = 8_000_000  # ~6 MB: a compressed log bundle or a screenshot
# Leases one heartbeat may name: a kiosk holds one per service and window over the 14-day
# horizon (6 services x 19 windows = 114). Each named lease costs the heartbeat's batch an
# UPDATE (2000 unknown ids: ~100 ms on PostgreSQL), so a hostile kiosk's count is bounded.
MAX_LEASES = 300
# Commands a kiosk says it holds without a confirmed result (heartbeats.py: at-least-once
# delivery). Normally none: a kiosk reports each result at once; a few while the server is away.
MAX_RECEIVED = 64


def _whole(low: int, high: int) -> Any:
    """An integer from `low` to `high`, also written 1.0 or 1e2 (JSON's integers, as the
    document's "integer" says); never a string, a bool or a fraction. The float branch only
    runs for them."""
    return Annotated[
        Annotated[int, Field(strict=True, ge=low, le=high)]
        | Annotated[
            float,
            Field(strict=True, ge=low, le=high, multiple_of=1, allow_inf_nan=False),
            AfterValidator(int),
        ],
        WithJsonSchema({"type": "integer", "minimum": low, "maximum": high}),
    ]


if TYPE_CHECKING:  # what validation hands on: always an int
    LeaseCount = int
    ReceivedId = int
else:
    LeaseCount = _whole(0, 100_000)  # places booked from a lease
    ReceivedId = _whole(1, 2**31 - 1)  # a command's id


class CommandKind(StrEnum):
    """What a technician can ask a kiosk to do."""

    restart_app = "restart_app"
    reboot = "reboot"
    print_test_ticket = "print_test_ticket"
    upload_logs = "upload_logs"
    screenshot = "screenshot"
    push_config = "push_config"
    check_seal_key = "check_seal_key"  # queued by a decision on a pending seal key
    rotate_seal_key = "rotate_seal_key"  # a new seal key proven with the old, in force at once
    # refused receipt-copy reports read by a technician: args {"through": row} (the kiosk page)
    clear_copy_reports = "clear_copy_reports"


class HeartbeatIn(BaseModel):
    """A kiosk's health report: devices, machine, software and queue figures."""

    app_version: Word
    uptime_s: float = Field(ge=0, le=1e9)
    disk_free_bytes: int = Field(ge=0, le=2**62)
    disk_total_bytes: int = Field(ge=1, le=2**62)
    cpu_temp_c: float | None = Field(default=None, ge=-40, le=150)
    last_transaction_at: datetime | None = None
    outbox_depth: int = Field(default=0, ge=0, le=10**9)
    held_submissions: int = Field(default=0, ge=0, le=10**9)  # waiting for an attendant
    devices: dict[Word, DeviceState] = Field(default_factory=dict, max_length=12)
    # Slot leases the kiosk holds: lease id -> places booked from it so far (None: a kiosk
    # that does not report them; central_server.lease_reports). A whole JSON number: "1" or
    # true are a broken or hostile client, not a count.
    leases: dict[LeaseId, LeaseCount] | None = Field(default=None, max_length=MAX_LEASES)
    # The ids of commands the kiosk received whose result it has not got through yet. Sent
    # (even empty) by a kiosk that keeps a record of the commands it ran: every command
    # without a result it does not name is handed out again. None: an older kiosk, which gets
    # each command once (central_server.fleet.heartbeats).
    received_commands: list[ReceivedId] | None = Field(default=None, max_length=MAX_RECEIVED)

    @field_validator("last_transaction_at")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        # Stored as UTC; offsets beyond +-14 h or years outside 2000-2100 are a broken clock.
        if value is None:
            return None
        offset = value.utcoffset()
        if offset is not None and abs(offset) > timedelta(hours=14):
            raise ValueError("time zone offset beyond +-14 hours")
        if not 2000 <= value.year <= 2100:
            raise ValueError("year outside 2000-2100")
        return value.astimezone(UTC) if offset is not None else value.replace(tzinfo=UTC)

    @property
    def disk_free_pct(self) -> float:
        """Free disk space in percent (0-100)."""
        return round(min(100.0, 100.0 * self.disk_free_bytes / self.disk_total_bytes), 2)


class CommandOut(BaseModel):
    """A command handed out to a kiosk (maybe again: heartbeats.py). `created_at` tells two
    commands of one id apart: a database restored from a backup hands out ids again."""

    id: int
    kind: CommandKind
    args: dict[str, Any]
    created_at: datetime


class HeartbeatOut(BaseModel):
    """The server's answer: commands to run now and when to report next."""

    server_time: datetime
    next_heartbeat_s: int
    commands: list[CommandOut]


class CommandIn(BaseModel):
    """A technician's remote command."""

    kind: CommandKind
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("args")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, default=str)) > MAX_ARGS_BYTES:
            raise ValueError(f"args larger than {MAX_ARGS_BYTES} bytes")
        return value


class CommandResultIn(BaseModel):
    """A kiosk's report on a command it ran; logs and screenshots come as base64."""

    ok: bool
    detail: Annotated[str, StringConstraints(max_length=2000, pattern=TEXT)] = ""
    attachment_b64: (
        Annotated[str, StringConstraints(max_length=MAX_ATTACHMENT_B64, pattern=PLAIN)] | None
    ) = None
    attachment_type: AttachmentType | None = None


class CommandStatusOut(BaseModel):
    """A command and its outcome."""

    id: int
    kiosk_id: str
    kind: CommandKind
    args: dict[str, Any]
    status: str
    created_by: str
    created_at: datetime
    sent_at: datetime | None  # first handed out
    deliveries: int  # times handed out (more than once: answers lost on the way)
    unacknowledged: bool  # sent long ago (service.UNACKNOWLEDGED_AFTER), the kiosk silent on it
    finished_at: datetime | None
    result_detail: str | None
    has_attachment: bool
    # A technician's cancellation (status `cancelled`; `done` / `failed` when the kiosk's result
    # came after it). Handed out before it (`sent_at`), the kiosk may have run it.
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None


class KioskHealthOut(BaseModel):
    """One kiosk as the technicians see it."""

    kiosk_id: str
    name: str
    office_code: str
    status: str  # online, offline, missing
    colour: str  # green, amber, red, grey
    alerts: list[str]
    last_seen: datetime | None
    app_version: str | None
    uptime_s: float | None
    disk_free_pct: float | None
    cpu_temp_c: float | None
    outbox_depth: int | None
    held_submissions: int | None
    last_transaction_at: datetime | None
    devices: dict[str, dict[str, str]]
