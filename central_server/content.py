"""The form values the server acts on, checked with the kiosk's own rules (kiosk_app.domain).

The kiosk checks every value before it sends an application; a buggy or compromised kiosk (or
anyone holding a kiosk token) may not have. The server runs the same rules (the service's
FormSpec, contact page included, on the server's date) and looks at what it acts on or shows
with meaning:

- contact_phone, contact_channel, contact_email: the recipients of the citizen's notifications
  (the outbox hands them to the SMS/WhatsApp gateways and to SMTP). A value that fails is not
  used; the submission's history says which and why.
- every other field but free text: NIK and KK numbers of the persons the form names (the
  issued document's holder, duplicate detection, the officer's page), dates, times, choices
  (delivery by Pos or pickup), region codes, and the Pos delivery address. A value that fails
  holds the application for an officer (`hold_reason`): it is admitted, its place is kept,
  nothing is refused, since a queued send arrives after the citizen has left.

- fields outside the form: names no field of the service's form takes for the variant the
  values choose (the kiosk leaves out what was typed for another variant) and that are not the
  kiosk's own stamps (who assisted). A value in one holds the application for an officer,
  naming the fields (a few names, bounded); the values are stored as sent (nothing a citizen
  filed is lost) and the officer's page shows them apart from the form, escaped.

Only values present are judged: a missing field is the kiosk's business (older kiosks send
fewer), and names and places are shown as typed (the schema keeps control characters out).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from central_server.review_models import MAX_RECIPIENT
from kiosk_app.domain import contact, form_variants
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.contact import CHANNEL, DELIVERY_ADDRESS, EMAIL, PHONE, normalize_phone
from kiosk_app.domain.forms import FieldKind
from kiosk_app.domain.text import Text

CONTACT = frozenset({PHONE, CHANNEL, EMAIL})
MAX_REASON = 300  # Application.hold_reason
NAMED_OUTSIDE = 5  # field names a hold for fields outside the form names (then "+N lainnya")
MAX_NAME = 40  # characters of each
TOO_LONG = Text(
    f"Alamat email lebih dari {MAX_RECIPIENT} huruf, tidak dapat dikirimi kabar.",
    f"The e-mail address is longer than {MAX_RECIPIENT} characters and cannot be used for news.",
)


def hold_reason(service: str, data: Mapping[str, str], today: date) -> str | None:
    """Why an officer must check `data` of an application of `service` first (the values the
    server acts on that fail the kiosk's rules on `today`, named), or None."""
    info = SERVICES.get(service)
    if info is None or info.form is None:
        return None
    kinds = {f.name: f.kind for page in info.form.pages for f in page.fields}
    acted = {n for n, k in kinds.items() if k is not FieldKind.TEXT} | {DELIVERY_ADDRESS}
    failing = _present(data, info.form.validate(data, today).errors)
    held = {n: m for n, m in failing.items() if n in acted - CONTACT}
    return _describe(service, held, "isian tidak lolos aturan anjungan")


def outside_form(service: str, data: Mapping[str, str]) -> list[str]:
    """Names in `data` that no field of the service's form takes for the variant the values
    choose, and no kiosk stamp (who assisted), sorted; [] for a service without a form."""
    info = SERVICES.get(service)
    if info is None or info.form is None:
        return []
    names = {f.name for page in info.form.pages for f in page.fields} | form_variants.STAMPS
    other = form_variants.outside_variant(service, names, data)
    return sorted(n for n in data if n not in names or n in other)


def outside_reason(service: str, data: Mapping[str, str]) -> str | None:
    """Why an officer must look first: values given in fields outside the form (names only,
    the first NAMED_OUTSIDE), or None (blank ones hold nothing: the officer sees them apart)."""
    given = [n for n in outside_form(service, data) if str(data[n]).strip()]
    if not given:
        return None
    named = ", ".join(n[:MAX_NAME] for n in given[:NAMED_OUTSIDE])
    more = f" (+{len(given) - NAMED_OUTSIDE} lainnya)" if len(given) > NAMED_OUTSIDE else ""
    return f"isian di luar formulir layanan ini: {named}{more}"


def unused_contacts(data: Mapping[str, str]) -> dict[str, Text]:
    """Contact fields given that fail the kiosk's contact page (its rules do not depend on the
    day), with the kiosk's message, and an e-mail address longer than the outbox stores: no
    notification goes through them."""
    errors = dict(contact.validate(data, date.today()).errors)
    if EMAIL not in errors and len(data.get(EMAIL, "").strip()) > MAX_RECIPIENT:
        errors[EMAIL] = TOO_LONG
    return {n: m for n, m in _present(data, errors).items() if n in CONTACT}


def unused_note(service: str, unused: Mapping[str, Text]) -> str | None:
    """The history line naming the contacts left unused (unused_contacts) and why, or None."""
    return _describe(service, unused, "kontak tidak dipakai untuk kabar")


def recipients(
    data: Mapping[str, str], unused: Mapping[str, Text] | None = None
) -> list[tuple[str, str]]:
    """(channel, address) pairs to tell the citizen through: the phone (national form) via
    the channel chosen (SMS when none is given) and the e-mail address, those that pass
    (`unused`: unused_contacts(data) when the caller has it already)."""
    if unused is None:
        unused = unused_contacts(data)
    found = []
    phone = normalize_phone(data.get(PHONE, "")) if PHONE not in unused else None
    if phone and CHANNEL not in unused:
        found.append((data.get(CHANNEL, "").strip() or "sms", phone))
    email = data.get(EMAIL, "").strip()
    if email and EMAIL not in unused:
        found.append(("email", email))
    return found


def _present(data: Mapping[str, str], errors: Mapping[str, Text]) -> dict[str, Text]:
    """The messages about values `data` holds (not about fields left empty)."""
    return {n: m for n, m in errors.items() if isinstance(data.get(n), str) and data[n].strip()}


def _describe(service: str, fields: Mapping[str, Text], what: str) -> str | None:
    """`what: label (name): message; ...`, within MAX_REASON characters; None when empty."""
    if not fields:
        return None
    info = SERVICES.get(service)
    form = info.form if info is not None else None
    labels = {f.name: f.label("id") for page in form.pages for f in page.fields} if form else {}
    parts = [f"{labels.get(n, n)} ({n}): {m('id')}" for n, m in fields.items()]
    text = f"{what}: " + "; ".join(parts)
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "\u2026"
