"""Region picker: find a province, kabupaten/kota, kecamatan or desa by typing, or browse down.

`RegionField` sits in the form's editor: the place chosen so far and two big buttons. Either
opens `RegionPickerPopup`, a full-window page with the on-screen keyboard on the left and the
matches as big buttons on the right (each with its kecamatan, kabupaten/kota and province, so
the 61 villages called Sukamaju can be told apart), or the list of provinces to browse down.
Pages turn with ▲/▼ buttons: nothing needs a swipe.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import NumericProperty, ObjectProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.modalview import ModalView

from kiosk_app.domain.region_search import CODE_LENGTHS, RegionTree
from kiosk_app.domain.regions import sample_regions
from kiosk_app.domain.text import Text
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets import stepper as _stepper  # noqa: F401  (ThemedLabel's kv rule)
from kiosk_app.ui.widgets._kv import load_kv
from kiosk_app.ui.widgets.buttons import BigButton
from kiosk_app.ui.widgets.keyboard import OnScreenKeyboard

SEARCH_PAGE = 4  # matches per page beside the keyboard
BROWSE_COLS, BROWSE_ROWS = 3, 4
SEARCH_LIMIT = 200

TITLES = {
    1: Text("Pilih provinsi", "Choose the province"),
    2: Text("Pilih kabupaten/kota", "Choose the regency or city"),
    3: Text("Pilih kecamatan", "Choose the district (kecamatan)"),
    4: Text("Pilih desa/kelurahan", "Choose the village (desa/kelurahan)"),
}
TYPE_HINT = Text(
    "Ketik beberapa huruf namanya, lalu sentuh tempat yang benar.",
    "Type the first letters of the name, then touch the right place.",
)
FOUND = Text("{n} tempat ditemukan", "{n} places found")
FOUND_MANY = Text(
    "{n} tempat ditemukan. Ketik lebih banyak huruf, atau tambahkan nama kabupaten.",
    "{n} places found. Type more letters, or add the regency's name.",
)
NOT_FOUND = Text(
    'Tidak ditemukan. Periksa ejaannya, atau sentuh "Pilih dari daftar".',
    'Nothing found. Check the spelling, or touch "Choose from the list".',
)
SEARCH = Text("Cari nama", "Search by name")
BROWSE = Text("Pilih dari daftar", "Choose from the list")
CLOSE = Text("Tutup", "Close")
ALL_PROVINCES = Text("Semua provinsi", "All provinces")
NOT_CHOSEN = Text("Belum dipilih", "Not chosen yet")
PAGE = Text("Halaman {page} dari {pages}", "Page {page} of {pages}")

_builtin: RegionTree | None = None


def current_regions() -> Any:
    """The running kiosk's region cache, or the built-in sample outside a kiosk."""
    app = App.get_running_app()
    regions = getattr(getattr(app, "session", None), "regions", None)
    if regions is not None:
        return regions
    global _builtin
    if _builtin is None:
        _builtin = RegionTree(sample_regions(), source="builtin")
    return _builtin


def office_town() -> tuple[str, str]:
    """(name, label) of the kabupaten/kota the running kiosk's office serves ("Jombang",
    "Kab. Jombang"), or ("", "") outside a kiosk or for an unknown code."""
    app = App.get_running_app()
    central = getattr(getattr(app, "kiosk", None), "central", None)
    code = str(getattr(central, "office_code", "") or "")[:4]
    if len(code) != 4:
        return "", ""
    regions = current_regions()
    return regions.name(code), regions.label(code)


def region_text(code: str) -> str:
    """How a picked code reads ("Desa Cukir, Kec. Diwek, Kab. Jombang, Prov. Jawa Timur")."""
    if not code:
        return ""
    return current_regions().describe(code) or code


class RegionButton(BigButton):
    """One region to touch: its name big, where it lies beneath."""

    code = StringProperty("")


class RegionPicker(BoxLayout):
    """Search or browse the regions of `level`; fires on_pick(code) when one is touched."""

    level = NumericProperty(4)
    lang = StringProperty("id")
    mode = OptionProperty("search", options=("search", "browse"))
    query = StringProperty("")
    status_text = StringProperty("")
    page_text = StringProperty("")
    browse_code = StringProperty("")  # "" = the provinces
    page = NumericProperty(0)
    regions = ObjectProperty(None, allownone=True)
    keyboard = ObjectProperty(None, allownone=True)

    __events__ = ("on_pick", "on_close")

    def __init__(self, **kwargs: Any) -> None:
        """Create the picker (search mode, empty query)."""
        theme.track_window()
        super().__init__(**kwargs)
        self.keyboard = OnScreenKeyboard(mode="text", size_hint_y=None)
        self.keyboard.pilot_id = "region_keyboard"
        self.keyboard.attach(self.ids.query_box)
        self.ids.query_box.max_length = 40
        self.ids.keyboard_slot.add_widget(self.keyboard)
        self._codes: tuple[str, ...] = ()
        self._total = 0
        self._refresh = Clock.create_trigger(self._show, 0)  # one redraw per frame of typing
        self.ids.query_box.bind(text=self._typed)
        self.keyboard.bind(on_key=self._key)
        self.bind(mode=self._refresh, lang=self._relang, browse_code=self._refresh,
                  page=self._refresh, level=self._refresh)  # fmt: skip
        self._relang()

    @property
    def source(self) -> Any:
        """Where regions come from: `regions` if given, else the running kiosk's cache."""
        return self.regions if self.regions is not None else current_regions()

    # -- input ----------------------------------------------------------------------------------
    def reset(self, mode: str = "search") -> None:
        """Start over: empty query, the provinces, first page."""
        self.ids.query_box.text = ""
        self.browse_code = ""
        self.page = 0
        self.mode = mode
        self._refresh()

    def _typed(self, _box: Any, text: str) -> None:
        self.query = text
        self.page = 0
        self._refresh()

    def _key(self, _keyboard: Any, key: str) -> None:
        """ "Selesai" with exactly one match picks it."""
        if key == "done" and self.mode == "search":
            found = self.source.search(self.query, level=int(self.level), limit=2)
            if found.total == 1:
                self.dispatch("on_pick", found.codes[0])

    def turn(self, step: int) -> None:
        """Show the next (+1) or previous (-1) page of matches or of the list."""
        pages = self._pages()
        self.page = max(0, min(pages - 1, int(self.page) + step))

    def touched(self, button: RegionButton) -> None:
        """A region was touched: pick it, or in the list go one level down."""
        code = button.code
        if len(code) >= CODE_LENGTHS[int(self.level)]:
            self.dispatch("on_pick", code)
        else:
            self.browse_code = code
            self.page = 0

    def up_to(self, code: str) -> None:
        """Browse back up to `code` ("" for the provinces)."""
        self.browse_code = code
        self.page = 0

    def on_pick(self, code: str) -> None:
        """Default handler of on_pick."""

    def on_close(self) -> None:
        """Default handler of on_close."""

    # -- showing ------------------------------------------------------------------------------
    def _relang(self, *_args: Any) -> None:
        self.keyboard.lang = self.lang
        self.ids.title.text = TITLES[int(self.level)](self.lang)
        self.ids.close.text = CLOSE(self.lang)
        self.ids.mode_search.text = SEARCH(self.lang)
        self.ids.mode_browse.text = BROWSE(self.lang)
        self.ids.page_up.text = "\u25b2"  # like the form's scroll buttons
        self.ids.page_down.text = "\u25bc"
        self._refresh()

    def _page_size(self) -> int:
        return SEARCH_PAGE if self.mode == "search" else BROWSE_COLS * BROWSE_ROWS

    def _pages(self) -> int:
        return max(1, -(-len(self._codes) // self._page_size()))

    def _show(self, *_args: Any) -> None:
        """Fill the page with the current matches (search) or children (browse)."""
        source = self.source
        level = int(self.level)
        self.ids.title.text = TITLES[level](self.lang)
        if self.mode == "search":
            found = source.search(self.query, level=level, limit=SEARCH_LIMIT)
            self._codes, self._total = found.codes, found.total
            if not self.query.strip():
                self.status_text = TYPE_HINT(self.lang)
            elif not found.total:
                self.status_text = NOT_FOUND(self.lang)
            else:
                many = found.total > SEARCH_PAGE * 3
                self.status_text = (FOUND_MANY if many else FOUND).format(n=found.total)(self.lang)
        else:
            self._codes = source.children(self.browse_code or None)
            self._total = len(self._codes)
            self.status_text = ""
        pages = self._pages()
        if self.page >= pages:
            self.page = pages - 1
            return  # the page change triggers another _show
        self.page_text = PAGE.format(page=int(self.page) + 1, pages=pages)(self.lang)
        self.ids.page_up.disabled = self.page == 0
        self.ids.page_down.disabled = self.page >= pages - 1
        size = self._page_size()
        shown = self._codes[int(self.page) * size : (int(self.page) + 1) * size]
        self._fill(source, shown)
        self._crumbs(source)

    def _fill(self, source: Any, codes: tuple[str, ...]) -> None:
        search = self.mode == "search"
        grid: GridLayout = self.ids.results
        grid.cols = 1 if search else BROWSE_COLS
        grid.clear_widgets()
        small = int(theme.sp_small)
        for code in codes:
            if search:
                where = source.context(code) if hasattr(source, "context") else ""
                text = f"{source.label(code)}\n[size={small}]{where}[/size]"
            else:
                text = source.label(code)
            button = RegionButton(
                code=code,
                markup=True,
                kind="secondary",
                size_hint_y=1,
                auto_height=False,
                halign="left" if search else "center",
            )
            button.text = text
            button.pilot_id = f"region_{code}"
            button.bind(on_release=self.touched)
            grid.add_widget(button)
        rows = SEARCH_PAGE if search else BROWSE_ROWS
        for _ in range(rows * grid.cols - len(codes)):  # keep the buttons' size on a short page
            grid.add_widget(BoxLayout())

    def _crumbs(self, source: Any) -> None:
        box = self.ids.crumbs
        box.clear_widgets()
        if self.mode != "browse":
            return
        chain = [""]
        if self.browse_code:
            chain += reversed(source.lineage(self.browse_code))
        for code in chain:
            button = BigButton(kind="primary" if code == self.browse_code else "secondary",
                               size_hint=(1, 1), auto_height=False, font_role="small")  # fmt: skip
            button.text = source.label(code) if code else ALL_PROVINCES(self.lang)
            button.pilot_id = f"region_up_{code or 'all'}"
            button.bind(on_release=lambda b, c=code: self.up_to(c))
            box.add_widget(button)


class RegionPickerPopup(ModalView):
    """The picker over the whole window; closes on a pick or on "Tutup"."""

    def __init__(self, **kwargs: Any) -> None:
        """Create the popup around a RegionPicker."""
        theme.track_window()
        kwargs.setdefault("auto_dismiss", False)
        kwargs.setdefault("size_hint", (1, 1))
        super().__init__(**kwargs)
        self.picker = RegionPicker()
        self.picker.pilot_id = "region_popup_picker"
        self.add_widget(self.picker)


class RegionField(BoxLayout):
    """The form's editor for a REGION field: what is chosen, and buttons to search or browse."""

    value = StringProperty("")
    level = NumericProperty(4)
    lang = StringProperty("id")
    summary = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        """Create the editor; the popup is made on first use and then kept."""
        theme.track_window()
        super().__init__(**kwargs)
        self.popup: RegionPickerPopup | None = None
        self.bind(value=self._summarise, lang=self._summarise)
        self._summarise()

    def _summarise(self, *_args: Any) -> None:
        self.summary = region_text(self.value) or NOT_CHOSEN(self.lang)
        self.ids.search.text = SEARCH(self.lang)
        self.ids.browse.text = BROWSE(self.lang)

    def open_picker(self, mode: str) -> None:
        """Show the picker over the whole window in "search" or "browse" mode."""
        if self.popup is None:
            self.popup = RegionPickerPopup()
            self.popup.picker.bind(on_pick=self._picked, on_close=lambda *_: self.detach())
        picker = self.popup.picker
        picker.level = self.level
        picker.lang = self.lang
        picker.reset(mode)
        self.popup.open(animation=False)

    def _picked(self, _picker: Any, code: str) -> None:
        self.detach()
        self.value = code

    def detach(self) -> None:
        """Close the picker and forget what was typed in it (the form is leaving)."""
        if self.popup is not None:
            self.popup.picker.reset()
            self.popup.dismiss(animation=False)


load_kv(__file__)
