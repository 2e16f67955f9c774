"""Headless Kivy for the UI tests: the environment is set here, before anything imports kivy."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kiosk_app.ui.kivy_env import prepare_kivy

# Must run at import time: pytest imports this conftest before the UI test modules.
prepare_kivy(headless=True, kivy_home=Path(tempfile.mkdtemp(prefix="anjungan-kivy-test-")))

import pytest  # noqa: E402

from kiosk_app.domain.session import Timeouts  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where UI tests keep screenshots for review (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def start_kiosk(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start a kiosk (simulators + embedded server) and its app; returns a Pilot."""
    started: list[tuple[Any, Any]] = []

    def start(
        timeouts: Timeouts | None = None,
        language: str = "id",
        card_read_delay_s: float = 0.3,
        **settings: Any,
    ) -> Any:
        """`settings`: further KioskConfig fields (e.g. attendant=...)."""
        from kiosk_app.bootstrap import build_kiosk
        from kiosk_app.config import load_config
        from kiosk_app.ui.app import AnjunganApp
        from kiosk_app.ui.pilot import Pilot

        config = load_config(
            None,
            data_dir=tmp_path / "data",
            output_dir=tmp_path / "printed",
            headless=True,
            fullscreen=False,
            language=language,
            timeouts=timeouts or Timeouts(goodbye_s=3.0),  # long enough to see on a slow machine
            **settings,
        )
        config.devices.card_read_delay_s = card_read_delay_s
        kiosk = build_kiosk(config)
        app = AnjunganApp(kiosk, animate=False)
        started.append((app, kiosk))
        app.start_embedded()
        pilot = Pilot(app)
        pilot.kiosk = kiosk
        pilot.wait_for_state("attract")
        return pilot

    yield start
    for app, kiosk in reversed(started):
        try:
            app.stop_embedded()
        finally:
            kiosk.close()
