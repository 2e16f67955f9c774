"""The appliance's systemd units verify cleanly, and the app speaks systemd's notify protocol."""

from __future__ import annotations

import configparser
import logging
import shlex
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from kiosk_app.systemd_notify import notify, watchdog_interval_s

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "systemd").glob("*.service")) + sorted((ROOT / "systemd").glob("*.target"))
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def _exec_binaries(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    if "Service" not in parser:
        return []
    return [
        shlex.split(parser["Service"][key])[0].lstrip("-@!+:")
        for key in ("ExecStart", "ExecStartPre", "ExecStop")
        if key in parser["Service"]
    ]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_verifies_without_a_warning(unit: Path, tmp_path: Path) -> None:
    # A throwaway root laid out as a provisioned kiosk: systemd's own units, ours, and the programs
    # the unit starts (stand-ins: verify checks that they exist and are executable).
    shutil.copytree(SYSTEM_UNITS, tmp_path / SYSTEM_UNITS.relative_to("/"), symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    for sibling in UNITS:  # the central units refer to each other (PartOf=, WantedBy=)
        shutil.copy(sibling, tmp_path / "etc/systemd/system" / sibling.name)
    for binary in _exec_binaries(unit):
        stand_in = tmp_path / binary.lstrip("/")
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    name = unit.name.replace("@.", "@8001.")  # a template is verified through an instance
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={tmp_path}", name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_kiosk_unit_is_a_watched_notify_service_that_restarts() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(ROOT / "systemd/anjungan-kiosk.service")
    service = parser["Service"]
    # the relay is the main process (tests/test_systemd_kiosk.py: why, under the real systemd)
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert int(service["WatchdogSec"]) > 0 and service["Restart"] == "always"
    assert service["ExecStart"].startswith("/opt/anjungan/.venv/bin/anjungan notify-relay -- ")
    assert "cage" in service["ExecStart"] and "anjungan kiosk" in service["ExecStart"]


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(ROOT / "systemd" / name)
    return parser["Service"]


def test_central_app_servers_and_worker_are_separate_units_of_one_target() -> None:
    app, worker = _service("anjungan-central@.service"), _service("anjungan-central-worker.service")
    assert "--port %i" in app["ExecStart"] and "--worker" not in app["ExecStart"]
    assert "--worker" in worker["ExecStart"]
    for service in (app, worker):
        assert "--config /etc/anjungan/central.toml" in service["ExecStart"]
        assert service["Restart"] == "always" and service["User"] == "anjungan-central"
    assert not (ROOT / "systemd/anjungan-central.service").exists()  # no one-unit-does-all


def test_notify_reaches_systemd_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1")
        assert listener.recv(64) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert notify("WATCHDOG=1") is False  # not under systemd: nothing to do


def test_notify_never_waits_on_a_receiver_that_is_not_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The app pings from Kivy's main loop: with the receiver's queue full (it is not reading),
    a send must come back at once (False), not wait until it reads (the main loop frozen)."""
    caplog.set_level(logging.INFO, "kiosk_app.systemd_notify")
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        sent: list[bool] = []
        pinging = threading.Thread(
            target=lambda: sent.extend(notify("WATCHDOG=1") for _ in range(30)), daemon=True
        )
        pinging.start()
        pinging.join(30)  # a hang guard: 30 sends take milliseconds unless one waits
        assert not pinging.is_alive(), f"notify waited on a full queue after {len(sent)} sends"
        queue_length = sent.count(True)
        dropped = 30 - queue_length
        assert 0 < queue_length < 30 and sent == [True] * queue_length + [False] * dropped
        warnings = [r for r in caplog.records if "not reading" in r.getMessage()]
        assert len(warnings) == 1, "one warning a streak, not one a ping"
        assert notify("READY=1", wait_s=0.2) is False  # the relay's bounded wait, then no
        listener.settimeout(5)
        for _ in range(queue_length):
            assert listener.recv(64) == b"WATCHDOG=1"
        assert notify("READY=1")  # read again: sent, and the streak is over
        assert listener.recv(64) == b"READY=1"
        again = f"works again ({dropped + 1} notifications were not sent)"
        assert any(again in r.getMessage() for r in caplog.records)


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getppid()))  # cage started us: still ours
    assert watchdog_interval_s() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval_s() is None


RELAYED = """
import os, subprocess, sys, time
from kiosk_app.systemd_notify import notify, watchdog_interval_s
frozen = subprocess.Popen(["sleep", "600"])
os.kill(frozen.pid, 19)  # SIGSTOP: a frozen member of the session
with open(sys.argv[1], "w") as out:
    out.write(str(frozen.pid))
notify("READY=1")
notify(f"STATUS=watchdog every {watchdog_interval_s()} s")
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    except (OSError, IndexError):
        return True


def test_the_notify_relay_passes_messages_on_and_stops_its_whole_group(tmp_path: Path) -> None:
    """What the kiosk unit's main process does (kiosk_app.systemd_notify.relay): the app's
    messages leave from the relay, WATCHDOG_PID (the relay's) is not passed down, and a stop
    signal ends every process of the relayed group, a stopped one too; the relay dies of it."""
    import os
    import sys
    import time

    path, pid_file = tmp_path / "notify.sock", tmp_path / "frozen.pid"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NOTIFY_SOCKET": str(path),
        "WATCHDOG_USEC": "30000000",
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        listener.settimeout(60)
        command = [sys.executable, "-m", "kiosk_app", "notify-relay", "--", sys.executable]
        relay = subprocess.Popen([*command, "-c", RELAYED, str(pid_file)], env=env)
        try:
            assert listener.recv(64) == b"READY=1"
            assert listener.recv(64) == b"STATUS=watchdog every 15.0 s"
            frozen = int(pid_file.read_text())
            assert not _gone(frozen)
            relay.send_signal(signal.SIGTERM)
            assert relay.wait(timeout=60) == -signal.SIGTERM
        finally:
            relay.kill()
    deadline = time.monotonic() + 30
    while not _gone(frozen):  # killed (SIGKILL after the grace) and reaped by whoever adopted it
        assert time.monotonic() < deadline, "the frozen member outlived the relay"
        time.sleep(0.1)
    assert not list(tmp_path.glob("anjungan-notify-*"))  # its socket removed


def test_app_servers_load_every_server_secret_as_a_credential() -> None:
    """Each secret central_server/keys.py loads reaches the app servers through LoadCredential=
    from the root-only file provisioning/central.py makes (the service user cannot read it)."""
    from central_server import keys

    unit = (ROOT / "systemd" / "anjungan-central@.service").read_text()
    for name in keys.ENVIRONMENT:
        assert f"LoadCredential={name}:/etc/anjungan/credentials/{name}\n" in unit


SESSION = """
import subprocess, sys, time
from kiosk_app.systemd_notify import notify
member = subprocess.Popen(["sleep", "600"])  # a member of the session, standing for cage
with open(sys.argv[1], "w") as out:
    out.write(str(member.pid))
notify("READY=1")
sys.stdin.readline()
zombie = subprocess.Popen(["true"])  # never waited for: it stays a zombie
with open(sys.argv[2], "w") as out:
    out.write(str(zombie.pid))
time.sleep(600)
"""


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(") ")[2][0]


def _until(pid: int, states: str, *, within_s: float = 30) -> None:
    """Wait until process `pid` is in one of `states` (a signal's effect is not immediate)."""
    import time

    deadline = time.monotonic() + within_s
    while _state(pid) not in states:
        assert time.monotonic() < deadline, f"pid {pid} stayed {_state(pid)}"
        time.sleep(0.05)


def test_the_relay_withholds_watchdog_pings_while_its_session_has_a_stopped_or_zombie_member(
    tmp_path: Path,
) -> None:
    """The app may keep pinging while cage is frozen (the citizen sees a frozen screen): the
    relay passes WATCHDOG=1 on only while every process of its session's group is alive and
    running, says in the log which one is not, and passes pings on again once it runs. A
    zombie withholds the ping when it is still there at the next ping (one its parent reaps
    late, a printing command's, is no fault)."""
    import os
    import sys
    import time

    path, member_file, zombie_file = (tmp_path / n for n in ("notify.sock", "member", "zombie"))
    log_file = tmp_path / "relay.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": str(path)}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as app,
        log_file.open("w") as log,
    ):
        listener.bind(str(path))
        listener.settimeout(60)
        command = [sys.executable, "-m", "kiosk_app", "notify-relay", "--", sys.executable]
        script = ["-c", SESSION, str(member_file), str(zombie_file)]
        relay = subprocess.Popen(
            [*command, *script], env=env, stdin=subprocess.PIPE, stderr=log, text=True
        )
        assert relay.stdin is not None
        try:
            assert listener.recv(64) == b"READY=1"
            inbox = str(tmp_path / f"anjungan-notify-{relay.pid}")

            def passed_on(*messages: str) -> bytes:
                """Send `messages` as the app would; the first the relay passes on."""
                for message in messages:
                    app.sendto(message.encode(), inbox)
                return listener.recv(64)

            assert passed_on("WATCHDOG=1") == b"WATCHDOG=1"
            member = int(member_file.read_text())
            os.kill(member, signal.SIGSTOP)  # cage frozen, the app still pinging
            _until(member, "Tt")
            assert passed_on("WATCHDOG=1", "STATUS=after the ping") == b"STATUS=after the ping"
            os.kill(member, signal.SIGCONT)
            _until(member, "RSD")
            assert passed_on("WATCHDOG=1") == b"WATCHDOG=1"
            relay.stdin.write("zombie\n")
            relay.stdin.flush()
            deadline = time.monotonic() + 30
            while not zombie_file.exists() or not zombie_file.read_text():
                assert time.monotonic() < deadline, "no zombie made"
                time.sleep(0.05)
            zombie = int(zombie_file.read_text())
            _until(zombie, "Z")
            assert passed_on("WATCHDOG=1") == b"WATCHDOG=1"  # first seen: may be reaped yet
            assert passed_on("WATCHDOG=1", "STATUS=still a zombie") == b"STATUS=still a zombie"
            relay.send_signal(signal.SIGTERM)
            assert relay.wait(timeout=60) == -signal.SIGTERM
        finally:
            relay.kill()
    lines = log_file.read_text().splitlines()
    withheld = [line for line in lines if "watchdog ping withheld" in line]
    assert len(withheld) == 2, lines
    assert f"sleep (pid {member}) of the kiosk session is stopped (state T)" in withheld[0]
    assert f"true (pid {zombie}, child of pid " in withheld[1] and "zombie" in withheld[1]
