"""An offline booking by touch on the real app: the central server cannot be reached, the
schedule shows the kiosk's leased slots, the result says the number is local (LOK-...) and the
date certain, and the printed ticket's QR (decoded from the printer's bytes) carries the kiosk's
seal, which verifies against its public key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import zxingcpp

from kiosk_app.central import Lease
from kiosk_app.domain.ticket import LEASE_NOTE, Slot
from kiosk_app.services import receipt_seal
from tests.services.printing.test_receipt_pdf import first_page, needs_pdftotext, pdf_text
from tests.ui.test_journey import demo_values, to_form

pytestmark = pytest.mark.ui


@needs_pdftotext
def test_offline_booking_from_the_lease_by_touch(start_kiosk: Callable[..., Any]) -> None:
    pilot = start_kiosk()
    kiosk, app = pilot.kiosk, pilot.app
    assert kiosk.leases is not None
    day = date.today() + timedelta(days=3)
    until = datetime.now(UTC) + timedelta(days=2)
    kiosk.leases.stop()  # no renewal replaces the leases this test sets
    kiosk.leases.store.replace(
        [
            Lease("L-A", "akta_kelahiran", Slot(day, "08.00-11.00"), 2, 0, until, until),
            Lease("L-B", "akta_kelahiran", Slot(day, "13.00-15.00"), 1, 0, until, until),
        ]
    )
    kiosk.central.base_url = "http://127.0.0.1:9"  # the central server cannot be reached

    to_form(pilot)
    form, values = app.view.service.form, demo_values()
    for index, page in enumerate(form.pages):
        for spec in page.fields:
            app.session.set_value(spec.name, values[spec.name])
        pilot.tap("next")
        pilot.wait_until(
            lambda i=index: app.view.page != i or app.view.state.value != "form",
            what=f"form page {index + 2}",
        )
    pilot.wait_for_state("scan")
    pilot.tap("scan_skip_all")
    pilot.wait_for_state("schedule")
    pilot.wait_until(lambda: pilot.exists("slot_1"), what="the leased slots")
    assert [(s.slot.window, s.remaining) for s in app.view.slots] == [
        ("08.00-11.00", 2),
        ("13.00-15.00", 1),
    ]
    pilot.tap("slot_1")
    pilot.wait_for_state("review")
    pilot.tap("submit")
    pilot.wait_for_state("result")

    outcome = app.view.outcome
    assert outcome.offline and outcome.local_reference.startswith("LOK-")
    assert outcome.slot == Slot(day, "13.00-15.00")
    assert LEASE_NOTE.id in pilot.find("message").text
    printer = kiosk.devices.ticket_printer
    decoded = [
        r.text
        for r in zxingcpp.read_barcodes(
            printer.printed[-1].convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
        )
    ]
    assert len(decoded) == 1
    sealed = receipt_seal.parse_qr(decoded[0])
    assert sealed is not None
    key = receipt_seal.public_key_from_text(kiosk.central.signing_key)
    claims = receipt_seal.verify(sealed, lambda kiosk_id: key)
    assert claims.reference == outcome.local_reference
    assert (claims.day, claims.window, claims.service) == (day, "13.00-15.00", "akta_kelahiran")
    assert [s.remaining for s in kiosk.leases.store.offer("akta_kelahiran")] == [2]
    # the A4 receipt carries the same note and a QR with the same seal
    _title, pdf = kiosk.devices.document_printer.printed[-1]
    assert " ".join(LEASE_NOTE.id.split()[:6]) in pdf_text(pdf)
    on_paper = [
        r.text
        for r in zxingcpp.read_barcodes(first_page(pdf), formats=zxingcpp.BarcodeFormat.QRCode)
    ]
    assert [receipt_seal.parse_qr(text) for text in on_paper] == [sealed]
