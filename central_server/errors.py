"""The API's error answer: {"detail": {"code": ..., "message": ..., ...}} with an HTTP status."""

from typing import Any, NoReturn

from fastapi import HTTPException

from central_server.schemas import Error

# What every route behind a bearer token may answer (for the OpenAPI document).
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "Missing or invalid bearer token"},
}


def fail(status: int, code: str, message: str, **extra: Any) -> NoReturn:
    """Answer `status` with a machine code and a message; a 401 asks for a bearer token."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    raise HTTPException(status, {"code": code, "message": message, **extra}, headers=headers)
