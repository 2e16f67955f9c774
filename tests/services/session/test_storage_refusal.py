"""A submission the outbox cannot store is refused and explained, never acknowledged; a worker
job's exception is logged instead of vanishing in an unread future."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from central_server.embedded import start_embedded
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.durable import STORAGE
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing.service import NOT_STORED
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.submission import REFUSAL_PRINTED, STORAGE_REFUSED
from kiosk_app.services.session.views import SessionView
from tests.services.session.session_rig import outbox_session
from tests.services.session.test_session_service import TIMEOUTS, FakeClock, Rig

KIOSK = "KIOSK-TEST-01"


@pytest.fixture
def unwritable_rig(tmp_path: Path) -> Iterator[tuple[Rig, Outbox]]:
    """A session whose outbox lives under a path that is a file: it opens read-only, in memory."""
    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}")
    central = CentralClient(server.base_url, KIOSK, "3517")
    central.register("test kiosk")
    (tmp_path / "var").write_bytes(b"not a folder")
    box = Outbox(tmp_path / "var" / "outbox.db", bytes(32), KIOSK)
    with outbox_session(tmp_path, central, KIOSK, box=box, server=server, journal=False) as rig:
        try:
            yield rig, box
        finally:
            STORAGE.clear()


def _submit(rig: Rig) -> SessionView:
    rig.to_form()
    rig.fill_all_pages()
    view = rig.wait(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots))
    rig.service.choose_slot(view.slots[0].slot)
    rig.service.submit()
    return rig.wait(lambda v: v.state is not SessionState.SUBMITTING)


def test_an_unstorable_submission_is_refused_printed_and_explained(
    unwritable_rig: tuple[Rig, Outbox],
) -> None:
    rig, box = unwritable_rig
    view = _submit(rig)
    assert view.state is SessionState.REVIEW and view.outcome is None  # never acknowledged
    assert view.message == Text(
        f"{STORAGE_REFUSED.id} {REFUSAL_PRINTED.id}", f"{STORAGE_REFUSED.en} {REFUSAL_PRINTED.en}"
    )
    slip = rig.ticket.tickets[-1]
    assert slip.registration_number == NOT_STORED and slip.qr_payload == ""
    assert STORAGE_REFUSED in slip.notes
    assert box.depth() == 0 and rig.a4.printed == []
    status = STORAGE.status()
    assert status["state"] == "unwritable" and "outbox.db" in status["files"]


def test_without_a_working_ticket_printer_the_refusal_is_still_told(
    unwritable_rig: tuple[Rig, Outbox],
) -> None:
    rig, _box = unwritable_rig
    rig.ticket.set_paper(False)
    view = _submit(rig)
    assert view.state is SessionState.REVIEW and view.outcome is None
    assert view.message == STORAGE_REFUSED and rig.ticket.tickets == []


def test_a_worker_job_that_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    core = SessionCore(
        timeouts=TIMEOUTS,
        language="id",
        clock=FakeClock(),
        render=lambda: SessionView(
            state=SessionState.ATTRACT, language="id", reader_available=True, simulated_reader=False
        ),
    )

    def job() -> None:
        raise RuntimeError("boom in the worker")

    with caplog.at_level(logging.ERROR):
        core.run(job)
        core.close()
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert any(str(r.exc_info[1]) == "boom in the worker" for r in failures if r.exc_info)
