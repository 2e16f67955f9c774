"""The heartbeat's lean ASGI path, in front of FastAPI's router: heartbeats are most traffic.

Same contract as the documented route (`api.py`: OpenAPI, status codes, bodies) without routing,
dependency solving or response re-validation: read the body, check the token's signature, parse
with pydantic's JSON parser, hand the heartbeat to the group-commit writer, answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from central_server.faults import SERVER_ERROR
from central_server.fleet.heartbeats import HeartbeatWriter
from central_server.fleet.schemas import HeartbeatIn, HeartbeatOut
from central_server.security import BodyTooLarge, validation_error_body

HEARTBEAT_PATH = "/api/v1/fleet/heartbeat"
MAX_BODY_BYTES = 64 * 1024  # a heartbeat is ~400 bytes; devices are capped at 12 x 20 keys
JSON = (b"content-type", b"application/json")
log = logging.getLogger(__name__)
Headers = list[tuple[bytes, bytes]]


class HeartbeatFastPath:
    """ASGI middleware answering POST /api/v1/fleet/heartbeat; everything else passes on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        claims: Callable[[str], Awaitable[tuple[str, str]]],
        writer: HeartbeatWriter,
        interval_s: int,
    ) -> None:
        self.app = app
        self.claims = claims
        self.writer = writer
        self.interval_s = interval_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a heartbeat or delegate to the wrapped app."""
        if scope["type"] != "http" or scope["path"] != HEARTBEAT_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            status, body, headers = await self.handle(scope, receive)
        except HTTPException:
            raise  # the body limit's 413, answered by central_server.security
        except Exception:  # a fault (the database): the documented 500, the connection kept
            log.exception("heartbeat not answered")
            status, body, headers = _json(500, SERVER_ERROR)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def handle(self, scope: Scope, receive: Receive) -> tuple[int, bytes, Headers]:
        """Status, body and headers of the answer to one heartbeat request."""
        token, content_type = _headers(scope)
        if token is None:
            return _error(HTTPException(401, _detail("missing bearer token"), _CHALLENGE))
        body = await _read_body(receive)
        if body is None:  # the documented 413 (a [limits] max_body_bytes above this one)
            return _error(BodyTooLarge(MAX_BODY_BYTES))
        try:
            kiosk_id, token_hash = await self.claims(token)
        except HTTPException as exc:
            return _error(exc)
        if not body:
            return _invalid([{"type": "missing", "loc": ["body"], "msg": "Field required"}])
        if not _is_json(content_type):
            return _invalid(
                [{"type": "model_attributes_type", "loc": ["body"], "msg": "JSON body expected"}]
            )
        try:
            heartbeat = HeartbeatIn.model_validate_json(body)
        except ValidationError as exc:  # shortened as every 422 is: a 60 KB key stays home
            errors = exc.errors(include_url=False, include_input=False)
            located = ({**e, "loc": ("body", *e["loc"])} for e in errors)
            return _json(422, validation_error_body(located))
        try:
            commands = await self.writer.submit(kiosk_id, token_hash, heartbeat)
        except HTTPException as exc:
            return _error(exc)
        answer = HeartbeatOut(
            server_time=datetime.now(UTC), next_heartbeat_s=self.interval_s, commands=commands
        )
        return 200, answer.model_dump_json().encode(), [JSON]


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _detail(message: str) -> dict[str, str]:
    return {"code": "unauthorized", "message": message}


def _headers(scope: Scope) -> tuple[str | None, bytes]:
    """(bearer token or None, content type) from the raw ASGI headers."""
    token, content_type = None, b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                token = credentials.strip()
        elif name == b"content-type":
            content_type = value
    return token, content_type


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None beyond MAX_BODY_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json(status: int, content: Any, headers: Mapping[str, str] | None = None) -> tuple[
    int, bytes, Headers
]:  # fmt: skip
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return status, json.dumps(content, ensure_ascii=False).encode(), [JSON, *extra]


def _error(exc: HTTPException) -> tuple[int, bytes, Headers]:
    return _json(exc.status_code, {"detail": exc.detail}, exc.headers)


def _invalid(errors: list[dict[str, Any]]) -> tuple[int, bytes, Headers]:
    return _json(422, {"detail": errors})
