"""Under systemd the running app says READY=1 and feeds the watchdog from its main loop."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def notify_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[socket.socket, Callable[[], list[bytes]]]]:
    """systemd's side: a bound notify socket the app is told of, and `drain()`, which reads
    what has come and returns everything read so far."""
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
        yield listener, drain
    finally:
        listener.close()


def test_app_notifies_ready_and_feeds_the_watchdog(
    start_kiosk: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with notify_socket(tmp_path, monkeypatch) as (_, drain):
        pilot = start_kiosk()
        pilot.wait_until(lambda: b"READY=1" in drain(), what="READY=1")
        pilot.wait_until(lambda: drain().count(b"WATCHDOG=1") >= 3, what="three feeds")


def test_the_app_runs_on_while_systemd_is_not_reading_and_says_ready_once_it_does(
    start_kiosk: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd (or the relay under cage) busy: its queue stays full. The app once waited in
    Kivy's main loop for room there (a frozen kiosk; the ui part hung in CI): now it builds
    and shows its screens meanwhile, its READY=1 comes as soon as systemd reads, and the
    pings go on (one that could not be sent once unscheduled the feeding for good)."""
    with notify_socket(tmp_path, monkeypatch) as (listener, drain):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as filler:
            filler.connect(listener.getsockname())
            try:
                while True:
                    filler.send(b"X", socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass  # full
        launched, rescued = threading.Event(), threading.Event()

        def rescue() -> None:
            """Should the app wait for room after all, make room (so the test fails, not hangs)."""
            if not launched.wait(120):
                rescued.set()
                while not launched.wait(0.05):
                    drain()

        threading.Thread(target=rescue, daemon=True).start()
        try:
            pilot = start_kiosk()  # every screen built, one a frame: many frames, queue full
        finally:
            launched.set()
        assert not rescued.is_set(), "the app's main loop waited for systemd to read"
        assert b"READY=1" not in drain()  # only the filler's datagrams were there to read
        pilot.wait_until(lambda: b"READY=1" in drain(), what="READY=1 once systemd reads")
        pilot.wait_until(lambda: drain().count(b"WATCHDOG=1") >= 3, what="three feeds")
