"""A lost receipt printed again by touch on the real app: card tap, "Cek status", "Permohonan
saya", "Cetak ulang tanda terima"; the ticket and the A4 receipt say CETAK ULANG and carry the
server's seal (genuine on the kiosk's central server); a ticket printer out of paper calls an
attendant and the copy waits in the journal; a copy that printed nothing is given back and
said so; the day's fourth copy is refused in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp

from kiosk_app.domain.ticket import COPY_MARK
from kiosk_app.services import receipt_seal
from kiosk_app.services.printing.receipt_copy import (
    ATTENDANT_CALLED,
    COPIED,
    COPY_LIMIT,
    NOT_COUNTED,
)
from kiosk_app.ui.theme import get_theme
from tests.services.printing.test_receipt_pdf import first_page, needs_pdftotext, pdf_text
from tests.ui.layout_check import check_label, check_layout
from tests.ui.test_documents_ui import file_for_citizen_0, to_menu
from tests.ui.test_status_ui import wait_for_central

pytestmark = pytest.mark.ui


def copy_once(pilot: Any) -> str:
    """Tap the first application's copy button; the notice once the copy is done."""
    pilot.tap("own_copy_0")  # the desk is printing when the tap returns

    def done() -> Any:
        desk = pilot.app.session.view.card_holder
        return desk if desk is not None and not desk.printing and desk.messages else None

    pilot.wait_until(lambda: done() is not None, timeout=30, what="the copy's outcome")
    expected = "\n".join(m.id for m in done().messages)
    notice = pilot.find("own_notice")
    pilot.wait_until(lambda: notice.text == expected, what="the outcome on screen")
    return expected


@needs_pdftotext
def test_a_lost_receipt_printed_again_by_touch(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    central = wait_for_central(pilot)
    number = file_for_citizen_0(pilot, "ui-receipt-copy-0001").registration_number
    to_menu(pilot)
    pilot.tap("service_status")
    pilot.wait_for_state("status")
    pilot.tap("status_mine")
    pilot.wait_until(lambda: pilot.exists("own_copy_0"), what="the copy button")
    button = pilot.find("own_copy_0")
    assert button.height >= pilot.app.root.height * 0.07  # a big touch target
    tickets = pilot.kiosk.devices.ticket_printer
    sheets = pilot.kiosk.devices.document_printer
    before = (len(tickets.printed), len(sheets.printed))

    said = copy_once(pilot)
    pilot.screenshot(artifacts / "status-own-receipt-copy.png")
    assert said.startswith(COPIED.format(number=number).id)
    notice = pilot.find("own_notice")
    theme = get_theme()
    assert notice.ok and tuple(notice.color) == tuple(theme.success)  # good news in green
    assert (len(tickets.printed), len(sheets.printed)) == (before[0] + 1, before[1] + 1)
    mark = COPY_MARK.id.split("{")[0].strip()
    ticket = tickets.tickets[-1]
    assert ticket.registration_number == number and ticket.copied_at
    title, pdf = sheets.printed[-1]
    assert title == f"receipt-copy-{number}"
    text = pdf_text(pdf)
    assert f"{mark} {ticket.copied_at}" in text and number in text
    on_ticket = [
        r.text
        for r in zxingcpp.read_barcodes(
            tickets.printed[-1].convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
        )
    ]
    on_paper = [
        r.text
        for r in zxingcpp.read_barcodes(first_page(pdf), formats=zxingcpp.BarcodeFormat.QRCode)
    ]
    assert on_ticket == on_paper and len(on_paper) == 1
    sealed = receipt_seal.parse_qr(on_paper[0])
    assert sealed is not None
    verdict = requests.get(
        f"{central.base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10
    ).json()
    assert verdict["status"] == "valid" and verdict["claims"]["kiosk_id"] == "server:pusat"
    assert verdict["application"]["registration_number"] == number

    tickets.set_paper(False)  # the ticket printer runs out of paper: told, attendant called
    said = copy_once(pilot)
    assert ATTENDANT_CALLED.id in said
    assert not notice.ok and tuple(notice.color) == tuple(theme.error)  # a fault in red
    assert "not printed" in pilot.kiosk.attendant.view().called
    failed = [j for j in pilot.kiosk.journal.pending() if j.kind == "ticket"]
    assert [j.reference.split(" ")[0] for j in failed] == [number]  # kept for a reprint
    tickets.set_paper(True)
    # Both printers fail: nothing printed, the copy is given back and the citizen told so.
    tickets.set_paper(False)
    sheets.set_paper(False)
    try:
        said = copy_once(pilot)
    finally:
        tickets.set_paper(True)
        sheets.set_paper(True)
    assert NOT_COUNTED.id in said and said.endswith(ATTENDANT_CALLED.id)
    pilot.screenshot(artifacts / "status-own-receipt-copy-not-counted.png")
    assert copy_once(pilot).startswith(COPIED.format(number=number).id)  # the third
    printed = len(sheets.printed)
    said = copy_once(pilot)  # the day's fourth: refused by the server
    assert said == COPY_LIMIT.format(limit=3).id
    assert len(sheets.printed) == printed
    pilot.tap("own_close")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_not_counted_notice_fits_in_large_text(
    start_kiosk: Callable[..., Any], artifacts: Path, lang: str
) -> None:
    """The longest copy outcome (nothing printed: not counted, attendant called) in large text,
    in English and in Bahasa Indonesia (the longer), both chosen by touch: every word of it on
    screen inside its label, nothing drawn over another, every button of the panel still a
    touch target of TOUCH_MM."""
    from kivy.core.window import Window
    from kivy.metrics import mm

    from kiosk_app.ui.theme import TOUCH_MM

    pilot = start_kiosk()
    wait_for_central(pilot)
    file_for_citizen_0(pilot, "ui-receipt-copy-large-0001")
    if lang == "en":
        pilot.tap("lang_en")
    pilot.tap("a11y_large_text")
    theme = get_theme()
    assert theme.large_text
    to_menu(pilot)
    pilot.tap("service_status")
    pilot.wait_for_state("status")
    pilot.tap("status_mine")
    pilot.wait_until(lambda: pilot.exists("own_copy_0"), what="the copy button")
    tickets = pilot.kiosk.devices.ticket_printer
    sheets = pilot.kiosk.devices.document_printer
    tickets.set_paper(False)
    sheets.set_paper(False)
    try:
        pilot.tap("own_copy_0")

        def done() -> Any:
            desk = pilot.app.session.view.card_holder
            return desk if desk is not None and not desk.printing and desk.messages else None

        pilot.wait_until(lambda: done() is not None, timeout=30, what="the copy's outcome")
    finally:
        tickets.set_paper(True)
        sheets.set_paper(True)
    notice = pilot.find("own_notice")
    expected = "\n".join(m(lang) for m in done().messages)
    assert NOT_COUNTED(lang) in expected and expected.endswith(ATTENDANT_CALLED(lang))
    pilot.wait_until(lambda: notice.text == expected, what="the outcome on screen")
    pilot.idle(5)  # the layout settles on the new text
    pilot.screenshot(artifacts / f"status-own-receipt-copy-not-counted-large-{lang}.png")
    assert theme.large_text and float(notice.font_size) == theme.sp_body
    panel = pilot.app.root.get_screen("status").ids.own
    layout = check_layout(panel, Window.size)
    assert not check_label(notice), check_label(notice)  # every word inside the label
    assert not layout.clipped, layout.clipped
    assert not layout.off_window, layout.off_window
    assert not layout.covered, layout.covered
    minimum = mm(TOUCH_MM) - 0.5
    for name in ("own_copy_0", "own_up", "own_down", "own_close"):
        button = pilot.find(name)
        assert button.width >= minimum and button.height >= minimum, (name, button.size)
    pilot.tap("own_close")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")
