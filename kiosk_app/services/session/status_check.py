"""Status check: a registration number typed on a keypad or read from a QR, asked of the server."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kiosk_app.central import (
    ApplicationStatus,
    CentralClient,
    CentralError,
    CentralUnavailable,
    NotFound,
)
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.registration import SLOT_MATTERS, next_step
from kiosk_app.domain.text import Text
from kiosk_app.services.background import watched
from kiosk_app.services.session.number_entry import (
    MSG_INCOMPLETE,
    MSG_NOT_FOUND,
    MSG_NOT_OUR_CODE,
    NumberEntry,
)
from kiosk_app.services.session.views import StatusCheckView, StatusResult

log = logging.getLogger(__name__)

MSG_RATE_LIMITED = Text(
    "Terlalu banyak pengecekan dalam waktu singkat. Silakan coba lagi dalam {seconds} detik.",
    "Too many checks in a short time. Please try again in {seconds} seconds.",
)
MSG_SERVER_DOWN = Text(
    "Server pusat sedang tidak dapat dihubungi, jadi status belum bisa dicek. "
    "Silakan coba beberapa saat lagi atau tanyakan ke petugas.",
    "The central server cannot be reached, so the status cannot be checked now. "
    "Please try again shortly or ask an attendant.",
)
MSG_FAILED = Text(
    "Status tidak dapat dicek saat ini. Silakan tanyakan ke petugas.",
    "The status cannot be checked right now. Please ask an attendant.",
)


class StatusCheck:
    """Keypad entry plus look-ups on a worker thread; `on_change` is called after each change."""

    def __init__(
        self, central: CentralClient, on_change: Callable[[], None], office_code: str = ""
    ) -> None:
        """Start empty; the office's PP.KK digits are offered pre-typed."""
        self._central = central
        self._on_change = on_change
        self._entry = NumberEntry(office_code)
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="status-check")
        self._generation = 0
        self._loading = False
        self._result: StatusResult | None = None
        self._message: Text | None = None

    # -- entry ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """A fresh entry: default prefix, office digits, no result (drops a running look-up)."""
        with self._lock:
            self._generation += 1
            self._entry.reset()
            self._loading, self._result, self._message = False, None, None

    clear = reset  # the session ended: nothing of the look-up stays

    def set_prefix(self, prefix: str) -> None:
        """Choose the service prefix (AKTA, AKM, ...)."""
        with self._lock:
            if not self._entry.set_prefix(prefix):
                return
            self._message = None
        self._on_change()

    def key(self, key: str) -> None:
        """A keypad key: a digit, "backspace", "clear" or "done" (= look up)."""
        if key == "done":
            self.lookup_entry()
            return
        with self._lock:
            if not self._entry.key(key):
                return
            self._message = None
        self._on_change()

    def lookup_entry(self) -> None:
        """Look up the typed number, or say how many digits are missing."""
        with self._lock:
            number = self._entry.number
            if number is None:
                self._message = MSG_INCOMPLETE.format(missing=self._entry.missing)
        if number is None:
            self._on_change()
        else:
            self.lookup(number)

    def scanned(self, number: str | None) -> None:
        """A QR was read: look its registration number up, or say it is not one of ours."""
        with self._lock:
            filled = self._entry.fill(number)
            if not filled:
                self._generation += 1
                self._loading, self._result, self._message = False, None, MSG_NOT_OUR_CODE
            shown = self._entry.number
        if filled and shown is not None:
            self.lookup(shown)
        else:
            self._on_change()

    # -- look-up -------------------------------------------------------------------------------
    def lookup(self, number: str) -> None:
        """Ask the central server on the worker thread (one look-up at a time)."""
        with self._lock:
            if self._loading:
                return
            self._generation += 1
            generation = self._generation
            self._loading, self._result, self._message = True, None, None
        self._on_change()
        try:
            watched(self._worker.submit(self._lookup_job, number, generation))
        except RuntimeError:  # closed while the kiosk stops
            with self._lock:
                self._loading = False

    def _lookup_job(self, number: str, generation: int) -> None:
        result, message = None, None
        try:
            result = describe(self._central.status(number))
            log.info("status look-up %s: %s", number, result.status)
        except NotFound:
            log.info("status look-up %s: not found", number)
            message = MSG_NOT_FOUND.format(number=number)
        except CentralUnavailable as exc:
            message = unavailable_message(exc)
        except CentralError as exc:
            log.warning("status look-up %s refused: %s", number, exc)
            message = MSG_FAILED
        except Exception:
            log.exception("status look-up %s crashed", number)
            message = MSG_FAILED
        with self._lock:
            if generation != self._generation:
                return  # the citizen left or started another look-up
            self._loading, self._result, self._message = False, result, message
        self._on_change()

    # -- reading -------------------------------------------------------------------------------
    def view(self) -> StatusCheckView:
        """A snapshot for the session view."""
        with self._lock:
            return StatusCheckView(
                prefix=self._entry.prefix,
                digits=self._entry.digits,
                entry=self._entry.shown,
                loading=self._loading,
                result=self._result,
                message=self._message,
            )

    def close(self) -> None:
        """Stop the worker and wait for it (a running look-up's answer is dropped)."""
        with self._lock:
            self._generation += 1
        self._worker.shutdown(wait=True, cancel_futures=True)


def unavailable_message(exc: CentralUnavailable) -> Text:
    """Rate limited (429, with the wait) or server down: the citizen's words."""
    if exc.status == 429:
        seconds = max(1, math.ceil(exc.retry_after or 30))
        return MSG_RATE_LIMITED.format(seconds=seconds)
    return MSG_SERVER_DOWN


def describe(status: ApplicationStatus) -> StatusResult:
    """Turn the server's answer into what the citizen reads."""
    info = SERVICES.get(status.service)
    return StatusResult(
        registration_number=status.registration_number,
        service=info.title if info else Text(status.service, status.service),
        status=status.status,
        status_text=status.status_text,
        next_step=next_step(status.status),
        slot=status.slot if status.status in SLOT_MATTERS else None,
        office_name=status.office_name,
        masked_name=status.masked_name,
    )
