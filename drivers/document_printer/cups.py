"""A4 printing through CUPS (pycups): submit, follow the job to completion, map printer faults."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.document_printer.ipp_state import (
    blocking,
    error_for,
    health_state,
    parse_reasons,
)
from drivers.document_printer.protocol import ResumeRefused
from drivers.errors import DeviceError, PrinterOffline, PrintFailed, PrintTimeout

try:
    import cups
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        "the CUPS document printer needs pycups: pip install 'anjungan[devices]' "
        "(build needs the Debian package libcups2-dev)"
    ) from exc

log = logging.getLogger(__name__)

A4 = "iso_a4_210x297mm"
JOB_COMPLETED, JOB_CANCELED, JOB_ABORTED = 9, 7, 8
PRINTER_STOPPED = 5
_QUEUE_STATES = {3: "idle", 4: "processing", 5: "stopped"}
_JOB_STATES = {
    3: "pending",
    4: "held",
    5: "processing",
    6: "stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}
_PRINTER_ATTRS = [
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
]
_JOB_ATTRS = ["job-state", "job-state-reasons", "job-printer-state-message"]


class CupsDocumentPrinter:
    """DocumentPrinter on a CUPS queue; no copy of the document is kept outside cupsd's spool."""

    is_simulated = False

    def __init__(
        self,
        queue: str,
        *,
        server: str | None = None,
        job_timeout_s: float = 120.0,
        fault_grace_s: float = 8.0,
        poll_s: float = 0.2,
        media: str = A4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Print to `queue` on `server` (host or Unix socket path; None = the system's cupsd)."""
        if not queue:
            raise ValueError("a CUPS queue name is required")
        if job_timeout_s <= 0 or fault_grace_s <= 0 or poll_s <= 0:
            raise ValueError("job_timeout_s, fault_grace_s and poll_s must be positive")
        self.queue = queue
        self.server = server
        self.job_timeout_s = job_timeout_s
        self.fault_grace_s = fault_grace_s
        self.poll_s = poll_s
        self.media = media
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs = 0

    # -- DocumentPrinter -------------------------------------------------------------------
    def print_pdf(self, pdf: bytes, title: str) -> str:
        """Submit `pdf`, wait until CUPS reports it completed and return the job id."""
        if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:5]).startswith(b"%PDF"):
            raise PrintFailed(f"refused a job for {self.queue!r} that is not a PDF")
        data = bytes(pdf)
        with self._lock:
            conn = self._connect()
            self._precheck(conn)
            job_id = self._submit(conn, data, title or "document")
            started = self._clock()
            try:
                self._follow(conn, job_id, started)
            except DeviceError:
                raise
            except Exception as exc:  # a crash while following must not leave the job behind
                self._cancel(conn, job_id, f"follow crashed: {type(exc).__name__}")
                raise PrintFailed(f"following CUPS job {job_id} failed: {exc}") from exc
            self._jobs += 1
            log.info(
                "CUPS job %s on %s completed in %.2f s (%d bytes)",
                job_id,
                self.queue,
                self._clock() - started,
                len(data),
            )
            return str(job_id)

    def status(self) -> dict[str, str]:
        """Queue state for the health report: online, offline, paper_out, jammed, door_open."""
        base = {"driver": "cups", "queue": self.queue, "jobs": str(self._jobs)}
        try:
            attrs = self._printer_attrs(self._connect())
        except DeviceError as exc:
            return {**base, "state": "offline", "paper": "unknown", "detail": str(exc)}
        reasons = parse_reasons(attrs.get("printer-state-reasons"))
        state = health_state(reasons)
        if state == "online" and attrs.get("printer-state") == PRINTER_STOPPED:
            state = "offline"
        raw = attrs.get("printer-state-reasons") or []
        return {
            **base,
            "state": state,
            "paper": "out" if state == "paper_out" else "ok",
            "reasons": ",".join(raw if isinstance(raw, list) else [raw]),
            "message": str(attrs.get("printer-state-message") or ""),
            "queue_state": _QUEUE_STATES.get(_int(attrs.get("printer-state")), "unknown"),
            "accepting": "no" if attrs.get("printer-is-accepting-jobs") is False else "yes",
        }

    def resume(self) -> dict[str, str]:
        """Enable a stopped queue and accept jobs again (CUPS-Enable, CUPS-Accept-Jobs).

        Only what is off is switched on, so a healthy queue needs no rights at all. Returns
        status() read afterwards: enabling the queue loads no paper, so a fault the printer still
        reports stays visible (and CUPS may stop the queue again on the next job).
        """
        with self._lock:
            conn = self._connect()
            attrs = self._printer_attrs(conn)
            stopped = attrs.get("printer-state") == PRINTER_STOPPED
            rejecting = attrs.get("printer-is-accepting-jobs") is False
            try:
                if stopped:
                    conn.enablePrinter(self.queue)
                if rejecting:
                    conn.acceptJobs(self.queue)
            except cups.IPPError as exc:
                status = exc.args[0] if exc.args else None
                if status in (
                    cups.IPP_FORBIDDEN,
                    cups.IPP_NOT_AUTHORIZED,
                    cups.IPP_NOT_AUTHENTICATED,
                ):
                    raise ResumeRefused(
                        f"cupsd refused to resume {self.queue}: {_ipp(exc)} (the kiosk user needs "
                        "CUPS-Enable and CUPS-Accept-Jobs in the queue's policy)"
                    ) from exc
                raise PrinterOffline(f"could not resume {self.queue}: {_ipp(exc)}") from exc
            except RuntimeError as exc:
                raise PrinterOffline(f"cupsd stopped answering: {exc}") from exc
            log.warning(
                "CUPS queue %s resumed (was %s%s; message %r)",
                self.queue,
                "stopped" if stopped else "enabled",
                ", rejecting jobs" if rejecting else "",
                str(attrs.get("printer-state-message") or ""),
            )
        return self.status()

    # -- steps -----------------------------------------------------------------------------
    def _connect(self) -> Any:
        try:
            return cups.Connection(host=self.server) if self.server else cups.Connection()
        except RuntimeError as exc:
            where = self.server or "default"
            raise PrinterOffline(f"cannot reach cupsd at {where}: {exc}") from exc

    def _printer_attrs(self, conn: Any) -> dict[str, Any]:
        try:
            return dict(conn.getPrinterAttributes(self.queue, requested_attributes=_PRINTER_ATTRS))
        except cups.IPPError as exc:
            raise PrinterOffline(f"CUPS queue {self.queue!r} unavailable: {_ipp(exc)}") from exc
        except RuntimeError as exc:
            raise PrinterOffline(f"cupsd stopped answering: {exc}") from exc

    def _precheck(self, conn: Any) -> None:
        """Refuse early when the queue is missing, stopped, rejecting or in an error state."""
        attrs = self._printer_attrs(conn)
        reasons = parse_reasons(attrs.get("printer-state-reasons"))
        fault = blocking(reasons, errors_only=True)
        if fault is not None:
            raise error_for(fault, f"queue {self.queue} reports a fault before printing")
        if attrs.get("printer-state") == PRINTER_STOPPED:
            msg = attrs.get("printer-state-message") or "no message"
            raise PrinterOffline(f"CUPS queue {self.queue} is stopped ({msg})")
        if attrs.get("printer-is-accepting-jobs") is False:
            raise PrinterOffline(f"CUPS queue {self.queue} is not accepting jobs")

    def _submit(self, conn: Any, data: bytes, title: str) -> int:
        """Create the job and stream the document to cupsd (no temporary file on our side)."""
        job_id = 0
        try:
            job_id = conn.createJob(self.queue, title, {"media": self.media})
            conn.startDocument(self.queue, job_id, title, "application/pdf", 1)
            conn.writeRequestData(data, len(data))
            status = conn.finishDocument(self.queue)
        except (cups.IPPError, cups.HTTPError, RuntimeError) as exc:
            if job_id:
                self._cancel(conn, job_id, "submission failed")
            raise PrintFailed(f"CUPS refused the job on {self.queue}: {_ipp(exc)}") from exc
        if status not in (0, 1, 2):  # IPP successful-ok(-ignored/-conflicting) only
            self._cancel(conn, job_id, f"finishDocument status {status}")
            raise PrintFailed(f"CUPS did not accept the document for job {job_id}: {status}")
        log.info("CUPS job %s submitted to %s (%d bytes)", job_id, self.queue, len(data))
        return int(job_id)

    def _follow(self, conn: Any, job_id: int, started: float) -> None:
        """Poll until completed; cancel on a lasting fault or past the time bound."""
        fault_since: float | None = None
        while True:
            job = conn.getJobAttributes(job_id, requested_attributes=_JOB_ATTRS)
            state = job.get("job-state")
            if state == JOB_COMPLETED:
                return
            printer = self._printer_attrs(conn)
            reasons = parse_reasons(printer.get("printer-state-reasons"))
            fault = blocking(reasons)
            detail = (
                f"CUPS job {job_id} {_JOB_STATES.get(state, state)} "
                f"({job.get('job-state-reasons')}; {job.get('job-printer-state-message')!r})"
            )
            if state in (JOB_CANCELED, JOB_ABORTED):
                self._purge(conn, job_id)
                if fault is not None:
                    raise error_for(fault, detail)
                raise PrintFailed(detail)
            now = self._clock()
            if fault is not None or printer.get("printer-state") == PRINTER_STOPPED:
                fault_since = now if fault_since is None else fault_since
                if now - fault_since >= self.fault_grace_s:
                    self._cancel(conn, job_id, "printer fault")
                    if fault is not None:
                        raise error_for(fault, detail)
                    raise PrinterOffline(f"{detail}: queue {self.queue} stopped")
            else:
                fault_since = None
            if now - started >= self.job_timeout_s:
                self._cancel(conn, job_id, f"not done after {self.job_timeout_s:g} s")
                raise PrintTimeout(f"{detail}: cancelled after {self.job_timeout_s:g} s")
            time.sleep(self.poll_s)

    def _cancel(self, conn: Any, job_id: int, why: str) -> None:
        """Cancel and purge the job so its document leaves the spool."""
        log.warning("cancelling CUPS job %s on %s: %s", job_id, self.queue, why)
        try:
            conn.cancelJob(job_id, purge_job=True)
        except (cups.IPPError, RuntimeError) as exc:
            log.error("could not cancel CUPS job %s: %s", job_id, _ipp(exc))

    def _purge(self, conn: Any, job_id: int) -> None:
        """Remove an ended job's files (CUPS keeps nothing with PreserveJobFiles No anyway)."""
        try:
            conn.cancelJob(job_id, purge_job=True)
        except (cups.IPPError, RuntimeError):
            pass  # already gone


def _int(value: object) -> int:
    """An IPP integer attribute, or -1 when it is missing or not an integer."""
    return value if isinstance(value, int) else -1


def _ipp(exc: BaseException) -> str:
    """A short text for a pycups exception: '(1030) client-error-not-found'."""
    args = exc.args
    if len(args) == 2:
        return f"({args[0]}) {args[1]}"
    return str(exc) or type(exc).__name__
