"""Batch submission for draining a kiosk's outbox: many applications, one commit.

Each item carries its own idempotency key and goes through the same admission as
`POST /api/v1/applications` (central_server.admission): a full slot or a reused key refuses that
item only, and an item first sent alone and resent in a batch (or the other way round) is
replayed, never doubled.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field, StringConstraints

from central_server.admission import Admission, Admitted, Outcome, Submission
from central_server.db import Database
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.schemas import ApplicationIn, Error, SubmissionOut

MAX_ITEMS = 100
# What an Idempotency-Key header can carry: 8-128 visible ASCII characters (no NUL, no spaces).
Key = Annotated[str, StringConstraints(pattern=r"^[!-~]{8,128}$")]


class BatchItemIn(BaseModel):
    """One application of a batch with its idempotency key."""

    idempotency_key: Key
    application: ApplicationIn


class BatchIn(BaseModel):
    """Applications queued by one kiosk, sent together."""

    items: list[BatchItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class BatchItemOut(BaseModel):
    """How one item ended: 201 created, 200 replayed, or an error status with its detail."""

    idempotency_key: str
    status: int
    application: SubmissionOut | None = None
    error: Error.Detail | None = None


class BatchOut(BaseModel):
    """Per-item results, in the order of the request."""

    results: list[BatchItemOut]


def build_router(db: Database, current_kiosk: KioskGuard, admission: Admission) -> APIRouter:
    """POST /api/v1/applications/batch: the queue's items through the one admission."""
    router = APIRouter(tags=["applications"])

    @router.post(
        "/api/v1/applications/batch",
        response_model=BatchOut,
        responses={401: {"model": Error}, 422: {"model": Error}},
    )
    def submit_batch(body: BatchIn, kiosk: Annotated[KioskRef, Depends(current_kiosk)]) -> BatchOut:
        """Create up to 100 queued applications in one transaction; results per item."""
        keys = [item.idempotency_key for item in body.items]
        if len(set(keys)) != len(keys):
            raise HTTPException(
                422,
                {
                    "code": "duplicate_key",
                    "message": "an idempotency key appears twice in the batch",
                },
            )
        items = [Submission(i.idempotency_key, i.application) for i in body.items]
        with db.transaction() as session:
            outcomes = admission.admit(session, kiosk, items)
        return BatchOut(results=[_result(i.key, o) for i, o in zip(items, outcomes, strict=True)])

    return router


def _result(key: str, outcome: Outcome) -> BatchItemOut:
    """One item's result as the batch answers it."""
    if isinstance(outcome, Admitted):
        return BatchItemOut(
            idempotency_key=key,
            status=outcome.status,
            application=SubmissionOut.model_validate(outcome.answer),
        )
    return BatchItemOut(
        idempotency_key=key,
        status=outcome.status,
        error=Error.Detail(code=outcome.code, message=outcome.message),
    )
