"""One screen per session state (one .py + .kv each), imported when first needed."""

from __future__ import annotations

import importlib
from typing import Any

# state name -> (module in this package, class); imported lazily: their .kv files import this
# package, and the kiosk shows its attract screen before paying for the others.
_SCREENS = {
    "attract": ("attract", "AttractScreen"),
    "reading_card": ("reading_card", "ReadingCardScreen"),
    "identity": ("identity", "IdentityScreen"),
    "menu": ("menu", "MenuScreen"),
    "form": ("form", "FormScreen"),
    "scan": ("scan", "ScanScreen"),
    "schedule": ("schedule", "ScheduleScreen"),
    "review": ("review", "ReviewScreen"),
    "submitting": ("submitting", "SubmittingScreen"),
    "result": ("result", "ResultScreen"),
    "goodbye": ("goodbye", "GoodbyeScreen"),
    "status": ("status", "StatusScreen"),
    "documents": ("documents", "DocumentsScreen"),
    "survey": ("survey", "SurveyScreen"),
    "closed": ("closed", "ClosedScreen"),
    "checkin": ("checkin", "CheckinScreen"),
}


def screen_class(name: str) -> Any:
    """The screen class for session state `name`."""
    module, cls = _SCREENS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def screen_classes() -> dict[str, Any]:
    """Every screen class by state name (imports them all)."""
    return {name: screen_class(name) for name in _SCREENS}
