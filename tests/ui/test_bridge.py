"""The session bridge hands views to the UI; one view that fails to show stops nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk_app.domain.session import SessionState

pytestmark = pytest.mark.ui


class OneListenerSession:
    """Stands for SessionService's subscribe() and unsubscribe(): the bridge's only contact
    with it."""

    def __init__(self) -> None:
        self.listener: Callable[[Any], None] | None = None

    def subscribe(self, listener: Callable[[Any], None]) -> None:
        self.listener = listener

    def unsubscribe(self, listener: Callable[[Any], None]) -> None:
        assert listener == self.listener
        self.listener = None


def test_a_view_that_fails_to_show_is_logged_and_the_next_is_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from kiosk_app.ui.bridge import SessionBridge

    session, shown = OneListenerSession(), []

    def show(view: Any) -> None:
        if view.state is SessionState.STATUS:
            raise RuntimeError("a display bug")
        shown.append(view.state)

    bridge = SessionBridge(session, show)  # type: ignore[arg-type]
    bridge.start()
    assert session.listener is not None
    for state in (SessionState.STATUS, SessionState.ATTRACT):
        session.listener(SimpleNamespace(state=state))
    with caplog.at_level(logging.ERROR, logger="kiosk_app.ui.bridge"):
        bridge.flush()
    assert shown == [SessionState.ATTRACT]
    assert "showing the status view failed" in caplog.text
    bridge.close()
    assert session.listener is None  # a closed bridge lets go of the session (and it of the app)
