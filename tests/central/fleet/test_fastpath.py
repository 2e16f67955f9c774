"""The heartbeat's lean ASGI path keeps the documented contract; serve.py spreads connections."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from central_server.embedded import EmbeddedServer
from central_server.fleet.fastpath import MAX_BODY_BYTES
from central_server.serve import reuseport_socket
from tests.central.fleet.helpers import beat, heartbeat_body, kiosks

ROOT = Path(__file__).resolve().parents[3]
URL = "/api/v1/fleet/heartbeat"


def post(server: EmbeddedServer, data: bytes, **headers: str) -> requests.Response:
    """POST raw bytes to the heartbeat path."""
    return requests.post(f"{server.base_url}{URL}", data=data, headers=headers, timeout=10)


def test_answers_match_the_documented_schema(server: EmbeddedServer) -> None:
    r = requests.post(
        f"{server.base_url}/api/v1/kiosks",
        json={"kiosk_id": "fast-1", "office_code": "3517", "name": "Lobi"},
        timeout=10,
    )
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    ok = beat(server, auth)
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"] == "application/json"
    assert int(ok.headers["content-length"]) == len(ok.content)
    assert set(ok.json()) == {"server_time", "next_heartbeat_s", "commands"}
    assert kiosks(server)["fast-1"]["status"] == "online"

    body = json.dumps(heartbeat_body()).encode()
    missing = post(server, body, **{"Content-Type": "application/json"})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["detail"]["code"] == "unauthorized"
    forged = post(server, body, Authorization="Bearer not-a-token")
    assert forged.status_code == 401

    broken = post(server, b'{"app_version": ', **auth, **{"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    invalid = post(
        server,
        json.dumps(heartbeat_body(disk_total_bytes=0)).encode(),
        **auth,
        **{"Content-Type": "application/json"},
    )
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "disk_total_bytes"]
    as_text = post(server, body, **auth, **{"Content-Type": "text/plain"})
    assert as_text.status_code == 422
    empty = post(server, b"", **auth)
    assert empty.status_code == 422 and empty.json()["detail"][0]["type"] == "missing"
    huge = post(server, b" " * (MAX_BODY_BYTES + 1), **auth)
    assert huge.status_code == 413
    assert requests.get(f"{server.base_url}{URL}", timeout=10).status_code == 405  # router


def _connections_per_pid(port: int) -> dict[str, int]:
    """Accepted connections on 127.0.0.1:port per server process (from `ss`)."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, timeout=10).stdout
    counts: dict[str, int] = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[3] == f"127.0.0.1:{port}" and "pid=" in line:
            pid = line.split("pid=")[1].split(",")[0]
            counts[pid] = counts.get(pid, 0) + 1
    return counts


def test_reuseport_workers_share_connections(tmp_path: Path) -> None:
    if subprocess.run(["which", "ss"], capture_output=True, check=False).returncode != 0:
        pytest.skip("ss (iproute2) not installed")
    probe = reuseport_socket("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    env = dict(os.environ, ANJUNGAN_DB=f"sqlite:///{tmp_path / 'c.db'}", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "central_server.serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env, cwd=tmp_path)
    sockets: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while len(_listeners(port)) < 2:
            assert server.poll() is None, "server exited"
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.2)
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(40)]
        for sock in sockets:  # a request on each makes sure it was accepted
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        counts = _connections_per_pid(port)
        assert len(counts) == 2 and min(counts.values()) >= 5, counts  # both workers serve
    finally:
        for sock in sockets:
            sock.close()
        server.terminate()
        server.wait(timeout=30)


def _listeners(port: int) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10).stdout
    return [line for line in out.splitlines() if f"127.0.0.1:{port} " in line]
