"""Building the device set from configuration."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from drivers.registry import DeviceConfig, build_devices


def test_default_config_builds_simulators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("smartcard", "cups", "sane"):  # other tests in this process import them
        monkeypatch.delitem(sys.modules, name, raising=False)
    devices = build_devices(DeviceConfig(output_dir=tmp_path, card_read_delay_s=0.01))
    for device in (
        devices.card_reader,
        devices.ticket_printer,
        devices.document_printer,
        devices.scanner,
    ):
        assert device.is_simulated is True
        assert isinstance(device.status(), dict)
    assert devices.card_reader.read_delay_s == 0.01
    assert devices.ticket_printer.out_dir == tmp_path / "tickets"
    assert devices.document_printer.out_dir == tmp_path / "documents"
    assert "smartcard" not in sys.modules and "cups" not in sys.modules


def test_no_output_dir_writes_nothing() -> None:
    devices = build_devices(DeviceConfig())
    assert devices.ticket_printer.out_dir is None
    assert devices.document_printer.out_dir is None


@pytest.mark.parametrize(
    "device", ["card_reader", "ticket_printer", "document_printer", "scanner", "barcode_scanner"]
)
def test_unknown_driver_is_a_clear_error(device: str) -> None:
    with pytest.raises(ValueError, match=f"unknown {device} driver 'telepathy': choose one of"):
        build_devices(DeviceConfig(**{device: "telepathy"}))
