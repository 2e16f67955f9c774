"""What the thermal ticket and the A4 receipt say (content, not bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kiosk_app.domain.text import Text

NOTES: tuple[Text, ...] = (
    Text(
        "Datanglah pada tanggal verifikasi yang tertera. Jika terlewat, silakan "
        "mengajukan pra-permohonan kembali.",
        "Come on the verification date shown. If you miss it, please submit a new pre-application.",
    ),
    Text(
        "Bawa dokumen asli persyaratan dan tanda terima ini ke loket pelayanan.",
        "Bring the original supporting documents and this receipt to the service counter.",
    ),
)

# The words printed around a ticket's values (drivers/ticket_printer/layout.py lays them out).
TICKET_QUEUE = Text("NOMOR ANTREAN", "QUEUE NUMBER")
TICKET_REGISTRATION = Text("No. Registrasi", "Registration no.")
TICKET_SERVICE = Text("Layanan", "Service")
TICKET_NAME = Text("Nama", "Name")
TICKET_SCHEDULE = Text("Jadwal verifikasi", "Verification")
TICKET_WINDOW = Text("pukul {window} WIB", "at {window} WIB")
TICKET_ISSUED = Text("Dicetak", "Issued")
TICKET_OFFLINE = Text("OFFLINE - akan dikirim otomatis", "OFFLINE - will be sent automatically")
# A place booked from the kiosk's lease while the central server could not be reached.
LEASE_NOTE = Text(
    "Nomor di atas adalah nomor lokal anjungan (LOK-...). Nomor registrasi akhir dikirim lewat "
    "SMS atau WhatsApp. Tanggal dan jam verifikasi sudah pasti.",
    "The number above is the kiosk's local number (LOK-...). The final registration number "
    "comes by SMS or WhatsApp. The verification date and time are certain.",
)
# A receipt the card holder had printed again from the central server's data (lost receipt).
COPY_MARK = Text("CETAK ULANG {at}", "CETAK ULANG / REPRINT {at}")
COPY_NOTE = Text(
    "Salinan tanda terima, dicetak ulang dari data server pusat; kode QR disegel server.",
    "A copy of the receipt, printed again from the central server's data; the QR is sealed "
    "by the server.",
)
# The calling ticket of the verification day (check-in at the kiosk).
CALLING_TITLE = Text("NOMOR PANGGILAN VERIFIKASI", "VERIFICATION CALLING NUMBER")
CALLING_COUNTER = Text("Loket", "Counter")
CALLING_AHEAD = Text("Antrean di depan Anda", "People ahead of you")
CALLING_AHEAD_VALUE = Text("{people} orang", "{people} people")
CALLING_WAIT = Text("Perkiraan waktu tunggu", "Estimated wait")
CALLING_WAIT_VALUE = Text("+/- {minutes} menit", "about {minutes} minutes")
CALLING_WAIT_SOON = Text("Segera dipanggil", "Called shortly")
CALLING_REPRINT = Text("CETAK ULANG", "REPRINT")  # an attendant's reprint: no queue position
CALLING_NOTES: tuple[Text, ...] = (
    Text(
        "Tunggu hingga nomor Anda dipanggil di layar dan melalui pengeras suara.",
        "Wait until your number is called on the screen and over the speakers.",
    ),
    Text(
        "Siapkan dokumen asli persyaratan dan tiket pra-permohonan Anda.",
        "Have your original documents and your pre-application ticket ready.",
    ),
)


@dataclass(frozen=True)
class Slot:
    """A verification appointment: a date and a time window such as 08.00-11.00."""

    date: date
    window: str


@dataclass(frozen=True)
class Ticket:
    """The thermal ticket handed to the citizen after a pre-application."""

    registration_number: str
    queue_number: str
    service: Text
    masked_name: str
    slot: Slot
    office_name: str
    qr_payload: str
    issued_at: str  # "22-11-2026 10:15"
    offline: bool = False
    notes: tuple[Text, ...] = NOTES
    language: str = "id"  # the citizen's language; Indonesian is always printed too where needed
    copied_at: str = ""  # a copy printed again (COPY_MARK with this time); "" the original


@dataclass(frozen=True)
class CallingTicket:
    """The small ticket a check-in prints: the calling number and where to wait."""

    calling_number: str  # "A-012"
    registration_number: str
    service: Text
    counter_group: str  # the counters handling the service, e.g. "Pencatatan Sipil"
    people_ahead: int
    estimated_wait_minutes: int
    office_name: str
    issued_at: str  # "23-11-2026 08.41"
    language: str = "id"
    notes: tuple[Text, ...] = CALLING_NOTES
    reprint: bool = False  # an attendant's reprint: people ahead and the wait are not printed


@dataclass(frozen=True)
class Letterhead:
    """The office's kop surat at the top of the A4 receipt (from the kiosk's [office] table)."""

    government: str = ""  # "PEMERINTAH KABUPATEN JOMBANG"
    office: str = ""  # "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL"; empty: the server's office name
    address: str = ""
    telephone: str = ""
    logo: str = ""  # path of the office's emblem (PNG); empty: none


@dataclass(frozen=True)
class Receipt:
    """The A4 receipt "TANDA TERIMA PRA-PERMOHONAN"."""

    registration_number: str
    service: Text
    for_whom: str  # the person the document is for, e.g. the child's name
    applicant_nik_masked: str
    applicant_name: str
    address: str
    status: Text
    slot: Slot
    purpose: Text
    office_name: str
    qr_payload: str
    issued_at: str
    kiosk_id: str
    offline: bool = False
    notes: tuple[Text, ...] = NOTES
    queue_number: str = ""
    originals: tuple[Text, ...] = ()  # the original documents to bring to the counter
    letterhead: Letterhead = Letterhead()
    copied_at: str = ""  # a copy printed again (COPY_MARK with this time); "" the original
