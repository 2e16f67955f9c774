"""The API's error answer: {"detail": {"code": ..., "message": ..., ...}} with an HTTP status."""

from typing import Any, NoReturn

from fastapi import HTTPException

from central_server.schemas import Error

MAX_TEXT = 300  # characters of a message or extra value in an error answer

# What every route behind a bearer token may answer (for the OpenAPI document).
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "Missing or invalid bearer token"},
}


def fail(status: int, code: str, message: str, **extra: Any) -> NoReturn:
    """Answer `status` with a machine code and a message; a 401 asks for a bearer token."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    # A message or an extra may quote the input (a path segment, a header): never much of it.
    short = {k: v[:MAX_TEXT] if isinstance(v, str) else v for k, v in extra.items()}
    detail = {"code": code, "message": message[:MAX_TEXT], **short}
    raise HTTPException(status, detail, headers=headers)
