"""Under systemd the running app says READY=1 and feeds the watchdog from its main loop."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_app_notifies_ready_and_feeds_the_watchdog(
    start_kiosk: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # feed every 0.1 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    received: list[bytes] = []

    def drain() -> list[bytes]:
        while True:
            try:
                received.append(listener.recv(64))
            except BlockingIOError:
                return received

    try:
        pilot = start_kiosk()
        pilot.wait_until(lambda: b"READY=1" in drain(), what="READY=1")
        pilot.wait_until(lambda: drain().count(b"WATCHDOG=1") >= 3, what="three feeds")
    finally:
        listener.close()
