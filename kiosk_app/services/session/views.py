"""Every view model a screen renders: the one module kiosk_app.ui imports from the services."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kiosk_app.central import SlotAvailability
from kiosk_app.domain import ikm
from kiosk_app.domain.catalogue import ServiceInfo
from kiosk_app.domain.registration import DIGITS
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.domain.timeline import Timeline
from kiosk_app.services.attendant.auth import PIN_MAX
from kiosk_app.services.attendant.core import AttendantView
from kiosk_app.services.attendant.devices import ReprintItem
from kiosk_app.services.attendant.held import HeldItem
from kiosk_app.services.attendant.texts import PIN_LOCKED
from kiosk_app.services.printing.issued import CODE_LETTERS
from kiosk_app.services.printing.reprint import ReprintOffer
from kiosk_app.services.scanning.step import DocStatus, DocumentView, ScanView

__all__ = [
    "CODE_LETTERS",
    "NONE_READY",
    "PIN_LOCKED",
    "PIN_MAX",
    "AttendantView",
    "CardHolderView",
    "CheckinResult",
    "CheckinView",
    "DocStatus",
    "DocumentView",
    "HeldItem",
    "Outcome",
    "ReadyDocument",
    "ReprintItem",
    "ReprintOffer",
    "ScanView",
    "SessionView",
    "SlotAvailability",
    "StatusCheckView",
    "StatusResult",
    "SurveyView",
]

PER_PAGE = 3  # survey questions per page: four big answers each still fit a 800 px screen
PAGE_COUNT = -(-len(ikm.ELEMENTS) // PER_PAGE)

NONE_READY = Text(
    "Belum ada dokumen Anda yang siap dicetak. Bila Anda menerima kode cetak, ketik kodenya.",
    "None of your documents is ready to print. If you received a print code, type it.",
)


@dataclass(frozen=True)
class Outcome:
    """What the result screen shows."""

    registration_number: str
    queue_number: str
    slot: Slot
    offline: bool
    ticket_printed: bool
    receipt_printed: bool
    messages: tuple[Text, ...] = ()
    local_reference: str = ""  # the outbox's LOK-... reference (the only number when offline)


@dataclass(frozen=True)
class StatusResult:
    """An application's status in plain words (no NIK; masked name only)."""

    registration_number: str
    service: Text
    status: str
    status_text: Text
    next_step: Text
    slot: Slot | None  # shown only while the verification date still matters
    office_name: str
    masked_name: str


@dataclass(frozen=True)
class NumberPadView:
    """A registration number being typed on the keypad (status check and check-in), and
    whether its look-up runs or what it said."""

    prefix: str
    digits: str
    entry: str  # the number as typed so far, with blanks
    loading: bool = False
    message: Text | None = None  # a refusal or a fault, in the citizen's words

    @property
    def complete(self) -> bool:
        """True when every digit of the number is typed."""
        return len(self.digits) == DIGITS


@dataclass(frozen=True)
class StatusCheckView(NumberPadView):
    """What the status screen shows."""

    result: StatusResult | None = None


@dataclass(frozen=True)
class CheckinResult:
    """A check-in's answer as the screen shows it: the calling number, large."""

    calling_number: str
    registration_number: str
    service: Text
    counter_group: str
    people_ahead: int
    estimated_wait_minutes: int
    repeat: bool  # checked in before: the same number again
    announcement: Text  # what is said aloud: "Nomor antrean A dua belas. ..."
    printed: bool | None = None  # None while the calling ticket prints
    priority: Text | None = None  # the priority lane an attendant granted


@dataclass(frozen=True)
class CheckinView(NumberPadView):
    """What the check-in screen shows."""

    result: CheckinResult | None = None
    attendant_called: bool = False  # the kiosk called an attendant (server unreachable)


@dataclass(frozen=True)
class SurveyView:
    """What the survey screen shows: the questions of one page and the answers so far."""

    service: str
    answers: Mapping[str, int] = field(default_factory=dict)
    page: int = 0
    page_count: int = PAGE_COUNT
    message: Text | None = None

    @property
    def elements(self) -> tuple[ikm.Element, ...]:
        """The questions of the current page."""
        return ikm.ELEMENTS[self.page * PER_PAGE : (self.page + 1) * PER_PAGE]

    @property
    def complete(self) -> bool:
        """True when all nine questions are answered."""
        return not ikm.missing(self.answers)


@dataclass(frozen=True)
class ReadyDocument:
    """A document of the card holder that the kiosk can print now."""

    registration_number: str
    title: Text
    document_number: str


@dataclass(frozen=True)
class CardHolderView:
    """What the status (own applications) and documents screens show."""

    loading: bool = False
    loaded: bool = False
    timelines: tuple[Timeline, ...] = ()
    ready: tuple[ReadyDocument, ...] = ()
    code: str = ""  # typed so far, shown as ACEF-HJ34
    printing: bool = False
    printed: bool = False
    messages: tuple[Text, ...] = ()
    # registration numbers whose lost receipt can be printed again (not verified or rejected)
    copyable: tuple[str, ...] = ()
    copying: str = ""  # the registration number whose receipt copy is printing


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
    holder_sex: str = ""  # "L" or "P" (card, else NIK) for Bapak/Ibu; "" unknown
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
    checkin: CheckinView | None = None  # in SessionState.CHECKIN
    reopens: Text | None = None  # CLOSED: "Buka lagi Senin, 23 November 2026 pukul 08.00 WIB"
