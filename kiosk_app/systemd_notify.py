"""systemd's notify protocol (READY=1, WATCHDOG=1) over $NOTIFY_SOCKET; a no-op elsewhere."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


_unsent = 0  # notifications not sent since the last one that was (one warning a streak)


def notify(message: str, wait_s: float = 0.0) -> bool:
    """Send `message` to systemd; False when not run by systemd, the socket is gone, or the
    receiver's queue stays full for `wait_s` (0: not at all).

    A Unix datagram socket makes a sender wait while the receiver's queue is full (ten
    datagrams by default, net.unix.max_dgram_qlen). The app sends from Kivy's main loop, which
    must never wait on a receiver that is not reading (the relay or systemd busy, a test that
    has not read yet): a ping that cannot go now is dropped (the next one follows), and READY=1
    is sent again by its caller.
    """
    global _unsent
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            if wait_s > 0:
                sock.settimeout(wait_s)
                sock.sendall(message.encode())
            else:
                sock.send(message.encode(), socket.MSG_DONTWAIT)
    except (BlockingIOError, TimeoutError):
        if not _unsent:
            log.warning(
                "systemd notify %r not sent: the receiver at %s is not reading (its queue is "
                "full); later notifications are dropped until it reads again",
                message,
                address,
            )
        _unsent += 1
        return False
    except OSError as exc:
        if not _unsent:
            log.warning("systemd notify %r failed: %s", message, exc)
        _unsent += 1
        return False
    if _unsent:
        log.info("systemd notify works again (%d notifications were not sent)", _unsent)
        _unsent = 0
    return True


def watchdog_interval_s() -> float | None:
    """How often to feed the watchdog (half of WatchdogSec), or None when there is none.

    The watchdog is meant for us when systemd started us, or started the compositor (cage) whose
    child we are: WATCHDOG_PID is then our own or our parent's pid, or not set (relay() removes
    it: the app is its grandchild).
    """
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) not in (os.getpid(), os.getppid()):
        return None
    return int(usec) / 2_000_000


RELAY_GRACE_S = 5.0  # how long the relayed session has to end after a stop signal
RELAY_FORWARD_WAIT_S = 5.0  # how long the relay waits for systemd to take one notification
STOPPED = "Tt"  # /proc/<pid>/stat states: stopped by a signal, by a tracer
ZOMBIE = "Z"


class SessionWatch:
    """Whether every process of the relayed session's group (cage, the app, Xwayland) is alive
    and running: a frozen cage with the app still pinging must not feed the watchdog."""

    def __init__(self, pgrp: int) -> None:
        self.pgrp = pgrp
        self._zombies: set[int] = set()  # seen at the previous ping

    def fault(self) -> str | None:
        """Which member is stopped, or a zombie already at the previous ping (one reaped late,
        a printing command's, is no fault); None when all run."""
        members = group_members(self.pgrp)
        zombies = {pid for pid, (_, state, _) in members.items() if state in ZOMBIE}
        lingering, self._zombies = zombies & self._zombies, zombies
        for pid, (name, state, parent) in sorted(members.items()):
            if state in STOPPED:
                return f"{name} (pid {pid}) of the kiosk session is stopped (state {state})"
            if pid in lingering:
                return (
                    f"{name} (pid {pid}, child of pid {parent}) of the kiosk session is a zombie "
                    "its parent has not reaped since the previous ping (the parent is hung)"
                )
        return None


def group_members(pgrp: int) -> dict[int, tuple[str, str, int]]:
    """pid -> (name, state, parent pid) of every process in process group `pgrp` (/proc)."""
    found: dict[int, tuple[str, str, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name, _, rest = text.partition(" (")[2].rpartition(") ")  # the name may hold ") "
        fields = rest.split()
        if len(fields) > 2 and fields[2] == str(pgrp):
            found[int(stat.parent.name)] = (name, fields[0], int(fields[1]))
    return found


def relay(command: list[str]) -> int:
    """Run `command` (cage and the app under it) and pass its notifications on as our own.

    The kiosk unit has PAMName=login (cage needs the logind session for the screen and the
    touch panel); logind then moves the unit's processes into a session scope, and systemd
    accepts notifications only from the unit's main process, which this is: READY=1 and
    WATCHDOG=1 from the app (not in the unit's cgroup any more) would be dropped (systemd
    #6932, "expected behaviour"). So the app sends them to our socket and we send them on,
    WATCHDOG=1 only while the whole session runs (SessionWatch: a frozen cage is a frozen
    screen, whatever the app says), so that systemd restarts the kiosk. A
    stop signal (SIGTERM; the watchdog's SIGABRT) goes to the whole session's process group,
    frozen members included, and we die of it as systemd expects."""
    env = dict(os.environ)
    env.pop("WATCHDOG_PID", None)  # the app is cage's child: the watchdog is its to feed
    if not env.get("NOTIFY_SOCKET"):
        os.execvpe(command[0], command, env)
    folder = Path(env.get("XDG_RUNTIME_DIR") or tempfile.mkdtemp(prefix="anjungan-notify-"))
    path = folder / f"anjungan-notify-{os.getpid()}"
    path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as inbox:
        inbox.bind(str(path))
        env["NOTIFY_SOCKET"] = str(path)
        # its own process group (stopped as one), killed should this process be killed
        child = subprocess.Popen(command, env=env, process_group=0, preexec_fn=_die_with_parent)
        stopped: list[int] = []

        def stop(signum: int, _frame: object) -> None:
            stopped.append(signum)
            for sig in (signum, signal.SIGCONT):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, sig)

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGABRT):
            signal.signal(sig, stop)
        watch = SessionWatch(child.pid)
        threading.Thread(target=_forward, args=(inbox, watch), daemon=True).start()
        deadline = None
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopped and deadline is None:
                    deadline = time.monotonic() + RELAY_GRACE_S
                if deadline is not None and time.monotonic() > deadline:  # no more waiting
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):  # what cage left (Xwayland, a frozen app)
            os.killpg(child.pid, signal.SIGKILL)
        path.unlink(missing_ok=True)
    if stopped:
        signal.signal(stopped[0], signal.SIG_DFL)
        os.kill(os.getpid(), stopped[0])
    return code if code >= 0 else 128 - code


def _forward(inbox: socket.socket, watch: SessionWatch) -> None:
    while True:
        lines = inbox.recv(4096).decode(errors="replace").split("\n")
        if "WATCHDOG=1" in lines:
            fault = watch.fault()
            if fault is not None:
                log.error(
                    "watchdog ping withheld: %s; systemd restarts the kiosk when no ping comes "
                    "within WatchdogSec",
                    fault,
                )
                lines = [line for line in lines if line != "WATCHDOG=1"]
        if any(lines):
            # This thread may wait for systemd (the app's own pings queue up meanwhile).
            notify("\n".join(lines), wait_s=RELAY_FORWARD_WAIT_S)


def _die_with_parent() -> None:
    """SIGKILL this (forked) process when its parent dies: cage must not outlive the relay."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
