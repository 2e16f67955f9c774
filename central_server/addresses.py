"""The addresses this server hands out, never built from what a client wrote in its request.

The Host header is the client's to write (and nginx passes it on): a URL built from it could put
another site into a printed verification QR, a kiosk's enrolment command, a Location header or
a message to a citizen. So:

- `public_base`: the configured public URL ([server] public_url, else ANJUNGAN_PUBLIC_URL), else
  the address of the socket the request came in on (a development server on loopback).
- `local_path`: a `next` field or a Referer reduced to a path on this server, or "".
- `relative_slash_redirects`: /fleet -> Location: /fleet/ (Starlette's own redirect is absolute,
  built from Host).
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_LOCAL_PATH = 512  # characters of a `next` kept (the longest page address is ~100)


def public_base(request: Request) -> str:
    """Where citizens and kiosks reach this server, without a trailing slash: the config's
    public_url, else ANJUNGAN_PUBLIC_URL, else the scheme and local address of the request's
    socket (http://127.0.0.1:8000 for a development server; never the Host header)."""
    configured = getattr(request.app.state, "public_url", None)
    configured = configured or os.environ.get("ANJUNGAN_PUBLIC_URL")
    if configured:
        return str(configured).rstrip("/")
    scheme = str(request.scope.get("scheme", "http"))
    server = request.scope.get("server") or ("127.0.0.1", None)
    host, port = str(server[0]), server[1]
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


def local_path(target: str) -> str:
    """`target` if it is a path on this server (one leading "/", printable ASCII, no "//", no
    backslash, at most MAX_LOCAL_PATH characters), else "": no redirect to another site, and
    never more than that reflected into a page."""
    if (
        0 < len(target) <= MAX_LOCAL_PATH
        and target.startswith("/")
        and "//" not in target
        and "\\" not in target
        and all("!" <= c <= "~" for c in target)
    ):
        return target
    return ""


def referer_path(request: Request) -> str:
    """The path (and query) of the page the browser came from, if it is a local path; the
    Referer's scheme and host are dropped whatever they say."""
    parts = urlsplit(request.headers.get("referer", ""))
    return local_path(parts.path + (f"?{parts.query}" if parts.query else ""))


class RelativeSlashRedirects:
    """The router's fallback: a path that matches a route once a trailing slash is added or
    taken away gets a 307 to that path, relative; anything else goes to `fallback` (404)."""

    def __init__(self, router: Router, fallback: ASGIApp) -> None:
        self.router, self.fallback = router, fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Redirect when the other spelling of the path has a route; else the fallback."""
        path = scope["path"]
        if scope["type"] == "http" and path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            probe = {**scope, "path": other}
            if any(route.matches(probe)[0] is not Match.NONE for route in self.router.routes):
                raw = scope.get("raw_path")
                encoded = raw.decode("latin-1") if raw else quote(path)
                location = encoded.rstrip("/") if path.endswith("/") else encoded + "/"
                if local_path(location) and local_path(other):  # never "//host" nor "/\\host"
                    query = scope.get("query_string", b"").decode("latin-1")
                    target = location + (f"?{query}" if query else "")
                    await RedirectResponse(target, status_code=307)(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


def relative_slash_redirects(app: FastAPI) -> None:
    """Replace Starlette's absolute slash redirects (built from Host) with relative ones."""
    app.router.redirect_slashes = False
    app.router.default = RelativeSlashRedirects(app.router, app.router.default)
