"""An app server's stop (SIGTERM) drains (central_server/drain.py): it refuses new connections,
keeps its idle kept-alive ones open for nginx to close, and answers a request arriving on one of
them whole, with `Connection: close`, before it exits.

The real `anjungan central` process on SQLite, over raw sockets on loopback (what nginx does on
its upstream connections); tests/central/test_production_restart.py does it through nginx.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from central_server.config import CentralConfig
from central_server.drain import DRAIN_S, accept_queued
from central_server.runtime import uvicorn_options
from tests.central.conftest import wait_for
from tests.central.deployment import ROOT, free_port, provisioning

SYSTEMD_STOP_TIMEOUT_S = 90  # DefaultTimeoutStopSec: the units set no TimeoutStopSec= of their own


def request(method: str, path: str, body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def read_answer(conn: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP answer (head, body) read off a kept-alive connection (Content-Length framed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    assert length, head
    while len(body) < int(length.group(1)):
        chunk = conn.recv(65536)
        assert chunk, "connection closed mid-answer"
        body += chunk
    return head, body


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


def test_a_stopping_app_server_answers_on_its_idle_connections_and_refuses_new_ones(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = tmp_path / "central.toml"
    config.write_text(f"""
[server]
database_url = "sqlite:///{tmp_path / "c.db"}"
background_loops = false
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANJUNGAN_")}
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "kiosk_app", "central", "--config", str(config),
             "--port", str(port)],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        wait_for(lambda: server.poll() is None and not refused(port), timeout_s=120)
        idle = socket.create_connection(("127.0.0.1", port), timeout=30)
        busy_before = socket.create_connection(("127.0.0.1", port), timeout=30)
        with idle, busy_before:
            idle.sendall(request("GET", "/health"))
            head, _ = read_answer(idle)
            assert head.startswith(b"HTTP/1.1 200") and b"connection: close" not in head.lower()

            server.send_signal(signal.SIGTERM)  # systemctl stop / restart
            wait_for(lambda: refused(port), timeout_s=60)  # new connections: refused at once
            assert server.poll() is None, log.read_text()  # ...but it has not gone yet

            # nginx writes a POST onto the idle connection it kept: answered whole, then closed
            idle.sendall(request("POST", "/api/v1/fleet/heartbeat", b"{}"))
            head, body = read_answer(idle)
            assert head.startswith(b"HTTP/1.1 401"), head  # no kiosk token: the route's answer
            assert b"connection: close" in head.lower()
            assert idle.recv(1) == b""  # closed by the server after its answer, not before
            # the other kept-alive connection, never used again: nginx closes it
            assert server.poll() is None, log.read_text()
        assert server.wait(timeout=DRAIN_S + 30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    text = log.read_text()
    # the two held here; a probe of `refused` that reached the listener just before it
    # closed may be counted too (closed by its client, not yet seen closed by the server)
    [open_at_drain] = re.findall(r"draining: (\d+) connection\(s\) open", text)
    assert int(open_at_drain) >= 2, text
    assert "drain ended with" not in text  # every connection was closed by its client


def test_nginx_ends_idle_connections_before_the_drain_ends_before_systemd_kills() -> None:
    """The order the drain relies on: nginx's upstream keepalive_timeout < the drain < uvicorn's
    own keep-alive (so uvicorn closes no idle connection first); the drain and the requests
    still running fit in systemd's stop timeout."""
    prov = provisioning()
    site = prov.nginx_site(
        server_name="anjungan.example", app_ports=(8001, 8002), cert=Path("c"), key=Path("k")
    )
    upstream = site[site.index("upstream anjungan_central") :]
    upstream = upstream[: upstream.index("}")]
    [seconds] = re.findall(r"keepalive_timeout (\d+)s;", upstream)
    options = uvicorn_options(CentralConfig())
    assert int(seconds) < DRAIN_S < options["timeout_keep_alive"]
    assert DRAIN_S + options["timeout_graceful_shutdown"] < SYSTEMD_STOP_TIMEOUT_S
    unit = (ROOT / "systemd" / "anjungan-central@.service").read_text()
    assert "TimeoutStopSec" not in unit


def test_connections_waiting_to_be_accepted_are_accepted_before_the_listener_closes() -> None:
    """Closing a listening socket resets the connections the kernel completed but the server
    had not accepted yet, with the request nginx may have written onto them already."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    waiting = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    for n, conn in enumerate(waiting):
        conn.sendall(request("POST", f"/{n}"))
    accepted = accept_queued(listener)
    assert listener.fileno() == -1 and refused(port)
    assert len(accepted) == 3
    for conn in accepted:
        with conn:
            conn.setblocking(True)
            assert conn.recv(1024).startswith(b"POST /")
    for conn in waiting:
        conn.close()
