"""Ticket layout to ESC/POS bytes, and the emulator's interpretation of them (no port)."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.ticket_printer.emulator import EscposEmulator, EscposMachine, render_bytes
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter
from drivers.ticket_printer.layout import TicketProfile, build_ticket, printable
from tests.drivers.escpos.direct import escpos_direct
from tests.drivers.test_ticket_printer_contract import dark_ratio, make_ticket

QR = b"\x1d(k"
RASTER = b"\x1dv0"


def decode(image: Image.Image) -> list[str]:
    """What a phone or scanner reads off the printed paper."""
    return [
        r.text
        for r in zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    ]


def run(data: bytes) -> EscposMachine:
    """Feed a byte stream to a fresh emulated printer."""
    machine = EscposMachine()
    assert machine.feed(data) == b""
    return machine


def test_native_qr_ticket_is_small_and_scans() -> None:
    ticket = make_ticket()
    data = build_ticket(ticket)
    assert len(data) < 1500
    assert data.startswith(b"\x1b@\x1bt\x10")  # reset, then code page 16 = CP1252
    assert QR in data and RASTER not in data
    assert data.endswith(b"\x1dV\x00")  # full cut
    machine = run(data)
    [printed] = machine.tickets
    assert printed.image.width == 576 and printed.image.height > 600
    assert printed.qr_payloads == [ticket.qr_payload.encode()]
    assert decode(printed.image) == [ticket.qr_payload]
    assert "NOMOR ANTREAN" in printed.text and ticket.registration_number in printed.text


@pytest.mark.parametrize("changes", [{}, {"language": "en"}, {"offline": True}, {"qr_payload": ""}])
def test_ticket_bytes_stay_near_what_python_escpos_sends(changes: dict[str, object]) -> None:
    ticket = make_ticket(**changes)
    ours, direct = run(build_ticket(ticket)).tickets[0], run(escpos_direct(ticket)).tickets[0]
    assert ours.text.split() == direct.text.split()  # the same words (wrapped differently)
    assert ours.qr_payloads == direct.qr_payloads
    assert len(build_ticket(ticket)) <= 1.3 * len(escpos_direct(ticket))


def test_the_ticket_through_a_serial_pty_scans_and_reads(tmp_path: Path) -> None:
    ticket = make_ticket(language="en", offline=True)
    with EscposEmulator(tmp_path / "ttyPRINTER", tmp_path / "png") as emulator:
        printer = EscposSerialTicketPrinter(
            str(emulator.link), baudrate=115200, status_timeout_s=1.0
        )
        try:
            printer.print_ticket(ticket)
        finally:
            printer.close()
        [printed], [png] = emulator.tickets, emulator.png_paths
    with Image.open(png) as paper:
        assert decode(paper) == [ticket.qr_payload]
    words = " ".join(printed.text.split())
    for expected in (
        "QUEUE NUMBER",
        ticket.queue_number,
        ticket.registration_number,
        "Birth certificate",
        "Monday, 23 November 2026",
        "at 08.00-11.00 WIB",
        "OFFLINE - will be sent automatically",
        "Issued: 22-11-2026 10:15",
    ):
        assert expected in words


def test_image_qr_profile_sends_a_raster_that_scans() -> None:
    ticket = make_ticket()
    data = build_ticket(ticket, TicketProfile(native_qr=False))
    assert QR not in data and RASTER + b"\x03" in data  # half-size dots, doubled by the printer
    assert len(build_ticket(ticket)) < len(data) < 2000
    [image] = render_bytes(data)
    assert decode(image) == [ticket.qr_payload]
    [native] = render_bytes(build_ticket(ticket))
    assert qr_width(image) == qr_width(native)  # the same symbol size: 6-dot modules


@pytest.mark.parametrize("dots", [3, 5])
def test_an_odd_module_size_goes_at_full_density(dots: int) -> None:
    ticket = make_ticket()
    data = build_ticket(ticket, TicketProfile(native_qr=False, qr_module_dots=dots))
    assert RASTER + b"\x00" in data
    assert decode(render_bytes(data)[0]) == [ticket.qr_payload]


def qr_width(image: Image.Image) -> int:
    """Width in dots of the printed QR symbol, as the decoder located it."""
    [found] = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    pos = found.position
    return max(pos.top_right.x, pos.bottom_right.x) - min(pos.top_left.x, pos.bottom_left.x)


def test_english_ticket_and_no_qr() -> None:
    machine = run(build_ticket(make_ticket(language="en", qr_payload="")))
    [printed] = machine.tickets
    assert "QUEUE NUMBER" in printed.text and "Birth certificate" in printed.text
    assert printed.qr_payloads == [] and decode(printed.image) == []


def test_indonesian_text_survives_the_code_page() -> None:
    name = "Zo\u00eb \u0141ukasz \u2013 S\u00e9n\u00e9"
    machine = run(build_ticket(make_ticket(masked_name=name)))
    assert "Zo\u00eb Lukasz \u2013 S\u00e9n\u00e9" in machine.tickets[0].text  # CP1252 has it
    assert printable("\u2022 caf\u00e9 \u4e2d", "CP1252") == "\u2022 caf\u00e9 ?"


def test_offline_banner_is_reverse_printed() -> None:
    normal = render_bytes(build_ticket(make_ticket()))[0]
    offline = render_bytes(build_ticket(make_ticket(offline=True)))[0]
    assert offline.height > normal.height and dark_ratio(offline) > dark_ratio(normal)


def test_sizes_bold_and_centring_are_drawn() -> None:
    def piece(data: bytes) -> Image.Image:
        return render_bytes(data + b"\x1dV\x00")[0]

    normal, quad = piece(b"A\n"), piece(b"\x1d!\x33A\n")
    assert normal.height == 30 and quad.height == 96
    assert dark_ratio(piece(b"\x1bE\x01WWWW\n")) > dark_ratio(piece(b"WWWW\n"))
    centred = piece(b"\x1ba\x01XX\n").convert("L")
    dark_x = [
        x for x in range(576) for y in range(centred.height) if centred.getpixel((x, y)) < 128
    ]
    assert abs((min(dark_x) + max(dark_x)) / 2 - 288) < 6


def test_long_lines_wrap_on_the_printer() -> None:
    assert render_bytes(b"X" * 100 + b"\n\x1dV\x00")[0].height == 3 * 30


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_split_byte_stream_prints_the_same(chunk: int) -> None:
    data = build_ticket(make_ticket())
    whole = render_bytes(data)[0]
    machine = EscposMachine()
    for i in range(0, len(data), chunk):
        machine.feed(data[i : i + chunk])
    assert machine.tickets[0].image.tobytes() == whole.tobytes()


@pytest.mark.parametrize(
    ("fault", "answers"),
    [
        (None, {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}),
        ("paper_near_end", {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E}),
        ("paper_out", {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E}),
        ("cover_open", {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12}),
        ("cutter_error", {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}),
    ],
)
def test_dle_eot_answers(fault: str | None, answers: dict[int, int]) -> None:
    machine = EscposMachine()
    if fault:
        setattr(machine.faults, fault, True)
    assert machine.feed(b"".join(b"\x10\x04" + bytes([n]) for n in (1, 2, 3, 4))) == bytes(
        answers[n] for n in (1, 2, 3, 4)
    )


def test_blocked_printer_spoils_the_ticket_but_not_the_next() -> None:
    machine = EscposMachine()
    machine.faults.cover_open = True
    machine.feed(build_ticket(make_ticket()))
    assert machine.tickets == [] and machine.incomplete == 1
    machine.faults.cover_open = False
    machine.feed(b"\x10\x04\x01" + build_ticket(make_ticket()))
    assert len(machine.tickets) == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_garbage_never_crashes_the_emulator(data: bytes) -> None:
    machine = EscposMachine()
    machine.feed(data)
    machine.feed(b"\x00" * 600 + b"\n\x1dV\x00")
