"""Time editor with the fewest touches, like the date grid: the hour from a grid of 24, then the
minute from a grid in 5-minute steps (two touches for 14.30), or the exact time typed as four
digits on the number pad (HH MM, as a birth letter writes it). Where a time is optional,
"Tidak tahu" leaves it empty.

`value` is '' until a time is complete (a minute touched or four digits typed), then 'HH:MM'.
`on_done` fires then, and on "Tidak tahu": the form moves on to its next field.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, OptionProperty

from kiosk_app.domain.dates import parse_hhmm
from kiosk_app.domain.text import Text
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.stagegrid import StageGrid

STAGES = ("hour", "minute", "typed")
DIGITS = 4  # HHMM
_COLUMNS = {"hour": 6, "minute": 4}
MINUTE_STEP = 5

T = Text
PROMPTS = {
    "hour": T("Pukul berapa? Pilih jamnya", "What time? Choose the hour"),
    "minute": T("Pukul {hour}: pilih menitnya", "{hour} o'clock: choose the minutes"),
    "typed": T("Ketik jam dan menit: 4 angka", "Type hours and minutes: 4 digits"),
}
OTHER_HOUR = T("Jam lain", "Other hour")
TYPE_IT = T("Ketik tepat", "Type it exactly")
PICK_IT = T("Pilih jam", "Pick the hour")
UNKNOWN = T("Tidak tahu", "Not known")
MSG = {
    "short": T("Ketik 4 angka, contoh 14 37.", "Type 4 digits, e.g. 14 37."),
    "no_time": T(
        "Jam 00 sampai 23, menit 00 sampai 59. Periksa lagi.",
        "Hours 00 to 23, minutes 00 to 59. Check it again.",
    ),
}


def typed_time(digits: str) -> tuple[str | None, Text | None]:
    """'HH:MM' of four typed digits, or the citizen's message why it is none."""
    if len(digits) != DIGITS or not (digits.isascii() and digits.isdigit()):
        return None, MSG["short"]
    value = f"{digits[:2]}:{digits[2:]}"
    return (value, None) if parse_hhmm(value) else (None, MSG["no_time"])


def typed_display(digits: str) -> str:
    """The digits typed so far in their places: '14' -> '14 . _ _'."""
    shown = (digits + "_" * DIGITS)[:DIGITS]
    return f"{shown[:2]} . {shown[2:]}"


class TimeGrid(StageGrid):
    """A prompt, the grid of hours or of minutes (or the typed digits and their pad), and the
    buttons to another hour, to typing, and "Tidak tahu" where the time is optional."""

    optional = BooleanProperty(False)
    stage = OptionProperty("hour", options=STAGES)

    pilot_prefix = "time"
    digit_count = DIGITS
    type_it = TYPE_IT
    pick_it = PICK_IT
    bar_font = "small"  # three bar buttons may share the bar's width

    def __init__(self, **kwargs: Any) -> None:
        """Build the parts once (cells are reused from stage to stage)."""
        super().__init__(columns=6, cells=24, **kwargs)
        self.hour = 8
        self.unknown = self._button(lambda _a: self.not_known(), "time_unknown")
        self.bind(optional=self._show)
        self._start()

    # -- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Open on the chosen time's minutes, else on the hours."""
        parsed = parse_hhmm(self.value)
        self.digits, self.error = "", ""
        if parsed is not None:
            self.hour = parsed[0]
        self._open_on("minute" if parsed is not None else "hour")

    # -- touches -----------------------------------------------------------------------------
    def pick(self, kind: str, n: int) -> bool:
        """One touch on a cell: an hour opens its minutes, a minute completes the time."""
        if kind == "hour":
            self.hour, self.stage = n, "minute"
        elif kind == "minute":
            self.value = f"{self.hour:02d}:{n:02d}"
            self.dispatch("on_done")
        else:
            return False
        return True

    def go_up(self) -> None:
        """From the minutes back to the hours."""
        self.stage = "hour"

    def not_known(self) -> None:
        """ "Tidak tahu": no time (only offered where the time is optional)."""
        self.value = ""
        self.dispatch("on_done")

    def typed_value(self, digits: str) -> tuple[str | None, Text | None]:
        """'HH:MM' of the typed digits, or the citizen's message why it is none."""
        return typed_time(digits)

    def typed_text(self, digits: str) -> str:
        """The digits typed so far in their places."""
        return typed_display(digits)

    # -- showing -----------------------------------------------------------------------------
    def prompt_text(self, stage: str, lang: str) -> str:
        """What the prompt asks at this stage."""
        return PROMPTS[stage].format(hour=f"{self.hour:02d}")(lang)

    def up_text(self, stage: str, lang: str) -> str | None:
        """From the minutes, another hour."""
        return OTHER_HOUR(lang) if stage == "minute" else None

    def _more_buttons(self, lang: str) -> None:
        if self.optional:
            self.unknown.text, self.unknown.action = UNKNOWN(lang), "unknown"
            self.bar.add_widget(self.unknown)

    def _fill_grid(self, stage: str, lang: str) -> None:
        chosen = parse_hhmm(self.value)
        items: list[tuple[str, str, bool]] = []  # (action, text, chosen)
        if stage == "hour":
            for hour in range(24):
                mark = chosen is not None and chosen[0] == hour
                items.append((f"hour:{hour}", f"{hour:02d}", mark))
        else:
            for minute in range(0, 60, MINUTE_STEP):
                mark = chosen == (self.hour, minute)
                items.append((f"minute:{minute}", f"{self.hour:02d}.{minute:02d}", mark))
        self.grid.cols = _COLUMNS[stage]
        self._place_cells(items, "key")


load_kv(__file__)
