"""The registry builds the CUPS printer and the SANE scanner from configuration."""

from __future__ import annotations

from pathlib import Path

from drivers.document_printer.cups import CupsDocumentPrinter
from drivers.registry import DeviceConfig, build_devices
from drivers.scanner.sane import SaneScanner
from tests.drivers.cups.testbed import PDF_QUEUE, CupsTestbed


def test_cups_and_sane_from_config(cups_testbed: CupsTestbed, sane_config: Path) -> None:
    devices = build_devices(
        DeviceConfig(
            document_printer="cups",
            cups_queue=PDF_QUEUE,
            cups_server=cups_testbed.socket,
            cups_job_timeout_s=30,
            scanner="sane",
            sane_device="test:0",
        )
    )
    assert isinstance(devices.document_printer, CupsDocumentPrinter)
    assert devices.document_printer.job_timeout_s == 30
    assert devices.document_printer.status()["state"] == "online"
    assert isinstance(devices.scanner, SaneScanner)
    assert devices.scanner.status()["state"] == "ready"
