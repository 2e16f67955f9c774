"""Own applications' timelines and printing an issued document, by touch on the real app."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from drivers.card_reader.citizens import citizen
from kiosk_app.domain.timeline import PRINT_HERE
from kiosk_app.services.printing.issued import ALREADY_PRINTED
from kiosk_app.ui.theme import get_theme
from tests.ui.test_status_ui import wait_for_central

pytestmark = pytest.mark.ui
HOLDER_NIK = "3517010101260001"


def file_for_citizen_0(pilot: Any, idempotency_key: str) -> Any:
    """An akta kelahiran filed on the kiosk's server for the card of citizen 0, on the first
    slot offered; its SubmissionReceipt."""
    central = wait_for_central(pilot)
    person = citizen(0)
    return central.submit(
        service="akta_kelahiran",
        applicant_nik=person.nik,
        applicant_name=person.name,
        data={"child_name": "Budi"},
        slot=central.slots("akta_kelahiran")[0].slot,
        idempotency_key=idempotency_key,
    )


def issue_on_the_kiosks_server(pilot: Any, tmp_path: Path) -> tuple[str, str, str]:
    """File an application for the card of citizen 0 and take it to document_ready; return
    its registration number, document number and print code (as the citizen's SMS has it)."""
    from central_server import issued, lifecycle, print_codes
    from central_server.db import Database
    from central_server.models import Application

    receipt = file_for_citizen_0(pilot, "ui-documents-0001")
    db = Database(f"sqlite:///{(tmp_path / 'data' / 'central.db').resolve()}")
    try:
        with db.transaction() as session:
            app = session.scalar(
                select(Application).where(
                    Application.registration_number == receipt.registration_number
                )
            )
            assert app is not None
            lifecycle.transition(session, app, "approve", "petugas", notify=None)
            lifecycle.check_in(session, app, "petugas", app.slot_date)  # at the counter
            lifecycle.transition(session, app, "verify", "petugas", notify=None)
            document = issued.issue_document(
                session, app, "petugas", "Budi", HOLDER_NIK, date(2026, 11, 23), notify=None
            )
            number = document.document_number
            code = print_codes.display(print_codes.derive(session, document.code, 1))
    finally:
        db.dispose()
    return receipt.registration_number, number, code


def to_menu(pilot: Any) -> None:
    """Put citizen 0's card on the reader and go on to the menu."""
    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("next")
    pilot.wait_for_state("menu")


def test_own_timeline_then_print_once_by_touch(
    start_kiosk: Callable[..., Any], artifacts: Path, tmp_path: Path
) -> None:
    pilot = start_kiosk()
    registration, document_number, sent = issue_on_the_kiosks_server(pilot, tmp_path)
    to_menu(pilot)

    pilot.tap("service_status")
    pilot.wait_for_state("status")
    pilot.tap("status_mine")
    pilot.wait_until(lambda: pilot.exists("own_next_0"), what="own timeline")
    assert pilot.find("own_next_0").text == f"Berikutnya: {PRINT_HERE.id}"
    assert not pilot.exists("own_code_0")  # the server never tells a kiosk the print code
    code = re.fullmatch(r"([A-Z0-9]{4})-([A-Z0-9]{4})", sent)
    assert code, sent
    texts = pilot.texts()
    assert not any(sent in t for t in texts)
    assert any(document_number in t for t in texts) and any(registration in t for t in texts)
    pilot.tap("own_down")  # scrolled with buttons, no swipe
    pilot.tap("own_up")
    pilot.screenshot(artifacts / "status-own-applications.png")
    pilot.tap("own_close")
    pilot.wait_until(lambda: not pilot.app.root.get_screen("status").own_shown, what="closed")
    pilot.tap("status_back")
    pilot.wait_for_state("menu")

    pilot.tap("service_print")
    pilot.wait_for_state("documents")
    pilot.wait_until(
        lambda: pilot.exists(f"print_{registration}"), timeout=15, what="ready document"
    )
    pilot.screenshot(artifacts / "documents-ready.png")
    printer = pilot.kiosk.devices.document_printer
    printed_before = len(printer.printed)
    for char in sent.replace("-", ""):  # the citizen types the code from their SMS
        pilot.tap(f"code_key_{char}")
    pilot.tap(f"print_{registration}")
    notice = pilot.find("documents_notice")
    pilot.wait_until(lambda: "sudah dicetak" in notice.text, what="printed")
    assert document_number in notice.text
    assert notice.ok and tuple(notice.color) == tuple(get_theme().success)
    assert len(printer.printed) == printed_before + 1
    title, pdf = printer.printed[-1]
    assert title == f"document-{document_number}" and pdf.startswith(b"%PDF")
    pilot.wait_until(
        lambda: not pilot.exists(f"print_{registration}"), timeout=15, what="no longer printable"
    )
    (job,) = [j for j in pilot.kiosk.journal.log() if j.kind == "document"]
    assert job.reference == document_number and job.state == "done"
    assert job.actor == citizen(0).nik[:4] + "********" + citizen(0).nik[-4:]

    typed = code.group(1) + code.group(2)
    for char in typed[:-1] + "A":  # a wrong last character, corrected with the delete key
        pilot.tap(f"code_key_{char}")
    pilot.tap("code_backspace")
    assert pilot.find("documents_code").text == f"{code.group(1)}-{code.group(2)[:-1]}"
    pilot.tap(f"code_key_{typed[-1]}")
    assert pilot.find("documents_code").text == f"{code.group(1)}-{code.group(2)}"
    pilot.tap("documents_print_code")
    already = ALREADY_PRINTED.id.split("{")[0]
    pilot.wait_until(lambda: notice.text.startswith(already), what="refused")
    assert len(printer.printed) == printed_before + 1  # nothing printed twice
    pilot.screenshot(artifacts / "documents-already-printed.png")

    pilot.tap("documents_back")
    pilot.wait_for_state("menu")
    assert pilot.app.root.get_screen("documents").code == ""
    # A document was printed in this visit: finishing from the menu offers the survey.
    pilot.tap("finish")
    pilot.tap("confirm_yes")
    pilot.wait_for_state("survey")
