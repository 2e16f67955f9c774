"""The scanning journey: the SCAN state's documents, scanned after the form."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from drivers.scanner.protocol import Scanner
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.scanning.step import DocumentScanStep
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.ports import SlotLoader
from kiosk_app.services.session.views import ScanView

log = logging.getLogger(__name__)


class ScanJourney:
    """Citizen actions of the SCAN state; the step does the device work on its own worker."""

    def __init__(
        self, core: SessionCore, *, scanner: Scanner, central: CentralClient, schedule: SlotLoader
    ) -> None:
        """After the last document the journey goes on to the schedule."""
        self._core = core
        self._central = central  # where the scans go after a direct submission
        self._schedule = schedule
        self.step = DocumentScanStep(scanner, on_change=self._on_change)
        core.on_visit_end(self.step.clear)  # scanned pages are personal data: gone with it

    # -- citizen actions ---------------------------------------------------------------------
    def preview(self) -> None:
        """Show a quick preview of what lies on the scanner glass."""
        self._call(DocumentScanStep.preview)

    def page(self) -> None:
        """Scan one more page of the current document."""
        self._call(DocumentScanStep.scan)

    def feeder(self) -> None:
        """Scan all pages in the document feeder."""
        self._call(DocumentScanStep.scan_feeder)

    def retake(self, index: int) -> None:
        """Scan page `index` of the current document again."""
        self._call(lambda step: step.retake(index))

    def remove(self, index: int) -> None:
        """Drop page `index` of the current document."""
        self._call(lambda step: step.remove(index))

    def next_document(self) -> None:
        """This document is done: on to the next one (or to the schedule after the last)."""
        self._call(DocumentScanStep.next_document)

    def skip_document(self) -> None:
        """The citizen brings this document to the counter instead."""
        self._call(DocumentScanStep.skip_document)

    def skip_all(self) -> None:
        """Skip every remaining document and go on to the schedule."""
        self._call(DocumentScanStep.skip_rest)

    def previous_document(self) -> bool:
        """Back to the previous document; False on the first one (the form comes before)."""
        if self.step.view().index == 0:
            return False
        self._call(DocumentScanStep.previous_document)
        return True

    # -- the form and the submission ---------------------------------------------------------
    def begin(self, titles: Sequence[Text]) -> None:
        """The form is done: scan these documents (or resume them)."""
        self.step.begin(titles)

    def reopen(self) -> None:
        """Back from the schedule: the last document again."""
        self.step.reopen()

    def documents(self) -> list[tuple[str, bytes]]:
        """(name, pdf) of every scanned document."""
        return self.step.documents()

    def upload(self, number: str, on_failed: Callable[[], None]) -> None:
        """The submission is stored: attach the scanned PDFs in the background."""

        def done(failed: list[str]) -> None:
            if failed:
                on_failed()

        try:
            self.step.upload(self._central, number, done)
        except Exception:  # the submission is stored; scans are only a convenience
            log.exception("starting the scan upload for %s failed", number)
            on_failed()

    def view(self) -> ScanView | None:
        """The step's snapshot in the SCAN state (lock held)."""
        return self.step.view() if self._core.state() is SessionState.SCAN else None

    def close(self) -> None:
        """Wipe and stop the step's workers."""
        self.step.close()

    # -- wiring ------------------------------------------------------------------------------
    def _call(self, action: Callable[[DocumentScanStep], None]) -> None:
        core = self._core
        with core.lock:
            if core.state() is not SessionState.SCAN:
                return
            core.touch()
        action(self.step)  # outside the session lock: the step calls back into _on_change

    def _on_change(self, finished: bool) -> None:
        """The step changed (from any thread): re-render; after the last document, go on."""
        core = self._core
        with core.lock:
            if core.state() is not SessionState.SCAN:
                return
            core.touch()  # a long scan is not inactivity
            go_on = finished and core.machine.scan_done(core.now())
        core.publish()
        if go_on:
            self._schedule.load()
