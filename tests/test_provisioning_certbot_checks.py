"""provisioning/central_certbot.py's checks before a request reaches the CA stop with what to
do (SystemExit), not a traceback, whatever answers on port 80 or whatever name was given. The
whole flow against an ACME server: tests/test_provisioning_certbot.py."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.test_provisioning_system import script_module

certbot = script_module("central_certbot.py")


def test_something_else_than_http_on_the_port_stops_with_the_advice(tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def not_http() -> None:
        peer, _ = listener.accept()
        with peer:
            peer.recv(4096)
            peer.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=not_http, daemon=True)
    thread.start()
    try:
        with pytest.raises(SystemExit, match="BadStatusLine") as stop:
            certbot.check_challenge_path("anjungan.example.go.id", tmp_path, port=port)
    finally:
        thread.join(timeout=10)
        listener.close()
    assert "does not serve" in str(stop.value) and certbot.UNCHANGED in str(stop.value)
    assert not any((tmp_path / certbot.CHALLENGES).iterdir())  # the probe removed


def test_a_name_dns_cannot_hold_stops_with_the_advice() -> None:
    with pytest.raises(SystemExit, match="has no address in DNS") as stop:
        certbot.check_dns("anjungan..example.go.id")
    assert certbot.UNCHANGED in str(stop.value)
