"""The ticket's content printed by plain python-escpos calls: the byte count to stay near."""

from __future__ import annotations

from escpos.printer import Dummy

from drivers.ticket_printer import layout  # sets python-escpos's cache folder before it loads
from kiosk_app.domain import ticket as words
from kiosk_app.domain.dates import long_date
from kiosk_app.domain.text import as_language
from kiosk_app.domain.ticket import Ticket


def escpos_direct(ticket: Ticket) -> bytes:
    """Return the bytes plain python-escpos calls send for `ticket`'s words, QR and cut."""
    # Styles are set when they change, as a careful caller would; no ESC @ and no word wrap
    # (the printer breaks long lines itself), so this is a lean baseline, not a straw man.
    lang = as_language(ticket.language)
    profile = layout.TicketProfile()
    p = Dummy(profile=profile.model)
    columns = int(p.profile.get_columns("a"))
    p.charcode(profile.code_page)
    p.set(align="center", bold=True)
    p.textln(ticket.office_name)
    p.set(align="left", bold=False)
    p.textln("=" * columns)
    p.set(align="center")
    p.textln(words.TICKET_QUEUE(lang))
    p.set(bold=True, custom_size=True, width=4, height=4)
    p.textln(ticket.queue_number)
    p.set(custom_size=True, width=1, height=1, bold=False, align="left")
    p.textln("-" * columns)
    for label, value in (
        (words.TICKET_REGISTRATION(lang), ticket.registration_number),
        (words.TICKET_SERVICE(lang), ticket.service(lang)),
        (words.TICKET_NAME(lang), ticket.masked_name),
        (words.TICKET_SCHEDULE(lang), long_date(ticket.slot.date, lang)),
    ):
        p.set(bold=False)
        p.textln(label)
        p.set(bold=True)
        p.textln(value)
    p.textln(words.TICKET_WINDOW.format(window=ticket.slot.window)(lang))
    if ticket.qr_payload:
        p.set(align="center")
        p.qr(ticket.qr_payload, ec=1, size=profile.qr_module_dots, native=True)
    p.set(align="left", bold=False)
    p.textln("-" * columns)
    for note in ticket.notes:
        p.textln("\u2022 " + note(lang))
    p.textln("-" * columns)
    p.set(align="center")
    p.textln(f"{words.TICKET_ISSUED(lang)}: {ticket.issued_at}")
    if ticket.offline:
        p.set(bold=True, invert=True)
        p.textln(words.TICKET_OFFLINE(lang))
    p.cut()
    return bytes(p.output)
