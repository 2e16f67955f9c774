"""Hostile and faulty HTTP through the production shape (nginx -> app servers -> PostgreSQL)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.central.deployment import deployed, needs_a_deployment
from tests.central.fleet.helpers import heartbeat_body

pytestmark = needs_a_deployment
ROUNDS = 8  # under [limits] print_lookup_burst (10)


def test_an_app_servers_500_reaches_the_client_and_the_connection_keeps_working(
    tmp_path: Path,
) -> None:
    """A route that raises (here: its table is gone) answers the app's own 500 through nginx,
    and the next requests on the same connection work: uvicorn closed the kept-alive upstream
    connection after the unhandled exception, nginx reused it for the next POST (which it does
    not retry on another connection) and answered 502."""
    with deployed(tmp_path, apps=1) as deployment:
        auth = {"Authorization": f"Bearer {deployment.enrol('KIOSK-FAULT')}"}
        deployment.execute("ALTER TABLE applications RENAME TO applications_away")
        with deployment.session() as session:

            def post(path: str, body: dict[str, Any]) -> requests.Response:
                return session.post(
                    f"{deployment.base_url}{path}", json=body, headers=auth, timeout=10
                )

            for n in range(ROUNDS):
                failed = post("/api/v1/card-holder/applications", {"nik": "3517081208850001"})
                assert failed.status_code == 500, (n, failed.status_code, failed.text)
                assert failed.json()["detail"]["code"] == "server_error"
                assert "Traceback" not in failed.text and "applications" not in failed.text
                beat = post("/api/v1/fleet/heartbeat", heartbeat_body())
                assert beat.status_code == 200, (n, beat.status_code, beat.text)
            # the heartbeat fast path's own fault: the same 500, the connection kept
            deployment.execute("ALTER TABLE kiosk_states RENAME TO kiosk_states_away")
            beat = post("/api/v1/fleet/heartbeat", heartbeat_body())
            assert beat.status_code == 500 and beat.json()["detail"]["code"] == "server_error"
            deployment.execute("ALTER TABLE kiosk_states_away RENAME TO kiosk_states")
            beat = post("/api/v1/fleet/heartbeat", heartbeat_body())
            assert beat.status_code == 200, beat.text
        log = deployment.log_of(deployment.apps[0])
        assert "UndefinedTable" in log  # the technician's traceback stays in the log


def test_nginx_answers_no_host_name_but_the_sites_own(tmp_path: Path) -> None:
    """An unknown Host (or none) gets no answer from nginx at all (444), over TLS and plain
    HTTP; the site's own name works, redirects name the site, never the Host sent."""
    with deployed(tmp_path, apps=1) as deployment, deployment.session() as session:
        for url in (f"{deployment.base_url}/health", f"http://127.0.0.1:{deployment.http}/"):
            with pytest.raises(requests.ConnectionError):
                session.get(url, headers={"Host": "evil.example"}, timeout=10)
        for port, tls in ((deployment.https, True), (deployment.http, False)):
            assert bare_request(port, tls, b"GET /health HTTP/1.0\r\n\r\n") == b""
        plain = session.get(
            f"http://127.0.0.1:{deployment.http}/health?x=1", timeout=10, allow_redirects=False
        )
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"{deployment.base_url}/health?x=1"
        slash = session.get(f"{deployment.base_url}/fleet", timeout=10, allow_redirects=False)
        assert (slash.status_code, slash.headers["Location"]) == (307, "/fleet/")
        assert session.get(f"{deployment.base_url}/health", timeout=10).ok


def bare_request(port: int, tls: bool, request: bytes) -> bytes:
    """What nginx answers to `request` sent as it is (no Host header), until it closes."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        conn = context.wrap_socket(raw) if tls else raw
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)
