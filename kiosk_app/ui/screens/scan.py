"""Scan screen: scan each required document (preview, scan, retake) or skip it for the counter."""

from __future__ import annotations

import io
import logging
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.session.views import ScanView, SessionView
from kiosk_app.ui.screens.base import BusyArc, KioskScreen, load_kv  # noqa: F401 - the .kv
from kiosk_app.ui.theme import theme
from kiosk_app.ui.widgets.buttons import BigButton

log = logging.getLogger(__name__)

T = Text
TITLE = T("Pindai dokumen · {n} dari {total}", "Scan documents · {n} of {total}")
HINT = T(
    "Letakkan dokumen menghadap ke bawah di kaca pemindai, lalu sentuh Pindai halaman. "
    "Tidak membawanya? Sentuh Lewati: dokumen asli diperiksa di loket.",
    "Lay the document face down on the scanner glass, then touch Scan page. "
    "Not with you? Touch Skip: the original is checked at the counter.",
)
PREVIEW = T("Lihat dulu", "Preview")
SCAN = T("Pindai halaman", "Scan page")
FEEDER = T("Pindai dari pengumpan", "Scan from feeder")
RETAKE = T("Ulangi halaman {n}", "Retake page {n}")
REMOVE = T("Hapus halaman {n}", "Remove page {n}")
SKIP = T("Lewati dokumen ini", "Skip this document")
SKIP_ALL = T("Lewati semua", "Skip all")
NEXT_WITH_PAGES = T("Simpan, lanjut", "Save, next")
NEXT_EMPTY = T("Lanjut", "Next")
BACK = T("Kembali", "Back")
PAGES = T("{n} halaman terpindai", "{n} page(s) scanned")
PAGE = T("Hal. {n}", "P. {n}")
BUSY = T("Memindai, mohon tunggu...", "Scanning, please wait...")
PREVIEW_CAPTION = T("Pratinjau (belum disimpan)", "Preview (not saved)")
PAGE_CAPTION = T("Hasil pindai terakhir", "Last scanned page")
NO_IMAGE = T("Gambar hasil pindai tampil di sini", "The scanned page shows here")


def _fmt(text: Text, lang: str, **values: Any) -> str:
    return text.format(**values)(lang)


class ScanScreen(KioskScreen):
    """One required document at a time; every action has a big button, skipping is always open."""

    title_text = StringProperty("")
    doc_title = StringProperty("")
    pages_text = StringProperty("")
    caption = StringProperty("")
    pages = NumericProperty(0)
    selected = NumericProperty(0)  # the page retake/remove act on (0-based)
    busy = BooleanProperty(False)
    ready = BooleanProperty(True)
    feeder = BooleanProperty(False)
    image = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        """Nothing shown yet."""
        super().__init__(**kwargs)
        self._image_bytes = b""
        self._page_key: tuple[Any, ...] | None = None

    def prompt(self, view: SessionView) -> Text | None:
        """Which document, and how to scan or skip it."""
        scan = view.scan
        if scan is None or scan.current is None:
            return None
        title = TITLE.format(n=scan.index + 1, total=len(scan.documents))
        return join(title, scan.current.title, HINT)

    def update(self, view: SessionView) -> None:
        """Render the scanning step's snapshot."""
        scan: ScanView | None = view.scan
        lang = view.language
        if scan is None or scan.current is None:
            return
        doc = scan.current
        self.title_text = _fmt(TITLE, lang, n=scan.index + 1, total=len(scan.documents))
        self.doc_title = doc.title(lang)
        if self.pages != doc.pages or (self._page_key and self._page_key[0] != scan.index):
            self.selected = max(0, doc.pages - 1)
        self.pages = doc.pages
        self.pages_text = _fmt(PAGES, lang, n=doc.pages)
        self.busy, self.ready, self.feeder = scan.busy, scan.scanner_ready, scan.has_feeder
        if scan.message is not None:
            self.message = scan.message(lang)
        if scan.image_png != self._image_bytes:
            self._image_bytes = scan.image_png
            self.image = self._texture(scan.image_png)
        if not scan.image_png:
            self.caption = NO_IMAGE(lang)
        elif scan.image_is_preview:
            self.caption = PREVIEW_CAPTION(lang)
        else:
            self.caption = PAGE_CAPTION(lang)
        self._build_pages(scan.index, doc.pages, lang)

    def _build_pages(self, index: int, pages: int, lang: str) -> None:
        key = (index, pages, lang)
        if key == self._page_key:
            return
        self._page_key = key
        box = self.ids.page_buttons
        box.clear_widgets()
        for page in range(pages):
            button = BigButton(
                text=_fmt(PAGE, lang, n=page + 1),
                size_hint=(None, 1),
                width=theme.touch * 2.0,
                font_role="small",
                kind="secondary",
            )
            button.pilot_id = f"page_{page}"
            button.bind(on_release=self._select(page))
            box.add_widget(button)

    def _select(self, page: int) -> Any:
        def select(*_args: Any) -> None:
            self.selected = page
            self.session.activity()

        return select

    @staticmethod
    def action_text(text: Text, lang: str, selected: int) -> str:
        """Retake/remove labels naming the selected page."""
        return _fmt(text, lang, n=int(selected) + 1)

    def left(self) -> None:
        """The scanned picture is personal: drop it when another screen shows."""
        self.image = None
        self._image_bytes = b""
        self._page_key = None
        self.doc_title = ""
        if "page_buttons" in self.ids:
            self.ids.page_buttons.clear_widgets()

    @staticmethod
    def _texture(png: bytes) -> object:
        if not png:
            return None
        try:
            return CoreImage(io.BytesIO(png), ext="png").texture
        except Exception:  # a broken picture must not block the citizen
            log.warning("scanned page picture could not be decoded")
            return None


load_kv("scan")
