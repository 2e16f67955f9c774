"""Officer pages in headless Chromium (Debian's): log in, approve with a slot, ask for a fix."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.central.officer.conftest import MONDAY, PASSWORD, Central

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (never `playwright install`: Debian's build)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        yield chromium
        chromium.close()


def test_officer_logs_in_approves_with_a_slot_and_asks_for_a_fix(
    central: Central, browser: Any, tmp_path: Path
) -> None:
    first = central.submit(MONDAY, "08.00-11.00")
    second = central.submit(MONDAY, "13.00-15.00")
    page = browser.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{central.url}/officer/applications")
    assert page.url.startswith(f"{central.url}/login")  # sent to the login form
    page.get_by_label("Nama pengguna").fill("petugas")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/officer/applications")
    page.get_by_role("link", name=first).click()
    page.get_by_label("Jadwal verifikasi (sisa tempat)").select_option(
        f"{MONDAY.isoformat()}|13.00-15.00"
    )
    page.get_by_role("button", name="Setujui").click()
    page.wait_for_url(f"**/officer/applications/{first}?ok=approve")
    assert page.locator("#status").inner_text() == "Disetujui"
    assert "Senin, 23 November 2026, pukul 13.00-15.00" in page.locator("#slot").inner_text()
    page.screenshot(path=str(tmp_path / "approved.png"))  # viewport: full_page is flaky headless

    page.goto(f"{central.url}/officer/applications/{second}")
    page.get_by_label("Bagian 1").select_option("child_name")
    page.get_by_label("Catatan 1").fill("Nama anak tidak sesuai surat keterangan lahir")
    page.get_by_role("button", name="Minta perbaikan").click()
    page.wait_for_url(f"**/officer/applications/{second}?ok=ask_fix")
    assert page.locator("#status").inner_text() == "Perlu perbaikan"
    assert "Nama anak tidak sesuai" in page.locator("#fix-notes").inner_text()
    page.close()
