"""A sample SessionView for every screen, and a harness rendering each in both modes and languages.

A new session state needs one line in STATE_SAMPLES (what its view holds beyond the common sample);
the screenshot and accessibility tests fail loudly until it has one.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk_app.central import SlotAvailability
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.forms import FieldKind
from kiosk_app.domain.session import GOODBYE_TEXT, EndReason, SessionState
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.scanning.step import DocStatus, DocumentView, ScanView
from kiosk_app.services.session.views import (
    CardHolderView,
    CheckinResult,
    CheckinView,
    Outcome,
    SessionView,
    StatusCheckView,
    StatusResult,
    SurveyView,
)
from tests.ui.layout_check import Layout, check_layout

MODES = ("normal", "large")
LANGS = ("id", "en")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
UPDATE = os.environ.get("UPDATE_SCREENSHOTS", "") not in ("", "0")
SHOT_SIZE = (640, 400)  # half of the 1280x800 window: small files, still readable
MAX_SHOT_BYTES = 60_000

TODAY = datetime.date(2026, 11, 23)  # fixed: screenshots must not change with the calendar
SLOT = Slot(datetime.date(2026, 11, 30), "08.00-11.00")
SERVICE = SERVICES["akta_kelahiran"]


def _survey(lang: str) -> dict[str, Any]:
    return {"survey": SurveyView(service="akta_kelahiran", answers={})}


def _documents(lang: str) -> dict[str, Any]:
    return {"card_holder": CardHolderView(loaded=True, code="ACEF")}


def _common(lang: str) -> dict[str, Any]:
    """What every sample view holds: a card holder in the middle of an akta kelahiran."""
    values = sample_birth_values(TODAY)
    return {
        "language": lang,
        "reader_available": True,
        "simulated_reader": True,
        "name": "SITI AMINAH",
        "masked_nik": "3517**********01",
        "holder_sex": "P",
        "services": tuple(SERVICES.values()),
        "service": SERVICE,
        "values": values,
        "slot": SLOT,
    }


# state -> extra fields of its sample view (beyond _common), as a function of the language.
STATE_SAMPLES: dict[str, Callable[[str], dict[str, Any]]] = {
    "attract": lambda lang: {"name": "", "masked_nik": "", "service": None, "values": {}},
    "reading_card": lambda lang: {"name": "", "masked_nik": "", "service": None, "values": {}},
    "identity": lambda lang: {"service": None, "values": {}},
    "menu": lambda lang: {"service": None, "values": {}},
    "form": lambda lang: {
        "page": 0,
        "errors": {
            "kk_number": Text("Nomor KK harus 16 angka.", "The KK number must have 16 digits.")
        },
    },
    "scan": lambda lang: {
        "scan": ScanView(
            documents=tuple(
                DocumentView(t, f"doc{i}", DocStatus.PENDING, 0)
                for i, t in enumerate(SERVICE.required_documents)
            ),
            index=0,
        )
    },
    "schedule": lambda lang: {
        "slots": tuple(
            SlotAvailability(Slot(SLOT.date + datetime.timedelta(days=d), w), 12 - d)
            for d in range(3)
            for w in ("08.00-11.00", "13.00-15.00")
        )
    },
    "review": lambda lang: {"summary": tuple(SERVICE.summary(sample_birth_values(TODAY), lang))},  # type: ignore[arg-type]
    "submitting": lambda lang: {"busy": True},
    "result": lambda lang: {
        "outcome": Outcome(
            registration_number="AKTA-35.17.261123.0007",
            queue_number="A-007",
            slot=SLOT,
            offline=False,
            ticket_printed=True,
            receipt_printed=True,
        )
    },
    "goodbye": lambda lang: {
        "name": "",
        "masked_nik": "",
        "service": None,
        "values": {},
        "goodbye": GOODBYE_TEXT[EndReason.COMPLETED],
    },
    "status": lambda lang: {
        "status_check": StatusCheckView(
            prefix="AKTA",
            digits="35172611230007",
            entry="AKTA-35.17.261123.0007",
            result=StatusResult(
                registration_number="AKTA-35.17.261123.0007",
                service=SERVICE.title,
                status="submitted",
                status_text=Text(
                    "Diterima, menunggu verifikasi", "Received, waiting for verification"
                ),
                next_step=Text(
                    "Datang pada tanggal verifikasi dengan dokumen asli.",
                    "Come on the verification date with the original documents.",
                ),
                slot=SLOT,
                office_name="Disdukcapil Kabupaten Jombang",
                masked_name="S*** A*****",
            ),
        )
    },
    "survey": _survey,
    "documents": _documents,
    "checkin": lambda lang: {
        "name": "",
        "masked_nik": "",
        "service": None,
        "values": {},
        "checkin": CheckinView(
            prefix="AKTA",
            digits="35172611230007",
            entry="AKTA-35.17.261123.0007",
            result=CheckinResult(
                calling_number="A-012",
                registration_number="AKTA-35.17.261123.0007",
                service=SERVICE.title,
                counter_group="Pencatatan Sipil",
                people_ahead=3,
                estimated_wait_minutes=30,
                repeat=False,
                announcement=Text(
                    "Nomor antrean Anda A dua belas.", "Your calling number is A-012."
                ),
                printed=True,
            ),
        ),
    },
    "closed": lambda lang: {
        "name": "",
        "masked_nik": "",
        "service": None,
        "values": {},
        "reopens": Text(
            "Buka lagi Senin, 30 November 2026 pukul 08.00",
            "Opens again Monday, 30 November 2026 at 08.00",
        ),
    },
}


class MissingSample(AssertionError):
    """A screen has no sample view: add one line to STATE_SAMPLES."""


def sample_view(state: str, lang: str) -> SessionView:
    """The sample view of `state` in `lang`."""
    extra = STATE_SAMPLES.get(state)
    if extra is None:
        raise MissingSample(
            f"screen {state!r} has no sample view: add it to STATE_SAMPLES in {__file__}"
        )
    fields = {f.name for f in dataclasses.fields(SessionView)}
    values = {**_common(lang), **extra(lang)}
    known = {k: v for k, v in values.items() if k in fields}
    return SessionView(state=SessionState(state), **known)


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
            f"no sample view for screen(s) {missing}: add them to STATE_SAMPLES in {__file__}"
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

    def show(name: str, mode: str, lang: str, shots: Path, keep: bool) -> Rendered:
        if name not in screens:
            screens[name] = classes[name](name=name)
            app.root.add_widget(screens[name])
        screen = screens[name]
        app.root.current = name
        screen.left()  # as when the citizen comes to it from another screen
        view = sample_view(name, lang)
        screen.render(view)
        for _ in range(4):
            EventLoop.idle()
        record = _inspect(screen, name, mode, lang)
        record.layout = check_layout(screen, Window.size)
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
                            values=_common(lang)["values"] if service is SERVICE else {},
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
    finally:
        theme.large_text = False
        for screen in screens.values():
            screen.halt()
        app.stop()
        EventLoop.quit = False
    return results


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


# -- comparing a rendered screen with its kept screenshot --------------------------------------

# Both images are first smoothed by a 3x3 box (a 1-px line that another rasteriser splits over
# two rows, or half-covers, then looks the same). A pixel differs when one of its channels lies
# further than PIXEL_TOLERANCE outside the range of the 3x3 neighbourhood of the same place in
# the other image (checked both ways): shading a few levels off, antialiased edges that moved by
# a pixel and the 64-colour palette picking a neighbouring shade stay inside it. A screen differs
# when more than MAX_DIFFERING of its 256,000 pixels differ: one digit of the result screen's
# queue number is about 50, a 12 px box about 200, a recoloured button all of its face. The
# same code gives 0 here, with llvmpipe's 128-bit or 1-thread paths, and under Mesa's other
# software rasteriser (GALLIUM_DRIVER=softpipe) on all 60 screens.
PIXEL_TOLERANCE = 64
MAX_DIFFERING = 24


@dataclass(frozen=True)
class Comparison:
    """How far a rendered screenshot is from its kept image."""

    differing: int  # pixels beyond PIXEL_TOLERANCE
    size_mismatch: str = ""

    @property
    def passed(self) -> bool:
        """Within the tolerance: the same screen, give or take rendering noise."""
        return not self.size_mismatch and self.differing <= MAX_DIFFERING


def _excess(image: Any, other: Any) -> Any:
    """Per pixel, how far `image` lies outside the 3x3 range of `other` (greyscale, 0..255)."""
    from PIL import ImageChops, ImageFilter

    low = other.filter(ImageFilter.MinFilter(3))
    high = other.filter(ImageFilter.MaxFilter(3))
    excess = ImageChops.lighter(ImageChops.subtract(low, image), ImageChops.subtract(image, high))
    red, green, blue = excess.split()
    return ImageChops.lighter(ImageChops.lighter(red, green), blue)


def difference_mask(rendered: Any, kept: Any) -> Any:
    """A mode "1" image, set where the two RGB images differ beyond the tolerance."""
    from PIL import ImageChops, ImageFilter

    rendered = rendered.filter(ImageFilter.BoxBlur(1))
    kept = kept.filter(ImageFilter.BoxBlur(1))
    excess = ImageChops.lighter(_excess(rendered, kept), _excess(kept, rendered))
    return excess.point(lambda v: 255 if v > PIXEL_TOLERANCE else 0).convert("1")


def compare_images(rendered: Any, kept: Any, diff_path: Path | None = None) -> Comparison:
    """Compare two screenshots (paths or images); a difference goes to `diff_path` if given."""
    # The diff image: the kept image faded, the differing pixels in red.
    from PIL import Image

    a = (Image.open(rendered) if isinstance(rendered, Path) else rendered).convert("RGB")
    b = (Image.open(kept) if isinstance(kept, Path) else kept).convert("RGB")
    if a.size != b.size:
        return Comparison(0, f"rendered {a.size[0]}x{a.size[1]}, kept {b.size[0]}x{b.size[1]}")
    mask = difference_mask(a, b)
    differing = mask.histogram()[-1]
    result = Comparison(differing)
    if diff_path is not None and not result.passed:
        faded = Image.blend(b, Image.new("RGB", b.size, "white"), 0.7)
        faded.paste(Image.new("RGB", b.size, (230, 0, 0)), mask=mask)
        diff_path.parent.mkdir(parents=True, exist_ok=True)
        faded.save(diff_path)
    return result
