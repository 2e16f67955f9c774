"""The card-holder look-up audit for admins: who looked up whose data, when and from where.

Under UU 27/2022 the data controller (Disdukcapil) shows who accessed a person's data. This page
lists the kiosks' card-holder look-ups and print reservations (card_holder_audit): time in WIB,
kiosk and office, what, outcome (answered, or refused by the kiosk's budget or the NIK's own
limit, counted per window), the NIK masked. A supervisor filters by kiosk, office, WIB dates,
outcome and a full NIK typed in: the NIK is posted (never in a URL, so never in an access log
or the browser's history), keyed with the audit's HMAC (NikKey), and only that hash goes into
the page's address.

Admins only: there is no supervisor role (auth.ROLES), and an admin is the one who sees every
office; officers see one office's applications, technicians none. Reading the audit is audited
in turn: every page shown and every NIK searched for is a line in the `central_server.audit`
log (who, which filters, the searched NIK masked, how many rows).
"""

import logging
import re
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from central_server.auth import StaffUser
from central_server.card_holder_audit import NikKey, Search, kiosks_seen, search
from central_server.lifecycle import TransitionRefused
from central_server.officer.common import PageContext, field_value, offices_for, redirect
from kiosk_app.domain.identity import mask_nik

audit = logging.getLogger("central_server.audit")

PATH = "/officer/card-holder-lookups"
PAGE_SIZE = 50
MAX_PAGE = 10_000
NIK_HASH = re.compile(r"[0-9a-f]{64}")
FILTERS = ("kiosk", "office", "start", "end", "outcome")
KIND_LABELS = {
    "applications": "Daftar permohonan / applications",
    "print_reserve": "Cetak dokumen (reservasi) / print reservation",
    "receipt_copy": "Cetak ulang tanda terima / receipt copy",
}
OUTCOME_LABELS = {
    "allowed": "Dijawab / answered",
    "kiosk_budget": "Ditolak: batas anjungan / refused: kiosk budget",
    "nik_limit": "Ditolak: NIK terlalu sering / refused: NIK limit",
}


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def router(ctx: PageContext) -> APIRouter:
    """GET (the list) and POST (the filter form, with a NIK) of /officer/card-holder-lookups."""
    r = APIRouter(include_in_schema=False)
    Admin = Annotated[StaffUser, Depends(ctx.auth.require("admin"))]
    nik_key = NikKey(ctx.db.url)

    @r.get(PATH, response_class=HTMLResponse)
    def lookups(
        request: Request,
        user: Admin,
        kiosk: str = "",
        office: str = "",
        start: str = "",
        end: str = "",
        nik: str = "",
        outcome: str = "",
        page: int = 1,
    ) -> Response:
        """Look-ups matching the filters, newest first, PAGE_SIZE a page."""
        first, last = _day(start), _day(end)
        if first is not None and last is not None and first > last:
            first, last = last, first
        filters = Search(
            kiosk_id=kiosk[:64],
            office=office[:16],
            start=first,
            end=last,
            nik_hash=nik if NIK_HASH.fullmatch(nik) else "",
            outcome=outcome if outcome in ("answered", "refused") else "",
        )
        page = min(max(1, page), MAX_PAGE)
        with ctx.db.transaction() as session:
            rows = search(session, filters, (page - 1) * PAGE_SIZE, PAGE_SIZE)
            kiosks = kiosks_seen(session)
            offices = offices_for(session, user)
        audit.info(
            "card-holder audit read by %s: kiosk=%s office=%s days=%s..%s nik=%s outcome=%s "
            "page %d, %d rows",
            user.username,
            filters.kiosk_id or "*",
            filters.office or "*",
            filters.start or "*",
            filters.end or "*",
            filters.nik_hash[:12] or "*",  # the hash's head: matches the search's log line
            filters.outcome or "*",
            page,
            len(rows),
        )
        query = {
            "kiosk": filters.kiosk_id,
            "office": filters.office,
            "start": filters.start.isoformat() if filters.start else "",
            "end": filters.end.isoformat() if filters.end else "",
            "nik": filters.nik_hash,
            "outcome": filters.outcome,
        }
        query = {k: v for k, v in query.items() if v}
        return ctx.render(
            request,
            "card_holder_lookups.html",
            user,
            rows=rows,
            filters=filters,
            kiosks=kiosks,
            offices=offices,
            office_names={o.code: o.name for o in offices},
            kind_labels=KIND_LABELS,
            outcome_labels=OUTCOME_LABELS,
            page=page,
            more=len(rows) == PAGE_SIZE and page < MAX_PAGE,
            query=urlencode(query),
            without_nik=urlencode({k: v for k, v in query.items() if k != "nik"}),
        )

    @r.post(PATH)
    async def filter_form(request: Request, user: Admin) -> Response:
        """The filters as a GET address; a typed NIK becomes its keyed hash there."""
        form = await ctx.form(request, user)
        query = {name: field_value(form, name)[:64] for name in FILTERS}
        typed = "".join(field_value(form, "nik").split())
        if typed:
            if not (len(typed) == 16 and typed.isascii() and typed.isdigit()):
                raise TransitionRefused("search_nik", "a NIK has 16 digits", 422)
            query["nik"] = nik_key(typed)
            audit.info(
                "card-holder audit searched by %s for nik=%s (hash %s)",
                user.username,
                mask_nik(typed),
                query["nik"][:12],
            )
        elif NIK_HASH.fullmatch(kept := field_value(form, "nik_hash")):
            query["nik"] = kept  # the NIK of the search before, other filters changed
        return redirect(f"{PATH}?{urlencode({k: v for k, v in query.items() if v})}")

    return r
