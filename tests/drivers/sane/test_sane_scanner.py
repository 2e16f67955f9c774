"""The SANE scanner against SANE's real `test` backend: pages, feeder and typed faults."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from drivers.errors import (
    FeederEmpty,
    ScannerCoverOpen,
    ScannerJam,
    ScannerUnavailable,
)
from drivers.scanner.sane import SaneScanner, sane_error
from tests.drivers.sane.fixtures import write_sane_config
from tests.drivers.sane.harness import DEVICE, sane_harness

ADF = "Automatic Document Feeder"


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


@pytest.fixture
def scanner(sane_config: Path) -> SaneScanner:
    """A SANE scanner on test:0 with its feeder."""
    return sane_harness(sane_config)[0]


def fault_scanner(status: str) -> SaneScanner:
    """test:0 whose reads end with SANE status `status` (the backend's fault injection)."""
    return SaneScanner(DEVICE, source="Flatbed", options={"read-return-value": status})


def test_feeder_scans_every_page_up_to_the_limit(scanner: SaneScanner) -> None:
    assert scanner.has_feeder and scanner.status()["feeder"] == "yes"
    pages = scanner.scan_feeder(dpi=75, max_pages=3)
    assert len(pages) == 3
    assert {_image(p).width for p in pages} == {round(210 / 25.4 * 75)}
    assert len(set(pages)) == 3  # each page carries its own scan number


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        ("SANE_STATUS_JAMMED", ScannerJam, "tersangkut"),
        ("SANE_STATUS_COVER_OPEN", ScannerCoverOpen, "Tutup pemindai"),
        ("SANE_STATUS_NO_DOCS", FeederEmpty, "pengumpan"),
        ("SANE_STATUS_IO_ERROR", ScannerUnavailable, "tidak tersedia"),
    ],
)
def test_backend_faults_become_typed_errors(
    sane_config: Path, status: str, error: type[ScannerUnavailable], words: str
) -> None:
    with pytest.raises(ScannerUnavailable) as caught:
        fault_scanner(status).scan_page(dpi=75)
    assert type(caught.value) is error
    assert words in caught.value.citizen_message("id")
    assert "SANE says" in str(caught.value)


def test_empty_feeder_is_feeder_empty(sane_config: Path) -> None:
    scanner = fault_scanner("SANE_STATUS_NO_DOCS")
    with pytest.raises(FeederEmpty):
        scanner.scan_feeder(dpi=75)


def test_a_fault_does_not_break_the_next_scan(scanner: SaneScanner) -> None:
    """A worker that answered a SANE fault scans no more: libsane may have left a cancelled
    reader thread's lock held in it (the next scan in it hung once in CI, 120 s). A worker
    that scanned well is kept."""
    assert _image(scanner.scan_page(dpi=75)).height > 0
    well = scanner.worker_pid
    scanner.options["read-return-value"] = "SANE_STATUS_JAMMED"
    with pytest.raises(ScannerJam):
        scanner.scan_page(dpi=75)
    faulted = scanner.worker_pid
    assert faulted == well  # the fault came from the worker that had scanned well
    scanner.options["read-return-value"] = "Default"
    assert _image(scanner.scan_page(dpi=75)).height > 0
    assert scanner.worker_pid not in (None, faulted)
    assert faulted is not None and _gone(faulted)
    kept = scanner.worker_pid
    assert _image(scanner.scan_page(dpi=75)).height > 0
    assert scanner.worker_pid == kept


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Document feeder jammed", ScannerJam),
        ("Scanner cover is open", ScannerCoverOpen),
        ("Document feeder out of documents", FeederEmpty),
        ("Device busy", ScannerUnavailable),
        ("Error during device I/O", ScannerUnavailable),
    ],
)
def test_sane_status_mapping(message: str, error: type[ScannerUnavailable]) -> None:
    import sane

    mapped = sane_error(sane._sane.error(message), "scan on x")
    assert type(mapped) is error and message in str(mapped)


def test_missing_device_names_what_sane_offers(sane_config: Path) -> None:
    scanner = SaneScanner("test:9")
    with pytest.raises(ScannerUnavailable, match="test:0"):
        scanner.scan_page()
    assert scanner.status()["state"] == "unavailable"


def test_unknown_option_is_a_clear_error(sane_config: Path) -> None:
    with pytest.raises(ScannerUnavailable, match="no option 'lamp-colour'"):
        SaneScanner(DEVICE, options={"lamp-colour": "blue"}).scan_page(dpi=75)


def test_no_scanner_at_all(tmp_path: Path) -> None:
    """A fresh process whose SANE has no backend: ScannerUnavailable, citizen told clearly."""
    config = write_sane_config(tmp_path / "empty", backends="")
    code = (
        "from drivers.scanner.sane import SaneScanner\n"
        "from drivers.errors import ScannerUnavailable\n"
        "s = SaneScanner()\n"
        "print(s.status()['state'])\n"
        "try:\n    s.scan_page()\n"
        "except ScannerUnavailable as e:\n"
        "    print(type(e).__name__, '|', e, '|', e.citizen_message('id'))\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={"SANE_CONFIG_DIR": str(config), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "unavailable"
    assert lines[1].startswith("ScannerUnavailable | no scanner found")
    assert "Pemindai dokumen tidak tersedia" in lines[1]


def test_sigpipe_stays_ignored_after_a_scan_on_a_worker_thread(scanner: SaneScanner) -> None:
    """SANE leaves SIGPIPE at its default after a scan; the driver ignores it again, or one write
    to a reset socket would kill the kiosk (found when the outbox's reset test died with 141)."""
    import threading

    from tests.conftest import sigpipe_ignored

    done: list[bytes] = []
    worker = threading.Thread(target=lambda: done.append(scanner.scan_page(dpi=75)))
    worker.start()
    worker.join(timeout=30)
    assert done and done[0].startswith(b"\x89PNG")
    assert sigpipe_ignored()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_scanner_that_stops_answering_is_killed_and_the_next_scan_works(
    sane_config: Path,
) -> None:
    """The backend delays every block (read-delay): past the deadline the worker is killed, the
    citizen hears the scanner is unavailable, and the next scan runs in a fresh worker."""
    slow = SaneScanner(
        DEVICE,
        source="Flatbed",
        deadline_s=2,
        options={"read-delay": True, "read-delay-duration": 200_000},
    )
    slow.status()
    first = slow.worker_pid
    assert first is not None
    with pytest.raises(ScannerUnavailable, match="no answer from the scanner within 2 s") as caught:
        slow.scan_page(dpi=75)
    assert type(caught.value) is ScannerUnavailable
    assert "Pemindai dokumen tidak tersedia" in caught.value.citizen_message("id")
    assert slow.worker_pid is None and _gone(first)
    slow.options = {"read-delay": False}
    assert _image(slow.scan_page(dpi=75)).height > 0
    assert slow.worker_pid not in (None, first)
    slow.close()


def test_a_worker_hung_after_a_fault_is_replaced(
    scanner: SaneScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libsane can deadlock cancelling a faulted scan (its reader thread cancelled inside malloc:
    this hung CI for 90 minutes). The citizen still gets the fault at once; the next scan finds
    the worker silent, kills it and scans in a new one. SIGSTOP stands in for the deadlock."""
    from drivers.scanner import sane as driver

    monkeypatch.setattr(driver, "CLOSE_S", 1.0)
    scanner.options["read-return-value"] = "SANE_STATUS_JAMMED"
    with pytest.raises(ScannerJam):
        scanner.scan_page(dpi=75)
    hung = scanner.worker_pid
    assert hung is not None
    os.kill(hung, signal.SIGSTOP)
    scanner.options["read-return-value"] = "Default"
    scanner.deadline_s = 5  # if the worker had closed the device before SIGSTOP, it is just silent
    try:
        try:
            scanner.scan_page(dpi=75)
        except ScannerUnavailable as exc:
            assert "no answer from the scanner" in str(exc)
        assert _image(scanner.scan_page(dpi=75)).height > 0
    finally:
        if not _gone(hung):
            os.kill(hung, signal.SIGCONT)
    assert scanner.worker_pid != hung and _gone(hung)
    scanner.close()


def test_many_faulted_scans_each_end_in_their_typed_error(
    scanner: SaneScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real race behind the CI hang: one scanner, many reads failed by the backend."""
    from drivers.scanner import sane as driver

    monkeypatch.setattr(driver, "CLOSE_S", 2.0)
    scanner.options["read-return-value"] = "SANE_STATUS_IO_ERROR"
    for _ in range(60):
        with pytest.raises(ScannerUnavailable, match="Error during device I/O"):
            scanner.scan_page(dpi=75)
    scanner.options["read-return-value"] = "Default"
    assert _image(scanner.scan_page(dpi=75)).height > 0
    scanner.close()


def test_a_worker_killed_between_scans_is_restarted(scanner: SaneScanner) -> None:
    assert _image(scanner.scan_page(dpi=75)).height > 0
    first = scanner.worker_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    while not _gone(first):
        os.waitpid(first, os.WNOHANG)
    assert _image(scanner.scan_page(dpi=75)).height > 0
    assert scanner.worker_pid not in (None, first)
    scanner.close()
