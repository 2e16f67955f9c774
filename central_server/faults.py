"""An unexpected fault (a bug, a database gone wrong): a short 500, the traceback in the log only,
and the client's connection kept open.

Starlette's ServerErrorMiddleware sends the handler's 500 and raises the exception again, for
the server to log; uvicorn then closes the connection though the answer went out whole. nginx
keeps its connections to the app servers alive: it sent the next request down the closed one
and, as a POST is not tried again once sent, answered 502 (tests/central/
test_production_hostile.py). `answer_then_log` logs instead of raising once the answer is out.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central_server.security import DEFAULT_HEADERS

log = logging.getLogger("central_server")
SERVER_ERROR: dict[str, Any] = {
    "detail": {
        "code": "server_error",
        "message": "unexpected fault on the server (logged for the technicians); try again later",
    }
}
SERVER_ERROR_PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Gangguan server</title></head>
<body><h1>Gangguan server / Server fault</h1>
<p>Terjadi gangguan di server; teknisi sudah dicatatkan. Coba lagi sebentar lagi.</p>
<p lang="en">The server had a fault; it is logged for the technicians. Try again shortly.</p>
</body></html>
"""
# ServerErrorMiddleware sends the 500 outside central_server.security's middleware
HEADERS = {name.decode(): value.decode() for name, value in DEFAULT_HEADERS}


def server_error(request: Request, _exc: Exception) -> Response:
    """The 500 of an unexpected fault: JSON (the Error shape), a page for a browser's page."""
    accept = request.headers.get("accept", "")
    if "text/html" in accept and not request.url.path.startswith("/api/"):
        return HTMLResponse(SERVER_ERROR_PAGE, 500, headers=HEADERS)
    return JSONResponse(SERVER_ERROR, 500, headers=HEADERS)


async def answer_then_log(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`; an exception after its answer went out whole is logged, not raised (uvicorn
    would close the kept-alive connection). Before that, or mid-answer, it is raised: the
    server answers 500 or cuts the truncated answer off."""
    answered = False

    async def tracked(message: Message) -> None:
        nonlocal answered
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered = True
        await send(message)

    try:
        await app(scope, receive, tracked)
    except Exception:
        if not answered:
            raise
        log.exception("unexpected fault on %s %s", scope.get("method"), scope.get("path"))
