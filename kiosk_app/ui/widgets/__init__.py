"""Big touch widgets of the kiosk, imported lazily (`from kiosk_app.ui.widgets import X`)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BigButton": "buttons",
    "ChoiceButtons": "buttons",
    "ChoiceButton": "buttons",
    "OnScreenKeyboard": "keyboard",
    "KeyButton": "keyboard",
    "DatePicker": "datepicker",
    "TimePicker": "timepicker",
    "FieldRow": "field",
    "InactivityWarning": "warning",
    "ThemedLabel": "stepper",
    "StepButton": "stepper",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the widget module that defines `name` on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
