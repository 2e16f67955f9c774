"""systemd's notify protocol (READY=1, WATCHDOG=1) over $NOTIFY_SOCKET; a no-op elsewhere."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send `message` to systemd; False when not run by systemd or the socket is gone."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("systemd notify %r failed: %s", message, exc)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """How often to feed the watchdog (half of WatchdogSec), or None when there is none.

    The watchdog is meant for us when systemd started us, or started the compositor (cage) whose
    child we are: WATCHDOG_PID is then our own or our parent's pid (the unit has NotifyAccess=all).
    """
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) not in (os.getpid(), os.getppid()):
        return None
    return int(usec) / 2_000_000
