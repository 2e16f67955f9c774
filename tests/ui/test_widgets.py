"""Touch widgets driven by real (simulated) finger taps on an offscreen 1280x800 window."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

import datetime
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from kiosk_app.ui.theme import LARGE_TEXT_SCALE, theme
from kiosk_app.ui.widgets.buttons import BigButton, ChoiceButtons
from kiosk_app.ui.widgets.dategrid import DateGrid
from kiosk_app.ui.widgets.datepicker import DATE_ACTIONS, DatePicker, step_date
from kiosk_app.ui.widgets.field import FieldRow
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard
from kiosk_app.ui.widgets.timepicker import TimePicker
from kiosk_app.ui.widgets.warning import InactivityWarning

pytestmark = pytest.mark.ui

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "widgets"
SIZE = (1280, 800)


def idle(frames: int = 4) -> None:
    """Let Kivy run a few frames (layout, canvas, clock)."""
    for _ in range(frames):
        EventLoop.idle()


def tap(widget: Widget) -> None:
    """Put one finger down and up at the centre of `widget`."""
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    idle(1)


def tap_at(x: float, y: float) -> None:
    """Put one finger down and up at window position (x, y)."""
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    idle(1)


def touchables(root: Widget) -> list[Widget]:
    """Return every tappable widget under `root`."""
    return [w for w in root.walk(restrict=True) if isinstance(w, ButtonBehavior)]


def save_png(widget: Widget, name: str) -> Path:
    """Write a PNG of `widget` into artifacts/widgets/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    widget.export_to_png(str(path))
    return path


@pytest.fixture
def mount() -> Iterator[Callable[[Widget], Widget]]:
    """Place widgets at the bottom of a white 1280x800 window; remove them afterwards."""
    Window.size = SIZE
    Window.clearcolor = (1, 1, 1, 1)
    idle()
    theme.large_text = False
    roots: list[Widget] = []

    def _mount(widget: Widget) -> Widget:
        root = BoxLayout(orientation="vertical")
        root.add_widget(Widget())
        root.add_widget(widget)
        Window.add_widget(root)
        roots.append(root)
        idle(6)
        return widget

    yield _mount
    for root in roots:
        Window.remove_widget(root)
    theme.large_text = False
    idle()


def key(keyboard: OnScreenKeyboard, name: str) -> Any:
    """Return the key button sending `name`."""
    matches = [k for k in keyboard.keys if k.key == name]
    assert len(matches) == 1, f"expected one key {name!r}, found {len(matches)}"
    return matches[0]


# -- theme -----------------------------------------------------------------------------------


def test_theme_sizes_follow_window_and_large_text(mount: Callable[[Widget], Widget]) -> None:
    assert Window.height == 800
    assert theme.sp_body >= 28
    assert theme.sp_heading > theme.sp_body and theme.sp_title > theme.sp_heading
    assert theme.touch_px() >= 64
    body, touch, text = theme.sp_body, theme.touch_px(), theme.text
    theme.large_text = True
    assert theme.sp_body == pytest.approx(body * LARGE_TEXT_SCALE, abs=1)
    assert theme.touch_px() == touch  # targets stay >= 15 mm; the layouts still fit
    assert theme.text == (1.0, 1.0, 1.0, 1.0) and theme.text != text  # high contrast
    theme.large_text = False
    assert theme.sp_body == body


def test_theme_uses_dejavu_font_when_present() -> None:
    fonts = Path(__file__).resolve().parents[2] / "assets" / "fonts"
    if (fonts / "DejaVuSans.ttf").is_file():
        assert theme.font_name.endswith("DejaVuSans.ttf")
        assert theme.font_name_bold.endswith("DejaVuSans-Bold.ttf")
    else:
        assert theme.font_name == "Roboto"


# -- keyboard --------------------------------------------------------------------------------


def test_keyboard_types_into_attached_textinput(mount: Callable[[Widget], Widget]) -> None:
    keyboard = mount(OnScreenKeyboard(mode="text"))
    target = TextInput(text="")
    keyboard.attach(target)
    fired: list[str] = []
    keyboard.bind(on_key=lambda _kb, k: fired.append(k))
    for letter in "SITI":
        tap(key(keyboard, letter))
    assert target.text == "SITI"
    tap(key(keyboard, "backspace"))
    assert target.text == "SIT"
    tap(key(keyboard, "space"))
    tap(key(keyboard, "'"))
    assert target.text == "SIT '"
    tap(key(keyboard, "done"))
    assert fired == ["S", "I", "T", "I", "backspace", "space", "'", "done"]
    save_png(keyboard, "keyboard_text")


def test_keyboard_respects_max_length_and_detach(mount: Callable[[Widget], Widget]) -> None:
    keyboard = mount(OnScreenKeyboard(mode="text"))
    target = TextInput(text="AB")
    target.max_length = 3
    keyboard.attach(target)
    tap(key(keyboard, "C"))
    tap(key(keyboard, "D"))
    assert target.text == "ABC"
    keyboard.detach()
    tap(key(keyboard, "backspace"))
    assert target.text == "ABC"


def test_text_keyboard_has_all_letters_and_fits_lower_part(
    mount: Callable[[Widget], Widget],
) -> None:
    keyboard = mount(OnScreenKeyboard())
    names = {k.key for k in keyboard.keys}
    assert set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") <= names
    assert {"space", "backspace", "done", "'", ".", ",", "-", "/"} <= names
    assert set("0123456789") <= names  # house numbers and RT/RW in addresses
    assert keyboard.height <= 0.5 * Window.height + 1
    assert keyboard.top <= 0.5 * Window.height + 1
    assert "Hapus" in key(keyboard, "backspace").text
    # the done key says "OK": "Selesai" is also the menu's "end my visit"
    assert key(keyboard, "done").text == "OK"
    keyboard.lang = "en"
    assert "Delete" in key(keyboard, "backspace").text
    assert key(keyboard, "done").text == "OK"


def test_digits_keyboard_has_no_letters(mount: Callable[[Widget], Widget]) -> None:
    keyboard = mount(OnScreenKeyboard(mode="digits"))
    names = {k.key for k in keyboard.keys}
    assert set("0123456789") <= names
    assert "backspace" in names
    assert not any(n.isalpha() and len(n) == 1 for n in names)
    assert "," not in names and "space" not in names
    target = TextInput()
    keyboard.attach(target)
    for digit in "3174":
        tap(key(keyboard, digit))
    tap(key(keyboard, "backspace"))
    assert target.text == "317"
    save_png(keyboard, "keyboard_digits")


def test_number_keyboard_has_comma(mount: Callable[[Widget], Widget]) -> None:
    keyboard = mount(OnScreenKeyboard(mode="number"))
    target = TextInput()
    keyboard.attach(target)
    for name in ("1", ",", "5"):
        tap(key(keyboard, name))
    assert target.text == "1,5"
    assert not any(k.key.isalpha() and len(k.key) == 1 for k in keyboard.keys)
    keyboard.mode = "text"
    idle()
    assert "Q" in {k.key for k in keyboard.keys}


# -- date picker -----------------------------------------------------------------------------


def action_button(picker: Any, action: str) -> Any:
    """Return the picker's button with `action`."""
    matches = [b for b in picker.buttons if b.action == action]
    assert len(matches) == 1, f"expected one {action!r} button"
    return matches[0]


def test_datepicker_first_tap_gives_valid_date(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(DatePicker(start_value="1960-06-15"))
    assert picker.value == ""
    tap(action_button(picker, "day+"))
    assert picker.value == "1960-06-16"
    assert datetime.date.fromisoformat(picker.value)


def test_datepicker_buttons_and_feb_29_clamping(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(DatePicker(value="2000-01-31", min_year=1900, max_year=2024))
    tap(action_button(picker, "month+"))
    assert picker.value == "2000-02-29"
    tap(action_button(picker, "year+"))
    assert picker.value == "2001-02-28"
    tap(action_button(picker, "day+"))
    assert picker.value == "2001-02-01"  # day wraps inside the month
    tap(action_button(picker, "day-"))
    assert picker.value == "2001-02-28"
    tap(action_button(picker, "month-"))
    tap(action_button(picker, "month-"))
    assert picker.value == "2001-12-28"  # month wraps, year stays
    tap(action_button(picker, "year-"))
    assert picker.value == "2000-12-28"
    assert picker.month_column.value_box.text == "Desember"
    picker.lang = "en"
    assert picker.month_column.value_box.text == "December"
    save_png(picker, "datepicker")


def test_datepicker_year_jumps_reach_1950_and_clamp(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(DatePicker(value="2020-05-17", min_year=1900, max_year=2025))
    for _ in range(7):
        tap(action_button(picker, "year-10"))
    assert picker.value == "1950-05-17"
    for _ in range(6):
        tap(action_button(picker, "year-10"))
    assert picker.value == "1900-05-17"
    tap(action_button(picker, "year-"))
    assert picker.value == "1900-05-17"
    for _ in range(20):
        tap(action_button(picker, "year+10"))
    assert picker.value == "2025-05-17"


def test_datepicker_ignores_bad_value(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(DatePicker(value="31-12-1999", start_value="1999-12-31"))
    assert picker.day_column.value_box.text != "31"
    tap(action_button(picker, "year-"))
    assert picker.value == "1998-12-31"


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2030, 12, 31)),
    st.sampled_from(DATE_ACTIONS),
)
def test_step_date_always_valid_and_in_range(day: datetime.date, action: str) -> None:
    result = step_date(day, action, 1900, 2030)
    assert 1900 <= result.year <= 2030
    if action.startswith("day"):
        assert (result.year, result.month) == (day.year, day.month)
        assert abs(result.toordinal() - day.toordinal()) in (1, 27, 28, 29, 30)
    if action.startswith("year"):
        assert result.month == day.month


# -- time picker -----------------------------------------------------------------------------


def test_timepicker_wraps(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(TimePicker(value="23:55"))
    tap(action_button(picker, "hour+"))
    assert picker.value == "00:55"
    tap(action_button(picker, "hour-"))
    assert picker.value == "23:55"
    tap(action_button(picker, "minute+10"))
    assert picker.value == "23:05"
    tap(action_button(picker, "minute-"))
    tap(action_button(picker, "minute-"))
    tap(action_button(picker, "minute-10"))
    assert picker.value == "23:53"
    tap(action_button(picker, "minute+"))
    assert picker.hour_column.value_box.text == "23"
    assert picker.minute_column.value_box.text == "54"
    save_png(picker, "timepicker")


def test_timepicker_starts_from_start_value(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(TimePicker(value="", start_value="09:30"))
    tap(action_button(picker, "minute+"))
    assert picker.value == "09:31"


# -- buttons ---------------------------------------------------------------------------------


def test_choice_buttons_select_by_touch(mount: Callable[[Widget], Widget]) -> None:
    group = mount(ChoiceButtons(choices=[("L", "Laki-laki"), ("P", "Perempuan")]))
    changes: list[str] = []
    group.bind(value=lambda _g, v: changes.append(v))
    female = group.button_for("P")
    tap(female)
    assert group.value == "P" and changes == ["P"]
    male = group.button_for("L")
    assert female.selected and not male.selected
    assert female.text.startswith(theme.symbol("check"))
    assert not male.text.startswith(theme.symbol("check"))
    assert female.bg_colour != male.bg_colour
    tap(female)
    assert changes == ["P"]
    tap(male)
    assert group.value == "L" and not female.selected
    save_png(group, "choice_buttons")


def test_big_button_kinds_and_wrapping(mount: Callable[[Widget], Widget]) -> None:
    box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=8)
    box.bind(minimum_height=box.setter("height"))
    pressed: list[str] = []
    made = {}
    for kind in ("primary", "secondary", "accent", "danger", "disabled-look"):
        made[kind] = BigButton(text=f"{kind}: Lanjut / Continue", kind=kind)
        made[kind].bind(on_release=lambda b: pressed.append(b.kind))
        box.add_widget(made[kind])
    long_one = BigButton(text="Kata " * 60, kind="secondary")
    box.add_widget(long_one)
    mount(box)
    tap(made["accent"])
    assert pressed == ["accent"]
    assert len({made[k].bg_colour for k in made}) == len(made)
    assert long_one.height > made["primary"].height  # long text wraps onto more lines
    save_png(box, "big_buttons")


def test_large_text_flag_restyles_mounted_widgets(mount: Callable[[Widget], Widget]) -> None:
    picker = mount(DatePicker(value="1950-02-28"))
    button = action_button(picker, "day+")
    height, font = button.height, button.font_size
    theme.large_text = True
    idle()
    assert button.height >= height
    assert button.font_size == pytest.approx(font * LARGE_TEXT_SCALE, abs=1)
    save_png(picker, "datepicker_large_text")
    theme.large_text = False
    idle()
    assert button.height == pytest.approx(height)


# -- field and warning -----------------------------------------------------------------------


def test_field_row_select_and_error(mount: Callable[[Widget], Widget]) -> None:
    row = mount(FieldRow(label_text="Nama / Name", value_text="SITI"))
    selected: list[bool] = []
    row.bind(on_select=lambda r: selected.append(True))
    assert row.ids.error_line.height == 0
    tap(row.ids.value)
    assert selected == [True] and row.selected and row.ids.value.selected
    row.error_text = "Wajib diisi / Required"
    idle()
    assert row.ids.error_line.height > 0 and row.ids.error_line.opacity == 1
    assert row.ids.error_label.text == "Wajib diisi / Required"
    save_png(row, "field_row")


def test_inactivity_warning(mount: Callable[[Widget], Widget]) -> None:
    from kiosk_app.ui.widgets import InactivityWarning as exported

    assert exported is InactivityWarning
    warning = InactivityWarning(seconds_left=20)
    still: list[bool] = []
    warning.bind(on_still_here=lambda w: still.append(True))
    warning.open(animation=False)
    idle(6)
    assert "20" in warning.ids.countdown.text
    warning.seconds_left = 7
    idle()
    assert "7" in warning.ids.countdown.text
    assert warning.ids.question.text == "Apakah Anda masih di sini?"
    tap_at(5, 5)  # outside the box: must stay open
    assert warning.parent is not None and still == []
    button = warning.still_here_button
    assert button.height >= theme.touch_px()
    save_png(warning, "inactivity_warning")
    warning.lang = "en"
    assert button.text == "I am still here"
    tap(button)
    idle(2)
    assert still == [True]
    assert warning.parent is None


# -- touch targets ---------------------------------------------------------------------------


@pytest.mark.parametrize("large", [False, True])
def test_all_touch_targets_are_big_enough(mount: Callable[[Widget], Widget], large: bool) -> None:
    theme.large_text = large
    idle()
    widgets: list[Widget] = [
        OnScreenKeyboard(mode="text"),
        OnScreenKeyboard(mode="digits"),
        OnScreenKeyboard(mode="number"),
        DatePicker(value="1950-02-28"),
        DateGrid(value="1950-02-28"),
        DateGrid(year_first=True),
        TimePicker(value="12:00"),
        ChoiceButtons(choices=[(str(i), f"Pilihan {i}") for i in range(5)]),
        FieldRow(label_text="NIK", value_text="3174"),
    ]
    minimum = theme.touch_px()
    assert minimum >= 64  # 15 mm, and 8 % of the screen height, in both modes
    for widget in widgets:
        Window.size = SIZE
        for root in list(Window.children):
            Window.remove_widget(root)
        mount(widget)
        targets = touchables(widget) or [widget]
        assert targets
        for target in targets:
            assert target.width >= minimum - 0.01, (type(widget).__name__, target.text)
            assert target.height >= minimum - 0.01, (type(widget).__name__, target.text)


def test_email_keyboard_types_small_letters_and_at(mount: Callable[[Widget], Widget]) -> None:
    keyboard = mount(OnScreenKeyboard(mode="email"))
    names = {k.key for k in keyboard.keys}
    assert set("abcdefghijklmnopqrstuvwxyz@._-") <= names and "space" not in names
    assert not any(n.isupper() for n in names)
    target = TextInput()
    keyboard.attach(target)
    for name in ("s", "i", "@", "x", ".com"):
        tap(key(keyboard, name))
    assert target.text == "si@x.com"
    assert keyboard.height <= 0.5 * Window.height + 1
    # the common endings: one touch each, each key at least one touch target
    for name in (".co.id", ".id"):
        assert key(keyboard, name).width >= theme.touch - 0.01
        assert key(keyboard, name).height >= theme.touch - 0.01
    target.text = ""
    for name in ("d", "@", "x", ".co.id"):
        tap(key(keyboard, name))
    assert target.text == "d@x.co.id"
    target.text = "d@x"
    tap(key(keyboard, ".id"))
    assert target.text == "d@x.id"


@pytest.mark.parametrize("shielded", [True, False])
def test_an_overlay_takes_every_touch_on_it(
    mount: Callable[[Widget], Widget], shielded: bool
) -> None:
    """A panel over a button: its own button works; a tap, or a finger slid, on the rest of
    it never reaches the button underneath (a plain layout lets both through)."""
    from kivy.uix.floatlayout import FloatLayout

    from kiosk_app.ui.reach import taker_at
    from kiosk_app.ui.widgets.shield import TouchShield

    class Shielded(TouchShield, BoxLayout):  # type: ignore[misc]
        pass

    stack = FloatLayout()
    under = BigButton(text="under", kind="secondary", size_hint=(1, 1), auto_height=False)
    stack.add_widget(under)
    over = Shielded() if shielded else BoxLayout()
    inner = BigButton(text="inner", size_hint_x=0.3)
    over.add_widget(inner)
    over.add_widget(Widget())  # the panel's empty part
    stack.add_widget(over)
    mount(stack)
    seen: list[str] = []
    under.bind(on_press=lambda *_: seen.append("under pressed"))
    under.bind(on_release=lambda *_: seen.append("under"))
    inner.bind(on_release=lambda *_: seen.append("inner"))
    x, y = over.to_window(over.x + over.width * 0.75, over.center_y)
    assert (taker_at(x, y) is None) == shielded
    tap_at(x, y)
    slide = UnitTestTouch(x, y)
    slide.touch_down()
    slide.touch_move(x - 40, y + 10)
    slide.touch_up()
    idle(1)
    tap(inner)
    if shielded:
        assert seen == ["inner"]
    else:
        assert "under" in seen and seen[-1] == "inner"
