"""The technicians' dashboard in headless Chromium: log in, filter, send a command, get a code,
approve a seal key a kiosk submitted without proof of its old one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from central_server.embedded import EmbeddedServer
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.services import receipt_seal
from kiosk_app.services.health import HealthReporter, RecordingSystemActions, make_test_ticket
from tests.central.conftest import ADMIN_TOKEN, OFFICE
from tests.central.fleet.helpers import beat, enrol, heartbeat_body, queue
from tests.central.lease_rig import SERVICE, lease_server, seed_office

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (apt: chromium)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's build; never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        yield chromium
        chromium.close()


def log_in(page: Any, base_url: str) -> None:
    """Sign in to the fleet dashboard with the admin token; wait for the overview."""
    page.goto(f"{base_url}/fleet/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("#login")
    page.wait_for_url("**/fleet/")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_technician_filters_and_sends_a_test_print(
    server: EmbeddedServer, browser: Any, tmp_path: Path
) -> None:
    paper_out = {"card_reader": {"state": "ready"}, "ticket_printer": {"paper": "out"}}
    assert beat(server, enrol(server, "kiosk-paper"), devices=paper_out).status_code == 200
    central = CentralClient(server.base_url, "kiosk-01", OFFICE, timeout=10)
    central.register("Lobi utama")
    printer, reader = SimulatedTicketPrinter(), SimulatedCardReader()
    reader.start(lambda _event: None)
    kiosk = HealthReporter(
        central=central,
        devices={"card_reader": reader, "ticket_printer": printer},
        app_version="0.1.0",
        data_dir=tmp_path,
        system=RecordingSystemActions(),
        print_test_ticket=lambda: printer.print_ticket(
            make_test_ticket("kiosk-01", datetime.now(UTC))
        ),
    )
    kiosk.beat_once()
    page = browser.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{server.base_url}/fleet/")
        assert page.url.endswith("/fleet/login")
        page.fill("#token", "wrong-token")
        page.click("#login")
        page.locator("#login-error").wait_for()  # the answer page may still be loading
        assert page.locator("#login-error").is_visible()
        page.fill("#token", ADMIN_TOKEN)
        page.click("#login")
        page.wait_for_url("**/fleet/")
        rows = page.locator("tr.kiosk")
        assert rows.count() == 2
        assert rows.first.get_attribute("data-kiosk") == "kiosk-paper"  # troubled first
        assert rows.first.get_attribute("data-colour") == "red"
        assert page.locator('tr[data-kiosk="kiosk-01"]').get_attribute("data-colour") == "green"
        page.select_option("#problem", "paper_out")
        page.click("#apply-filters")
        page.wait_for_url("**problem=paper_out**")
        assert [r.get_attribute("data-kiosk") for r in rows.all()] == ["kiosk-paper"]
        page.goto(f"{server.base_url}/fleet/")
        page.click("text=kiosk-01")
        page.wait_for_url("**/fleet/kiosks/kiosk-01")
        assert page.locator("svg.history-chart polyline, svg.history-chart circle").count() >= 1
        assert page.locator("#status").get_attribute("data-status") == "online"
        assert page.locator("#status").inner_text() == "Terhubung / online"
        page.select_option("#kind", "print_test_ticket")
        page.click("#send-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-01")
        command = page.locator("tr.command").first
        assert command.get_attribute("data-status") == "queued"
        assert kiosk.beat_once()[0]["kind"] == "print_test_ticket"  # the kiosk picks it up
        page.reload()
        assert command.get_attribute("data-status") == "done"
        assert "test ticket printed" in command.inner_text()
        assert printer.tickets[0].queue_number == "T-000"
        page.screenshot(path=str(tmp_path / "fleet-kiosk.png"), full_page=True)
        page.click("#nav-enrolment")  # a code for the next kiosk, shown once with its command
        page.fill("#enrol-kiosk", "kiosk-02")
        page.click("#create-code")
        code = page.locator("#enrolment-code").inner_text()
        assert f"--enrolment-code {code}" in page.locator("#provision-command").inner_text()
        page.screenshot(path=str(tmp_path / "fleet-enrolment.png"), full_page=True)
    finally:
        page.close()
        reader.stop()
        central.close()


PHONE = {"width": 390, "height": 844}  # a common phone, CSS pixels
WIDER_THAN_VIEWPORT = """[...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > innerWidth)
    .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_technician_on_a_phone_reads_words_and_confirms_a_reboot(
    server: EmbeddedServer, browser: Any, tmp_path: Path
) -> None:
    paper_out = {"card_reader": {"state": "ready"}, "ticket_printer": {"paper": "out"}}
    token = enrol(server, "kiosk-lobi")
    assert beat(server, token, devices=paper_out).status_code == 200
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, server.base_url)
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(WIDER_THAN_VIEWPORT)
        assert width <= PHONE["width"], f"the overview is {width} px wide on a phone: {wide}"
        row = page.locator('tr[data-kiosk="kiosk-lobi"]')
        text = row.inner_text()
        assert "Kertas printer tiket habis" in text and "paper_out" not in text
        assert "Kritis" in row.locator("td.state").inner_text()  # a word beside the red dot
        assert row.locator("td.status").inner_text() == "Terhubung / online"
        page.screenshot(path=str(tmp_path / "fleet-phone.png"), full_page=True)

        page.click("text=kiosk-lobi")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the kiosk page is {width} px wide on a phone"
        page.select_option("#kind", "reboot")
        page.click("#send-command")
        page.locator("#confirm-warning").wait_for()  # asked first, nothing queued yet
        assert "kehilangan isian" in page.locator("#confirm-warning").inner_text()
        page.click("#cancel-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi")
        assert page.locator("tr.command").count() == 0
        page.select_option("#kind", "reboot")
        page.click("#send-command")
        page.click("#confirm-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi")
        assert [r.get_attribute("data-status") for r in page.locator("tr.command").all()] == [
            "queued"
        ]
        assert (
            page.locator("tr.command td.status").inner_text()
            == "Antre, belum dikirim / queued, not sent yet"
        )

        page.select_option("#kind", "push_config")  # settings typed as TOML, not JSON
        page.fill("#config", "[timeouts]\ninactivity_s = 120\n")
        page.click("#send-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi")
        assert page.locator("tr.command").count() == 2  # queued without a confirmation
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"with commands the kiosk page is {width} px wide"
        for button in page.locator("tr.command button", has_text="Batalkan").all():
            box = button.bounding_box()  # in sight on the phone, no sideways scrolling
            assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
        page.screenshot(path=str(tmp_path / "fleet-kiosk-phone.png"), full_page=True)
    finally:
        context.close()
    delivered = beat(server, token).json()["commands"]
    assert [(c["kind"], c["args"]) for c in delivered] == [
        ("reboot", {}),
        ("push_config", {"config": {"timeouts": {"inactivity_s": 120}}}),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_technician_approves_a_pending_seal_key_and_its_receipts_become_valid(
    database_url: str, browser: Any, tmp_path: Path
) -> None:
    with lease_server(database_url) as rig:
        [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
        [lease, *_] = kiosk.leases(days=4)
        new_key = receipt_seal.new_key()  # the kiosk lost its key file and made a new one
        new_text = receipt_seal.public_key_text(new_key)
        r = kiosk.call("PUT", "/api/v1/kiosk/signing-key", json={"signing_key": new_text})
        assert r.status_code == 202, r.text
        pending = {"card_reader": {"state": "ready"}, "seal_key": {"state": "pending"}}
        kiosk.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(devices=pending))
        printed = replace(kiosk, key=new_key).offline_booking(lease, rig.clock())
        receipt = f"{rig.base_url}/r/{printed['lease']['seal']}"
        page = browser.new_page()
        page.set_default_timeout(10_000)
        try:
            page.goto(receipt)  # the citizen's phone, before the approval
            status = page.locator("#seal-status")
            assert status.get_attribute("data-status") == "pending_approval"
            assert "MENUNGGU PERSETUJUAN" in status.inner_text()
            log_in(page, rig.base_url)
            row = page.locator(f'tr[data-kiosk="{kiosk.kiosk_id}"]')
            assert "Kunci segel baru menunggu persetujuan" in row.inner_text()
            page.click(f"text={kiosk.kiosk_id}")
            page.wait_for_url(f"**/fleet/kiosks/{kiosk.kiosk_id}")
            waiting = page.locator('[id^="key-pending-"]')
            assert waiting.get_attribute("data-key") == new_text[:8]
            waiting.locator('button[id^="approve-key-"]').click()
            page.locator("#confirm-warning").wait_for()  # asked first
            page.click("#cancel-key")
            page.wait_for_url(f"**/fleet/kiosks/{kiosk.kiosk_id}")
            assert page.locator('tr[data-state="pending"]').count() == 1
            page.locator('button[id^="approve-key-"]').click()
            page.click("#confirm-key")
            page.wait_for_url("**key=approved")
            assert "Kunci segel disetujui" in page.locator("#key-decision").inner_text()
            assert page.locator('tr[data-state="pending"]').count() == 0
            assert page.locator('tr[data-state="in_force"]').count() == 2
            assert "(technician)" in page.locator("#signing-keys").inner_text()
            page.screenshot(path=str(tmp_path / "fleet-seal-key.png"), full_page=True)
            page.goto(receipt)  # printed while pending: valid from its submission on
            assert page.locator("#seal-status").get_attribute("data-status") == "valid"
        finally:
            page.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_technician_filters_the_kiosks_holding_unacknowledged_commands(
    server: EmbeddedServer, database_url: str, browser: Any
) -> None:
    stuck, fine = enrol(server, "kiosk-stuck"), enrol(server, "kiosk-fine")
    queue(server, "upload_logs", "kiosk-stuck")
    assert len(beat(server, stuck).json()["commands"]) == 1  # handed out, never acknowledged
    assert beat(server, fine).status_code == 200
    engine = create_engine(database_url)
    try:  # handed out 11 minutes ago
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE fleet_commands SET sent_at = :t"),
                {"t": datetime.now(UTC) - timedelta(minutes=11)},
            )
    finally:
        engine.dispose()
    page = browser.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, server.base_url)
        alert = page.locator('tr[data-kiosk="kiosk-stuck"] [data-code="commands_unacknowledged"]')
        assert "belum dikonfirmasi anjungan" in alert.inner_text()
        assert "not acknowledged by the kiosk" in alert.inner_text()
        assert page.locator('tr[data-kiosk="kiosk-stuck"]').get_attribute("data-colour") == "amber"
        assert page.locator('tr[data-kiosk="kiosk-fine"] [data-code]').count() == 0
        page.select_option("#problem", "commands_unacknowledged")
        page.click("#apply-filters")
        page.wait_for_url("**problem=commands_unacknowledged**")
        kiosks = [r.get_attribute("data-kiosk") for r in page.locator("tr.kiosk").all()]
        assert kiosks == ["kiosk-stuck"]
        page.select_option("#problem", "any")  # a problem like any other
        page.click("#apply-filters")
        page.wait_for_url("**problem=any**")
        kiosks = [r.get_attribute("data-kiosk") for r in page.locator("tr.kiosk").all()]
        assert kiosks == ["kiosk-stuck"]
    finally:
        page.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_technician_cancels_a_queued_reboot_and_a_command_the_kiosk_may_have_run(
    server: EmbeddedServer, browser: Any
) -> None:
    old = enrol(server, "kiosk-lobi")  # an older kiosk: names nothing it received
    queued = {}
    for kind in ("upload_logs", "reboot"):
        queued[kind] = queue(server, kind, "kiosk-lobi")
        if kind == "upload_logs":  # handed out, its answer lost
            assert len(beat(server, old).json()["commands"]) == 1
    reboot, logs = queued["reboot"], queued["upload_logs"]
    page = browser.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, server.base_url)
        page.goto(f"{server.base_url}/fleet/kiosks/kiosk-lobi")
        row = page.locator(f'tr.command[data-id="{reboot}"]')
        assert (
            row.locator("td.status").inner_text() == "Antre, belum dikirim / queued, not sent yet"
        )
        page.click(f"#cancel-command-{reboot}")
        warning = page.locator("#confirm-warning")  # asked first, nothing cancelled yet
        assert "tidak akan pernah dikirim" in warning.inner_text()
        page.click("#keep-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi")
        assert row.get_attribute("data-status") == "queued"
        page.click(f"#cancel-command-{reboot}")
        page.click("#confirm-cancel-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi?cancelled=*")
        assert "dibatalkan" in page.locator("#command-cancelled").inner_text()
        assert row.get_attribute("data-status") == "cancelled"
        state = row.locator("td.status").inner_text()
        assert state.startswith("Dibatalkan teknisi") and "Tidak pernah dikirim" in state
        assert page.locator(f"#cancel-command-{reboot}").count() == 0

        page.click(f"#cancel-command-{logs}")
        assert "Mungkin sudah dijalankan anjungan" in page.locator("#confirm-warning").inner_text()
        page.click("#confirm-cancel-command")
        page.wait_for_url("**/fleet/kiosks/kiosk-lobi?cancelled=*")
        row = page.locator(f'tr.command[data-id="{logs}"]')
        assert "Mungkin sudah dijalankan anjungan" in row.locator("td.status").inner_text()
        assert page.locator(".cancel-command").count() == 0  # nothing left to cancel
    finally:
        page.close()
    assert beat(server, old).json()["commands"] == []
