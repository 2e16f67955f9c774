"""Headless Kivy for the UI tests: the environment is set here, before anything imports kivy."""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kiosk_app.ui.kivy_env import prepare_kivy

# Must run at import time: pytest imports this conftest before the UI test modules.
prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp(prefix="anjungan-kivy-test-")))

from kivy.config import Config  # noqa: E402

# Kivy paces frames at maxfps (60) by sleeping before one until 1/60 s has passed since the
# last: a Pilot's wait, one frame per look, noticed what it waited for up to 17 ms late, each
# time, and a settle of a few frames slept that long too. Frames that draw take longer than
# that on software GL anyway; the ones that do not now end after 5 ms.
Config.set("graphics", "maxfps", "200")

import pytest  # noqa: E402

from kiosk_app.domain.session import Timeouts  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where UI tests keep screenshots for review (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def launch(
    folder: Path,
    timeouts: Timeouts | None = None,
    language: str = "id",
    card_read_delay_s: float = 0.3,
    prepared: bool = True,
    first_state: str = "attract",
    **settings: Any,
) -> Any:
    """Start a kiosk (simulators + embedded server, its files in `folder`) and its app; a
    Pilot on its first screen (`first_state`: attract, or closed outside opening hours; its
    `.kiosk` too), once every screen is built (`prepared` False: at once, the others still
    being built one per frame). `settings`: further KioskConfig fields (e.g. attendant=...).
    Stop it with shut()."""
    from kiosk_app.bootstrap import build_kiosk
    from kiosk_app.config import load_config
    from kiosk_app.ui.app import AnjunganApp
    from kiosk_app.ui.pilot import Pilot

    config = load_config(
        None,
        data_dir=folder / "data",
        output_dir=folder / "printed",
        headless=True,
        fullscreen=False,
        language=language,
        timeouts=timeouts or Timeouts(goodbye_s=3.0),  # long enough to see on a slow machine
        **settings,
    )
    config.devices.card_read_delay_s = card_read_delay_s
    kiosk = build_kiosk(config)
    app = AnjunganApp(kiosk, animate=False)
    try:
        app.start_embedded()
        pilot = Pilot(app)
        pilot.kiosk = kiosk
        pilot.wait_for_state(first_state)
        if prepared:
            # Set-up, not a hang check: ~25 screens on software GL take a while under load.
            # (the app then keeps its screens out of the collector until it stops: gc.freeze)
            pilot.wait_until(lambda: not app._to_prepare, 120, "every screen built")
    except BaseException:
        shut(app, kiosk)
        raise
    return pilot


def shut(app: Any, kiosk: Any) -> None:
    """Stop a launched app, then its kiosk, then reclaim the app: its screens are cycles of
    Kivy widgets (~200,000 objects) that only a full garbage collection frees, and one that
    comes later falls inside the next test's waits (seconds on a loaded machine)."""
    try:
        app.stop_embedded()
    finally:
        kiosk.close()
        gc.collect()


@pytest.fixture
def start_kiosk(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start a kiosk (simulators + embedded server) and its app; returns a Pilot."""
    started: list[Any] = []

    def start(*args: Any, **kwargs: Any) -> Any:
        """launch() in this test's folder; stopped after the test."""
        pilot = launch(tmp_path, *args, **kwargs)
        started.append(pilot)
        return pilot

    yield start
    for pilot in reversed(started):
        shut(pilot.app, pilot.kiosk)


def fill_birth_form(pilot: Any) -> None:
    """Once the central server answers: card tap to the menu, the birth certificate chosen and
    every page filled through the session service (the form's touches are covered by
    test_journey)."""
    from tests.ui.test_journey import to_menu
    from tests.ui.test_status_ui import wait_for_central

    wait_for_central(pilot)
    to_menu(pilot)
    fill_birth_pages(pilot)


def fill_birth_pages(pilot: Any) -> None:
    """From the menu: the birth certificate chosen and every page filled through the session
    service."""
    from kiosk_app.demo_data import sample_birth_values

    session, values = pilot.app.session, sample_birth_values()
    session.choose_service("akta_kelahiran")
    form = session.view.service.form
    for index in range(len(form.pages)):
        for name in form.page_fields(index):
            session.set_value(name, values[name])
        session.next_page()


def choose_first_slot(pilot: Any) -> None:
    """Card tap to the filled form, the optional scanning step skipped, the first slot."""
    app = pilot.app
    session = app.session
    fill_birth_form(pilot)
    pilot.wait_until(lambda: session.view.state.value in ("scan", "schedule"), what="form done")
    if session.view.state.value == "scan":  # the optional document scanning step
        session.scan_skip_all()
    pilot.wait_until(lambda: bool(app.view.slots), what="slots")
    session.choose_slot(app.view.slots[0].slot)


def file_birth_application(central: Any, holder: Any, slot: Any, key: str) -> str:
    """File an akta kelahiran for `holder` in `slot` straight on the central server (no kiosk
    session); return its registration number."""
    receipt = central.submit(
        service="akta_kelahiran",
        applicant_nik=holder.nik,
        applicant_name=holder.name,
        data={},
        slot=slot,
        idempotency_key=key,
    )
    return str(receipt.registration_number)


def type_number(pilot: Any, number: str, *, prefix: str, keypad: str, entry: str) -> None:
    """Type registration `number` on a number pad: tap its prefix button (`prefix` + the
    number's prefix), then its digits after the office's pre-typed four on `keypad`."""
    from kiosk_app.domain.registration import split_number

    kind, digits = split_number(number) or ("", "")
    pilot.tap(f"{prefix}{kind}")
    pad = pilot.find(keypad)
    for digit in digits[4:]:
        pilot._tap_attr("key", digit, pad, settle=0)
    shown = pilot.find(entry)
    pilot.wait_until(lambda: shown.text == number, what="typed number")
