"""One screen per session state (one .py + .kv each); `screen_classes()` maps state to class."""

from __future__ import annotations

from typing import Any


def screen_classes() -> dict[str, Any]:
    """Import the screens (their .kv files import this package, so not at package import)."""
    from kiosk_app.ui.screens.attract import AttractScreen
    from kiosk_app.ui.screens.form import FormScreen
    from kiosk_app.ui.screens.goodbye import GoodbyeScreen
    from kiosk_app.ui.screens.identity import IdentityScreen
    from kiosk_app.ui.screens.menu import MenuScreen
    from kiosk_app.ui.screens.reading_card import ReadingCardScreen
    from kiosk_app.ui.screens.result import ResultScreen
    from kiosk_app.ui.screens.review import ReviewScreen
    from kiosk_app.ui.screens.schedule import ScheduleScreen
    from kiosk_app.ui.screens.submitting import SubmittingScreen

    return {
        "attract": AttractScreen,
        "reading_card": ReadingCardScreen,
        "identity": IdentityScreen,
        "menu": MenuScreen,
        "form": FormScreen,
        "schedule": ScheduleScreen,
        "review": ReviewScreen,
        "submitting": SubmittingScreen,
        "result": ResultScreen,
        "goodbye": GoodbyeScreen,
    }
