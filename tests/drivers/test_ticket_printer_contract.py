"""The printed ticket and the contract every TicketPrinter implementation must satisfy."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from PIL import Image

from drivers.errors import CoverOpen, DeviceError, PaperOut, PrinterOffline
from drivers.ticket_printer.emulator import render_bytes
from drivers.ticket_printer.emulator.paper import WIDTH, Paper
from drivers.ticket_printer.layout import build_ticket
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot, Ticket
from tests.drivers.escpos.harness import TicketPrinterHarness as PrinterHarness


def make_ticket(**changes: object) -> Ticket:
    """A typical ticket; keyword arguments override fields."""
    ticket = Ticket(
        registration_number="PRA-3517-20261122-0042",
        queue_number="A-017",
        service=Text("Akta Kelahiran", "Birth certificate"),
        masked_name="S*** N** A***",
        slot=Slot(date(2026, 11, 23), "08.00-11.00"),
        office_name="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN JOMBANG",
        qr_payload="ANJUNGAN:PRA-3517-20261122-0042",
        issued_at="22-11-2026 10:15",
    )
    return dataclasses.replace(ticket, **changes)


def dark_ratio(image: Image.Image) -> float:
    """Share of black pixels."""
    grey = image.convert("L")
    hist = grey.histogram()
    return sum(hist[:128]) / (grey.width * grey.height)


# -- the printed ticket: the layout's ESC/POS bytes drawn by the emulator ------------------------


def printed(ticket: Ticket) -> Image.Image:
    """The paper that comes out when the ticket's bytes reach an 80 mm printer."""
    [image] = render_bytes(build_ticket(ticket))
    return image


def test_ticket_is_576_wide_black_and_white() -> None:
    image = printed(make_ticket())
    assert image.width == WIDTH == 576
    assert image.height > 400 and image.mode == "1"
    colours = {c for _, c in image.convert("L").getcolors()}
    assert colours <= {0, 255}
    assert 0.03 < dark_ratio(image) < 0.4


def test_offline_line_makes_the_ticket_taller() -> None:
    online = printed(make_ticket())
    offline = printed(make_ticket(offline=True))
    assert offline.height > online.height
    assert dark_ratio(offline) > dark_ratio(online)  # the reverse-printed banner


def test_long_notes_wrap_and_grow_the_ticket() -> None:
    long_note = Text("kata " * 80, "word " * 80)
    short = printed(make_ticket())
    long = printed(make_ticket(notes=(long_note,) * 3))
    assert long.width == WIDTH
    assert long.height > short.height + 100


def test_language_changes_the_print() -> None:
    a, b = printed(make_ticket()), printed(make_ticket(language="en"))
    assert a.tobytes() != b.tobytes()


def test_qr_payload_changes_the_print() -> None:
    a = printed(make_ticket(qr_payload="A" * 10))
    b = printed(make_ticket(qr_payload="B" * 10))
    assert a.tobytes() != b.tobytes()


def test_printed_qr_has_finder_patterns() -> None:
    matrix = Paper().qr(b"ANJUNGAN:PRA-1", module=1, ec=49)
    n = len(matrix)
    assert (n - 21) % 4 == 0 and all(len(row) == n for row in matrix)
    for r0, c0 in ((0, 0), (0, n - 7), (n - 7, 0)):
        ring = [matrix[r0][c0 + i] for i in range(7)] + [matrix[r0 + 6][c0 + i] for i in range(7)]
        assert all(ring)
        assert not matrix[r0 + 1][c0 + 1] and matrix[r0 + 3][c0 + 3]


def test_long_date_uses_day_and_month_names() -> None:
    assert long_date(date(2026, 11, 23)) == "Senin, 23 November 2026"
    assert long_date(date(2026, 11, 23), "en") == "Monday, 23 November 2026"
    week = {long_date(date(2026, 8, 17) + timedelta(days=i)).split(",")[0] for i in range(7)}
    assert week == {"Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"}
    assert long_date(date(2027, 5, 1)).endswith("1 Mei 2027")


def test_hostile_text_does_not_crash() -> None:
    image = printed(
        make_ticket(
            office_name="X" * 300, masked_name="", qr_payload="", queue_number="<&>\u00e9\u00df"
        )
    )
    assert image.width == WIDTH


# -- printer contract ---------------------------------------------------------------------------


def test_print_records_and_writes_png(ticket_printer: PrinterHarness) -> None:
    printer = ticket_printer.printer
    printer.print_ticket(make_ticket())
    printer.print_ticket(make_ticket(queue_number="A-018"))
    assert printer.status() == {"state": "online", "paper": "ok", "driver": ticket_printer.driver}
    assert len(ticket_printer.printed()) == 2
    assert ticket_printer.last_png() == ticket_printer.out_dir / "ticket-002.png"
    with Image.open(ticket_printer.out_dir / "ticket-002.png") as png:
        assert png.width == WIDTH


@pytest.mark.parametrize(
    ("fault", "error", "state"),
    [
        ("paper_out", PaperOut, "paper_out"),
        ("cover_open", CoverOpen, "cover_open"),
        ("offline", PrinterOffline, "offline"),
    ],
)
def test_faults_raise_and_clear(
    ticket_printer: PrinterHarness, fault: str, error: type[DeviceError], state: str
) -> None:
    printer = ticket_printer.printer
    ticket_printer.faults[fault](True)
    assert printer.status()["state"] == state
    with pytest.raises(error) as caught:
        printer.print_ticket(make_ticket())
    assert caught.value.citizen_message("id") and caught.value.citizen_message("en")
    assert ticket_printer.printed() == []
    ticket_printer.faults[fault](False)
    printer.print_ticket(make_ticket())
    assert len(ticket_printer.printed()) == 1 and printer.status()["state"] == "online"


def test_paper_status_reports_out(ticket_printer: PrinterHarness) -> None:
    ticket_printer.faults["paper_out"](True)
    assert ticket_printer.printer.status()["paper"] == "out"
