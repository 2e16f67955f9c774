"""How a receipt copy came out of the kiosk's printers, reported by the kiosk that made it.

`POST /api/v1/card-holder/receipt-copy/{copy_id}/outcome` with an Idempotency-Key: the kiosk's
durable queue (kiosk_app.services.printing.copy_outcomes) resends after a network drop, and
the first report is the one applied. Nothing printed (neither the ticket nor the A4 receipt):
the copy is given back, it no longer counts toward the day's limit (the fault was the kiosk's,
not the citizen's); the ticket or the A4 came out: the citizen holds a sealed receipt, the copy
counts, and the part that failed waits in the kiosk's print journal for an attendant's reprint.
The audit row keeps every attempt with its outcome and the failing device. A kiosk reports only
on its own copies (another kiosk's copy is not_found), within its own request budget.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from central_server.config import LimitSettings
from central_server.db import Database
from central_server.errors import fail
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.lease_reports import utc
from central_server.print_api import ERRORS
from central_server.ratelimit import check_all
from central_server.receipt_copies import (
    ALLOWED,
    NOT_PRINTED,
    PARTLY_PRINTED,
    PRINTED,
    ReceiptCopy,
    copies_today,
)
from central_server.schemas import PLAIN
from central_server.surveys import IdempotencyKey
from central_server.throttle import DatabaseRateLimiter

audit = logging.getLogger("central_server.audit")


class CopyOutcomeIn(BaseModel):
    """What came out of the kiosk's printers for one copy, and what failed (for the audit)."""

    ticket_printed: bool
    receipt_printed: bool
    # e.g. "ticket: PaperOut; receipt: PrinterStopped" (no personal data)
    failure: Annotated[str, StringConstraints(max_length=200, pattern=PLAIN)] = ""


class CopyOutcomeOut(BaseModel):
    """The report as applied: whether the copy counts, and the copies left today."""

    copy_id: int
    print_outcome: str  # printed | partly_printed | not_printed
    counted: bool  # False: given back, another copy may be printed today in its place
    copies_left_today: int


def print_outcome(body: CopyOutcomeIn) -> str:
    """The report in one word: both printed, one of them, or neither."""
    if body.ticket_printed and body.receipt_printed:
        return PRINTED
    return PARTLY_PRINTED if body.ticket_printed or body.receipt_printed else NOT_PRINTED


def build_router(
    db: Database,
    kiosk_dependency: KioskGuard,
    limits: LimitSettings,
    clock: Callable[[], datetime],
) -> APIRouter:
    """The kiosk's report of a copy's print outcome, applied once per copy."""
    per_day = limits.receipt_copies_per_day
    router = APIRouter(tags=["card holder"])
    KioskDep = Annotated[KioskRef, Depends(kiosk_dependency)]
    # A report touches only a copy the kiosk made, once; the budget bounds a kiosk (or its
    # stolen token) replaying reports in a loop, shared by every app server.
    budget = DatabaseRateLimiter(
        db,
        per_minute=limits.kiosk_lookups_per_window / limits.kiosk_lookup_window_minutes,
        burst=limits.kiosk_lookups_per_window,
        prefix="receipt-copy-outcome:kiosk:",
    )

    @router.post(
        "/api/v1/card-holder/receipt-copy/{copy_id}/outcome",
        response_model=CopyOutcomeOut,
        responses={**ERRORS, 400: ERRORS[404]},
    )
    def report_outcome(
        copy_id: Annotated[int, Path(ge=1, le=2**31 - 1)],  # an Integer column on PostgreSQL
        body: CopyOutcomeIn,
        kiosk: KioskDep,
        idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
    ) -> JSONResponse:
        """Apply the kiosk's report of a copy it made (a resent Idempotency-Key replays the
        answer): not_printed gives the copy back (404 not_found: no such copy of this kiosk;
        409 already_reported: another report was applied first)."""
        if idempotency_key is None:
            fail(400, "idempotency_key_required", "Idempotency-Key header of 8-128 chars required")
        try:
            check_all(budget, [kiosk.kiosk_id], "reports")
        except HTTPException:
            audit.warning("receipt copy outcome refused: kiosk %s over its budget", kiosk.kiosk_id)
            raise
        outcome = print_outcome(body)
        now = clock()
        replayed = False
        with db.transaction() as session:
            row = session.get(ReceiptCopy, copy_id, with_for_update=True)
            if row is None or row.kiosk_id != kiosk.kiosk_id or row.outcome != ALLOWED:
                fail(404, "not_found", "this kiosk made no such copy")
            assert row.application_id is not None  # an allowed copy is of an application
            if row.report_key is not None:
                if row.report_key != idempotency_key:
                    fail(
                        409,
                        "already_reported",
                        "this copy's outcome was reported before with another key",
                        print_outcome=row.print_outcome or "",
                    )
                replayed = True
            else:
                row.print_outcome, row.print_failure = outcome, body.failure or None
                row.reported_at, row.report_key = utc(now), idempotency_key
            stored = row.print_outcome or outcome
            answer = CopyOutcomeOut(
                copy_id=row.id,
                print_outcome=stored,
                counted=stored != NOT_PRINTED,
                copies_left_today=max(0, per_day - copies_today(session, row.application_id, now)),
            )
        if not replayed:
            audit.info(
                "receipt copy %d outcome from kiosk %s: %s%s",
                copy_id,
                kiosk.kiosk_id,
                outcome,
                f" ({body.failure}); given back, not counted today"
                if outcome == NOT_PRINTED
                else "",
            )
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return JSONResponse(answer.model_dump(), 200, headers)

    return router
