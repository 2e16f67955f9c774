"""Kiosk health reporter: periodic heartbeats to the central server, and its remote commands."""

from __future__ import annotations

import base64
import io
import json
import logging
import shutil
import tarfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from kiosk_app.central import CentralClient, CentralError
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot, Ticket
from kiosk_app.services.command_record import (
    ACTING,
    FILE_NAME,
    RAN,
    REPORTED,
    CommandRecord,
    Entry,
)
from kiosk_app.services.durable import write_atomically
from kiosk_app.services.result_files import (
    DROPPED,
    FOLDER,
    MAX_SENT_BYTES,
    MAX_STORED_BYTES,
    TOO_LARGE,
    ResultFiles,
)
from kiosk_app.services.system_actions import (
    SYSTEM_KINDS,
    Incarnation,
    SystemActionError,
    SystemActions,
    SystemActionUnanswered,
    SystemdActions,
    verdict,
)
from kiosk_app.services.system_actions import (  # where the kiosk's tests and simulators look
    RecordingSystemActions as RecordingSystemActions,
)

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 60.0
MAX_LOG_BYTES = 2_000_000  # per file: the tail is what a technician needs
THERMAL_ZONES = Path("/sys/class/thermal")
# A command result the server refuses with these keeps being refused: not reported again (404
# not this kiosk's command, 409 already reported, 413 and 422 a bad body).
FINAL_REFUSALS = (404, 409, 413, 422)


class StatusSource(Protocol):
    """Anything with a driver-style status() (every device protocol has one)."""

    def status(self) -> dict[str, str]:
        """Return the device's state for the health report."""


def cpu_temperature(root: Path = THERMAL_ZONES) -> float | None:
    """The hottest readable thermal zone in degrees Celsius, or None (VMs often have none)."""
    readings = []
    for zone in sorted(root.glob("thermal_zone*")):
        try:
            readings.append(int((zone / "temp").read_text().strip()) / 1000.0)
        except (OSError, ValueError):
            continue
    return max(readings) if readings else None


def system_uptime(proc_uptime: Path = Path("/proc/uptime")) -> float:
    """Seconds since boot (falls back to this process's monotonic clock)."""
    try:
        return float(proc_uptime.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return time.monotonic()


def make_test_ticket(kiosk_id: str, now: datetime) -> Ticket:
    """A ticket that obviously is a test print: no citizen data."""
    return Ticket(
        registration_number="TES-00.00.000000.0000",
        queue_number="T-000",
        service=Text("CETAK UJI", "TEST PRINT"),
        masked_name=kiosk_id,
        slot=Slot(date=date.today(), window="-"),
        office_name="Uji printer / printer test",
        qr_payload=f"TEST:{kiosk_id}",
        issued_at=f"{now:%d-%m-%Y %H:%M}",
    )


@dataclass
class HealthReporter:
    """Sends a heartbeat every `interval_s` and runs the commands that come back."""

    central: CentralClient
    devices: Mapping[str, StatusSource]
    app_version: str
    data_dir: Path
    system: SystemActions = field(default_factory=SystemdActions)
    log_dir: Path | None = None
    last_transaction: Callable[[], datetime | None] = lambda: None
    outbox_depth: Callable[[], int] = lambda: 0  # 0 until the offline outbox exists
    held_submissions: Callable[[], int] = lambda: 0  # outbox rows waiting for an attendant
    # slot leases held: lease id -> places booked from each (None: no leases on this kiosk)
    lease_usage: Callable[[], dict[str, int]] | None = None
    print_test_ticket: Callable[[], None] | None = None
    screenshot: Callable[[], bytes] | None = None  # PNG with personal fields blurred (UI)
    apply_config: Callable[[dict[str, Any]], str] | None = None
    check_seal_key: Callable[[], str] | None = None  # LeaseKeeper.check_seal_key
    rotate_seal_key: Callable[[], str] | None = None  # LeaseKeeper.rotate_seal_key
    # CopyOutcomes.clear_refused: refused receipt-copy reports up to a row cleared, or all
    clear_copy_reports: Callable[[int | None], int] | None = None
    # the outbox key: seals the files of results not reported yet (result_files.py); None:
    # they are kept in memory only
    attachment_key: bytes | None = None
    attachment_cap_bytes: int = MAX_STORED_BYTES
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # how long this process has waited for a restart or reboot it asked for: a clock no wall
    # clock change moves (NTP setting the clock of a kiosk without a battery-backed one)
    monotonic: Callable[[], float] = time.monotonic
    interval_s: float = DEFAULT_INTERVAL_S
    first_delay_s: float = 0.0  # let the kiosk finish starting before the first heartbeat
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _soon: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _record: CommandRecord = field(init=False, repr=False)
    _files: ResultFiles = field(init=False, repr=False)  # of results not reported yet
    # restarts and reboots this process asked for: command id -> `monotonic()` then
    _asked: dict[int, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._record = CommandRecord(self.data_dir / FILE_NAME)
        folder = self.data_dir / FOLDER
        self._files = ResultFiles(folder, self.attachment_key, self.attachment_cap_bytes)
        if self._record.owner:  # never the files of the process that holds the record (being
            # written, of results it has not recorded yet)
            self._files.prune({cid for cid in self._record.unreported() if self._awaits_file(cid)})

    def _awaits_file(self, cid: int) -> bool:
        entry = self._record.get(cid)
        return entry is not None and entry.state == RAN and entry.file

    def collect(self) -> dict[str, Any]:
        """The heartbeat body: device states, disk, temperature, uptime, version, queue."""
        devices: dict[str, dict[str, str]] = {}
        for name, device in self.devices.items():
            try:
                state = device.status()
                devices[name] = {str(k)[:40]: str(v)[:200] for k, v in list(state.items())[:20]}
            except Exception as exc:  # a broken driver is itself a report
                log.warning("health: %s status() failed: %s", name, exc)
                devices[name] = {"state": "error", "detail": str(exc)[:200]}
        disk = shutil.disk_usage(self.data_dir)
        last = self.last_transaction()
        report: dict[str, Any] = {}
        if self.lease_usage is not None:
            try:  # the server frees unused leased places once it has the final count
                report["leases"] = self.lease_usage()
            except Exception as exc:  # a damaged lease file: reported as STORAGE health
                log.warning("health: lease usage unavailable: %s", exc)
        return report | {
            "app_version": self.app_version,
            "uptime_s": round(system_uptime(), 1),
            "disk_free_bytes": disk.free,
            "disk_total_bytes": max(disk.total, 1),
            "cpu_temp_c": cpu_temperature(),
            "last_transaction_at": last.isoformat() if last else None,
            "outbox_depth": self.outbox_depth(),
            "held_submissions": self.held_submissions(),
            "devices": devices,
            # commands held without a reported result: the server hands out every other
            # unfinished one again (command_record.py)
            "received_commands": self._record.unreported(),
        }

    def beat_once(self) -> list[dict[str, Any]]:
        """Report the results still unreported, send one heartbeat and run the commands it
        brought (each once: command_record.py); return those commands."""
        if self._record.take_over():  # else the results are the other process's to give
            self._confirm_system_actions()
            self._report_unreported()
        answer = self.central.heartbeat(self.collect())
        next_s = answer.get("next_heartbeat_s")
        if isinstance(next_s, int | float) and 5 <= next_s <= 3600:
            self.interval_s = float(next_s)
        commands = list(answer.get("commands", []))
        for command in commands:
            self.run_command(command)
        return commands

    def run_command(self, command: dict[str, Any]) -> None:
        """Run one command once and report its result (a restart or reboot: once the app is
        back, system_actions.py): a command this kiosk has started before is not run again, its
        result is reported again."""
        cid, kind, args = int(command["id"]), str(command["kind"]), command.get("args") or {}
        created = str(command.get("created_at") or "")
        known = self._record.get(cid, created)
        if known is not None:
            log.info("health: command %d (%s) received again: not run again", cid, kind)
            if known.state in (RAN, REPORTED) and self._send(cid, known):  # reported again
                self._record.reported(cid)
            return
        try:
            acting = None
            if kind in SYSTEM_KINDS:  # this process may end: the next one tells what happened
                now = self.system.incarnation()
                acting = (now.boot_id, now.process, self.clock().isoformat(timespec="seconds"))
            self._record.start(cid, kind, created, acting=acting)
            if acting is not None:
                self._asked[cid] = self.monotonic()
        except OSError as exc:  # unrecorded, a second delivery would run it again
            log.error("health: command %d (%s) not run: cannot record it: %s", cid, kind, exc)
            self._send(cid, Entry(kind, RAN, False, f"not run: the kiosk cannot record it: {exc}"))
            return
        log.info("health: running command %d (%s)", cid, kind)
        try:
            if kind in SYSTEM_KINDS:
                getattr(self.system, kind)()
                log.info(
                    "health: command %d (%s) asked of the system; confirmed when the app is back",
                    cid,
                    kind,
                )
                return
            ok, detail, attachment, content_type = self._execute(kind, args)
        except SystemActionUnanswered as exc:  # it may still happen: the next start tells
            log.warning("health: command %d (%s) unconfirmed: %s", cid, kind, exc)
            return
        except SystemActionError as exc:
            log.error("health: command %d (%s) not done: %s", cid, kind, exc)
            ok, detail, attachment, content_type = False, f"{kind} not done: {exc}", None, None
        except Exception as exc:  # the technician needs to see every failure
            log.warning("health: command %d (%s) failed: %s", cid, kind, exc)
            ok, detail, attachment, content_type = False, f"{type(exc).__name__}: {exc}", None, None
        self._finish(cid, ok, detail, attachment, content_type)

    def _finish(
        self,
        cid: int,
        ok: bool,
        detail: str,
        attachment: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Record a command's result, keep its file (result_files.py), then report it."""
        entry = self._record.ran(cid, ok, detail[:2000], file=attachment is not None)
        if attachment is not None:
            for old in self._files.keep(cid, attachment, content_type):
                self._record.file_lost(old, DROPPED.format(cap=self._files.cap_bytes))
        if self._send(cid, entry):
            self._record.reported(cid)

    def _confirm_system_actions(self) -> None:
        """Give each restart or reboot asked for its result, once the app is back (or the
        process that asked has outlived it: system_actions.verdict)."""
        now: Incarnation | None = None
        for cid in self._record.unreported():
            entry = self._record.get(cid)
            if entry is None or entry.state != ACTING:
                continue
            now = now or self.system.incarnation()
            before = Incarnation(entry.boot_id, entry.process)
            at = self.clock()
            if cid in self._asked:  # asked by this process: waited by its monotonic clock
                try:
                    waited = timedelta(seconds=self.monotonic() - self._asked[cid])
                    at = datetime.fromisoformat(entry.acted_at) + waited
                except ValueError:
                    pass
            found = verdict(entry.kind, before, entry.acted_at, now, at)
            if found is None:
                continue
            ok, detail = found
            (log.info if ok else log.error)("health: command %d (%s): %s", cid, entry.kind, detail)
            self._record.ran(cid, ok, detail[:2000])  # reported next (_report_unreported)

    def _report_unreported(self) -> None:
        """Report again the results the server did not take (lost answers, a server away, an
        interrupted command found at start); stop at the first the server cannot take now."""
        for cid in self._record.unreported():
            entry = self._record.get(cid)
            if entry is None or entry.state != RAN:
                continue
            if not self._send(cid, entry):
                return
            self._record.reported(cid)

    def _execute(
        self, kind: str, args: dict[str, Any]
    ) -> tuple[bool, str, bytes | None, str | None]:
        if kind == "print_test_ticket":
            if self.print_test_ticket is None:
                return False, "no ticket printer service", None, None
            self.print_test_ticket()
            return True, "test ticket printed", None, None
        if kind == "upload_logs":
            bundle, count, left_out = self._log_bundle()
            detail = f"{count} log file(s)" + (
                f", {left_out} older left out (the server takes {MAX_SENT_BYTES} bytes)"
                if left_out
                else ""
            )
            return True, detail, bundle, "application/gzip"
        if kind == "screenshot":
            if self.screenshot is None:
                return False, "screenshot not available on this kiosk", None, None
            return True, "screenshot (personal fields blurred)", self.screenshot(), "image/png"
        if kind == "check_seal_key":
            if self.check_seal_key is None:
                return False, "no seal key on this kiosk", None, None
            return True, self.check_seal_key(), None, None
        if kind == "rotate_seal_key":
            if self.rotate_seal_key is None:
                return False, "no seal key on this kiosk", None, None
            done = self.rotate_seal_key()
            self.beat_soon()  # the fleet sees the new key in the next heartbeat, at once
            return True, done, None, None
        if kind == "clear_copy_reports":
            if self.clear_copy_reports is None:
                return False, "no receipt-copy reports on this kiosk", None, None
            through = args.get("through")
            if through is not None and (type(through) is not int or through < 0):
                return False, "clear_copy_reports: through must be a row number", None, None
            cleared = self.clear_copy_reports(through)
            self.beat_soon()  # the fleet's alert clears with the next heartbeat, at once
            return True, f"{cleared} refused receipt-copy report(s) cleared", None, None
        if kind == "push_config":
            config = args.get("config")
            if not isinstance(config, dict):
                return False, 'push_config needs args {"config": {...}}', None, None
            apply = self.apply_config or self._save_config
            return True, apply(config), None, None
        return False, f"unknown command {kind}", None, None

    def _save_config(self, config: dict[str, Any]) -> str:
        """Default push_config: keep the pushed settings for the next start."""
        target = self.data_dir / "config.pushed.json"
        text = json.dumps(config, indent=2, sort_keys=True)
        write_atomically(target, text.encode("utf-8"))  # a power cut leaves old or new
        return f"saved to {target.name}; applied at the next restart"

    def _log_bundle(self) -> tuple[bytes, int, int]:
        """A tar.gz of the tails of the kiosk's *.log files, within what the server takes (the
        oldest files left out until it fits); (bundle, files in it, files left out)."""
        paths = [p for p in (self.log_dir or self.data_dir).glob("*.log*") if p.is_file()]
        paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)  # newest first
        count = len(paths)
        while True:
            bundle = self._tar(sorted(paths[:count]))
            if len(bundle) <= MAX_SENT_BYTES or count == 0:
                return bundle, count, len(paths) - count
            # fewer files, in proportion to the excess (a rebuild per file is slow)
            count = min(count - 1, count * MAX_SENT_BYTES // len(bundle))

    @staticmethod
    def _tar(paths: list[Path]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in paths:
                with path.open("rb") as handle:
                    handle.seek(max(0, path.stat().st_size - MAX_LOG_BYTES))
                    data = handle.read()
                info = tarfile.TarInfo(path.name)
                info.size, info.mtime = len(data), int(path.stat().st_mtime)
                tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def _send(self, cid: int, entry: Entry) -> bool:
        """Report a command's result; True when the server has it (or refused it for good)."""
        body: dict[str, Any] = {"ok": entry.ok, "detail": entry.detail[:2000]}
        if entry.file:
            kept = self._files.get(cid)
            if not isinstance(kept, str) and len(kept[0]) > MAX_SENT_BYTES:  # never taken
                kept = TOO_LARGE.format(size=len(kept[0]), most=MAX_SENT_BYTES)
            if isinstance(kept, str):  # lost with a restart, damaged on disk, too large
                body["detail"] = f"{entry.detail[:1700]}; {kept}"
                self._record.file_lost(cid, kept)
            else:
                body["attachment_b64"] = base64.b64encode(kept[0]).decode()
                body["attachment_type"] = kept[1]
        fault = self._post(cid, body)
        if fault is not None and fault.status in (413, 422) and "attachment_b64" in body:
            # the file refused for good (too large, not what its type says): without the result
            # the command would stay unfinished on the dashboard; the result goes without it
            why = f"its file was refused by the server ({fault.code or fault.status})"
            log.warning("health: command %d: %s: its result is sent without it", cid, fault)
            detail = f"{entry.detail[:1700]}; {why}"
            self._record.file_lost(cid, why)
            fault = self._post(cid, {"ok": entry.ok, "detail": detail})
        if fault is not None:
            if fault.status not in FINAL_REFUSALS:  # unreachable, 5xx, a token renewed
                log.warning("health: command %d result not delivered (%s); sent again", cid, fault)
                return False
            if fault.code != "already_reported":
                log.warning("health: command %d result refused for good: %s", cid, fault)
        self._files.remove(cid)
        return True

    def _post(self, cid: int, body: dict[str, Any]) -> CentralError | None:
        """POST a command's result: None when the server took it, else why not."""
        try:
            self.central.report_command(cid, body)
        except CentralError as exc:
            return exc
        return None

    def start(self) -> None:
        """Report in the background until stop()."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="health-reporter", daemon=True)
        self._thread.start()

    def beat_soon(self) -> None:
        """Send the next heartbeat now (something the fleet must see at once happened)."""
        self._soon.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background loop and wait for it."""
        self._stop.set()
        self._soon.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._record.release()  # the next kiosk app process may hold it (a beat takes it back)

    def _loop(self) -> None:
        if self._stop.wait(self.first_delay_s):
            return
        while not self._stop.is_set():
            try:
                self.beat_once()
            except CentralError as exc:  # the client already logged the precise cause
                log.info(
                    "health: heartbeat not delivered (%s); retry in %.0f s",
                    exc.code,
                    self.interval_s,
                )
            except Exception:  # the reporter must never die
                log.exception("health: heartbeat failed")
            self._soon.wait(self.interval_s)  # beat_soon() cuts the wait short
            self._soon.clear()
