"""The kiosk page's "Batalkan perintah / Cancel command": a command without a result withdrawn
after a confirmation (FleetService.cancel), and how the page words a cancelled command."""

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from central_server.errors import fail
from central_server.fleet.access import Staff, StaffAccess
from central_server.fleet.models import UNFINISHED
from central_server.fleet.schemas import CommandId, CommandKind, CommandStatusOut
from central_server.fleet.service import FleetService

MAY_HAVE_RUN = "Mungkin sudah dijalankan anjungan / The kiosk may already have run it"
# The confirmation's warning: a command still queued, or one handed out already.
WARNINGS = {
    "queued": (
        "Perintah ini belum dikirim ke anjungan: setelah dibatalkan, perintah tidak akan pernah "
        "dikirim. / This command was not sent to the kiosk yet: cancelled, it is never sent."
    ),
    "handed_out": (
        "Perintah ini sudah dikirim ke anjungan. Mungkin sudah dijalankan anjungan: pembatalan "
        'hanya menghentikan pengiriman ulang dan peringatan "belum dikonfirmasi". Bila anjungan '
        "melaporkan hasilnya kemudian, hasil itu tetap dicatat dan ditampilkan. / This command "
        "was sent to the kiosk already. The kiosk may already have run it: cancelling only stops "
        'it being sent again and the "not acknowledged" warning. A result the kiosk reports '
        "later is still kept and shown."
    ),
}
# Why a cancellation was refused (the kiosk page's ?error=, as dashboard.FORM_ERRORS).
ERRORS = {
    "already_finished": "perintah itu sudah selesai (hasilnya sudah masuk), tidak bisa "
    "dibatalkan / that command has finished already (its result came), it cannot be cancelled",
    "already_cancelled": "perintah itu sudah dibatalkan / that command was cancelled already",
}


def cancel_note(command: CommandStatusOut) -> str | None:
    """What the kiosk page says of a command's cancellation (None when it was not cancelled)."""
    if command.cancelled_at is None:
        return None
    at = command.cancelled_at.strftime("%Y-%m-%d %H:%M")
    by = f"Dibatalkan oleh {command.cancelled_by} pada {at} UTC / cancelled by "
    by += f"{command.cancelled_by} at {at} UTC"
    if command.status in ("done", "failed"):
        return f"{by}. Hasil masuk setelah dibatalkan / the result came after the cancellation"
    if command.sent_at is not None:
        return f"{by}. {MAY_HAVE_RUN}"
    return f"{by}. Tidak pernah dikirim / never sent"


def refusal(command: CommandStatusOut) -> str | None:
    """Why `command` cannot be cancelled (an ERRORS key), None when it can."""
    if command.cancelled_at is not None:
        return "already_cancelled"
    return None if command.status in UNFINISHED else "already_finished"


def add_routes(
    router: APIRouter,
    service: FleetService,
    access: StaffAccess,
    render: Callable[..., Response],
    stale_form: Callable[[str, Staff, str], Response | None],
    labels: Mapping[CommandKind, str],
) -> None:
    """POST /fleet/kiosks/{kiosk_id}/commands/{command_id}/cancel on the dashboard's router
    (`labels`: each command kind's words)."""
    StaffDep = Annotated[Staff, Depends(access.page)]

    @router.post("/kiosks/{kiosk_id}/commands/{command_id}/cancel")
    def cancel_command(
        request: Request,
        kiosk_id: str,
        command_id: CommandId,
        staff: StaffDep,
        csrf: Annotated[str, Form(max_length=200)],
        confirmed: Annotated[str, Form(max_length=1)] = "",
    ) -> Response:
        """Cancel a command without a result, after a confirmation saying whether the kiosk
        may have run it; audited with the technician's name (FleetService.cancel). A command
        with a result, or cancelled by someone else meanwhile, is refused with the page's
        message; nothing changes then."""
        target = f"/fleet/kiosks/{kiosk_id}"
        stale = stale_form(kiosk_id, staff, csrf)
        if stale is not None:
            return stale
        command = service.command(command_id)
        if command.kiosk_id != kiosk_id:  # the page of another kiosk: not its command
            fail(404, "unknown_command", f"no command {command_id} for kiosk {kiosk_id}")
        refused = refusal(command)
        if refused is not None:
            return RedirectResponse(f"{target}?error={refused}", status_code=303)
        if confirmed != "1":
            handed_out = command.sent_at is not None
            return render(
                request, "cancel_command.html", staff=staff, kiosk_id=kiosk_id, csrf=csrf,
                command=command, label=labels.get(command.kind, command.kind.value),
                warning=WARNINGS["handed_out" if handed_out else "queued"],
                handed_out=handed_out,
            )  # fmt: skip
        try:
            service.cancel(command_id, staff.name, kiosk_id)
        except HTTPException as exc:  # another technician's cancellation or the result first
            if exc.status_code != 409 or not isinstance(exc.detail, dict):
                raise
            code = exc.detail.get("code")
            return RedirectResponse(
                f"{target}?error={code if code in ERRORS else 'already_finished'}",
                status_code=303,
            )
        return RedirectResponse(f"{target}?cancelled={command_id}", status_code=303)
