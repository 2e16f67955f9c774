"""Batch submission for draining a kiosk's outbox: many applications, one commit.

Each item carries its own idempotency key and is created (or replayed) exactly as
`POST /api/v1/applications` would, inside a SAVEPOINT: a full slot or a reused key refuses that
item only. The request hash is the single endpoint's, so an item first sent alone and resent in
a batch (or the other way round) is replayed, never doubled.
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_server.batch_create import Fallback, New, Rules, create_many
from central_server.db import Database
from central_server.models import Application
from central_server.schemas import ApplicationIn, Error, SubmissionOut
from kiosk_app.domain.identity import mask_name, mask_nik

log = logging.getLogger("central_server")

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


def request_hash(body: ApplicationIn) -> str:
    """The fingerprint of an application, for both endpoints (idempotency conflicts).

    `if_slot_full` is left out: it says what to do when nothing is stored yet, so a row first
    tried at the kiosk ("refuse", answer lost) and resent from the queue ("next_free") is the
    same request and replays, and fingerprints stored before the field existed still match."""
    return hashlib.sha256(
        json.dumps(body.model_dump(mode="json", exclude={"if_slot_full"}), sort_keys=True).encode()
    ).hexdigest()


def build_router(
    db: Database,
    current_kiosk: Callable[..., Any],
    *,
    find: Callable[[Session, str, str], Any],
    create: Callable[[Session, Any, ApplicationIn, str, str], dict[str, Any]],
    rules: Rules,
) -> APIRouter:
    """POST /api/v1/applications/batch, using the app's own find/create of one application."""
    router = APIRouter(tags=["applications"])

    def replay(key: str, existing: Any, digest: str) -> BatchItemOut:
        if not hmac.compare_digest(existing.request_hash, digest):
            return _refused(key, 409, "idempotency_conflict",
                            "Idempotency-Key reused with a different body")
        return BatchItemOut(idempotency_key=key, status=200,
                            application=json.loads(existing.response_json))

    def bulk(session: Session, kiosk: Any, body: BatchIn) -> list[BatchItemOut] | None:
        """The whole batch with a few statements; None when it must go item by item."""
        keys = [item.idempotency_key for item in body.items]
        stored = {a.idempotency_key: a for a in session.scalars(select(Application).where(
            Application.kiosk_id == kiosk.kiosk_id, Application.idempotency_key.in_(keys)))}
        results: list[BatchItemOut | None] = []
        new: list[New] = []
        for item in body.items:
            digest = request_hash(item.application)
            if item.idempotency_key in stored:
                results.append(replay(item.idempotency_key, stored[item.idempotency_key], digest))
            else:
                results.append(None)
                new.append(New(item.idempotency_key, item.application, digest))
        try:
            with session.begin_nested():
                answers = iter(create_many(session, kiosk, new, rules))
        except (Fallback, IntegrityError) as exc:
            log.info("batch of kiosk %s goes item by item: %s", kiosk.kiosk_id,
                     type(exc).__name__)
            return None
        done = []
        for result, item in zip(results, body.items, strict=True):
            if result is None:
                answer = next(answers)
                key = item.idempotency_key
                result = (BatchItemOut(idempotency_key=key, status=201, application=answer)
                          if isinstance(answer, dict) else _refused(key, *answer))
            done.append(result)
        return done

    def one(session: Session, kiosk: Any, item: BatchItemIn) -> BatchItemOut:
        key, body = item.idempotency_key, item.application
        digest = request_hash(body)
        existing = find(session, kiosk.kiosk_id, key)
        if existing is not None:
            return replay(key, existing, digest)
        try:
            with session.begin_nested():
                created = create(session, kiosk, body, key, digest)
        except HTTPException as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {}
            return _refused(key, exc.status_code, str(detail.get("code", "refused")),
                            str(detail.get("message", exc.detail)))
        except IntegrityError:  # the same key committed meanwhile by a concurrent request
            existing = find(session, kiosk.kiosk_id, key)
            if existing is None:
                raise
            return replay(key, existing, digest)
        log.info("application %s created by kiosk %s for nik=%s name=%s slot=%s %s (batch)",
                 created["registration_number"], kiosk.kiosk_id, mask_nik(body.applicant_nik),
                 mask_name(body.applicant_name), created["slot"]["date"], created["slot"]["window"])
        return BatchItemOut(idempotency_key=key, status=201, application=created)

    @router.post(
        "/api/v1/applications/batch",
        response_model=BatchOut,
        responses={401: {"model": Error}, 422: {"model": Error}},
    )
    def submit_batch(body: BatchIn, kiosk: Annotated[Any, Depends(current_kiosk)]) -> BatchOut:
        """Create up to 100 queued applications in one transaction; results per item."""
        keys = [item.idempotency_key for item in body.items]
        if len(set(keys)) != len(keys):
            raise HTTPException(422, {"code": "duplicate_key",
                                      "message": "an idempotency key appears twice in the batch"})
        with db.transaction() as session:
            results = bulk(session, kiosk, body)
            if results is None:
                results = [one(session, kiosk, item) for item in body.items]
        return BatchOut(results=results)

    return router


def _refused(key: str, status: int, code: str, message: str) -> BatchItemOut:
    return BatchItemOut(idempotency_key=key, status=status,
                        error=Error.Detail(code=code, message=message))
