"""A harness rendering every screen's sample view (tests/ui/sample_views.py) in both modes and
languages, checking its layout and taking its screenshot."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.forms import FieldKind
from kiosk_app.domain.text import Text
from tests.ui import sample_views
from tests.ui.layout_check import Layout, check_layout
from tests.ui.reach_check import hidden_but_reached, under_window_overlays
from tests.ui.sample_views import (
    SERVICE,
    STATE_SAMPLES,
    MissingSample,
    common_values,
    sample_view,
)
from tests.ui.screenshot_compare import compare_images

MODES = ("normal", "large")
LANGS = ("id", "en")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
UPDATE = os.environ.get("UPDATE_SCREENSHOTS", "") not in ("", "0")
SHOT_SIZE = (640, 400)  # half of the 1280x800 window: small files, still readable
MAX_SHOT_BYTES = 60_000


@dataclass
class Rendered:
    """What one screen showed in one mode and language."""

    screen: str
    mode: str
    lang: str
    texts: list[str] = field(default_factory=list)  # visible label and button texts
    buttons: list[tuple[str, float, float, bool]] = field(default_factory=list)  # id, w, h, inside
    unscrollable: list[str] = field(default_factory=list)  # overflowing lists without ▲/▼
    clipped: list[str] = field(default_factory=list)  # visible buttons outside the window
    stale: list[str] = field(default_factory=list)  # font sizes not following the theme
    broken: list[str] = field(default_factory=list)  # buttons whose words break mid-word
    overlaps: list[str] = field(default_factory=list)  # buttons drawn over one another
    fits: list[tuple[str, float]] = field(default_factory=list)  # button, fit_scale (text shrink)
    lines: dict[str, int] = field(default_factory=dict)  # pilot_id of a label -> lines it shows
    prompt: Text | None = None
    shot: Path | None = None
    layout: Layout | None = None  # labels that do not fit, widgets off the window, covered
    hidden_reached: list[str] = field(default_factory=list)  # hidden, yet a tap reaches them


def visible_widgets(root: Any) -> Iterator[Any]:
    """Widgets drawn with some opacity (an invisible parent hides its children)."""
    if getattr(root, "opacity", 1) <= 0.01 or root.width <= 0 or root.height <= 0:
        return
    yield root
    for child in root.children:
        yield from visible_widgets(child)


def describe(widget: Any) -> str:
    """A readable name for failure messages."""
    return str(
        getattr(widget, "pilot_id", None) or getattr(widget, "text", "") or type(widget).__name__
    )


class _SessionStub:
    """Screens hand touches to the session; rendering samples needs none."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


_RESULT: dict[tuple[str, str, str], Rendered] | BaseException | None = None


def render_all(artifacts: Path) -> dict[tuple[str, str, str], Rendered]:
    """Render every screen class in every mode and language once per test run."""
    global _RESULT
    if _RESULT is None:
        try:
            _RESULT = _render_all(artifacts)
        except BaseException as exc:  # every test using it fails with the same reason
            _RESULT = exc
    if isinstance(_RESULT, BaseException):
        raise _RESULT
    return _RESULT


def _render_all(artifacts: Path) -> dict[tuple[str, str, str], Rendered]:
    from kivy.app import App
    from kivy.base import EventLoop, runTouchApp
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.uix.screenmanager import NoTransition, ScreenManager

    from kiosk_app.services.audio import AudioGuidance
    from kiosk_app.ui.screens import screen_classes
    from kiosk_app.ui.theme import theme
    from kiosk_app.ui.widgets.a11y import Accessibility

    classes = screen_classes()
    missing = sorted(set(classes) - set(STATE_SAMPLES))
    if missing:
        raise MissingSample(
            f"no sample view for screen(s) {missing}: add them to STATE_SAMPLES in "
            f"{sample_views.__file__}"
        )

    class ShotApp(App):  # type: ignore[misc]
        def build(self) -> ScreenManager:
            return ScreenManager(transition=NoTransition())

    app = ShotApp()
    app.session = _SessionStub()
    app.a11y = Accessibility(AudioGuidance("off"))
    app._run_prepare()
    runTouchApp(embedded=True)
    screens: dict[str, Any] = {}
    results: dict[tuple[str, str, str], Rendered] = {}
    # These ~3000 frames wait for nothing but their own drawing: Kivy's frame pacing (a sleep
    # before each frame, up to 1/maxfps s since the last one) was a third of this render's
    # time. Off here only: a Pilot's waits for other threads and processes keep it.
    paced, Clock._max_fps = Clock._max_fps, 0

    def show(
        name: str, mode: str, lang: str, shots: Path, keep: bool, view: Any = None
    ) -> Rendered:
        if name not in screens:
            screens[name] = classes[name](name=name)
            app.root.add_widget(screens[name])
        screen = screens[name]
        app.root.current = name
        screen.left()  # as when the citizen comes to it from another screen
        view = view or sample_view(name, lang)
        screen.render(view)
        for _ in range(4):
            EventLoop.idle()
        record = _inspect(screen, name, mode, lang)
        record.layout = check_layout(screen, Window.size)
        if keep:
            record.hidden_reached = hidden_but_reached()
        record.prompt = screen.prompt(view)
        _hold_still(screen)
        for _ in range(2):
            EventLoop.idle()
        record.shot = _screenshot(shot_path(shots, name, mode, lang), record if keep else None)
        return record

    try:
        for mode in MODES:
            theme.large_text = mode == "large"
            for lang in LANGS:
                for name in classes:
                    results[(name, mode, lang)] = show(
                        name, mode, lang, artifacts / "screenshots", keep=True
                    )
                REACH[("status:own", mode, lang)] = _with_own_panel(screens["status"], lang)
        # Once more in the last mode and language, seconds later: the same pixels.
        for name in classes:
            shot = show(name, MODES[-1], LANGS[-1], artifacts / "again", keep=False).shot
            assert shot is not None
            _SECOND[name] = shot
        # The first mode and language again, after large text was turned off (issue 15: turning
        # it off must restore the normal layout exactly).
        theme.large_text = MODES[0] == "large"
        for name in classes:
            shot = show(name, MODES[0], LANGS[0], artifacts / "restored", keep=False).shot
            assert shot is not None
            _SECOND[f"restored:{name}"] = shot
        # And the result screen with its queue number changed by one digit, as a bug would.
        name, mode, lang = ALTERED
        theme.large_text = mode == "large"
        show(name, mode, lang, artifacts / "again", keep=False)
        numbers = [
            w
            for w in screens[name].walk(restrict=True)
            if isinstance(getattr(w, "text", None), str) and "A-007" in w.text
        ]
        for label in numbers:
            label.text = label.text.replace("A-007", "A-008")
        _hold_still(screens[name])
        for _ in range(4):
            EventLoop.idle()
        if numbers:
            _SECOND["altered"] = _screenshot(shot_path(artifacts / "altered", name, mode, lang))
        # Every page of every form with each of its fields' editors, for the layout check.
        form = screens["form"]
        for mode in MODES:
            theme.large_text = mode == "large"
            for lang in LANGS:
                for key, service in SERVICES.items():
                    pages = service.form.pages if service.form else ()
                    for index, page in enumerate(pages):
                        view = dataclasses.replace(
                            sample_view("form", lang),
                            service=service,
                            page=index,
                            errors={},
                            values=common_values(lang)["values"] if service is SERVICE else {},
                        )
                        app.root.current = "form"
                        form.left()
                        form.render(view)
                        for spec in page.fields:
                            form.select(spec.name)
                            for stage, go in [("", None), *_EDITOR_STAGES.get(spec.kind, [])]:
                                if go is not None:
                                    go(form)
                                for _ in range(3):
                                    EventLoop.idle()
                                name = f"form:{key}:{index + 1}:{spec.name}{stage}"
                                FORM_LAYOUTS[(name, mode, lang)] = check_layout(form, Window.size)
                                if lang == LANGS[0]:  # hidden parts differ by mode, not language
                                    REACH[(name, mode, lang)] = hidden_but_reached()
        # Under the attendant's tab, assisted or not; then the other services' forms and the
        # own applications, assisted (last: the grabs compared above stay as the citizen's
        # screens alone give them).
        _attended(show, list(classes), artifacts / "attended")
        _attended(show, list(classes), artifacts / "attended", extras=True)
    finally:
        Clock._max_fps = paced
        theme.large_text = False
        for screen in screens.values():
            screen.halt()
        app.stop()
        EventLoop.quit = False
    return results


ATTENDANT = "PTG-07"


def _attended(
    show: Callable[..., Rendered], names: list[str], shots: Path, extras: bool = False
) -> None:
    """Every screen in both modes and languages under the attendant's tab, opened (its widest,
    "Petugas · PTG-07"), in a visit nobody assists and in an assisted one (the badge showing);
    `extras`: instead, the other services' forms and the own applications, assisted: what of
    the screen lies under the tab (UNDER_OVERLAY), and the assisted screen (ASSISTED). The
    real overlay, told what the services would tell it."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
    from kiosk_app.services.attendant.service import AttendantService
    from kiosk_app.ui.theme import theme
    from kiosk_app.ui.widgets.attendant import AttendantOverlay

    staff = [Attendant(ATTENDANT, hash_pin("482913"), ())]
    service = AttendantService(
        AttendantSettings(staff=staff),
        kiosk_id="K-1",
        session=None,
        journal=None,
        ticket_printer=None,
    )
    overlay = AttendantOverlay(service, _SessionStub())
    Window.add_widget(overlay)
    try:
        assert service.unlock_with_pin("482913")  # the tab opens its panel: closed again
        for _ in range(3):
            EventLoop.idle()
        overlay.panel.dismiss(animation=False)
        assert overlay.attendant_id == ATTENDANT
        for mode in MODES:
            theme.large_text = mode == "large"
            for lang in LANGS:
                for name in [] if extras else names:
                    for assisted in ("", ATTENDANT):
                        view = dataclasses.replace(sample_view(name, lang), assisted_by=assisted)
                        overlay._session_view(view)  # as the session's listener does
                        record = show(name, mode, lang, shots, keep=False, view=view)
                        key = (f"{name}:assisted" if assisted else name, mode, lang)
                        UNDER_OVERLAY[key] = under_window_overlays()
                        if assisted:
                            record.hidden_reached = hidden_but_reached()
                            ASSISTED[key] = record
                if extras:  # the tab in the language of the screens below
                    overlay._session_view(sample_view("menu", lang))
                for key, record in _assisted_extras(show, mode, lang, shots) if extras else ():
                    UNDER_OVERLAY[key] = under_window_overlays()
                    record.hidden_reached = hidden_but_reached()
                    ASSISTED[key] = record
    finally:
        overlay.close()
        service.close()


def _assisted_extras(
    show: Callable[..., Rendered], mode: str, lang: str, shots: Path
) -> Iterator[tuple[tuple[str, str, str], Rendered]]:
    """In an assisted visit, beyond the sample screens: each service's form on its first page
    (the title bar holds the service's name beside the badge) and the status screen with the
    card holder's own applications over it (their title bar holds a badge too)."""
    from kivy.app import App
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk_app.services.session.views import CardHolderView

    for key, service in SERVICES.items():
        if service.form is None or service is SERVICE:
            continue
        view = dataclasses.replace(
            sample_view("form", lang), service=service, page=0, errors={}, values={}
        )
        view = dataclasses.replace(view, assisted_by=ATTENDANT)
        yield (f"form:{key}:assisted", mode, lang), show("form", mode, lang, shots, False, view)
    status = App.get_running_app().root.get_screen("status")
    view = dataclasses.replace(
        sample_view("status", lang), card_holder=CardHolderView(loaded=True), assisted_by=ATTENDANT
    )
    show("status", mode, lang, shots, False, view)
    status.own_shown = True
    try:
        for _ in range(3):
            EventLoop.idle()
        record = _inspect(status, "status:own", mode, lang)
        record.layout = check_layout(status.ids.own, Window.size)  # it covers the rest
        yield ("status:own:assisted", mode, lang), record
    finally:
        status.own_shown = False
        status.left()


def _with_own_panel(status: Any, lang: str) -> list[str]:
    """The status screen with the card holder's own applications shown over its keypad: what
    hidden under the panel a tap still reaches."""
    from kivy.app import App
    from kivy.base import EventLoop

    from kiosk_app.services.session.views import CardHolderView

    App.get_running_app().root.current = "status"
    view = dataclasses.replace(sample_view("status", lang), card_holder=CardHolderView(loaded=True))
    status.render(view)
    status.own_shown = True
    try:
        for _ in range(3):
            EventLoop.idle()
        return hidden_but_reached()
    finally:
        status.own_shown = False
        status.left()


# (screen, or screen:assisted, mode, lang) -> its controls partly under the attendant's tab
UNDER_OVERLAY: dict[tuple[str, str, str], list[str]] = {}
# (screen:assisted, mode, lang) -> the screen in an assisted visit (its layout, its texts)
ASSISTED: dict[tuple[str, str, str], Rendered] = {}

# (status:own, or form:<service>:<page>:<field being edited>, mode, lang) -> the hidden widgets
# a tap reaches with that overlay or editor shown (the sample screens' are in each Rendered)
REACH: dict[tuple[str, str, str], list[str]] = {}

# The further stages of an editor, checked after its first one: (suffix, what leads there).
_EDITOR_STAGES: dict[FieldKind, list[tuple[str, Callable[[Any], None]]]] = {
    FieldKind.TIME: [
        (":minute", lambda form: form.editor.choose("hour:14")),
        (":typed", lambda form: form.editor.toggle_typing()),
    ],
    FieldKind.DATE: [(":typed", lambda form: form.editor.toggle_typing())],
    FieldKind.LIST: [
        (":page2", lambda form: form.editor.turn(1)),
        (":other", lambda form: form.editor.dispatch("on_other")),
    ],
}

ALTERED = ("result", MODES[-1], LANGS[-1])
# (form:<service>:<page>:<field being edited>, mode, lang) -> its layout findings
FORM_LAYOUTS: dict[tuple[str, str, str], Layout] = {}
_SECOND: dict[str, Path] = {}


def render_again(artifacts: Path, screen: str) -> Path:
    """The screenshot of `screen` grabbed a second time (last mode and language), last."""
    render_all(artifacts)
    return _SECOND[screen]


def render_restored(artifacts: Path, screen: str) -> Path:
    """The screenshot of `screen` in the first mode and language, after the large-text pass."""
    render_all(artifacts)
    return _SECOND[f"restored:{screen}"]


def render_altered(artifacts: Path) -> Path | None:
    """The ALTERED screen grabbed with its queue number "A-007" shown as "A-008"."""
    render_all(artifacts)
    return _SECOND.get("altered")


def _inspect(screen: Any, name: str, mode: str, lang: str) -> Rendered:
    from kivy.core.window import Window
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView

    record = Rendered(name, mode, lang)
    shown = list(visible_widgets(screen))
    has_scroll_buttons = any(
        isinstance(w, ButtonBehavior)
        and ("▲" in str(getattr(w, "text", "")) or "▼" in str(getattr(w, "text", "")))
        for w in shown
    )
    scrolled = {
        id(c)
        for w in shown
        if isinstance(w, ScrollView)
        for c in w.walk(restrict=True)
        if c is not w
    }
    from kivy.uix.textinput import TextInput

    from kiosk_app.ui.theme import theme

    rects: list[tuple[str, float, float, float, float]] = []
    sizes = {theme.sp_title, theme.sp_heading, theme.sp_body, theme.sp_small, theme.sp_key}
    for widget in shown:
        themed = isinstance(widget, TextInput) or type(widget).__name__ in (
            "BigButton",
            "KeyButton",
            "StepButton",
            "ChoiceButton",
            "KLabel",
            "KTitle",
            "KHeading",
        )
        fit = float(getattr(widget, "fit_scale", 1.0))  # buttons shrink text to fit
        if themed and round(widget.font_size / fit) not in sizes:
            record.stale.append(f"{describe(widget)}: font {widget.font_size}")
        if hasattr(widget, "widest_word") and widget.width > 1 and not widget.shorten:
            room = widget.width - 2 * theme.padding
            if widget.widest_word(widget.font_size) > room + 1:
                record.broken.append(
                    f"{describe(widget)} ({widget.text!r}, {widget.width:.0f} px"
                    f" wide, font {widget.font_size:.0f}, fit {fit:.2f})"
                )
        if isinstance(widget, Label) and isinstance(widget.text, str) and widget.text.strip():
            record.texts.append(widget.text)
            if hasattr(widget, "fit_scale"):
                record.fits.append((describe(widget), fit))
            elif getattr(widget, "pilot_id", None):
                record.lines[widget.pilot_id] = _line_count(widget)
        if isinstance(widget, ButtonBehavior):
            left, bottom = widget.to_window(widget.x, widget.y)
            right, top = widget.to_window(widget.right, widget.top)
            if right <= 0 or top <= 0 or left >= Window.width or bottom >= Window.height:
                continue  # moved off the screen: hidden, not a target
            inside = id(widget) in scrolled or (
                left >= -1
                and bottom >= -1
                and right <= Window.width + 1
                and top <= Window.height + 1
            )
            record.buttons.append((describe(widget), widget.width, widget.height, inside))
            if not inside:
                record.clipped.append(describe(widget))
            if id(widget) not in scrolled:
                rects.append((describe(widget), left, bottom, right, top))
        if isinstance(widget, ScrollView) and widget.children:
            content = widget.children[0]
            if content.height > widget.height + 1 and not has_scroll_buttons:
                record.unscrollable.append(describe(content))
    for index, (name, left, bottom, right, top) in enumerate(rects):
        for other, o_left, o_bottom, o_right, o_top in rects[index + 1 :]:
            wide = min(right, o_right) - max(left, o_left)
            if wide > 2 and min(top, o_top) - max(bottom, o_bottom) > 2:
                record.overlaps.append(f"{name!r} and {other!r}")
    return record


def _line_count(label: Any) -> int:
    """How many lines a label's texture holds (its height over one line's height)."""
    from kivy.core.text import Label as CoreLabel

    one = CoreLabel(font_name=label.font_name, font_size=label.font_size).get_extents("Ag")[1]
    padding = list(label.padding)
    vertical = padding[1] + padding[3] if len(padding) == 4 else 2 * padding[-1]
    return max(1, round((label.texture_size[1] - vertical) / max(1.0, one * label.line_height)))


def grab_window() -> Any:
    """The last drawn frame as a PIL image (glReadPixels: Window.screenshot takes ~1 s here)."""
    from kivy.core.window import Window
    from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
    from PIL import Image

    width, height = Window.size
    data = glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)
    image = Image.frombytes("RGBA", (width, height), data).convert("RGB")
    return image.transpose(Image.FLIP_TOP_BOTTOM)


def _hold_still(screen: Any) -> None:
    """Stop and rewind what moves with the clock: the attract card, arcs, fading scroll bars."""
    # A kept screenshot must not depend on how long the frames before it took.
    from kivy.animation import Animation
    from kivy.uix.scrollview import ScrollView
    from kivy.uix.textinput import TextInput

    from kiosk_app.ui.screens.attract import CardReaderArt
    from kiosk_app.ui.screens.base import BusyArc

    screen.halt()
    for widget in screen.walk(restrict=True):
        Animation.cancel_all(widget)
        if isinstance(widget, CardReaderArt):
            widget.lift = 0.0
        if isinstance(widget, BusyArc):
            widget.angle = 0.0
        if isinstance(widget, TextInput):
            # Its text scrolls to keep the cursor in view, and where it stops depends on the
            # box's history: in large text the form's editor box (76.8 px, padding 2 x 13) is
            # lower than its line (59 px), so it scrolled 0 or 8 px. Show the line's top.
            widget.scroll_x = widget.scroll_y = 0
        if isinstance(widget, ScrollView):  # its bar as it rests a second after a scroll
            fading = widget._bind_inactive_bar_color_ev
            if fading is not None:
                fading.cancel()
            widget._bind_inactive_bar_color()
            Animation.cancel_all(widget)
            widget._bar_color = list(widget.bar_inactive_color)


def shot_path(root: Path, screen: str, mode: str, lang: str) -> Path:
    """Where the screenshot of `screen` in `mode` and `lang` lives under `root`."""
    return root / f"{lang}-{mode}" / f"{screen}.png"


def kept_path(record: Rendered) -> Path:
    """The kept (reviewed, committed) screenshot of `record`'s screen."""
    return shot_path(SCREENSHOTS, record.screen, record.mode, record.lang)


def _screenshot(target: Path, record: Rendered | None = None) -> Path:
    """Save the window, downscaled, to `target`; with UPDATE_SCREENSHOTS=1 maybe kept too."""
    # Kept only when `record`'s kept image is missing or differs beyond the tolerance: noise
    # leaves the repository alone.
    from PIL import Image

    image = grab_window()
    small = image.reduce(image.width // SHOT_SIZE[0]) if image.width >= 2 * SHOT_SIZE[0] else image
    small = small.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
    target.parent.mkdir(parents=True, exist_ok=True)
    small.save(target)
    if UPDATE and record is not None:
        kept = kept_path(record)
        if not kept.is_file() or not compare_images(target, kept).passed:
            kept.parent.mkdir(parents=True, exist_ok=True)
            small.save(kept, optimize=True)
    return target
