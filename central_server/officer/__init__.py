"""Officer and admin web pages, the kiosk's scan upload, notifications and status rate limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import FastAPI

from central_server.auth import Auth
from central_server.db import Database
from central_server.issued import verification_router
from central_server.notify import Channel, OutboxWorker
from central_server.officer import common, manage, pages
from central_server.ratelimit import StatusLookupLimiter


@dataclass
class Review:
    """What create_app keeps: the auth service, the outbox worker and the status limiter."""

    auth: Auth
    worker: OutboxWorker
    status_limiter: StatusLookupLimiter

    def start(self) -> None:
        """Start the outbox worker (no-op without channels)."""
        self.worker.start()

    def stop(self) -> None:
        """Stop the outbox worker."""
        self.worker.stop()


def install(
    app: FastAPI,
    db: Database,
    *,
    today: Callable[[], date],
    kiosk_dependency: Callable[..., Any],
    channels: Mapping[str, Channel] | None = None,
    secret_key: str | None = None,
    status_limiter: StatusLookupLimiter | None = None,
) -> Review:
    """Add the officer pages, /login, /verify and the scan upload to `app`."""
    auth = Auth(db, secret_key)
    ctx = common.PageContext(db=db, auth=auth, today=today)
    common.add_exception_handlers(app, ctx)
    app.include_router(manage.router(ctx))
    app.include_router(pages.router(ctx))
    app.include_router(pages.scan_upload_router(ctx, kiosk_dependency))
    app.include_router(verification_router(db))
    review = Review(auth, OutboxWorker(db, channels or {}), status_limiter or StatusLookupLimiter())
    app.state.review = review
    return review
