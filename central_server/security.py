"""HTTP hardening around the whole app: security headers, trusted proxies, body limits, 422s.

One pure ASGI middleware, outermost, so every response (pages, API, errors, the heartbeat fast
path, downloads) gets the same headers and every route its body limit while the body is read.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from base64 import b64encode
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from central_server.config import LimitSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def route_body_limits(limits: LimitSettings) -> tuple[tuple[str, str, int], ...]:
    """(method, path pattern, limit): the routes that legitimately take more than the default
    (forms, logins, heartbeats, enrolment: a few KiB at most), from the [limits] table."""
    return (
        ("PUT", r"/api/v1/applications/[^/]+/scans/[^/]+", limits.max_scan_bytes),
        ("POST", r"/api/v1/applications", limits.max_application_bytes),
        ("POST", r"/api/v1/applications/batch", limits.max_batch_bytes),
        ("POST", r"/api/v1/fleet/commands/\d+/result", limits.max_command_result_bytes),
    )


DEFAULT_LIMITS = LimitSettings()
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# What a kiosk uploaded is served under this policy: no script, no plugin, no same origin.
DOWNLOAD_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
HSTS = "max-age=31536000; includeSubDomains"
DEFAULT_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HTTPS_HEADERS = (*DEFAULT_HEADERS, (b"strict-transport-security", HSTS.encode()))
MAX_ERROR_TEXT = 200  # characters of a validation message kept in a 422
MAX_REMEMBERED_ADDRESSES = 4096  # peers whose proxy verdict is kept (forgotten all at once)


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


@dataclass(frozen=True)
class SecurityOptions:
    """Trusted proxies, cookie security and body limits (constructor arguments or environment)."""

    trusted_proxies: tuple[str, ...] = ()  # addresses or networks of the front proxies
    secure_cookies: bool | None = None  # None: Secure exactly when the request came over https
    default_body_limit: int = DEFAULT_LIMITS.max_body_bytes
    route_body_limits: tuple[tuple[str, str, int], ...] = route_body_limits(DEFAULT_LIMITS)
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=(), init=False, repr=False, compare=False
    )
    _patterns: tuple[tuple[str, re.Pattern[str], int], ...] = field(
        default=(), init=False, repr=False, compare=False
    )
    _verdicts: dict[str, bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )  # address -> trusted, so a request does not parse its peer's address again

    def __post_init__(self) -> None:
        networks = tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)
        object.__setattr__(self, "_networks", networks)
        patterns = tuple((m, re.compile(p), n) for m, p, n in self.route_body_limits)
        object.__setattr__(self, "_patterns", patterns)

    @classmethod
    def from_environment(cls, limits: LimitSettings = DEFAULT_LIMITS) -> SecurityOptions:
        """ANJUNGAN_TRUSTED_PROXIES (comma-separated) and ANJUNGAN_SECURE_COOKIES (1/0)."""
        flag = os.environ.get("ANJUNGAN_SECURE_COOKIES")
        return cls.with_limits(
            limits,
            trusted_proxies=tuple(_env_list("ANJUNGAN_TRUSTED_PROXIES")),
            secure_cookies=None if flag in (None, "") else flag == "1",
        )

    @classmethod
    def with_limits(
        cls,
        limits: LimitSettings,
        *,
        trusted_proxies: tuple[str, ...] = (),
        secure_cookies: bool | None = None,
    ) -> SecurityOptions:
        """Options whose body limits are the [limits] table's."""
        return cls(
            trusted_proxies=trusted_proxies,
            secure_cookies=secure_cookies,
            default_body_limit=limits.max_body_bytes,
            route_body_limits=route_body_limits(limits),
        )

    def trusted(self, address: str) -> bool:
        """True when `address` is one of the configured front proxies."""
        if not self._networks:
            return False
        verdict = self._verdicts.get(address)
        if verdict is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                verdict = False
            else:
                verdict = any(ip in network for network in self._networks)
            if len(self._verdicts) >= MAX_REMEMBERED_ADDRESSES:
                self._verdicts.clear()
            self._verdicts[address] = verdict
        return verdict

    def client_address(self, peer: str, forwarded_for: str | None) -> str:
        """The peer, or behind a trusted proxy the last X-Forwarded-For hop that is no proxy."""
        if not forwarded_for or not self.trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop if _is_ip(hop) else peer
        return hops[0] if hops and _is_ip(hops[0]) else peer

    def body_limit(self, method: str, path: str) -> int:
        """The largest request body this route accepts."""
        for route_method, pattern, limit in self._patterns:
            if method == route_method and pattern.fullmatch(path):
                return limit
        return self.default_body_limit


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _too_large_detail(limit: int) -> dict[str, str]:
    return {"code": "too_large", "message": f"request body over {limit} bytes"}


class BodyTooLarge(HTTPException):
    """The request body passed its route's limit while being read (FastAPI re-raises these)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_detail(limit), headers={"Connection": "close"})


def _too_large(limit: int) -> tuple[bytes, int]:
    return json.dumps({"detail": _too_large_detail(limit)}).encode(), 413


class SecurityMiddleware:
    """Headers on every response, the client and scheme from trusted proxies, body limits."""

    def __init__(self, app: ASGIApp, options: SecurityOptions) -> None:
        self.app = app
        self.options = options

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Only the three headers read here are decoded (ASGI servers give names in lower case).
        declared = forwarded_for = forwarded_proto = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"x-forwarded-for":
                forwarded_for = value
            elif name == b"x-forwarded-proto":
                forwarded_proto = value
        peer = scope["client"][0] if scope.get("client") else ""
        if self.options.trusted(peer):
            client = self.options.client_address(peer, forwarded_for.decode("latin-1") or None)
            scope["client"] = (client, 0)
            proto = forwarded_proto.decode("latin-1").split(",")[0].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
        https = scope.get("scheme") == "https"
        secure_cookies = self.options.secure_cookies
        if secure_cookies is None:
            secure_cookies = https
        limit = self.options.body_limit(scope["method"], scope["path"])
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _secured(
                    list(message.get("headers", [])), https, secure_cookies
                )
            await send(message)

        async def reject() -> None:
            body, status = _too_large(limit)
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        if declared.isdigit() and int(declared) > limit:
            await reject()
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await reject()


def _secured(headers: list[Any], https: bool, secure_cookies: bool) -> list[Any]:
    """The response headers plus the security headers (a route's own CSP is kept)."""
    names = {bytes(k).lower() for k, _ in headers}
    out: list[Any] = headers
    if secure_cookies and b"set-cookie" in names:
        out = []
        for key, value in headers:
            if bytes(key).lower() == b"set-cookie":
                if b"secure" not in [p.strip().lower() for p in bytes(value).split(b";")]:
                    value = bytes(value) + b"; Secure"
            out.append((key, value))
    defaults = HTTPS_HEADERS if https else DEFAULT_HEADERS
    out.extend((k, v) for k, v in defaults if k not in names)
    return out


def _short(value: Any) -> Any:
    """A validation message or context value, never longer than MAX_ERROR_TEXT characters."""
    if isinstance(value, str):
        return value[:MAX_ERROR_TEXT]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)[:MAX_ERROR_TEXT]


def validation_error_body(errors: Iterable[Any]) -> dict[str, Any]:
    """FastAPI's 422 body without the rejected input (a 200 MB body must not come back)."""
    detail = []
    for error in list(errors)[:20]:
        item: dict[str, Any] = {
            "loc": [_short(part) for part in error.get("loc", ())][:10],
            "msg": _short(error.get("msg", "")),
            "type": _short(error.get("type", "")),
        }
        detail.append(item)
    return {"detail": detail}


async def _validation_failed(_request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(validation_error_body(errors), status_code=422)


def _docs_page(app: FastAPI) -> Callable[[], Response]:
    def docs() -> Response:
        """Swagger UI with its one inline script allowed by hash, not by 'unsafe-inline'."""
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - Swagger UI"
        )
        html = bytes(page.body).decode()
        hashes = " ".join(
            f"'sha256-{b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
            for s in re.findall(r"<script>(.*?)</script>", html, flags=re.S)
        )
        policy = CSP.replace(
            "script-src 'self'", f"script-src 'self' https://cdn.jsdelivr.net {hashes}"
        ).replace("style-src 'self'", "style-src 'self' https://cdn.jsdelivr.net")
        policy = policy.replace(
            "img-src 'self' data:", "img-src 'self' data: https://fastapi.tiangolo.com"
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    return docs


def install(app: FastAPI, options: SecurityOptions) -> None:
    """Add the middleware (call last: outermost), the 422 handler and the hashed docs page."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_api_route("/docs", _docs_page(app), include_in_schema=False, methods=["GET"])
    app.add_middleware(SecurityMiddleware, options=options)
