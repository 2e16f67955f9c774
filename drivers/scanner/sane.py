"""Document scanning through SANE (python-sane): flatbed or ADF pages as PNG, faults typed.

libsane runs in a worker process (drivers.scanner.sane_worker), one per scanner: a backend that
hangs (SANE's reader threads can deadlock on a cancelled scan) is killed after a deadline and the
next scan gets a fresh worker, instead of the kiosk freezing with Python's GIL held.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from drivers.errors import (
    DeviceError,
    FeederEmpty,
    ScannerCoverOpen,
    ScannerJam,
    ScannerUnavailable,
)
from drivers.scanner.sane_worker import status_text

if importlib.util.find_spec("sane") is None:  # pragma: no cover - depends on the machine
    raise ImportError(
        "the SANE scanner needs python-sane: pip install 'anjungan[devices]' "
        "(build needs the Debian package libsane-dev)"
    )

log = logging.getLogger(__name__)

MODES = ("Gray", "Color", "Lineart")
DPI_RANGE = (50, 600)

# sane_strstatus() texts (what python-sane's _sane.error carries) -> our typed errors.
_STATUS_ERRORS: dict[str, type[DeviceError]] = {
    "Document feeder jammed": ScannerJam,
    "Scanner cover is open": ScannerCoverOpen,
    "Document feeder out of documents": FeederEmpty,
}

START_S = 30.0  # a worker's start: Python, python-sane, sane_init() and its backends
CLOSE_S = 15.0  # from a scan's answer to the device closed again


def sane_error(exc: BaseException | str, context: str) -> DeviceError:
    """Turn a SANE status error into ScannerJam, ScannerCoverOpen, FeederEmpty or the base error."""
    text = exc if isinstance(exc, str) else status_text(exc)
    kind = _STATUS_ERRORS.get(text, ScannerUnavailable)
    return kind(f"{context}: SANE says {text!r}")


class SaneScanner:
    """Scanner on a SANE device; the device is opened per operation so unplugging is survivable."""

    is_simulated = False

    def __init__(
        self,
        device: str | None = None,
        *,
        source: str | None = None,
        adf_source: str | None = None,
        options: Mapping[str, Any] | None = None,
        deadline_s: float = 120.0,
    ) -> None:
        """Use SANE `device` (None = the first one found), its flatbed `source` and ADF source.

        `deadline_s` bounds each step (opening the device, one page): a scanner silent for longer
        is reported unavailable and its worker killed."""
        self.device = device
        self.source = source
        self.adf_source = adf_source
        self.options = dict(options or {})
        self.deadline_s = deadline_s
        self._lock = threading.Lock()
        self._next_page = 1  # of this scanner's pages; the one before it is the count scanned
        self._worker: _Worker | None = None

    # -- Scanner ---------------------------------------------------------------------------
    def scan_page(self, dpi: int = 200, mode: str = "Gray") -> bytes:
        """Scan one page from the flatbed (or the configured source) and return it as PNG."""
        _check_args(dpi, mode)
        return self._run("page", "scan", dpi=dpi, mode=mode, max_pages=1)[0]

    def scan_feeder(self, dpi: int = 200, mode: str = "Gray", max_pages: int = 50) -> list[bytes]:
        """Scan every page in the document feeder; FeederEmpty when it holds none."""
        _check_args(dpi, mode)
        pages = self._run("feeder", "feeder scan", dpi=dpi, mode=mode, max_pages=max_pages)
        if not pages:
            raise FeederEmpty(f"the feeder of {self.device or 'the scanner'} gave no page")
        return pages

    @property
    def has_feeder(self) -> bool:
        """True when the device offers an ADF source."""
        try:
            return bool(self._ask_status()["feeder"])
        except DeviceError:
            return False

    def status(self) -> dict[str, str]:
        """Return {"state": ready|unavailable, ...} for the health report."""
        base = {
            "driver": "sane",
            "device": self.device or "auto",
            "pages": str(self._next_page - 1),
        }
        try:
            info = self._ask_status()
        except DeviceError as exc:
            return {**base, "state": "unavailable", "detail": str(exc)}
        return {
            **base,
            "state": "ready",
            "device": info["device"],
            "feeder": "yes" if info["feeder"] else "no",
        }

    @property
    def worker_pid(self) -> int | None:
        """The process id of the SANE worker, None while none runs."""
        worker = self._worker
        return worker.process.pid if worker is not None and worker.alive else None

    def close(self) -> None:
        """Stop the SANE worker (a later scan starts a new one)."""
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    # -- internals -------------------------------------------------------------------------
    def _ask_status(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        self._run("status", "status of", info=info)
        return info

    def _run(
        self,
        op: str,
        context: str,
        *,
        dpi: int = 200,
        mode: str = "Gray",
        max_pages: int = 1,
        info: dict[str, Any] | None = None,
    ) -> list[bytes]:
        """One request to the worker: its pages, or the typed error it ended with."""
        with self._lock:
            request = {
                "op": op,
                "device": self.device,
                "source": self.source,
                "adf_source": self.adf_source,
                "options": dict(self.options),
                "dpi": dpi,
                "mode": mode,
                "max_pages": max_pages,
                "first_page": self._next_page,
            }
            where = f"{context} on {self.device or 'the first SANE device'}"
            worker = self._ready_worker(where)
            pages: list[bytes] = []
            try:
                worker.send(request)
                while True:
                    reply = worker.receive(self.deadline_s, where)
                    if reply[0] == "page":
                        pages.append(reply[1])
                        log.info(
                            "scanned page %d on %s at %d dpi (%d bytes)",
                            self._next_page,
                            self.device or "auto",
                            dpi,
                            len(reply[1]),
                        )
                        self._next_page += 1
                        continue
                    if reply[0] == "done":
                        if info is not None:
                            info.update(reply[1])
                        return pages
                    if reply[0] == "sane":
                        worker.faulted = True
                        raise sane_error(reply[1], where)
                    raise ScannerUnavailable(str(reply[1]))
            except DeviceError:
                if not worker.alive:
                    self._worker = None
                raise

    def _ready_worker(self, where: str) -> _Worker:
        """The worker, idle; a new one when there is none or the last did not close in time."""
        worker = self._worker
        if worker is not None:
            if worker.process.poll() is not None:
                problem = f"had ended (exit {worker.process.returncode})"
            elif not worker.settle(CLOSE_S):
                problem = f"did not close the device within {CLOSE_S:.0f} s: killed"
            elif worker.faulted:
                # libsane may have cancelled a reader thread inside malloc on that fault
                # (sane_worker's docstring): the allocator's lock can stay held and the next
                # scan in the same process hang. A fresh process costs a second, once.
                problem = "answered a fault (a cancelled reader thread may hold a lock)"
            else:
                return worker
            log.warning("SANE worker for %s %s; starting a new one", self.device or "auto", problem)
            worker.stop()
        self._worker = None
        self._worker = _Worker.start(where)
        return self._worker


class _Worker:
    """A running sane_worker process and its two pipes."""

    def __init__(
        self, process: subprocess.Popen[bytes], requests: Connection, replies: Connection
    ) -> None:
        self.process = process
        self.requests = requests
        self.replies = replies
        self.busy = False  # a request sent whose ("idle",) has not come yet
        self.alive = True
        self.faulted = False  # SANE answered a fault: not used for another scan
        self._finalizer = weakref.finalize(self, _kill, process, requests, replies)

    @classmethod
    def start(cls, where: str) -> _Worker:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        root = str(Path(__file__).resolve().parents[2])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
        }
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "drivers.scanner.sane_worker",
                    str(to_child),
                    str(from_child),
                ],
                pass_fds=(to_child, from_child),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(to_child)
            os.close(from_child)
        worker = cls(
            process, Connection(from_parent, readable=False), Connection(to_parent, writable=False)
        )
        reply = worker.receive(START_S, where)
        if reply[0] != "ready":
            worker.stop()
            raise ScannerUnavailable(str(reply[1]))
        return worker

    def send(self, request: dict[str, Any]) -> None:
        try:
            self.requests.send(request)
        except OSError as exc:
            self.stop()
            raise ScannerUnavailable(f"the SANE worker is gone ({exc})") from exc
        self.busy = True

    def receive(self, deadline_s: float, where: str) -> tuple[Any, ...]:
        """The worker's next reply within `deadline_s`, or ScannerUnavailable (worker killed)."""
        end = time.monotonic() + deadline_s
        try:
            while self.replies.poll(max(0.0, end - time.monotonic())):
                reply: tuple[Any, ...] = self.replies.recv()
                if reply[0] != "idle":
                    return reply
                self.busy = False
        except (EOFError, OSError):
            code = self.process.poll()
            self.stop()
            raise ScannerUnavailable(f"{where}: the SANE worker died (exit {code})") from None
        self.stop()
        log.error("%s: no answer from SANE within %.0f s: worker killed", where, deadline_s)
        raise ScannerUnavailable(f"{where}: no answer from the scanner within {deadline_s:.0f} s")

    def settle(self, timeout_s: float) -> bool:
        """Wait for the last request's ("idle",); False when it does not come in time."""
        end = time.monotonic() + timeout_s
        while self.busy and self.alive:
            left = end - time.monotonic()
            try:
                if left <= 0 or not self.replies.poll(left):
                    return False
                if self.replies.recv()[0] == "idle":
                    self.busy = False
            except (EOFError, OSError):
                return False
        return self.alive

    def stop(self) -> None:
        self.alive = False
        self._finalizer()


def _kill(process: subprocess.Popen[bytes], *pipes: Connection) -> None:
    for pipe in pipes:
        pipe.close()
    if process.poll() is None:
        process.kill()
    process.wait()


def _check_args(dpi: int, mode: str) -> None:
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise ValueError(
            f"dpi must be an integer between {DPI_RANGE[0]} and {DPI_RANGE[1]}, got {dpi!r}"
        )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
