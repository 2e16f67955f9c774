"""Contract every Scanner implementation must satisfy (simulator today, SANE later)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from drivers.errors import ScannerUnavailable


def _open(png: bytes) -> Image.Image:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_scan_returns_a4_png(scanner: tuple[Any, Any]) -> None:
    device, _ = scanner
    image = _open(device.scan_page())
    assert image.mode == "L"
    assert image.height / image.width == pytest.approx(297 / 210, rel=0.01)
    assert image.width == pytest.approx(8.27 * 200, abs=2)
    assert image.getextrema()[0] < 100  # there is ink on the page


def test_dpi_and_mode_are_honoured(scanner: tuple[Any, Any]) -> None:
    device, _ = scanner
    low = _open(device.scan_page(dpi=100, mode="Color"))
    assert low.mode == "RGB" and low.width == pytest.approx(827, abs=2)


def test_pages_differ(scanner: tuple[Any, Any]) -> None:
    device, _ = scanner
    assert device.scan_page(dpi=75) != device.scan_page(dpi=75)


def test_unavailable_scanner_raises(scanner: tuple[Any, Any]) -> None:
    device, set_available = scanner
    set_available(False)
    assert device.status()["state"] == "unavailable"
    with pytest.raises(ScannerUnavailable):
        device.scan_page()
    set_available(True)
    assert _open(device.scan_page(dpi=75)).width > 0


@pytest.mark.parametrize(("dpi", "mode"), [(0, "Gray"), (5000, "Gray"), (200, "Sepia")])
def test_bad_arguments_are_clear_errors(scanner: tuple[Any, Any], dpi: int, mode: str) -> None:
    device, _ = scanner
    with pytest.raises(ValueError):
        device.scan_page(dpi=dpi, mode=mode)
