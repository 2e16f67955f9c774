"""A restart or reboot is reported as it happened, against the real central server over HTTP
(SQLite and PostgreSQL), the kiosk's real health reporter and its real SystemdActions running
a `systemctl` of the test's making first on PATH: refused (a non-zero exit with polkit's words,
an unknown unit) or missing, the command fails with systemctl's own reason on the technician's
dashboard and in a log line, and runs once; asked for and not done, it fails once overdue;
done, the kiosk app that comes back (another process, on real /proc) confirms it, and a reboot
whose boot id did not change is reported as not done; a systemctl hanging past its timeout
leaves it to the app that comes back (systemd may still act on a job it queued); without /proc
and on the same pid (a pid namespace of its own) the app back is still told from the one that
asked, and a reboot without a boot id is not reported done."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient
from kiosk_app.services.command_record import FILE_NAME
from kiosk_app.services.health import HealthReporter
from kiosk_app.services.system_actions import SystemdActions
from tests.central.conftest import OFFICE
from tests.central.fleet.helpers import KIOSK, command, other_process, queue, status_on_page

REFUSED = 'echo "Failed to reboot: Access denied" >&2; echo "(polkit said no)" >&2; exit 1'
UNSHARE = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--"]
NO_UNIT = 'echo "Failed to restart anjungan-kiosk.service: Unit not found." >&2; exit 5'


@dataclass
class Machine:
    """A kiosk's data directory, and a folder first on PATH for its `systemctl`."""

    central: CentralClient
    data_dir: Path
    bin: Path
    boot_id: Path  # the machine's boot id as the kiosk reads it (a reboot writes a new one)

    def systemctl(self, script: str) -> None:
        """Install a `systemctl` that logs its arguments to calls.log, then runs `script`."""
        path = self.bin / "systemctl"
        path.write_text(f'#!/bin/sh\necho "$*" >> {self.calls_log}\n{script}\n')
        path.chmod(0o755)

    @property
    def calls_log(self) -> Path:
        return self.bin.parent / "calls.log"

    def calls(self) -> list[str]:
        return self.calls_log.read_text().splitlines() if self.calls_log.exists() else []

    def reporter(self, timeout_s: float = 10) -> HealthReporter:
        system = SystemdActions(timeout_s=timeout_s, boot_id=self.boot_id)
        return HealthReporter(
            central=self.central,
            devices={},
            app_version="0.2.0",
            data_dir=self.data_dir,
            system=system,
        )


@pytest.fixture
def machine(
    server: EmbeddedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Machine]:
    (tmp_path / "bin").mkdir()
    (tmp_path / "kiosk").mkdir()
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    boot_id = tmp_path / "boot_id"
    boot_id.write_text(f"{uuid.uuid4()}\n")
    central = CentralClient(server.base_url, KIOSK, OFFICE, timeout=10)
    central.register("Lobi")
    try:
        yield Machine(central, tmp_path / "kiosk", tmp_path / "bin", boot_id)
    finally:
        central.close()


@pytest.mark.parametrize(
    ("kind", "script", "reason"),
    [
        (
            "reboot",
            REFUSED,
            "reboot not done: `systemctl reboot` exited 1: Failed to reboot: Access denied "
            "(polkit said no)",
        ),
        (
            "restart_app",
            NO_UNIT,
            "restart_app not done: `systemctl restart --no-block anjungan-kiosk.service` "
            "exited 5: Failed to restart anjungan-kiosk.service: Unit not found.",
        ),
    ],
    ids=["polkit-refusal", "unknown-unit"],
)
def test_a_restart_or_reboot_the_system_refuses_is_reported_failed_with_its_reason(
    server: EmbeddedServer,
    machine: Machine,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    script: str,
    reason: str,
) -> None:
    machine.systemctl(script)
    health = machine.reporter(timeout_s=1)
    cid = queue(server, kind)
    with caplog.at_level(logging.INFO, logger="kiosk_app.services.health"):
        assert [c["id"] for c in health.beat_once()] == [cid]
    failed = command(server, cid)
    assert failed["status"] == "failed", failed
    assert str(failed["result_detail"]).startswith(reason), failed["result_detail"]
    assert reason.split(": ", 1)[1] in status_on_page(server, cid)  # the technician reads it
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"command {cid} ({kind}) not done: `systemctl" in e for e in errors), errors
    assert health.beat_once() == [] and machine.reporter().beat_once() == []
    assert len(machine.calls()) == 1  # asked once, never again
    assert command(server, cid)["status"] == "failed"


def test_a_missing_systemctl_is_reported(
    server: EmbeddedServer, machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(machine.bin))  # no systemctl anywhere on it
    health = machine.reporter()
    cid = queue(server, "reboot")
    assert [c["id"] for c in health.beat_once()] == [cid]
    failed = command(server, cid)
    assert failed["status"] == "failed"
    assert "`systemctl reboot` could not run: [Errno 2]" in str(failed["result_detail"])


def test_a_reboot_asked_for_and_never_done_fails_once_overdue(
    server: EmbeddedServer, machine: Machine
) -> None:
    machine.systemctl("exit 0")  # taken, and nothing happens (a stuck shutdown job)
    health = machine.reporter()
    cid = queue(server, "reboot")
    assert [c["id"] for c in health.beat_once()] == [cid]
    assert health.beat_once() == []
    waiting = command(server, cid)
    assert (waiting["status"], waiting["result_detail"]) == ("received", None)
    assert "Diterima anjungan" in status_on_page(server, cid)

    health.clock = lambda: datetime.now(UTC) + timedelta(days=1)  # NTP set the kiosk's clock
    assert health.beat_once() == []
    assert command(server, cid)["status"] == "received"  # waited by the process's own clock
    health.monotonic = lambda: time.monotonic() + 6 * 60
    assert health.beat_once() == []
    failed = command(server, cid)
    assert failed["status"] == "failed"
    waited = re.search(
        r"but the machine did not reboot: the kiosk app that asked was still running (\d+) s",
        str(failed["result_detail"]),
    )
    assert waited and 360 <= int(waited[1]) < 3600, failed  # not the day the clock moved
    assert machine.calls() == ["reboot"]


def kiosk_process(
    server: EmbeddedServer, machine: Machine, *extra: str, same_pid: bool = False
) -> subprocess.CompletedProcess[str]:
    """The kiosk app as a process of its own: one heartbeat (tests/central/fleet/kiosk_process,
    `extra`: its PROC). `same_pid`: in a pid namespace of its own (unshare, in a user namespace),
    the second process there, as every run: the same pid each time, as a restarted app in a
    container gets."""
    assert machine.central.token is not None
    args = [server.base_url, machine.central.token, str(machine.data_dir), str(machine.boot_id)]
    command = [sys.executable, "-m", "tests.central.fleet.kiosk_process", *args, *extra]
    if same_pid:  # sh as the namespace's pid 1 (which ignores SIGTERM), the kiosk app pid 2
        command = [*UNSHARE, "sh", "-c", '"$@"; exit $?', "sh", *command]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("kind", "reboots", "status", "detail"),
    [
        ("restart_app", False, "done", "restarted at "),
        ("reboot", True, "done", "rebooted at "),
        ("reboot", False, "failed", "but the machine did not reboot: the kiosk app restarted at "),
    ],
    ids=["restart", "reboot", "reboot-not-done"],
)
def test_the_app_that_comes_back_confirms_what_happened(
    server: EmbeddedServer,
    machine: Machine,
    kind: str,
    reboots: bool,
    status: str,
    detail: str,
) -> None:
    # systemd's part: a reboot gives the machine a new boot id; either ends the kiosk app
    new_boot = f"cat /proc/sys/kernel/random/uuid > {machine.boot_id}" if reboots else ":"
    machine.systemctl(f"{new_boot}\nkill -TERM $PPID")
    cid = queue(server, kind)
    asked = kiosk_process(server, machine)
    assert asked.returncode == -15, asked.stderr  # ended by the restart it asked for
    assert asked.stdout == ""
    assert command(server, cid)["status"] == "sent"

    back = kiosk_process(server, machine)  # systemd starts the kiosk app again
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout.splitlines()[-1]) == []  # not run again
    result = command(server, cid)
    assert result["status"] == status, result
    assert detail in str(result["result_detail"]), result["result_detail"]
    unit = "restart --no-block anjungan-kiosk.service"
    assert machine.calls() == ([kind] if kind == "reboot" else [unit])


def test_a_reboot_systemctl_never_answered_is_confirmed_by_the_next_start(
    server: EmbeddedServer, machine: Machine, caplog: pytest.LogCaptureFixture
) -> None:
    """Killing a hanging systemctl does not cancel the reboot job systemd may have queued: the
    command is not reported failed then, and the reboot that follows is reported done."""
    machine.systemctl("exec sleep 60")
    health = machine.reporter(timeout_s=1)
    cid = queue(server, "reboot")
    with caplog.at_level(logging.INFO, logger="kiosk_app.services.health"):
        assert [c["id"] for c in health.beat_once()] == [cid]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        f"command {cid} (reboot) unconfirmed: `systemctl reboot` did not answer within 1 s" in w
        for w in warned
    ), warned
    assert health.beat_once() == []
    waiting = command(server, cid)
    assert (waiting["status"], waiting["result_detail"]) == ("received", None)

    machine.boot_id.write_text(f"{uuid.uuid4()}\n")  # systemd's queued job rebooted the machine
    health.stop()  # the kiosk app that asked ends with it, and lets its command record go
    back = kiosk_process(server, machine)
    assert back.returncode == 0, back.stderr
    result = command(server, cid)
    assert result["status"] == "done", result
    assert "rebooted at " in str(result["result_detail"])
    assert machine.calls() == ["reboot"]


@pytest.mark.skipif(
    subprocess.run([*UNSHARE, "true"], capture_output=True, check=False).returncode != 0,
    reason="no user and pid namespaces here (unshare refused)",
)
@pytest.mark.parametrize(
    ("kind", "boot_id", "status", "detail"),
    [
        ("restart_app", True, "done", "restarted (confirmed: a new app process)"),
        ("reboot", False, "failed", "so whether the machine rebooted is not known"),
    ],
    ids=["restart", "reboot-without-boot-id"],
)
def test_without_proc_the_app_back_on_the_same_pid_is_known_as_a_new_process(
    server: EmbeddedServer,
    machine: Machine,
    tmp_path: Path,
    kind: str,
    boot_id: bool,
    status: str,
    detail: str,
) -> None:
    """/proc/self/stat unreadable and the pid the same after the restart: the process that asked
    is not mistaken for the one back (a restart waiting 5 minutes, then reported failed). With
    no boot id either, a reboot is not reported done on no evidence."""
    no_proc = tmp_path / "no-proc"  # nothing under it: /proc unreadable
    no_proc.mkdir()
    if not boot_id:
        machine.boot_id.unlink()
    machine.systemctl("kill -TERM $PPID")
    cid = queue(server, kind)
    asked = kiosk_process(server, machine, str(no_proc), same_pid=True)
    assert asked.returncode == 128 + 15, asked.stderr  # ended by the restart it asked for
    back = kiosk_process(server, machine, str(no_proc), same_pid=True)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout.splitlines()[-1]) == []  # not run again
    for run in (asked, back):  # the same pid, both times
        assert set(re.findall(r"^(\d+) (?:INFO|WARNING|ERROR) ", run.stderr, re.M)) == {"2"}
    assert "process start time unreadable" in asked.stderr
    result = command(server, cid)
    assert result["status"] == status, result
    assert detail in str(result["result_detail"]), result["result_detail"]
    if not boot_id:
        assert f"2 ERROR health: command {cid} (reboot): reboot requested" in back.stderr


def test_fields_a_newer_version_wrote_in_the_record_are_kept_and_ignored(
    server: EmbeddedServer, machine: Machine
) -> None:
    """A kiosk rolled back after a newer version asked for a reboot: the entry with a field this
    version does not know is not damage (reported "damaged", kept aside), and the field stays."""
    machine.systemctl(f"cat /proc/sys/kernel/random/uuid > {machine.boot_id}\nkill -TERM $PPID")
    cid = queue(server, "reboot")
    assert kiosk_process(server, machine).returncode == -15
    path = machine.data_dir / FILE_NAME
    document = json.loads(path.read_bytes())
    newer = {"acted_boottime_s": 4321.5, "asked_by": {"unit": "anjungan-kiosk.service"}}
    document["commands"][str(cid)] |= newer
    document["format"] = 2
    path.write_text(json.dumps(document))

    back = kiosk_process(server, machine)  # the older version, after the reboot
    assert back.returncode == 0, back.stderr
    result = command(server, cid)
    assert result["status"] == "done" and "rebooted at " in str(result["result_detail"]), result
    assert [p.name for p in machine.data_dir.iterdir() if ".damaged-" in p.name] == []
    written = json.loads(path.read_bytes())
    assert written["format"] == 2
    assert written["commands"][str(cid)]["state"] == "reported"
    assert newer.items() <= written["commands"][str(cid)].items()
    assert machine.calls() == ["reboot"]


def test_a_second_kiosk_process_gives_no_verdict_on_the_restart_another_one_asked_for(
    server: EmbeddedServer, machine: Machine
) -> None:
    """A second copy of the kiosk app on the data directory (started by mistake) while the one
    that asked for a restart still runs: it is another process, but not the app come back; the
    restart is not reported done by it. Once the other is gone, it is the app that came back."""
    cid = queue(server, "restart_app")
    asked = {"kind": "restart_app", "state": "acting", "boot_id": machine.boot_id.read_text()}
    asked |= {"process": "4242@77#0123456789abcdef", "acted_at": datetime.now(UTC).isoformat()}
    machine.data_dir.mkdir(exist_ok=True)
    (machine.data_dir / FILE_NAME).write_text(json.dumps({"commands": {str(cid): asked}}))
    child = other_process(machine.data_dir)  # the one that asked, still running
    try:
        health = machine.reporter()
        assert [c["id"] for c in health.beat_once()] == [cid]  # known: not run
        assert health.beat_once() == []
        assert command(server, cid)["status"] == "received"  # named by the heartbeat, no result
    finally:
        child.kill()
        child.wait()
    assert health.beat_once() == []
    done = command(server, cid)
    assert done["status"] == "done" and "restarted" in str(done["result_detail"]), done
