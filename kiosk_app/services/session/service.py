"""The session service: the only place where card events, the form, the central server and
the printers meet. The UI renders its `SessionView` snapshots and calls its methods."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drivers.barcode_scanner.protocol import BarcodeScanner
from drivers.card_reader.protocol import (
    CardEvent,
    CardInserted,
    CardReader,
    CardReadFailed,
    CardRemoved,
    IdentityRead,
    ReaderStateChanged,
    UidOnlyCard,
)
from drivers.scanner.protocol import Scanner
from kiosk_app.central import (
    CentralClient,
    SlotAvailability,
)
from kiosk_app.domain.catalogue import SERVICES, ServiceInfo
from kiosk_app.domain.form_variants import skipped_pages
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.nik import validate_nik
from kiosk_app.domain.session import (
    GOODBYE_TEXT,
    EndReason,
    SessionMachine,
    SessionState,
    Timeouts,
)
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.outbox.sender import OutboxSender
from kiosk_app.services.printing.reprint import ReprintOffer, TicketReprint
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.regions import RegionCache
from kiosk_app.services.scanning.step import DocumentScanStep, ScanView
from kiosk_app.services.session.assisted import AttendantJourneyMixin
from kiosk_app.services.session.card_holder import CardHolderView
from kiosk_app.services.session.documents import DocumentsJourneyMixin
from kiosk_app.services.session.opening_hours import OpeningHours, OpeningHoursMixin
from kiosk_app.services.session.scan import ScanJourneyMixin
from kiosk_app.services.session.status import StatusJourneyMixin
from kiosk_app.services.session.status_check import StatusCheck, StatusCheckView
from kiosk_app.services.session.submission import Outcome, SubmissionJourneyMixin
from kiosk_app.services.session.survey import SurveyJourneyMixin, SurveyView
from kiosk_app.services.surveys import SurveySender

log = logging.getLogger(__name__)

NOT_BUILT = Text(
    "Layanan ini belum tersedia di anjungan. Silakan ke loket pelayanan.",
    "This service is not available on the kiosk yet. Please go to the service counter.",
)
FEATURE_NOT_BUILT: dict[str, Text] = {}  # menu extras not built yet (none left)
UID_ONLY = Text(
    "Kartu terbaca tanpa data e-KTP. Silakan minta bantuan petugas untuk melanjutkan.",
    "The card was read without its e-KTP data. Please ask an attendant to continue.",
)
@dataclass(frozen=True)
class SessionView:
    """An immutable snapshot of the session; the UI renders only from this."""

    state: SessionState
    language: str
    reader_available: bool
    simulated_reader: bool
    message: Text | None = None
    name: str = ""
    masked_nik: str = ""
    photo_jpeg: bytes = field(default=b"", repr=False)
    services: tuple[ServiceInfo, ...] = ()
    service: ServiceInfo | None = None
    page: int = 0
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, Text] = field(default_factory=dict)
    slots: tuple[SlotAvailability, ...] = ()
    slots_loading: bool = False
    slot: Slot | None = None
    summary: tuple[tuple[str, str], ...] = ()
    outcome: Outcome | None = None
    warning_seconds_left: int | None = None
    goodbye: Text | None = None
    busy: bool = False
    status_check: StatusCheckView | None = None  # in SessionState.STATUS
    reprint: ReprintOffer | None = None  # on the result screen when the ticket did not print
    scan: ScanView | None = None  # the document scanning step, in the SCAN state
    survey: SurveyView | None = None  # the satisfaction survey, in the SURVEY state
    assisted_by: str = ""  # the attendant id while an attendant assists (a badge shows it)
    card_holder: CardHolderView | None = None  # own applications and printing (STATUS, DOCUMENTS)
    reopens: Text | None = None  # CLOSED: "Buka lagi Senin, 23 November 2026 pukul 08.00 WIB"


Listener = Callable[[SessionView], None]


class SessionService(SubmissionJourneyMixin, ScanJourneyMixin, SurveyJourneyMixin,
                     StatusJourneyMixin, AttendantJourneyMixin, DocumentsJourneyMixin,
                     OpeningHoursMixin):
    """Runs one citizen session at a time; all blocking work happens on a worker thread."""

    def __init__(
        self,
        *,
        card_reader: CardReader,
        central: CentralClient,
        printing: PrintingService,
        timeouts: Timeouts | None = None,
        language: str = "id",
        clock: Callable[[], float] = time.monotonic,
        barcode_scanner: BarcodeScanner | None = None,
        reprint: TicketReprint | None = None,
        outbox: OutboxSender | None = None,
        send_timeout_s: float = 3.0,
        scanner: Scanner | None = None,
        surveys: SurveySender | None = None,
        regions: RegionCache | None = None,
        opening_hours: OpeningHours | None = None,  # None: always open
        wall_clock: Callable[[], datetime] | None = None,  # aware "now" for the opening hours
    ) -> None:
        self._reader = card_reader
        self._central = central
        self._printing = printing
        self._outbox = outbox  # None: submit directly (no offline queue)
        self._send_timeout_s = send_timeout_s  # the immediate try; then the outbox retries
        self._clock = clock
        self._default_language = language
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-worker")
        self._machine = SessionMachine(timeouts=timeouts or Timeouts())
        self._language = language
        self._reader_available = True
        self._message: Text | None = None
        self._errors: Mapping[str, Text] = {}
        self._slots: tuple[SlotAvailability, ...] = ()
        self._slots_loading = False
        self._outcome: Outcome | None = None
        self._busy = False
        self._idempotency_key: str | None = None
        self._generation = 0  # bumps when a session ends, so late worker results are dropped
        self._services = tuple(SERVICES.values())
        # The document scanning step (None: no scanner, the journey goes form -> schedule).
        self._scans = DocumentScanStep(scanner, on_change=self._on_scan_change) if scanner else None
        self._scan_notice: Text | None = None
        self.last_transaction_at: datetime | None = None  # for the health report
        self._barcode_scanner = barcode_scanner
        self._reprint = reprint
        self._reprint_offered: str | None = None  # the registration number offered
        office = str(getattr(central, "office_code", ""))
        self._status_check = StatusCheck(central, self._publish, office_code=office)
        self._init_survey(surveys)  # None: no survey at the end of a visit
        self.regions = regions  # the region list REGION fields pick from (None: built-in sample)
        self._init_card_holder()
        self._setup_opening_hours(opening_hours, wall_clock)
        self.view = self._snapshot()

    # -- plumbing ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start listening to the card reader."""
        self._reader.start(self._on_card_event)
        if self._barcode_scanner is not None:
            self._barcode_scanner.start(self._on_scan_event)

    def close(self) -> None:
        """Stop the reader and the worker; wipe what the session held."""
        self._reader.stop()
        if self._barcode_scanner is not None:
            self._barcode_scanner.stop()
        self._status_check.close()
        self._card_holder.close()
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self._scans is not None:
            self._scans.close()
        with self._lock:
            if self._machine.state is not SessionState.ATTRACT:
                self._machine.end(EndReason.CANCELLED, self._clock())
            self._clear_session_extras()

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every new view, from whichever thread made the change."""
        with self._lock:
            self._listeners.append(listener)
        listener(self.view)

    @property
    def simulated_reader(self) -> bool:
        """True when the card reader is the simulator (the attract screen offers a tap button)."""
        return bool(getattr(self._reader, "is_simulated", False))

    # -- citizen input -----------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        """Switch the language of everything shown (kept for this session)."""
        if lang not in ("id", "en"):
            return
        with self._lock:
            self._language = lang
            self._machine.activity(self._clock())
        self._publish()

    def activity(self) -> None:
        """Any touch: resets the inactivity timer."""
        with self._lock:
            shown = self._machine.warning_deadline is not None
            self._machine.activity(self._clock())
        if shown:
            self._publish()

    def still_here(self) -> None:
        """The citizen answered the inactivity warning."""
        with self._lock:
            self._machine.still_here(self._clock())
        self._publish()

    def tick(self) -> None:
        """Advance timers (inactivity warning and its countdown, goodbye back to attract)."""
        with self._lock:
            now = self._clock()
            was_goodbye = self._machine.state is SessionState.GOODBYE
            if self._machine.tick(now) and self._machine.state is SessionState.GOODBYE:
                if not was_goodbye:
                    log.info("session ended: %s", self._machine.end_reason)
                self._clear_session_extras()
            if was_goodbye and self._machine.state is SessionState.ATTRACT:
                self._language = self._default_language  # the next citizen starts afresh
            self._follow_opening_hours()  # closes only from the idle attract screen
            shown = (self.view.state, self.view.warning_seconds_left)
            changed = shown != (self._machine.state, self._machine.warning_seconds_left(now))
        if changed:
            self._publish()

    def simulate_card_tap(self, citizen_index: int = 0) -> None:
        """Put a fictional citizen's card on the simulated reader."""
        insert = getattr(self._reader, "insert_card", None)
        if insert is not None:
            insert(citizen_index)

    def simulate_card_removal(self) -> None:
        """Take the card off the simulated reader."""
        remove = getattr(self._reader, "remove_card", None)
        if remove is not None:
            remove()

    def continue_to_menu(self) -> None:
        """Identity confirmed: show the menu."""
        self._step(lambda now: self._machine.to_menu(now))

    def choose_service(self, key: str) -> None:
        """Open a service's form, or say plainly that it is not built yet."""
        if key in ("status", "print"):
            (self.open_status if key == "status" else self.open_documents)()
            return
        info = SERVICES.get(key)
        with self._lock:
            if self._machine.state is not SessionState.MENU:
                return
            self._machine.activity(self._clock())
            if info is None or info.form is None:
                self._message = FEATURE_NOT_BUILT.get(key, NOT_BUILT)
            else:
                prefill = info.prefill(self._machine.identity) if self._machine.identity else {}
                scan = self._scans is not None and bool(info.required_documents)
                self._machine.start_form(
                    key, len(info.form.pages), prefill, self._clock(), scan_step=scan
                )
                self._message = None
                self._errors = {}
                self._idempotency_key = None
        self._publish()

    def set_value(self, name: str, value: str) -> None:
        """Store what the citizen entered in a field."""
        with self._lock:
            if self._machine.set_value(name, value, self._clock()) and name in self._errors:
                self._errors = {k: v for k, v in self._errors.items() if k != name}
        self._publish()

    def next_page(self) -> None:
        """Validate the page; move on when it is valid, otherwise show the messages."""
        load_slots = False
        with self._lock:
            form = self._form()
            if self._machine.state is not SessionState.FORM or form is None:
                return
            result = form.validate_page(self._machine.page, self._machine.values)
            self._errors = dict(result.errors)
            if result.ok:
                self._machine.next_page(self._clock())
                self._skip_other_variants(self._machine.next_page)
                load_slots = self._machine.state is SessionState.SCHEDULE
                if self._machine.state is SessionState.SCAN and self._scans is not None:
                    self._scans.begin(SERVICES[self._machine.service or ""].required_documents)
            else:
                self._machine.activity(self._clock())
        self._publish()
        if load_slots:
            self._load_slots()

    def previous_page(self) -> None:
        """Go one step back."""
        with self._lock:
            if self._machine.state is SessionState.SCHEDULE and self._scans is not None:
                self._scans.reopen()  # back to the scanning step: its last document

        def back(now: float) -> bool:
            moved = self._machine.previous_page(now)
            if moved:
                self._skip_other_variants(self._machine.previous_page)
            return moved

        self._step(back)

    def _skip_other_variants(self, move: Callable[[float], bool]) -> None:
        """Pass over form pages that belong only to a variant the citizen did not choose."""
        form, service = self._form(), self._machine.service or ""
        skipped = skipped_pages(service, form, self._machine.values) if form else frozenset()
        while self._machine.state is SessionState.FORM and self._machine.page in skipped:
            if not move(self._clock()):
                break

    def edit_page(self, index: int) -> None:
        """From the review, go back to a form page."""
        self._step(lambda now: self._machine.edit_page(index, now))

    def choose_slot(self, slot: Slot) -> None:
        """The citizen picked a verification date and window."""
        self._step(lambda now: self._machine.choose_slot(slot, now))

    def submit(self) -> None:
        """Send the pre-application and print the ticket and receipt, in the background."""
        with self._lock:
            if not self._machine.submit(self._clock()):
                return
            if self._idempotency_key is None:
                self._idempotency_key = uuid.uuid4().hex
            self._busy = True
            self._message = None
            generation = self._generation
        self._publish()
        self._worker.submit(self._submit_job, generation)

    def finish(self) -> None:
        """Done (or cancel): say goodbye and wipe."""
        if self._survey_instead_of_finish():
            return  # the visit is wiped; the optional survey shows first
        with self._lock:
            if self._machine.finish(self._clock()):
                self._clear_session_extras()
        self._publish()

    # -- card events (driver thread) ---------------------------------------------------------
    def _on_card_event(self, event: CardEvent) -> None:
        now = self._clock()
        with self._lock:
            m = self._machine
            self._closed_card_event(event)  # while closed, cards are not read
            if isinstance(event, CardInserted):
                if m.card_inserted(now):
                    self._clear_session_extras()
            elif isinstance(event, IdentityRead):
                if m.identity_read(event.identity, now):
                    log.info("card read: NIK %s", mask_nik(event.identity.nik))
                    self._message = _identity_check(event.identity)
            elif isinstance(event, CardReadFailed):
                log.warning("card read failed: %s", event.error)
                if m.read_failed(event.error.citizen_message, now):
                    self._message = event.error.citizen_message
            elif isinstance(event, UidOnlyCard) and not self._attendant_card(event.uid, now):
                # Entering the NIK and PIN on the kiosk is not built yet: an attendant helps.
                log.info("UID-only card read; asking for an attendant")
                if m.read_failed(UID_ONLY, now):
                    self._message = UID_ONLY
            elif isinstance(event, CardRemoved) and self._assist_kind != "uid_card":
                if m.card_removed(now):
                    log.info("card removed; session state now %s", m.state.value)
                    self._clear_session_extras()
            elif isinstance(event, ReaderStateChanged):
                self._reader_available = event.available
                log.info("reader available=%s: %s", event.available, event.detail)
        self._publish()

    # -- helpers -----------------------------------------------------------------------------
    def _step(self, action: Callable[[float], bool]) -> None:
        with self._lock:
            if action(self._clock()):
                self._message = None
                self._errors = {}
        self._publish()

    def _form(self) -> Any:
        info = SERVICES.get(self._machine.service or "")
        return info.form if info else None

    def _clear_session_extras(self) -> None:
        self._generation += 1
        self._status_check.clear()
        self._reprint_offered = None
        if self._reprint is not None:
            self._reprint.withdraw()
        self._message = self._machine.error
        self._errors = {}
        self._slots = ()
        self._slots_loading = False
        self._outcome = None
        self._busy = False
        self._idempotency_key = None
        self._scan_notice = None
        self._clear_assisted()
        if getattr(self, "_scans", None) is not None:
            self._scans.clear()  # scanned pages are personal data: gone with the session
        if getattr(self, "_card_holder", None) is not None:
            self._card_holder.clear()  # own applications and a typed print code

    def _snapshot(self) -> SessionView:
        m, now = self._machine, self._clock()
        info = SERVICES.get(m.service or "")
        identity = m.identity
        summary: tuple[tuple[str, str], ...] = ()
        if info is not None and m.state in (SessionState.REVIEW, SessionState.SUBMITTING):
            summary = tuple(info.summary(m.values, self._language))
        return SessionView(
            state=m.state,
            language=self._language,
            reader_available=self._reader_available,
            simulated_reader=self.simulated_reader,
            message=self._message,
            name=identity.name if identity else "",
            masked_nik=mask_nik(identity.nik) if identity else "",
            photo_jpeg=identity.photo_jpeg if identity else b"",
            services=self._services,
            service=info,
            page=m.page,
            values=dict(m.values),
            errors=dict(self._errors),
            slots=self._slots,
            slots_loading=self._slots_loading,
            slot=m.slot,
            summary=summary,
            outcome=self._outcome,
            warning_seconds_left=m.warning_seconds_left(now),
            goodbye=GOODBYE_TEXT.get(m.end_reason) if m.end_reason else None,
            busy=self._busy,
            status_check=self._status_check.view() if m.state is SessionState.STATUS else None,
            reprint=self._reprint.view()
            if self._reprint is not None and m.state is SessionState.RESULT
            else None,
            scan=self._scans.view() if self._scans and m.state is SessionState.SCAN else None,
            survey=self._survey_view(),
            assisted_by=self._assisted_by,
            card_holder=self._card_holder_view(),
            reopens=self._reopening_text(),
        )

    def _publish(self) -> None:
        with self._lock:
            self._offer_reprint_if_owed()
            self.view = self._snapshot()
            view, listeners = self.view, list(self._listeners)
        for listener in listeners:
            try:
                listener(view)
            except Exception:
                log.exception("session listener failed")



CARD_DATA_INCONSISTENT = Text(
    "Data NIK pada e-KTP Anda tidak cocok dengan tanggal lahir atau jenis kelamin. Anda tetap "
    "dapat melanjutkan; petugas akan memeriksanya saat verifikasi.",
    "The NIK on your e-KTP does not match its date of birth or sex. You can still continue; an "
    "officer will check it at verification.",
)


def _identity_check(identity: Identity) -> Text | None:
    """A card whose NIK disagrees with its own birth date or sex: say so, and let them go on."""
    problems = validate_nik(identity.nik, birth_date=identity.birth_date, sex=identity.sex)
    if not problems:
        return None
    log.warning("card NIK %s inconsistent with the card's data: %s", mask_nik(identity.nik),
                "; ".join(p.en for p in problems))
    return CARD_DATA_INCONSISTENT
