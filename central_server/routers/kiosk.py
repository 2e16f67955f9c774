"""The kiosk API: enrolment, slots, applications (single and batch), status, scans, surveys,
card holder and print codes, the region list. Every route but enrolment takes a kiosk token."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from central_server import (
    batch_submit,
    key_change,
    leases,
    lifecycle,
    print_api,
    quota,
    receipt_copies,
    receipt_copy_outcomes,
    regions,
    scans,
    surveys,
)
from central_server.admission import Admission, Refused, Submission
from central_server.card_holder_gate import CardHolderGate
from central_server.config import LimitSettings
from central_server.db import Database
from central_server.errors import UNAUTHORIZED as ERRORS
from central_server.errors import fail
from central_server.kiosk_auth import KioskAuth, KioskGuard, KioskRef
from central_server.kiosk_auth import build_router as build_enrolment_router
from central_server.ratelimit import StatusLookupLimiter, check_all, client_ip
from central_server.schemas import (
    ApplicationIn,
    ApplicationStatusOut,
    Error,
    KeyChallengeOut,
    Service,
    SigningKeyIn,
    SigningKeyOut,
    SigningKeySwapIn,
    SlotOut,
    SubmissionOut,
)
from central_server.server_seal import ServerSealer
from central_server.slot_room import occupied
from central_server.status import StatusLookup
from central_server.throttle import DatabaseRateLimiter


def router(
    db: Database,
    *,
    kiosk_auth: KioskAuth,
    current_kiosk: KioskGuard,
    require_technician: Callable[..., Any],
    today: Callable[[], date],
    status_lookup: StatusLookup,
    status_limiter: StatusLookupLimiter,
    limits: LimitSettings,
    clock: Callable[[], datetime],
    lease_book: leases.Leases,
    sealer: ServerSealer,
) -> APIRouter:
    """Every route a kiosk calls; `require_technician` guards the enrolment codes."""
    r = APIRouter()
    KioskDep = Annotated[KioskRef, Depends(current_kiosk)]
    admission = Admission(today, clock=clock)
    r.include_router(build_enrolment_router(kiosk_auth, require_technician, limits))

    challenges = DatabaseRateLimiter(
        db,
        per_minute=limits.key_challenges_per_minute,
        burst=limits.key_challenge_burst,
        prefix="key-challenge:",
    )
    submissions = DatabaseRateLimiter(
        db,
        per_minute=limits.key_submissions_per_minute,
        burst=limits.key_submission_burst,
        prefix="key-submission:",
    )
    rate_limited: dict[int | str, dict[str, Any]] = {
        429: {"model": Error, "description": "rate_limited (Retry-After)"}
    }

    @r.post(
        "/api/v1/kiosk/signing-key/challenge",
        response_model=KeyChallengeOut,
        responses={**ERRORS, **rate_limited},
    )
    def signing_key_challenge(kiosk: KioskDep, request: Request) -> KeyChallengeOut:
        """The one-time nonce for the proof a seal key replacement carries (5 minutes; the
        outstanding one again until it is used). Rate-limited per kiosk and client address
        ([limits] key_challenges_per_minute), so a stolen token asking from elsewhere cannot
        use up the kiosk's own allowance."""
        check_all(challenges, [f"{kiosk.kiosk_id}:{client_ip(request)}"], "key challenges")
        with db.transaction() as session:
            nonce, expires = key_change.challenge(session, kiosk.kiosk_id, clock())
        return KeyChallengeOut(nonce=nonce, expires_at=expires)

    @r.put(
        "/api/v1/kiosk/signing-key",
        status_code=204,
        responses={
            **ERRORS,
            202: {
                "model": SigningKeyOut,
                "description": "A replacement without proof: pending a technician's approval",
            },
            409: {"model": Error, "description": "proof_invalid or key_rejected"},
            **rate_limited,
        },
    )
    def register_signing_key(body: SigningKeyIn, kiosk: KioskDep, request: Request) -> Response:
        """Register the Ed25519 public key of the kiosk's receipt seals: the first key, or a
        replacement proven with the key in force (`proof`), is in force at once (204); a
        replacement without proof waits for a technician's approval (202). Rate-limited per
        kiosk and client address ([limits] key_submissions_per_minute), as the challenge is."""
        check_all(submissions, [f"{kiosk.kiosk_id}:{client_ip(request)}"], "key submissions")
        with db.transaction() as session:
            outcome = key_change.submit(
                session,
                kiosk.kiosk_id,
                body.signing_key,
                body.proof,
                clock(),
                predecessor_for=timedelta(hours=lease_book.policy.hours),
            )
        if isinstance(outcome, key_change.KeyRefused):
            fail(409, outcome.code, outcome.message)
        if outcome == key_change.PENDING:
            answer = SigningKeyOut(
                state="pending",
                message="recorded, pending a technician's approval on the fleet dashboard",
            )
            return JSONResponse(answer.model_dump(), 202)
        return Response(status_code=204)

    @r.post(
        "/api/v1/kiosk/signing-key/swapped",
        status_code=204,
        responses={
            **ERRORS,
            409: {"model": Error, "description": "proof_invalid or key_not_in_force"},
            **rate_limited,
        },
    )
    def signing_key_swapped(body: SigningKeySwapIn, kiosk: KioskDep, request: Request) -> Response:
        """The kiosk seals with `signing_key` from `sealing_since` on (after a rotation the
        server confirmed; signed with that key): the key it replaced, which verifies seals
        until this acknowledgment (the server's answer to the rotation may have been lost;
        at most as long as a lease renewed at the rotation lets the kiosk book), verifies
        none issued after then. Only the first acknowledgment counts. Rate-limited with the
        key submissions."""
        check_all(submissions, [f"{kiosk.kiosk_id}:{client_ip(request)}"], "key submissions")
        with db.transaction() as session:
            refused = key_change.acknowledge(
                session,
                kiosk.kiosk_id,
                body.signing_key,
                body.sealing_since,
                body.signature,
            )
        if refused is not None:
            fail(409, refused.code, refused.message)
        return Response(status_code=204)

    r.include_router(leases.build_router(lease_book, current_kiosk))

    @r.get("/api/v1/slots", response_model=list[SlotOut], responses=ERRORS)
    def slots(
        kiosk: KioskDep,
        service: Service,
        days: Annotated[int, Query(ge=1, le=quota.MAX_DAYS_AHEAD)] = 10,
    ) -> list[SlotOut]:
        """Bookable slots of the kiosk's office in the next `days` calendar days (places lent
        to kiosks and not used yet are not offered)."""
        candidates = quota.verification_days(today(), days)
        with db.transaction() as session:
            q = lifecycle.daily_quota(session, kiosk.office_code, service.value)
            used = occupied(session, kiosk.office_code, service.value, candidates, clock())
        result = []
        for day in candidates:
            for window in quota.windows_on(day):
                left = quota.window_capacity(q, window) - used.get((day, window), 0)
                if left > 0:
                    result.append(SlotOut(date=day, window=window, remaining=left))
        return result

    @r.post(
        "/api/v1/applications",
        status_code=201,
        response_model=SubmissionOut,
        responses={
            **ERRORS,
            200: {
                "model": SubmissionOut,
                "description": "The first answer to this Idempotency-Key (or this seal), replayed",
            },
            400: {"model": Error},
            409: {"model": Error},
        },
    )
    def submit(
        body: ApplicationIn,
        kiosk: KioskDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Create a pre-application; a repeated Idempotency-Key replays the first answer."""
        if idempotency_key is None or not 8 <= len(idempotency_key) <= 128:
            fail(400, "idempotency_key_required", "Idempotency-Key header of 8-128 chars required")
        with db.transaction() as session:
            [outcome] = admission.admit(session, kiosk, [Submission(idempotency_key, body)])
        if isinstance(outcome, Refused):
            fail(outcome.status, outcome.code, outcome.message, **outcome.extra)
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return JSONResponse(outcome.answer, outcome.status, headers)

    r.include_router(batch_submit.build_router(db, current_kiosk, admission))

    @r.get(
        "/api/v1/applications/{registration_number}",
        response_model=ApplicationStatusOut,
        responses={**ERRORS, 404: {"model": Error}, 429: {"model": Error}},
    )
    async def application_status(
        registration_number: str, kiosk: KioskDep, request: Request
    ) -> Response:
        """Public status of an application (no NIK, masked name); rate-limited per kiosk/IP."""
        await run_in_threadpool(status_limiter.check, request, kiosk.kiosk_id)  # a DB row
        found = await status_lookup.fetch(registration_number)
        if found is None:
            fail(404, "not_found", "unknown registration number")
        return Response(found.model_dump_json(), media_type="application/json")

    r.include_router(scans.upload_router(db, current_kiosk, limits.max_scan_bytes))
    r.include_router(surveys.kiosk_router(db, current_kiosk, today))
    gate = CardHolderGate(db, limits)  # per kiosk (citizens) and per NIK, audited; real time
    r.include_router(print_api.build_router(db, current_kiosk, gate))  # print codes
    r.include_router(  # a lost receipt printed again, sealed by the server
        receipt_copies.build_router(
            db, current_kiosk, gate, sealer, clock, limits.receipt_copies_per_day
        )
    )
    r.include_router(  # how the copy came out: one that did not print is given back
        receipt_copy_outcomes.build_router(db, current_kiosk, limits, clock)
    )
    r.include_router(regions.build_router(db, current_kiosk))  # region master list
    return r
