"""The card holder's desk: own applications (timelines) and document printing, off the UI thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from kiosk_app.central import CentralClient, CentralError, CentralUnavailable
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.timeline import Timeline, timeline
from kiosk_app.services.background import watched
from kiosk_app.services.printing.issued import (
    CODE_LENGTH,
    CODE_LETTERS,
    FAILED,
    IssuedDocumentPrint,
    budget_refusal,
)
from kiosk_app.services.printing.receipt_copy import COPYABLE, ReceiptCopyPrint
from kiosk_app.services.printing.receipt_copy import FAILED as COPY_FAILED
from kiosk_app.services.session.status_check import unavailable_message
from kiosk_app.services.session.views import CardHolderView, ReadyDocument

log = logging.getLogger(__name__)

NONE_FILED = Text(
    "Belum ada permohonan dengan NIK pada e-KTP ini.",
    "There are no applications with the NIK on this e-KTP yet.",
)


def shown_code(typed: str) -> str:
    """The code as typed, with the dash after four characters."""
    return typed if len(typed) <= 4 else f"{typed[:4]}-{typed[4:]}"


class CardHolderDesk:
    """Loads the card holder's applications and prints their documents on one worker thread."""

    def __init__(
        self,
        central: CentralClient,
        printer: IssuedDocumentPrint,
        on_change: Callable[[], None],
        on_printed: Callable[[], None] | None = None,
        copier: ReceiptCopyPrint | None = None,
        on_fault: Callable[[str], None] | None = None,
    ) -> None:
        """`copier`: prints a lost receipt again from the server's data; `on_fault(reason)`:
        a printer failed on it (an attendant is called)."""
        self._on_printed = on_printed  # e.g. offer the satisfaction survey at the end
        self._copier = copier
        self._on_fault = on_fault
        self._central = central
        self._printer = printer
        self._on_change = on_change
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="card-holder")
        self._generation = 0
        self._view = CardHolderView()

    def view(self) -> CardHolderView:
        """The current snapshot."""
        with self._lock:
            return self._view

    def clear(self) -> None:
        """Forget everything (the session ended); running work is dropped when it returns."""
        with self._lock:
            self._generation += 1
            self._view = CardHolderView()

    def load(self, nik: str) -> None:
        """Fetch the card holder's applications (keeps the typed code and messages)."""
        with self._lock:
            if self._view.loading or self._view.printing:
                return
            self._view = replace(self._view, loading=True)
            generation = self._generation
        self._on_change()
        self._submit(self._load_job, nik, generation)

    def key(self, key: str) -> None:
        """A key of the code pad: a letter or digit, "backspace" or "clear"."""
        with self._lock:
            code = self._view.code.replace("-", "")
            if key == "backspace":
                code = code[:-1]
            elif key == "clear":
                code = ""
            elif len(key) == 1 and key.upper() in CODE_LETTERS and len(code) < CODE_LENGTH:
                code += key.upper()
            else:
                return
            self._view = replace(self._view, code=shown_code(code), messages=(), printed=False)
        self._on_change()

    def print_code(self, nik: str) -> None:
        """Print the document of the typed code."""
        with self._lock:
            code = self._view.code
        self._print(nik, code=code)

    def print_own(self, nik: str, registration_number: str) -> None:
        """Print the card holder's own ready document with the code typed on the pad.

        The server never tells a kiosk a print code: the citizen types the one sent to them.
        """
        with self._lock:
            code = self._view.code
        self._print(nik, registration_number=registration_number, code=code)

    def copy_receipt(self, identity: Identity, registration_number: str, language: str) -> None:
        """Print the card holder's lost receipt of `registration_number` again (ticket and A4)."""
        with self._lock:
            if (
                self._copier is None
                or self._view.printing
                or self._view.loading
                or registration_number not in self._view.copyable
            ):
                return
            self._view = replace(
                self._view, printing=True, printed=False, messages=(), copying=registration_number
            )
            generation = self._generation
        self._on_change()
        self._submit(self._copy_job, identity, registration_number, language, generation)

    def close(self) -> None:
        """Stop the worker and wait for it (running work finishes, its answer is dropped)."""
        self.clear()
        self._worker.shutdown(wait=True, cancel_futures=True)

    # -- jobs ----------------------------------------------------------------------------------
    def _print(self, nik: str, **what: str) -> None:
        with self._lock:
            if self._view.printing or self._view.loading:
                return
            self._view = replace(self._view, printing=True, printed=False, messages=())
            generation = self._generation
        self._on_change()
        self._submit(self._print_job, nik, what, generation)

    def _print_job(self, nik: str, what: dict[str, str], generation: int) -> None:
        try:
            result = self._printer.print_document(nik, **what)
            printed, messages = result.printed, result.messages
        except Exception:  # never let the worker die silently
            log.exception("document printing crashed")
            printed, messages = False, (FAILED,)
        with self._lock:
            if generation != self._generation:
                return
            code = "" if printed else self._view.code
            self._view = replace(
                self._view, printing=False, printed=printed, messages=messages, code=code
            )
        self._on_change()
        if printed:  # the document is no longer printable: show the new state
            if self._on_printed is not None:
                self._on_printed()
            self.load(nik)

    def _copy_job(
        self, identity: Identity, registration_number: str, language: str, generation: int
    ) -> None:
        assert self._copier is not None
        messages: tuple[Text, ...]
        try:
            result = self._copier.print_copy(identity, registration_number, language)
        except Exception:  # never let the worker die silently
            log.exception("receipt copy of %s crashed", registration_number)
            printed, messages, reason = False, (COPY_FAILED,), ""
        else:
            printed = result.ticket_printed and result.receipt_printed
            messages, reason = result.messages, result.attendant_reason
        if reason and self._on_fault is not None:
            self._on_fault(reason)  # a printer failed: an attendant is called
        with self._lock:
            if generation != self._generation:
                return
            self._view = replace(
                self._view, printing=False, printed=printed, messages=messages, copying=""
            )
        self._on_change()

    def _load_job(self, nik: str, generation: int) -> None:
        timelines: tuple[Timeline, ...] = ()
        copyable: tuple[str, ...] = ()
        message: Text | None = None
        try:
            records = self._central.my_applications(nik)
            timelines = tuple(timeline(r) for r in records)
            copyable = tuple(r.registration_number for r in records if r.status in COPYABLE)
            if not timelines:
                message = NONE_FILED
        except CentralError as exc:
            message = budget_refusal(exc, f"loading own applications of nik={mask_nik(nik)}")
            if message is None and isinstance(exc, CentralUnavailable):
                message = unavailable_message(exc)
            elif message is None:
                log.warning("own applications not loaded: %s", exc)
                message = FAILED
        except Exception:
            log.exception("loading own applications crashed")
            message = FAILED
        ready = tuple(
            ReadyDocument(t.registration_number, t.title, t.document_number)
            for t in timelines
            if t.printable
        )
        with self._lock:
            if generation != self._generation:
                return
            messages = self._view.messages or ((message,) if message else ())
            self._view = replace(
                self._view,
                loading=False,
                loaded=True,
                timelines=timelines,
                ready=ready,
                copyable=copyable,
                messages=messages,
            )
        self._on_change()

    def _submit(self, job: Callable[..., None], *args: object) -> None:
        try:
            watched(self._worker.submit(job, *args))
        except RuntimeError:  # closed while the kiosk stops
            with self._lock:
                self._view = replace(self._view, loading=False, printing=False, copying="")
