"""The scanning step by touch: preview, scan, retake, remove, a missing scanner, skipping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk_app.services.scanning.step import NO_SCANNER, DocStatus

pytestmark = pytest.mark.ui


def to_scan_step(pilot: Any) -> None:
    """Card, menu, the form entered through the service (typing is covered by the journey)."""
    from kiosk_app.demo_data import sample_birth_values

    pilot.tap("sim_tap")
    pilot.wait_for_state("identity")
    pilot.tap("next")
    pilot.wait_for_state("menu")
    pilot.tap("service_akta_kelahiran")
    pilot.wait_for_state("form")
    app, values = pilot.app, sample_birth_values()
    form = app.view.service.form
    for page in form.pages:
        for spec in page.fields:
            app.session.set_value(spec.name, values[spec.name])
        app.session.next_page()
    pilot.wait_for_state("scan")
    pilot.wait_until(lambda: app.view.scan is not None and not app.view.scan.busy, what="ready")


def scan_idle(pilot: Any) -> Any:
    pilot.wait_until(
        lambda: pilot.app.view.scan is not None and not pilot.app.view.scan.busy,
        timeout=15,
        what="scan finished",
    )
    pilot.idle(2)
    return pilot.app.view.scan


def test_scan_preview_retake_remove_then_skip_by_touch(
    start_kiosk: Callable[..., Any], artifacts: Path
) -> None:
    pilot = start_kiosk()
    to_scan_step(pilot)
    screen = pilot.app.current_screen()
    first_title = pilot.app.view.scan.current.title.id
    assert pilot.find("document_title").text == first_title
    assert screen.image is None

    pilot.tap("scan_preview")
    scan = scan_idle(pilot)
    assert scan.image_is_preview and scan.current.pages == 0
    assert screen.image is not None  # the preview is shown as a picture
    assert pilot.find("scan_caption").text.startswith("Pratinjau")

    pilot.tap("scan_page")
    pilot.wait_until(lambda: pilot.app.view.scan.current.pages == 1, what="page")
    pilot.tap("scan_page")
    pilot.wait_until(lambda: pilot.app.view.scan.current.pages == 2, what="page 2")
    scan_idle(pilot)
    assert pilot.find("pages_scanned").text == "2 halaman terpindai"
    pilot.tap("page_0")
    assert pilot.find("scan_retake").text == "Ulangi halaman 1"
    step = pilot.kiosk.session._scan.step
    before = step._docs[0].pages.pages[0]
    pilot.tap("scan_retake")
    scan_idle(pilot)
    assert step._docs[0].pages.pages[0] != before
    pilot.tap("scan_remove")
    pilot.wait_until(lambda: pilot.app.view.scan.current.pages == 1, what="removed")
    pilot.screenshot(artifacts / "scan-page.png")

    # The scanner goes away: a clear message, scanning disabled, skipping still open.
    pilot.kiosk.devices.scanner.set_available(False)
    pilot.tap("scan_page")
    scan_idle(pilot)
    assert pilot.find("message").text == NO_SCANNER.id
    assert pilot.find("scan_page").disabled and not pilot.find("scan_skip").disabled
    pilot.screenshot(artifacts / "scan-no-scanner.png")
    pilot.tap("scan_next")  # the page already scanned is kept as this document's PDF
    pilot.wait_until(lambda: pilot.app.view.scan.index == 1, what="next document")
    pilot.tap("scan_skip")
    pilot.wait_until(lambda: pilot.app.view.scan.index == 2, what="skipped")
    pilot.tap("scan_skip_all")
    pilot.wait_for_state("schedule")
    statuses = [d.status for d in step.view().documents]
    assert statuses[:2] == [DocStatus.SCANNED, DocStatus.SKIPPED]
    assert screen.image is None  # the scanned picture left the screen with the step

    with pilot.hold_clock():  # the goodbye stays until it is seen
        pilot.kiosk.devices.card_reader.remove_card()
        pilot.wait_for_state("goodbye")
    assert step.view().documents == () and step.documents() == []
