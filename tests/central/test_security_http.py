"""Hostile HTTP against the real server: security headers, trusted proxies, body limits, 422s."""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from central_server.embedded import EmbeddedServer, start_embedded
from central_server.security import SecurityOptions
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY
from tests.central.fleet.helpers import enrol, heartbeat_body

MIB = 1024 * 1024


def raw_request(
    base_url: str, method: str, path: str, chunks: Iterable[bytes], headers: dict[str, str]
) -> tuple[int, bytes]:
    """Send a body chunk by chunk (the server may answer and close before the end)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        chunked = "Content-Length" not in headers
        conn.putrequest(method, path)
        extra = {"Transfer-Encoding": "chunked"} if chunked else {}
        for name, value in {**headers, **extra}.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            for chunk in chunks:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            if chunked:
                conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before the end: its answer is still readable
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check_headers(response: requests.Response, *, https: bool = False) -> None:
    """The security headers every response carries."""
    csp = response.headers["Content-Security-Policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert ("Strict-Transport-Security" in response.headers) == https


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health"),
        ("GET", "/login"),
        ("GET", "/fleet/login"),
        ("GET", "/officer/applications"),  # a redirect to the login
        ("GET", "/api/v1/slots?service=akta_kelahiran"),  # 401
        ("GET", "/no-such-page"),  # 404
        ("POST", "/api/v1/kiosks"),  # 422
        ("POST", "/api/v1/fleet/heartbeat"),  # the fast path's own 401
        ("GET", "/openapi.json"),
    ],
)
def test_every_response_has_security_headers(
    server: EmbeddedServer, method: str, path: str
) -> None:
    """Pages, API answers, errors and the heartbeat fast path all carry the headers."""
    r = requests.request(method, server.base_url + path, json={}, timeout=10, allow_redirects=False)
    assert r.status_code < 500
    check_headers(r)


def test_docs_page_allows_its_script_by_hash_only(server: EmbeddedServer) -> None:
    """Swagger UI's inline script is allowed by its hash, not by 'unsafe-inline'."""
    r = requests.get(f"{server.base_url}/docs", timeout=10)
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "'sha256-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]


@pytest.fixture
def proxied_server(database_url: str) -> Iterator[EmbeddedServer]:
    """A server that trusts 127.0.0.1 as its front proxy (nginx on the same host)."""
    options = SecurityOptions(trusted_proxies=("127.0.0.1/32",))
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, security=options
    ) as running:
        yield running


def test_https_from_a_trusted_proxy_gets_hsts_and_secure_cookies(
    proxied_server: EmbeddedServer,
) -> None:
    """X-Forwarded-Proto: https from the proxy: HSTS, and every cookie is Secure."""
    r = requests.get(
        f"{proxied_server.base_url}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10
    )
    check_headers(r, https=True)
    cookies = r.raw.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)
    plain = requests.get(f"{proxied_server.base_url}/login", timeout=10)
    check_headers(plain)
    assert all("Secure" not in c for c in plain.raw.headers.getlist("Set-Cookie"))


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(server: EmbeddedServer) -> None:
    """Without configured proxies nobody can claim https (or another address) by a header."""
    r = requests.get(
        f"{server.base_url}/login",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
        timeout=10,
    )
    check_headers(r)
    assert all("Secure" not in c for c in r.raw.headers.getlist("Set-Cookie"))


def test_client_address_resolution() -> None:
    """The last hop that is not a trusted proxy is the client; spoofed hops before it are not."""
    options = SecurityOptions(trusted_proxies=("10.0.0.0/8", "127.0.0.1"))
    assert options.client_address("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1") == (
        "198.51.100.7"
    )
    assert options.client_address("198.51.100.8", "1.2.3.4") == "198.51.100.8"
    assert options.client_address("127.0.0.1", "garbage") == "127.0.0.1"
    assert options.client_address("127.0.0.1", None) == "127.0.0.1"


def test_a_huge_enrolment_body_is_refused_by_its_length(server: EmbeddedServer) -> None:
    """A declared 200 MB body is refused before a byte of it is read, with a small answer."""
    status, body = raw_request(
        server.base_url,
        "POST",
        "/api/v1/kiosks",
        [b"{" + b" " * 1000],
        {"Content-Type": "application/json", "Content-Length": str(200 * MIB)},
    )
    assert status == 413 and len(body) < 300 and b"too_large" in body


@pytest.mark.parametrize("path", ["/api/v1/kiosks", "/api/v1/fleet/heartbeat"])
def test_a_chunked_body_is_cut_off_while_reading(server: EmbeddedServer, path: str) -> None:
    """No Content-Length: the server counts the bytes and stops at the route's limit (the
    heartbeat fast path, which reads its own body, too)."""
    auth = enrol(server, "kiosk-chunked")
    chunks = (b'{"kiosk_id": "' + b"A" * 64 * 1024 for _ in range(64))  # 4 MiB
    status, body = raw_request(
        server.base_url, "POST", path, chunks, {"Content-Type": "application/json", **auth}
    )
    assert status == 413 and len(body) < 300 and b"AAAA" not in body


def test_an_oversized_application_is_413_and_not_echoed(server: EmbeddedServer) -> None:
    """A 2 MB application body gets a small 413, not its own bytes back."""
    auth = enrol(server, "kiosk-big")
    data = {"f": "X" * (2 * MIB)}
    r = requests.post(
        f"{server.base_url}/api/v1/applications",
        json={"data": data},
        headers={**auth, "Idempotency-Key": "big-application-1"},
        timeout=30,
    )
    assert r.status_code == 413 and len(r.content) < 300


def test_a_scan_over_5_mb_is_refused_while_reading(server: EmbeddedServer) -> None:
    """A chunked 6 MB scan upload is cut off at 5 MB (413)."""
    auth = enrol(server, "kiosk-scan")
    chunks = (b"\x89PNG" + b"\0" * (MIB - 4) for _ in range(6))
    status, body = raw_request(
        server.base_url,
        "PUT",
        "/api/v1/applications/X/scans/ktp",
        chunks,
        {"Content-Type": "image/png", **auth},
    )
    assert status == 413 and len(body) < 300


def test_a_422_never_echoes_the_input(server: EmbeddedServer) -> None:
    """Two 20 KB invalid fields comes back as a short message without their values."""
    marker = "Z" * 20_000
    r = requests.post(
        f"{server.base_url}/api/v1/kiosks",
        json={"kiosk_id": marker, "office_code": OFFICE, "name": marker},
        timeout=10,
    )
    assert r.status_code == 422
    assert len(r.content) < 2000 and "ZZZZZZZZ" not in r.text
    assert all("input" not in error for error in r.json()["detail"])


def test_an_error_quoting_a_long_path_stays_short(server: EmbeddedServer) -> None:
    """A 404 naming an 8,000-character kiosk id does not send the id back."""
    kiosk_id = "K" * 8000
    r = requests.delete(
        f"{server.base_url}/api/v1/kiosks/{kiosk_id}/token",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert r.status_code == 404 and len(r.content) < 500


def test_a_nul_in_a_name_is_a_field_error(server: EmbeddedServer) -> None:
    """Names had a NUL let through (the pattern's one visible character could be it): SQLite
    stored it, PostgreSQL answered 500."""
    enrolled = requests.post(
        f"{server.base_url}/api/v1/kiosks",
        json={"kiosk_id": "kiosk-nul", "office_code": OFFICE, "name": "Lobi\x00"},
        timeout=10,
    )
    assert enrolled.status_code == 422, enrolled.text
    auth = enrol(server, "kiosk-nul")
    r = requests.post(
        f"{server.base_url}/api/v1/applications",
        json={"applicant_name": "BU\x00DI"},
        headers={**auth, "Idempotency-Key": "nul-in-a-name-1"},
        timeout=10,
    )
    assert r.status_code == 422
    assert ["body", "applicant_name"] in [error["loc"] for error in r.json()["detail"]]


def test_a_heartbeats_422_never_echoes_a_long_key(server: EmbeddedServer) -> None:
    """The heartbeat fast path formats its own 422: a 60 KB device name came back whole."""
    auth = enrol(server, "kiosk-long-key")
    key = "K" * 60_000
    for field, value in (("devices", {key: {"state": "ok"}}), ("leases", {key: 1})):
        r = requests.post(
            f"{server.base_url}/api/v1/fleet/heartbeat",
            json=heartbeat_body(**{field: value}),
            headers=auth,
            timeout=10,
        )
        assert r.status_code == 422 and len(r.content) < 2000, len(r.content)
        assert r.json()["detail"][0]["loc"][:2] == ["body", field]  # still says where


def test_a_heartbeat_over_the_fast_paths_own_limit_gets_the_documented_413(
    database_url: str,
) -> None:
    """With [limits] max_body_bytes above 64 KiB the fast path's own cap answers; its 413 was
    {"detail": "Request body too large"}, not the documented {"detail": {code, message}}."""
    options = SecurityOptions(default_body_limit=256 * 1024)
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, security=options
    ) as server:
        auth = enrol(server, "kiosk-roomy")
        body = heartbeat_body(app_version="1" * (100 * 1024))
        r = requests.post(
            f"{server.base_url}/api/v1/fleet/heartbeat", json=body, headers=auth, timeout=10
        )
    assert r.status_code == 413
    assert r.json()["detail"]["code"] == "too_large" and len(r.content) < 300
