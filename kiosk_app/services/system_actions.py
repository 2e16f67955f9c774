"""Restart and reboot, the remote commands that end the process running them, and how the kiosk
tells afterwards whether they happened.

A restart or reboot cannot report its own success: the process asking for it ends. So the
health reporter never reports one as done when it asks for it. Before acting it records the
command with this machine's boot id (/proc/sys/kernel/random/boot_id, new at every boot) and
this process's identity: a random id drawn when the process starts (INSTANCE, in memory only,
drawn again in a forked child), with its pid and start time from /proc for the technician. A
pid alone is no identity (the restarted app can get the same one: a container, a reboot), and
/proc/self/stat may be unreadable; the random id is new in every process whatever /proc says,
and the process that asked recognises its own. /proc is still read for the boot id (a reboot
against a restart) and the times the technician reads; then:

- the request fails (systemctl missing, refused by polkit, a non-zero exit): the command's
  result is that failure, with systemctl's own words;
- systemctl does not answer within its timeout: it is stopped, but a job systemd already
  queued may still run, so the command waits as if taken (below) and the log says so;
- the request is taken: the first heartbeat of the app that comes back compares (`verdict`):
  a new boot id is a reboot done, a new process a restart done; a reboot whose boot id did not
  change after the app came back did not happen. While the process that asked still runs, the
  command waits; past CONFIRM_WITHIN it failed (systemd did not act on it), counted by that
  process's monotonic clock (health.py), which a wall clock set forward or back does not move.
  Without a boot id (unreadable before or after) a restart is confirmed by the new process
  alone, and a reboot cannot be: it is reported failed, "not known whether the machine
  rebooted", with an ERROR line, rather than done on no evidence.

Until then the server shows the command as received (the heartbeat names it), and only the
one true result is ever reported: an older server, which takes one result per command, works.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

SYSTEM_KINDS = ("restart_app", "reboot")  # the commands that end this process
PROC = Path("/proc")
BOOT_ID = Path("sys/kernel/random/boot_id")  # under PROC
SYSTEMCTL_TIMEOUT_S = 10.0
# The process that asked for a restart or reboot still running this long after: systemd did
# not act on it (a unit stops within its TimeoutStopSec, 90 s by default).
CONFIRM_WITHIN = timedelta(minutes=5)
UNKNOWN = "unknown"
INSTANCE = secrets.token_hex(8)  # this process's identity (never reused: 64 random bits)


def _new_instance() -> None:
    global INSTANCE
    INSTANCE = secrets.token_hex(8)


os.register_at_fork(after_in_child=_new_instance)  # a forked child is another process


class SystemActionError(Exception):
    """A restart or reboot the system refused or could not be asked for; says why, precisely."""


class SystemActionUnanswered(SystemActionError):
    """systemctl did not answer in time. Killing it does not cancel a job systemd has already
    queued, so the restart or reboot may still happen: the next start tells (`verdict`)."""


@dataclass(frozen=True)
class Incarnation:
    """Which boot of the machine and which run of the kiosk app this is."""

    boot_id: str
    process: str  # "pid@start ticks#INSTANCE": the random INSTANCE tells processes apart
    booted_at: str = ""  # ISO UTC, for the technician
    started_at: str = ""


class SystemActions(Protocol):
    """What the kiosk's operating system does for remote commands."""

    def restart_app(self) -> None:
        """Restart the kiosk application (SystemActionError: not done, and why)."""

    def reboot(self) -> None:
        """Reboot the machine (SystemActionError: not done, and why)."""

    def incarnation(self) -> Incarnation:
        """This boot and this process, to tell afterwards whether they changed."""


class SystemdActions:
    """Real actions on a provisioned kiosk: the app runs as a systemd unit."""

    def __init__(
        self,
        unit: str = "anjungan-kiosk.service",
        *,
        timeout_s: float = SYSTEMCTL_TIMEOUT_S,
        proc: Path = PROC,
        boot_id: Path | None = None,
    ) -> None:
        self.unit = unit
        self.timeout_s = timeout_s
        self.proc = proc
        self.boot_id = boot_id or proc / BOOT_ID

    def restart_app(self) -> None:
        """Ask systemd to restart the kiosk unit (this process ends)."""
        self._systemctl("restart", "--no-block", self.unit)

    def reboot(self) -> None:
        """Ask systemd to reboot the machine."""
        self._systemctl("reboot")

    def incarnation(self) -> Incarnation:
        """The boot id and this process's pid and start time from /proc ("unknown"
        unreadable), and INSTANCE, this process's identity whatever /proc says."""
        try:
            boot_id = self.boot_id.read_text().strip() or UNKNOWN
        except OSError as exc:
            log.warning("system: boot id unreadable: %s", exc)
            boot_id = UNKNOWN
        booted_at, started_at, ticks = "", "", UNKNOWN
        try:
            btime = next(
                int(line.split()[1])
                for line in (self.proc / "stat").read_text().splitlines()
                if line.startswith("btime ")
            )
            # the fields after the command name, which may hold spaces and parentheses
            ticks = (self.proc / "self" / "stat").read_text().rsplit(")", 1)[1].split()[19]
            started = btime + int(ticks) / os.sysconf("SC_CLK_TCK")
            booted_at = _iso(datetime.fromtimestamp(btime, UTC))
            started_at = _iso(datetime.fromtimestamp(started, UTC))
        except (OSError, ValueError, IndexError, StopIteration) as exc:
            log.warning("system: process start time unreadable: %s", exc)
        return Incarnation(boot_id, f"{os.getpid()}@{ticks}#{INSTANCE}", booted_at, started_at)

    def _systemctl(self, *args: str) -> None:
        command = " ".join(("systemctl", *args))
        try:
            done = subprocess.run(
                ["systemctl", *args],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SystemActionUnanswered(
                f"`{command}` did not answer within {self.timeout_s:g} s (stopped)"
                + _said(exc.stderr)
            ) from exc
        except OSError as exc:  # systemctl missing or not executable
            raise SystemActionError(f"`{command}` could not run: {exc}") from exc
        if done.returncode != 0:
            how = (
                f"was killed by signal {-done.returncode}"
                if done.returncode < 0
                else f"exited {done.returncode}"
            )
            raise SystemActionError(f"`{command}` {how}" + _said(done.stderr or done.stdout))


def _said(output: str | bytes | None) -> str:
    """What a command printed, on one line (its end: the cause comes last)."""
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    text = " ".join((output or "").split())
    return f": {text[-500:]}" if text else ""


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class RecordingSystemActions:
    """Records restart and reboot requests instead of doing them (tests, simulators), as a
    simulated machine: a reboot is a new boot and a new run of the app, a restart a new run."""

    calls: list[str] = field(default_factory=list)
    boots: int = 1
    runs: int = 1

    def restart_app(self) -> None:
        """Record a restart."""
        self.calls.append("restart_app")
        self.runs += 1

    def reboot(self) -> None:
        """Record a reboot."""
        self.calls.append("reboot")
        self.boots += 1
        self.runs += 1

    def incarnation(self) -> Incarnation:
        """The simulated boot and run."""
        return Incarnation(f"simulated-boot-{self.boots}", f"simulated-run-{self.runs}")


def verdict(
    kind: str, before: Incarnation, acted_at: str, now: Incarnation, at: datetime
) -> tuple[bool, str] | None:
    """The result of restart or reboot `kind` asked for by `before` at `acted_at` (ISO), seen
    from `now` at `at`: (ok, detail), or None while the process that asked may still end."""
    if now.process == before.process:
        try:
            waited = at - datetime.fromisoformat(acted_at)
        except ValueError:  # no time recorded: cannot wait for it
            waited = CONFIRM_WITHIN
        if waited < CONFIRM_WITHIN:
            return None
        what = "the machine did not reboot" if kind == "reboot" else "the app did not restart"
        return False, (
            f"{kind} requested at {acted_at} but {what}: the kiosk app that asked was still "
            f"running {int(waited.total_seconds())} s later (see journalctl on the kiosk)"
        )
    if UNKNOWN in (now.boot_id, before.boot_id):
        since = f" at {now.started_at}" if now.started_at else ""
        if kind == "reboot":
            return False, (
                f"reboot requested at {acted_at}, not confirmed: the kiosk app came back (a new "
                f"process{since}) but the kiosk cannot read its boot id ({PROC / BOOT_ID}), "
                "so whether the machine rebooted is not known (check `uptime` on the kiosk)"
            )
        return True, (
            f"restarted{since} (confirmed: a new app process; whether the machine also "
            "rebooted is not known, its boot id is unreadable)"
        )
    if now.boot_id != before.boot_id:
        since = f" at {now.booted_at}" if now.booted_at else ""
        if kind == "reboot":
            return True, f"rebooted{since} (confirmed: a new boot id)"
        return True, f"restarted: the machine rebooted{since} (a new boot id)"
    if kind == "reboot":
        since = f" at {now.started_at}" if now.started_at else ""
        return False, (
            f"reboot requested at {acted_at} but the machine did not reboot: the kiosk app "
            f"restarted{since} with the boot id unchanged"
        )
    since = f" at {now.started_at}" if now.started_at else ""
    return True, f"restarted{since} (confirmed: a new app process)"
