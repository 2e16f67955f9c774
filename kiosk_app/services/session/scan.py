"""The scanning step's part of the session service (a mixin, so session.py stays small)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from kiosk_app.domain.session import SessionState
from kiosk_app.services.scanning.step import SCANS_AT_COUNTER, DocumentScanStep

log = logging.getLogger(__name__)


class ScanJourneyMixin:
    """Citizen actions of the SCAN state; SessionService provides the attributes used here."""

    _scans: DocumentScanStep | None
    _scan_notice: Any
    _lock: Any
    _machine: Any
    _clock: Callable[[], float]
    _generation: int
    _outcome: Any

    _publish: Callable[[], None]
    _load_slots: Callable[[], None]

    # -- citizen actions ---------------------------------------------------------------------
    def scan_preview(self) -> None:
        """Show a quick preview of what lies on the scanner glass."""
        self._scan_call(lambda step: step.preview())

    def scan_page(self) -> None:
        """Scan one more page of the current document."""
        self._scan_call(lambda step: step.scan())

    def scan_feeder(self) -> None:
        """Scan all pages in the document feeder."""
        self._scan_call(lambda step: step.scan_feeder())

    def scan_retake(self, index: int) -> None:
        """Scan page `index` of the current document again."""
        self._scan_call(lambda step: step.retake(index))

    def scan_remove(self, index: int) -> None:
        """Drop page `index` of the current document."""
        self._scan_call(lambda step: step.remove(index))

    def scan_next_document(self) -> None:
        """This document is done: on to the next one (or to the schedule after the last)."""
        self._scan_call(lambda step: step.next_document())

    def scan_skip_document(self) -> None:
        """The citizen brings this document to the counter instead."""
        self._scan_call(lambda step: step.skip_document())

    def scan_skip_all(self) -> None:
        """Skip every remaining document and go on to the schedule."""
        self._scan_call(lambda step: step.skip_rest())

    def scan_previous_document(self) -> None:
        """Back to the previous document, or to the form from the first one."""
        with self._lock:
            first = self._scans is None or self._scans.view().index == 0
        if first:
            self.previous_page()
        else:
            self._scan_call(lambda step: step.previous_document())

    def previous_page(self) -> None:  # pragma: no cover - SessionService defines it
        """Provided by SessionService."""
        raise NotImplementedError

    # -- wiring ------------------------------------------------------------------------------
    def _scan_call(self, action: Callable[[DocumentScanStep], None]) -> None:
        with self._lock:
            if self._scans is None or self._machine.state is not SessionState.SCAN:
                return
            self._machine.activity(self._clock())
            step = self._scans
        action(step)  # outside the session lock: the step calls back into _on_scan_change

    def _on_scan_change(self, finished: bool) -> None:
        """The step changed (from any thread): re-render; after the last document, go on."""
        with self._lock:
            if self._machine.state is not SessionState.SCAN:
                return
            self._machine.activity(self._clock())  # a long scan is not inactivity
            go_on = finished and self._machine.scan_done(self._clock())
        self._publish()
        if go_on:
            self._load_slots()

    def _upload_scans(
        self, central: Any, number: str, generation: int, offline: bool = False
    ) -> None:
        """The submission is stored: attach the scanned PDFs in the background."""
        if self._scans is None:
            return
        if offline:  # queued with a local reference only: no application to attach to yet
            failed = self._scans.hand_over_unsent(number, "submission queued offline")
            self._scans_uploaded(generation, failed)
            return
        try:
            self._scans.upload(
                central, number, lambda failed: self._scans_uploaded(generation, failed)
            )
        except Exception:  # the submission is stored; scans are only a convenience
            log.exception("starting the scan upload for %s failed", number)
            self._scans_uploaded(generation, ["*"])

    def _scans_uploaded(self, generation: int, failed: list[str]) -> None:
        """Tell the citizen (if still here) that failed documents are checked at the counter."""
        if not failed:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._scan_notice = SCANS_AT_COUNTER
            if self._outcome is not None:
                self._outcome = self._with_scan_notice(self._outcome)
        self._publish()

    def _with_scan_notice(self, outcome: Any) -> Any:
        """The outcome with the scan upload notice added once, when there is one."""
        if self._scan_notice is None or self._scan_notice in outcome.messages:
            return outcome
        return dataclasses.replace(outcome, messages=(*outcome.messages, self._scan_notice))
