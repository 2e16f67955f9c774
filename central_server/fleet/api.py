"""Fleet JSON API: heartbeats and command results from kiosks; health and commands for staff."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from central_server.fleet.access import Staff
from central_server.fleet.alerts import PROBLEM_CODES
from central_server.fleet.heartbeats import HeartbeatWriter
from central_server.fleet.schemas import (
    CommandId,
    CommandIn,
    CommandResultIn,
    CommandStatusOut,
    HeartbeatIn,
    HeartbeatOut,
    KioskHealthOut,
)
from central_server.fleet.service import STATUSES, Filters, FleetService
from central_server.kiosk_auth import ClaimsGuard, KioskGuard, KioskRef
from central_server.schemas import Error

KIOSK_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": Error}}
STAFF_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": Error}, 403: {"model": Error}}
Problem = Annotated[str | None, Query(pattern=f"^({'|'.join((*PROBLEM_CODES, 'any'))})$")]
Status = Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")]
Office = Annotated[str | None, Query(pattern=r"^\d{4}$")]


def build_api(
    service: FleetService,
    writer: HeartbeatWriter,
    current_kiosk: KioskGuard,
    kiosk_claims: ClaimsGuard,
    require_technician: Callable[..., Staff],
    heartbeat_interval_s: int,
) -> APIRouter:
    """Routes under /api/v1/fleet."""
    router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"])
    KioskDep = Annotated[KioskRef, Depends(current_kiosk)]
    ClaimsDep = Annotated[tuple[str, str], Depends(kiosk_claims)]
    StaffDep = Annotated[Staff, Depends(require_technician)]

    @router.post("/heartbeat", response_model=HeartbeatOut, responses=KIOSK_ERRORS)
    async def heartbeat(body: HeartbeatIn, claims: ClaimsDep) -> HeartbeatOut:
        """Report a kiosk's health; the answer carries commands queued for it."""
        # Served by fastpath.HeartbeatFastPath in front of the router (same contract); this
        # route documents it in OpenAPI and serves apps built without the fast path.
        commands = await writer.submit(*claims, body)
        return HeartbeatOut(
            server_time=datetime.now(UTC),
            next_heartbeat_s=heartbeat_interval_s,
            commands=commands,
        )

    @router.post(
        "/commands/{command_id}/result",
        status_code=204,
        responses={**KIOSK_ERRORS, 404: {"model": Error}, 409: {"model": Error}},
    )
    def command_result(command_id: CommandId, body: CommandResultIn, kiosk: KioskDep) -> None:
        """Report the outcome of a command this kiosk received."""
        service.record_result(kiosk.kiosk_id, command_id, body)

    @router.get("/kiosks", response_model=list[KioskHealthOut], responses=STAFF_ERRORS)
    def kiosks(
        _staff: StaffDep, office: Office = None, problem: Problem = None, status: Status = None
    ) -> list[KioskHealthOut]:
        """Every kiosk with its status and alerts, the most troubled first."""
        return service.kiosks(Filters(office, problem, status))

    @router.get(
        "/kiosks/{kiosk_id}",
        response_model=KioskHealthOut,
        responses={**STAFF_ERRORS, 404: {"model": Error}},
    )
    def kiosk(kiosk_id: str, _staff: StaffDep) -> KioskHealthOut:
        """One kiosk's latest health report."""
        return service.kiosk(kiosk_id)

    @router.post(
        "/kiosks/{kiosk_id}/commands",
        status_code=201,
        response_model=CommandStatusOut,
        responses={**STAFF_ERRORS, 404: {"model": Error}},
    )
    def queue_command(kiosk_id: str, body: CommandIn, staff: StaffDep) -> CommandStatusOut:
        """Queue a remote command; the kiosk picks it up with its next heartbeat."""
        return service.queue(kiosk_id, body, staff.name)

    @router.get(
        "/kiosks/{kiosk_id}/commands",
        response_model=list[CommandStatusOut],
        responses={**STAFF_ERRORS, 404: {"model": Error}},
    )
    def list_commands(kiosk_id: str, _staff: StaffDep) -> list[CommandStatusOut]:
        """A kiosk's latest commands and their results."""
        service.kiosk(kiosk_id)
        return service.commands(kiosk_id)

    @router.post(
        "/commands/{command_id}/cancel",
        response_model=CommandStatusOut,
        responses={**STAFF_ERRORS, 404: {"model": Error}, 409: {"model": Error}},
    )
    def cancel_command(command_id: CommandId, staff: StaffDep) -> CommandStatusOut:
        """Cancel a command without a result (queued, sent or received): never handed out
        (again), no longer unacknowledged. One handed out already (`sent_at`) may have run on
        the kiosk: a result it reports later is kept (status done or failed, `cancelled_at`
        kept). 409 `already_finished` for a command with a result, `already_cancelled` for one
        cancelled already (nothing changes)."""
        return service.cancel(command_id, staff.name)

    @router.get(
        "/commands/{command_id}",
        response_model=CommandStatusOut,
        responses={**STAFF_ERRORS, 404: {"model": Error}},
    )
    def get_command(command_id: CommandId, _staff: StaffDep) -> CommandStatusOut:
        """One command and its result."""
        return service.command(command_id)

    return router
