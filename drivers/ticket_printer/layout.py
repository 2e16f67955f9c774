"""Lay a Ticket out as ESC/POS commands for an 80 mm printer, using python-escpos."""

from __future__ import annotations

import os
import tempfile
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kiosk_app.domain import ticket as words
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import as_language
from kiosk_app.domain.ticket import CallingTicket, Ticket


def _escpos_cache_dir() -> str:
    """A lasting folder for python-escpos's capabilities pickle."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "anjungan" / "escpos"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "anjungan-escpos-cache"
        folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


# Without this, python-escpos rebuilds its capabilities pickle in a new temp folder on every
# import (about 1.3 s, and a folder left behind each time).
os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", _escpos_cache_dir())

try:
    from escpos.printer import Dummy
except ImportError as exc:  # pragma: no cover - exercised only without the devices extra
    raise ImportError(
        "the ESC/POS ticket printer needs python-escpos: pip install 'anjungan[devices]'"
    ) from exc

# Characters the code pages lack but Indonesian text uses, mapped to what prints well.
_FALLBACK = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u00a0": " ",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
}


@dataclass(frozen=True)
class TicketProfile:
    """How one printer model prints: python-escpos profile, code page, QR mode and size."""

    model: str = "TM-T20II"  # a python-escpos capabilities profile (576 dots, 48 columns)
    code_page: str = "CP1252"  # Latin-1 superset: Indonesian text, e-acute, bullet
    native_qr: bool = True  # GS ( k; False sends the QR as a GS v 0 raster image
    qr_module_dots: int = 6  # dots per QR module (1-16)
    columns: int | None = None  # Font A characters per line; None: from the model's profile


def printable(text: str, code_page: str) -> str:
    """Return `text` with characters the code page cannot encode replaced by close ASCII."""
    codec = code_page.lower()
    out: list[str] = []
    for char in text:
        try:
            char.encode(codec)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        if char in _FALLBACK:
            out.append(_FALLBACK[char])
            continue
        base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
        out.append(base or "?")
    return "".join(out)


class _Writer:
    """A python-escpos Dummy printer plus the few layout helpers a ticket needs."""

    def __init__(self, profile: TicketProfile) -> None:
        """Start a ticket: reset the printer and select the code page."""
        self.profile = profile
        self.p = Dummy(profile=profile.model)
        self.columns = profile.columns or int(self.p.profile.get_columns("a"))
        self.p.hw("INIT")  # ESC @ also resets the code page, so select it after
        self.p.charcode(profile.code_page)
        self.state: dict[str, object] = {"align": "left", "bold": False, "size": 1, "invert": False}

    def style(self, **wanted: object) -> None:
        """Send only the style commands that change the printer's current state."""
        changed = {k: v for k, v in wanted.items() if self.state[k] != v}
        self.state.update(changed)
        size = changed.pop("size", None)
        if size is not None:
            self.p.set(custom_size=True, width=size, height=size)  # GS ! n, 3 bytes
        if changed:
            self.p.set(**changed)

    def line(
        self, text: str, *, align: str = "left", bold: bool = False, size: int = 1, indent: int = 0
    ) -> None:
        """Print word-wrapped text at `size` times the normal width and height."""
        self.style(align=align, bold=bold, size=size)
        width = max(1, self.columns // size - indent)
        lines = textwrap.wrap(printable(text, self.profile.code_page), width) or [""]
        for i, chunk in enumerate(lines):
            self.p.textln((" " * indent if i else "") + chunk)

    def bullet(self, text: str) -> None:
        """Print a bulleted paragraph with a hanging indent."""
        self.line("\u2022 " + text, indent=2)

    def rule(self, char: str = "-") -> None:
        """Print a full-width separator."""
        self.line(char * self.columns)

    def qr(self, payload: str) -> None:
        """Print a centred QR code, natively or as an image as the profile says."""
        self.style(align="center")
        if self.profile.native_qr:
            self.p.ln()  # a quiet zone above the symbol
            self.p.qr(payload, ec=1, size=self.profile.qr_module_dots, native=True)  # ec 1 = M
            self.p.ln()
        else:
            # ESC a centres raster images too, so no need to pad the image to full width. An
            # even module size goes as half-size dots the printer doubles both ways (GS v 0
            # m=3): the same symbol from a quarter of the raster bytes (the raster's padding to
            # whole bytes doubles too, so the centred symbol may sit a few dots aside).
            dots = self.profile.qr_module_dots
            doubled = dots % 2 == 0
            self.p.qr(
                payload,
                ec=1,
                size=dots // 2 if doubled else dots,
                native=False,
                image_arguments={
                    "center": False,
                    "high_density_vertical": not doubled,
                    "high_density_horizontal": not doubled,
                },
            )

    def finish(self) -> bytes:
        """Feed past the cutter, cut, and return the command bytes."""
        # Alignment, bold and size print nothing on blank paper and the next ticket starts with
        # ESC @, so they are left as they are; reverse print is ended before the feed.
        self.style(invert=False)
        self.p.cut()
        return bytes(self.p.output)


def build_ticket(ticket: Ticket, profile: TicketProfile | None = None) -> bytes:
    """Return the ESC/POS bytes that print `ticket` in its language and cut it."""
    profile = profile or TicketProfile()
    lang = as_language(ticket.language)
    w = _Writer(profile)
    w.line(ticket.office_name, align="center", bold=True)
    w.rule("=")
    w.line(words.TICKET_QUEUE(lang), align="center")
    queue_size = 4 if len(ticket.queue_number) * 4 <= w.columns else 2
    w.line(ticket.queue_number, align="center", bold=True, size=queue_size)
    if ticket.copied_at:
        w.style(invert=True)
        w.line(words.COPY_MARK.format(at=ticket.copied_at)(lang), align="center", bold=True)
        w.style(invert=False)
    w.rule()
    for label, value in (
        (words.TICKET_REGISTRATION, ticket.registration_number),
        (words.TICKET_SERVICE, ticket.service(lang)),
        (words.TICKET_NAME, ticket.masked_name),
    ):
        w.line(label(lang))
        w.line(value, bold=True)
    w.line(words.TICKET_SCHEDULE(lang))
    w.line(long_date(ticket.slot.date, lang), bold=True)
    w.line(words.TICKET_WINDOW.format(window=ticket.slot.window)(lang), bold=True)
    if ticket.qr_payload:
        w.qr(ticket.qr_payload)
    w.rule()
    for note in ticket.notes:
        w.bullet(note(lang))
    w.rule()
    w.line(f"{words.TICKET_ISSUED(lang)}: {ticket.issued_at}", align="center")
    if ticket.offline:
        w.style(invert=True)
        w.line(words.TICKET_OFFLINE(lang), align="center", bold=True)
    return w.finish()


def build_calling_ticket(ticket: CallingTicket, profile: TicketProfile | None = None) -> bytes:
    """Return the ESC/POS bytes of a check-in's calling ticket: the number as large as the
    printer prints, then the service, counter group, people ahead and estimated wait."""
    profile = profile or TicketProfile()
    lang = as_language(ticket.language)
    w = _Writer(profile)
    if ticket.office_name:
        w.line(ticket.office_name, align="center", bold=True)
    w.rule("=")
    w.line(words.CALLING_TITLE(lang), align="center")
    number_size = max(2, min(8, w.columns // max(1, len(ticket.calling_number))))
    w.line(ticket.calling_number, align="center", bold=True, size=number_size)
    if ticket.reprint:
        w.style(invert=True)
        w.line(words.CALLING_REPRINT(lang), align="center", bold=True)
        w.style(invert=False)
    w.rule()
    ahead = words.CALLING_AHEAD_VALUE.format(people=ticket.people_ahead)(lang)
    wait = (
        words.CALLING_WAIT_VALUE.format(minutes=ticket.estimated_wait_minutes)(lang)
        if ticket.people_ahead
        else words.CALLING_WAIT_SOON(lang)
    )
    for label, value in (
        (words.TICKET_SERVICE, ticket.service(lang)),
        (words.CALLING_COUNTER, ticket.counter_group),
        (words.CALLING_AHEAD, "" if ticket.reprint else ahead),  # stale by a reprint
        (words.CALLING_WAIT, "" if ticket.reprint else wait),
        (words.TICKET_REGISTRATION, ticket.registration_number),
    ):
        if value:
            w.line(label(lang))
            w.line(value, bold=True)
    w.rule()
    for note in ticket.notes:
        w.bullet(note(lang))
    w.rule()
    w.line(f"{words.TICKET_ISSUED(lang)}: {ticket.issued_at}", align="center")
    return w.finish()
