"""Multi-page scanning on the real SANE test backend: preview, retake, feeder, PDF under a limit."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from drivers.errors import DocumentTooLarge, ScannerJam
from drivers.scanner.sane import SaneScanner
from drivers.scanner.simulator import SimulatedScanner
from kiosk_app.services.scanning.pages import PREVIEW_DPI, ScanSession, assemble_pdf
from tests.drivers.sane.harness import sane_harness


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


@pytest.fixture
def scanner(sane_config: Path) -> SaneScanner:
    return sane_harness(sane_config)[0]


def test_preview_is_low_resolution_and_not_kept(scanner: SaneScanner) -> None:
    session = ScanSession(scanner, "akta-lama", dpi=150)
    preview = Image.open(io.BytesIO(session.preview()))
    assert preview.width == pytest.approx(8.27 * PREVIEW_DPI, abs=2)
    assert session.pages == []


def test_scan_retake_remove_and_assemble(scanner: SaneScanner) -> None:
    session = ScanSession(scanner, "kk", dpi=100)
    assert [session.scan(), session.scan(), session.scan()] == [0, 1, 2]
    old = session.pages[1]
    session.retake(1)
    assert len(session.pages) == 3 and session.pages[1] != old
    session.remove(0)
    pdf = session.to_pdf()
    assert pdf.startswith(b"%PDF") and page_count(pdf) == 2
    assert len(pdf) <= session.limit_bytes
    session.clear()
    assert session.pages == []


def test_failed_retake_keeps_the_old_page(scanner: SaneScanner) -> None:
    session = ScanSession(scanner, "ktp", dpi=75)
    session.scan()
    kept = session.pages[0]
    scanner.options["read-return-value"] = "SANE_STATUS_JAMMED"
    with pytest.raises(ScannerJam):
        session.retake(0)
    assert session.pages == [kept]
    with pytest.raises(IndexError):
        session.retake(5)


def test_feeder_fills_the_session_up_to_max_pages(scanner: SaneScanner) -> None:
    session = ScanSession(scanner, "buku-nikah", dpi=75, max_pages=4)
    session.scan()
    assert session.scan_feeder() == 3
    with pytest.raises(ValueError, match="at most 4"):
        session.scan()
    assert page_count(session.to_pdf()) == 4


def test_scanner_without_feeder_says_so() -> None:
    with pytest.raises(ValueError, match="no document feeder"):
        ScanSession(SimulatedScanner(), "x").scan_feeder()


def test_size_limit_lowers_quality_then_gives_up() -> None:
    page = SimulatedScanner().scan_page(dpi=150, mode="Color")
    generous = assemble_pdf([page, page], 5_000_000)
    tight = assemble_pdf([page, page], len(generous) // 2)
    assert len(tight) <= len(generous) // 2 and page_count(tight) == 2
    with pytest.raises(DocumentTooLarge) as caught:
        assemble_pdf([page] * 3, 10_000)
    assert "terlalu besar" in caught.value.citizen_message("id")


def test_bad_settings_fail_early() -> None:
    with pytest.raises(ValueError):
        ScanSession(SimulatedScanner(), "x", max_pages=0)
    with pytest.raises(ValueError, match="no page"):
        ScanSession(SimulatedScanner(), "x").to_pdf()
