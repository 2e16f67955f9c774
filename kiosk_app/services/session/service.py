"""The session facade: the one object the UI calls; each call goes to one journey."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from drivers.barcode_scanner.protocol import BarcodeScanner
from drivers.card_reader.protocol import CardReader
from drivers.scanner.protocol import Scanner
from kiosk_app.central import CentralClient
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.formkit import holder_sex
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.opening_hours import OpeningHours
from kiosk_app.domain.session import GOODBYE_TEXT, SessionState, Timeouts
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.leases import LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.sender import OutboxSender
from kiosk_app.services.printing.copy_outcomes import CopyOutcomes
from kiosk_app.services.printing.reprint import TicketReprint
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.regions import RegionCache
from kiosk_app.services.session.actions import (
    AssistActions,
    CardActions,
    CardHolderActions,
    CheckinActions,
    FormActions,
    HoursActions,
    ResultActions,
    ScanActions,
    ScheduleActions,
    StatusActions,
    SubmitActions,
    SurveyActions,
)
from kiosk_app.services.session.assisted import AssistedJourney
from kiosk_app.services.session.card import CardJourney
from kiosk_app.services.session.card_holder import CardHolderJourney
from kiosk_app.services.session.checkin import CheckinJourney
from kiosk_app.services.session.core import Listener, SessionCore, as_language
from kiosk_app.services.session.form import FormJourney
from kiosk_app.services.session.hooks import AssistHooks
from kiosk_app.services.session.opening_hours import OpeningHoursJourney
from kiosk_app.services.session.result import ResultJourney
from kiosk_app.services.session.scan import ScanJourney
from kiosk_app.services.session.schedule import ScheduleJourney
from kiosk_app.services.session.status import StatusJourney
from kiosk_app.services.session.submission import SubmissionJourney
from kiosk_app.services.session.survey import STATUS_VISIT, SurveyJourney
from kiosk_app.services.session.views import SessionView
from kiosk_app.services.surveys import SurveySender


class SessionService:
    """Runs one citizen's visit at a time over a shared core; blocking work runs on workers."""

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
        leases: LeaseStore | None = None,  # booked from while the server cannot be reached
        signer: ReceiptSigner | None = None,  # seals the ticket's and receipt's QR
        copy_outcomes: CopyOutcomes | None = None,  # receipt copies' print outcomes
    ) -> None:
        """Build the core and every journey with only the collaborators it needs."""
        core = SessionCore(
            timeouts=timeouts or Timeouts(),
            language=as_language(language) or "id",
            clock=clock,
            render=self._render,
        )
        self.core = core  # shared machinery: tests and the UI pilot hold its clock
        self._reprint = reprint
        self.regions = regions  # the region list REGION fields pick from (None: built-in sample)
        hours = OpeningHoursJourney(core, opening_hours, wall_clock)
        assisted = AssistedJourney(core)
        schedule = ScheduleJourney(core, central, leases)
        scan = (
            ScanJourney(core, scanner=scanner, central=central, schedule=schedule)
            if scanner is not None
            else None
        )
        result = ResultJourney(core, reprint)
        survey = SurveyJourney(core, surveys)  # None: no survey at the end of a visit
        checkin = CheckinJourney(core, central=central, printing=printing, attendant=assisted)
        self._hours: HoursActions = hours
        self._assisted: AssistActions = assisted
        self._checkin: CheckinActions = checkin
        self._card: CardActions = CardJourney(
            core, card_reader, attendant=assisted, closed=hours, checkin=checkin
        )
        self._schedule: ScheduleActions = schedule
        self._scan: ScanActions | None = scan
        self._result: ResultActions = result
        self._submission: SubmitActions = SubmissionJourney(
            core,
            central=central,
            printing=printing,
            outbox=outbox,
            send_timeout_s=send_timeout_s,
            schedule=schedule,
            documents=scan,
            assistance=assisted,
            result=result,
            leases=leases,
            signer=signer,
        )
        self._form: FormActions = FormJourney(core, scans=scan, schedule=schedule)
        self._survey: SurveyActions = survey
        self._status: StatusActions = StatusJourney(core, central, barcode_scanner, checkin)
        self._card_holder: CardHolderActions = CardHolderJourney(
            core,
            central=central,
            printing=printing,
            on_printed=lambda: survey.note_visit("print"),
            attendant=assisted,
            copy_outcomes=copy_outcomes,
        )
        self._services = tuple(SERVICES.values())
        core.publish()  # the first view: only now does every journey _render reads exist

    # -- plumbing ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start listening to the card reader and the barcode scanner."""
        self._card.start()
        self._status.start()

    def close(self) -> None:
        """Stop the devices and the workers; wipe what the session held."""
        self._card.stop()
        self._status.stop()
        self._card_holder.close()
        self._checkin.close()
        self.core.close()
        if self._scan is not None:
            self._scan.close()
        self.core.cancel()
        if self._reprint is not None:
            self._reprint.close()  # after the visit's end withdrew its offer

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every new view, from whichever thread made the change."""
        self.core.subscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        self.core.unsubscribe(listener)

    @property
    def view(self) -> SessionView:
        """The latest view."""
        return self.core.view

    def idle(self) -> bool:
        """True when no citizen is being served (the attract or closed screen): a quiet
        moment for background work a citizen should not wait on (a seal key rotation)."""
        return self.core.state() in (SessionState.ATTRACT, SessionState.CLOSED)

    @property
    def simulated_reader(self) -> bool:
        """True when the card reader is the simulator (the attract screen offers a tap button)."""
        return self._card.simulated

    @property
    def last_transaction_at(self) -> datetime | None:
        """When the last submission completed (for the health report)."""
        return self._submission.last_transaction_at

    # -- every screen ------------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        """Switch the language of everything shown (kept for this visit)."""
        self.core.set_language(lang)

    def activity(self) -> None:
        """Any touch: resets the inactivity timer."""
        self.core.activity()

    def still_here(self) -> None:
        """The citizen answered the inactivity warning."""
        self.core.still_here()

    def tick(self) -> None:
        """Advance timers (inactivity, goodbye back to attract, opening hours, the reader)."""
        self.core.tick(self._hours.follow)
        self._card.follow_reader()

    def finish(self) -> None:
        """Done (or cancel): the survey after a visit that did something, else the goodbye."""
        if self._survey.offer_at_finish():
            return  # the visit is wiped; the optional survey shows first
        core = self.core
        with core.lock:
            if core.machine.finish(core.now()):
                core.end_visit()
        core.publish()

    def unsent_work(self) -> str:
        """This visit's pre-application still waiting in the outbox (LOK-...), or "": ending
        the visit then tells the citizen it is kept and sent later."""
        return self._submission.unsent()

    # -- the card ----------------------------------------------------------------------------
    def simulate_card_tap(self, citizen_index: int = 0) -> None:
        """Put a fictional citizen's card on the simulated reader."""
        self._card.simulate_tap(citizen_index)

    def simulate_card_removal(self) -> None:
        """Take the card off the simulated reader."""
        self._card.simulate_removal()

    def simulate_uid_card(self, uid: str) -> None:
        """Present a UID-only card (an attendant's or a citizen's) on the simulated reader."""
        self._card.simulate_uid_card(uid)

    def simulate_uid_card_removal(self) -> None:
        """Take the simulated UID-only card away."""
        self._card.simulate_uid_card_removal()

    # -- menu, form, schedule, review --------------------------------------------------------
    def continue_to_menu(self) -> None:
        """Identity confirmed: show the menu."""
        self._form.continue_to_menu()

    def choose_service(self, key: str) -> None:
        """Open a service's form, the status check or "Cetak Dokumen"."""
        if key == "status":
            self.open_status()
        elif key == "checkin":
            self.open_checkin()
        elif key == "print":
            self.open_documents()
        elif self._form.choose_service(key):
            self._submission.new_application()

    def set_value(self, name: str, value: str) -> None:
        """Store what the citizen entered in a field."""
        self._form.set_value(name, value)

    def typed_data(self) -> bool:
        """True when the open form holds something the citizen entered (not only prefill):
        leaving the form's first page for the menu then asks first."""
        return self._form.typed_data()

    def next_page(self) -> None:
        """Validate the page; move on when it is valid, otherwise show the messages."""
        self._form.next_page()

    def previous_page(self) -> None:
        """Go one step back."""
        self._form.previous_page()

    def edit_page(self, index: int) -> None:
        """From the review, go back to a form page."""
        self._form.edit_page(index)

    def choose_slot(self, slot: Slot) -> None:
        """The citizen picked a verification date and window."""
        self._form.choose_slot(slot)

    def submit(self) -> None:
        """Send the pre-application and print the ticket and receipt, in the background."""
        self._submission.submit()

    def reprint_ticket(self) -> None:
        """The citizen asked for the ticket that did not print, now that the printer is back."""
        self._result.reprint_ticket()

    # -- scanning ----------------------------------------------------------------------------
    def scan_preview(self) -> None:
        """Show a quick preview of what lies on the scanner glass."""
        if self._scan is not None:
            self._scan.preview()

    def scan_page(self) -> None:
        """Scan one more page of the current document."""
        if self._scan is not None:
            self._scan.page()

    def scan_feeder(self) -> None:
        """Scan all pages in the document feeder."""
        if self._scan is not None:
            self._scan.feeder()

    def scan_retake(self, index: int) -> None:
        """Scan page `index` of the current document again."""
        if self._scan is not None:
            self._scan.retake(index)

    def scan_remove(self, index: int) -> None:
        """Drop page `index` of the current document."""
        if self._scan is not None:
            self._scan.remove(index)

    def scan_next_document(self) -> None:
        """This document is done: on to the next one (or to the schedule after the last)."""
        if self._scan is not None:
            self._scan.next_document()

    def scan_skip_document(self) -> None:
        """The citizen brings this document to the counter instead."""
        if self._scan is not None:
            self._scan.skip_document()

    def scan_skip_all(self) -> None:
        """Skip every remaining document and go on to the schedule."""
        if self._scan is not None:
            self._scan.skip_all()

    def scan_previous_document(self) -> None:
        """Back to the previous document, or to the form from the first one."""
        if self._scan is None or not self._scan.previous_document():
            self._form.previous_page()

    # -- status check ------------------------------------------------------------------------
    def open_status(self) -> None:
        """Open the status check (the menu's tile; a QR read opens it from the attract screen)."""
        self._status.open_status()

    def close_status(self) -> None:
        """Leave the status check: the survey (no card), the menu or the attract screen."""
        checked = self._status.showed_result()
        if checked and self._survey.offer_without_card(STATUS_VISIT):
            return
        self._status.close_status()
        if checked:
            self._survey.note_visit(STATUS_VISIT)

    def status_prefix(self, prefix: str) -> None:
        """Choose the service prefix of the number being typed."""
        self._status.prefix(prefix)

    def status_key(self, key: str) -> None:
        """A keypad key on the status screen: digit, backspace, clear or done (look up)."""
        self._status.key(key)

    # -- the verification day's check-in -----------------------------------------------------
    def open_checkin(self) -> None:
        """ "Saya datang untuk verifikasi hari ini": scan, tap or type for a calling number."""
        self._checkin.open_checkin()

    def close_checkin(self) -> None:
        """Leave the check-in: the menu (card holder) or the attract screen."""
        self._checkin.close_checkin()

    def checkin_prefix(self, prefix: str) -> None:
        """Choose the service prefix of the number being typed at the check-in."""
        self._checkin.prefix(prefix)

    def checkin_key(self, key: str) -> None:
        """A keypad key at the check-in: digit, backspace, clear or done (check in)."""
        self._checkin.key(key)

    # -- the card holder's documents ---------------------------------------------------------
    def open_documents(self) -> None:
        """The menu's "Cetak Dokumen": the card holder's ready documents and a code pad."""
        self._card_holder.open_documents()

    def close_documents(self) -> None:
        """Back to the menu."""
        self._card_holder.close_documents()

    def documents_key(self, key: str) -> None:
        """A key of the print-code pad."""
        self._card_holder.key(key)

    def print_by_code(self) -> None:
        """Print the document whose one-time code was typed."""
        self._card_holder.print_by_code()

    def print_own_document(self, registration_number: str) -> None:
        """Print one of the card holder's own ready documents."""
        self._card_holder.print_own(registration_number)

    def show_own_applications(self) -> None:
        """On the status screen: load the timelines of the card holder's own applications."""
        self._card_holder.show_own()

    def copy_receipt(self, registration_number: str) -> None:
        """On the status screen: print the lost receipt of an own application again."""
        self._card_holder.copy_receipt(registration_number)

    # -- survey ------------------------------------------------------------------------------
    def note_visit_for_survey(self, service: str) -> None:
        """Another journey finished: offer the survey at the end of the visit."""
        self._survey.note_visit(service)

    def survey_answer(self, code: str, value: int) -> None:
        """One answer (1..4) to one element."""
        self._survey.answer(code, value)

    def survey_page(self, delta: int) -> None:
        """The next (+1) or previous (-1) page of questions."""
        self._survey.page(delta)

    def survey_send(self) -> None:
        """Send the answers (in the background) and say goodbye; or say what is missing."""
        self._survey.send()

    def survey_skip(self) -> None:
        """No survey: nothing is kept, the goodbye."""
        self._survey.skip()

    # -- attendant mode (AttendantService calls these) ---------------------------------------
    def attach_attendant(self, hooks: AssistHooks) -> None:
        """Attendant mode is there: its cards unlock it, assisted submissions are audited."""
        self._assisted.attach(hooks)

    @property
    def assisted_by(self) -> str:
        """The attendant id when this visit is assisted, else ""."""
        return self._assisted.assisted_by()

    def assist(self, attendant_id: str) -> str | None:
        """Mark the running visit assisted; the masked NIK, or None when no citizen is here."""
        return self._assisted.assist(attendant_id)

    def uid_card_waiting(self) -> bool:
        """True when a citizen's UID-only card was read lately and no visit runs."""
        return self._assisted.uid_card_waiting()

    def continue_uid_card(self, identity: Identity, attendant_id: str) -> bool:
        """Start the citizen's visit from the NIK and name the attendant typed off the card."""
        return self._assisted.continue_uid_card(identity, attendant_id)

    def grant_priority(self, reason: str, attendant_id: str) -> Text | None:
        """The attendant puts the citizen whose calling number is on screen in the priority
        lane (blocking); None when done, else why not."""
        return self._checkin.grant_priority(reason, attendant_id)

    def attendant_reprinted(self, reference: str) -> None:
        """The attendant reprinted `reference`'s ticket: the result screen stops offering it."""
        self._result.ticket_reprinted(reference)

    # -- the view ----------------------------------------------------------------------------
    def _render(self) -> SessionView:
        """Compose the view from the core and every journey (lock held)."""
        core = self.core
        m, now = core.machine, core.now()
        info = SERVICES.get(m.service or "")
        identity = m.identity
        summary: tuple[tuple[str, str], ...] = ()
        if info is not None and m.state in (SessionState.REVIEW, SessionState.SUBMITTING):
            summary = tuple(info.summary(m.values, core.language))
        return SessionView(
            state=m.state,
            language=core.language,
            reader_available=self._card.reader_available(),
            simulated_reader=self._card.simulated,
            message=core.message,
            name=identity.name if identity else "",
            masked_nik=mask_nik(identity.nik) if identity else "",
            holder_sex=holder_sex(identity) if identity else "",
            photo_jpeg=identity.photo_jpeg if identity else b"",
            services=self._services,
            service=info,
            page=m.page,
            values=dict(m.values),
            errors=self._form.errors(),
            slots=self._schedule.slots(),
            slots_loading=self._schedule.loading(),
            slot=m.slot,
            summary=summary,
            outcome=self._result.outcome(),
            warning_seconds_left=m.warning_seconds_left(now),
            goodbye=GOODBYE_TEXT.get(m.end_reason) if m.end_reason else None,
            busy=self._submission.busy(),
            status_check=self._status.view(),
            reprint=self._result.reprint_offer(),
            scan=self._scan.view() if self._scan is not None else None,
            survey=self._survey.view(),
            assisted_by=self._assisted.assisted_by(),
            card_holder=self._card_holder.view(),
            checkin=self._checkin.view(),
            reopens=self._hours.reopening_text(),
        )
