"""Schemathesis hooks that make generated valid data meet the rules JSON Schema cannot state.

Every generated request of the fuzz test is positive (schema-valid), and each must be accepted.
Where a rule ties fields together or depends on the server's calendar, these hooks draw or
adjust the body so that it keeps the rule; everything the schema states stays generated.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from schemathesis.hooks import HookContext

from central_server.downloads import ALLOWED_TYPES, FALLBACK_TYPE
from central_server.surveys import MAX_AGE_DAYS
from tests.central.conftest import TODAY

RESULT = ("POST", "/api/v1/fleet/commands/{command_id}/result")
SCAN = ("PUT", "/api/v1/applications/{registration_number}/scans/{name}")
HEARTBEAT = ("POST", "/api/v1/fleet/heartbeat")
BATCH = ("POST", "/api/v1/applications/batch")
SURVEY = ("POST", "/api/v1/surveys")
# A kiosk clock within +-14 h of UTC, in the years 2000-2100 (fleet.schemas.HeartbeatIn).
KIOSK_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2100, 12, 30)
).flatmap(
    lambda at: st.integers(-14 * 60, 14 * 60).map(
        lambda minutes: at.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()
    )
)


def _operation(context: HookContext) -> tuple[str, str] | None:
    operation = context.operation
    return None if operation is None else (operation.method.upper(), operation.path)


def _magic(content_type: str) -> bytes:
    """The first bytes a file of this type starts with (central_server.downloads)."""
    return ALLOWED_TYPES[content_type][0]


def _attachment(body: dict[str, Any]) -> dict[str, Any]:
    """attachment_b64 is base64 of bytes that start the way attachment_type says."""
    if body.get("attachment_b64") is not None:
        kind = body.get("attachment_type") or FALLBACK_TYPE
        data = _magic(kind) + str(body["attachment_b64"]).encode("utf-8", "replace")
        body["attachment_b64"] = base64.b64encode(data).decode()
    return body


def _distinct_keys(body: dict[str, Any]) -> dict[str, Any]:
    """Each batch item has an Idempotency-Key of its own (8-128 of ! to ~)."""
    seen: set[str] = set()
    for n, item in enumerate(body["items"]):
        key, extra = item["idempotency_key"], 0
        while key in seen:
            extra += 1
            key = f"{item['idempotency_key'][:100]}~{n}~{extra}"
        item["idempotency_key"] = key
        seen.add(key)
    return body


MAPS: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    RESULT: _attachment,
    BATCH: _distinct_keys,
}


def follow_rules(schema: Any) -> None:
    """Register the hooks on `schema` (a schemathesis OpenAPI schema)."""

    @schema.hook("map_body")
    def map_body(context: HookContext, body: Any) -> Any:
        fix = MAPS.get(_operation(context) or ("", ""))
        return fix(body) if fix is not None and isinstance(body, dict) else body

    @schema.hook("flatmap_body")
    def flatmap_body(context: HookContext, body: Any) -> Any:
        operation = _operation(context)
        if operation == HEARTBEAT and isinstance(body, dict):
            if body.get("last_transaction_at") is not None:  # a time the kiosk could have
                return KIOSK_TIMES.map(lambda at: {**body, "last_transaction_at": at})
        if operation == SURVEY and isinstance(body, dict):  # within 400 days before today
            return st.integers(0, MAX_AGE_DAYS).map(
                lambda days: {**body, "survey_date": (TODAY - timedelta(days=days)).isoformat()}
            )
        return st.just(body)

    @schema.hook("map_case")
    def map_case(context: HookContext, case: Any) -> Any:
        if _operation(context) == SCAN and case.media_type in ALLOWED_TYPES:
            data = case.body if isinstance(case.body, bytes) else str(case.body).encode()
            case.body = _magic(case.media_type) + data  # a scan starts the way its type does
        return case
