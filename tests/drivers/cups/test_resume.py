"""A stopped CUPS queue resumed by the attendant on a real cupsd, then a receipt prints."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from drivers.errors import PrinterOffline
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.attendant.service import AttendantService
from kiosk_app.services.printing.receipt_pdf import render_receipt_pdf
from tests.drivers.cups.fixtures import IppFaults, job_files, make_pdf
from tests.drivers.cups.harness import make_printer
from tests.drivers.cups.testbed import IPP_QUEUE, POLICY_USER, CupsTestbed
from tests.services.printing.test_receipt_pdf import make_receipt

PIN = "482913"


@pytest.fixture
def faults(cups_testbed: CupsTestbed) -> Iterator[IppFaults]:
    """The ippeveprinter queue healthy (enabled, accepting, paper in) before and after."""
    switches = IppFaults(cups_testbed)
    yield switches
    switches.reset()


@pytest.fixture(scope="module")
def settings() -> AttendantSettings:
    """One attendant (hashed once: scrypt is slow on purpose)."""
    return AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN))])


def attendant_for(settings: AttendantSettings, printer: object) -> AttendantService:
    """An unlocked attendant service that sees only the A4 printer."""
    service = AttendantService(
        settings,
        kiosk_id="KIOSK-3517-01",
        session=None,
        journal=None,
        ticket_printer=None,
        devices={"document_printer": printer},
    )
    assert service.unlock_with_pin(PIN)
    return service


def test_stopped_rejecting_queue_is_resumed_then_a_receipt_prints(
    cups_testbed: CupsTestbed,
    faults: IppFaults,
    settings: AttendantSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The queue as CUPS leaves it after a job error (stopped with a message, rejecting jobs).

    cupsdisable/cupsreject stand in for CUPS's own stop: ippeveprinter's failed jobs end as
    "canceled at printer", which CUPS does not answer by stopping the queue.
    """
    printer = make_printer(cups_testbed, IPP_QUEUE)
    faults.stopped(True)  # stopped "paper jam"; the attendant has cleared the jam since
    with pytest.raises(PrinterOffline, match="stopped"):  # what the kiosk said until now
        printer.print_pdf(make_pdf(), "receipt-refused")
    assert printer.status()["message"] == "paper jam"
    service = attendant_for(settings, printer)
    [line] = service.check_devices()
    assert line.resumable and not line.ok and line.advice == T.ADVICE_QUEUE_STOPPED
    with caplog.at_level(logging.INFO, logger="anjungan.audit"):
        assert service.resume_a4(), service.view().message
    assert service.view().message == T.A4_RESUMED
    assert "attendant=PTG-07 action=resume_a4 nik=- outcome=ok" in caplog.text
    status = printer.status()
    assert status["queue_state"] != "stopped" and status["accepting"] == "yes"
    before = [t for t in cups_testbed.printed_titles() if t != "probe"]
    assert printer.print_pdf(render_receipt_pdf(make_receipt()), "receipt-PRA-3517").isdigit()
    after = [t for t in cups_testbed.printed_titles() if t != "probe"]
    assert after[len(before) :] == ["receipt-PRA-3517"]
    assert job_files(cups_testbed) == []
    service.close()


def test_stopped_and_rejecting_queue_with_no_paper(
    cups_testbed: CupsTestbed, faults: IppFaults, settings: AttendantSettings
) -> None:
    printer = make_printer(cups_testbed, IPP_QUEUE)
    faults.paper_out(True)  # ippeveprinter's tray is empty: media-empty
    faults.stopped(True)
    service = attendant_for(settings, printer)
    assert not service.resume_a4()  # resumed, but the tray is still empty: it says so
    message = service.view().message
    assert message is not None and message.id.startswith(T.A4_RESUMED_BUT.id)
    assert T.ADVICE["paper_out"].id in message.id
    status = printer.status()
    assert (status["state"], status["accepting"]) == ("paper_out", "yes")
    assert status["queue_state"] != "stopped"
    faults.paper_out(False)  # paper loaded
    [line] = service.check_devices()
    assert line.ok, line
    assert printer.print_pdf(render_receipt_pdf(make_receipt()), "receipt-after-paper")
    assert "receipt-after-paper" in cups_testbed.printed_titles()
    service.close()


def test_provisioned_policy_lets_the_kiosk_user_resume_and_nothing_more(
    cups_testbed: CupsTestbed, faults: IppFaults
) -> None:
    """provisioning's <Policy anjungan> on a real cupsd, "nobody" standing in for the kiosk user
    (cupsenable/cupsaccept send the same Resume-Printer/CUPS-Accept-Jobs as pycups)."""
    if shutil.which("runuser") is None:
        pytest.skip("runuser is needed to act as a non-root user")

    def as_kiosk_user(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "runuser",
                "-u",
                POLICY_USER,
                "--",
                "env",
                f"CUPS_SERVER={cups_testbed.socket}",
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    printer = make_printer(cups_testbed, IPP_QUEUE)
    faults.stopped(True)
    try:
        refused = as_kiosk_user("cupsenable", IPP_QUEUE)  # CUPS's default policy: forbidden
        assert refused.returncode != 0 and "forbidden" in refused.stderr
        cups_testbed.lpadmin(IPP_QUEUE, "-o", "printer-op-policy=anjungan")  # as provisioned
        for command in ("cupsenable", "cupsaccept"):
            done = as_kiosk_user(command, IPP_QUEUE)
            assert done.returncode == 0, done.stderr
        status = printer.status()
        assert (status["queue_state"], status["accepting"]) == ("idle", "yes")
        for command in (
            ["cupsdisable", IPP_QUEUE],
            ["cupsreject", IPP_QUEUE],
            ["lpadmin", "-p", IPP_QUEUE, "-D", "changed"],
        ):
            denied = as_kiosk_user(*command)
            assert denied.returncode != 0 and "orbidden" in denied.stderr, command
        status = printer.status()
        assert (status["queue_state"], status["accepting"]) == ("idle", "yes")
    finally:
        cups_testbed.lpadmin(IPP_QUEUE, "-o", "printer-op-policy=default")
