"""One touch for what the kiosk already knows, offered beside a text field's box: the area code
an empty NIK/KK likely starts with, the 08 an empty mobile number starts with, another field's
value (formkit.SAME_AS), the office's own kabupaten/kota for a place, a parent's last name for
a child's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kiosk_app.domain.contact import PHONE
from kiosk_app.domain.formkit import same_as
from kiosk_app.domain.regions import is_known_province
from kiosk_app.domain.text import Text

T = Text


# Where a place is asked, the office's own kabupaten/kota (most births and deaths reported here
# happened there); a child's name often ends with a parent's last name: both one touch.
PLACE_HERE = frozenset({"birth_place_town", "deceased_birth_place", "death_place"})
FAMILY_NAME: dict[str, tuple[str, ...]] = {"child_name": ("father_name", "mother_name")}
# Every Indonesian mobile number written the local way starts with 08 (contact.MSG["phone"]).
MOBILE_PREFIX = "08"


def _is_number_of_16(name: str) -> bool:
    """A NIK or KK number field (16 digits, the first six a kecamatan's code)."""
    return name.endswith(("_nik", "kk_number", "_kk"))


def area_code(values: Mapping[str, str]) -> str:
    """The kecamatan code (6 digits) that a KK number, else a NIK, already in the form starts
    with: family and witnesses mostly live in the same one. A KK number's code is where the
    family lives now; a NIK keeps the code of a person's first registration, so it comes after.
    """
    ranked = sorted(values, key=lambda key: (not key.endswith("kk_number"), key.endswith("_nik")))
    for key in ranked:
        value = str(values[key]).strip()
        if _is_number_of_16(key) and len(value) == 16 and value.isascii() and value.isdigit():
            if is_known_province(value[:2]) and value[2:4] != "00" and value[4:6] != "00":
                return value[:6]
    return ""


@dataclass(frozen=True)
class Offer:
    """One touch for a text field: "fill" it with `value`, "append" `value` to the typing, or
    start it with the "prefix" `value` (the rest is typed)."""

    mode: str
    value: str
    label: Text


def offer(name: str, values: Mapping[str, str], town: tuple[str, str] = ("", "")) -> Offer | None:
    """What the editor of text field `name` offers with one touch, or None: the area code an
    empty NIK/KK likely starts with, 08 for an empty mobile number, another field's value
    (SAME_AS), the office's kabupaten/kota `town` (name, label) for a place, a parent's last
    name for a child's."""
    if _is_number_of_16(name) and not str(values.get(name, "")).strip():
        area = area_code(values)
        if area:
            label = T(f"{area[:4]} {area[4:]} \u2026 (kode wilayah)", f"{area} \u2026 (area code)")
            return Offer("prefix", area, label)
    if name == PHONE and not str(values.get(name, "")).strip():
        label = T(f"{MOBILE_PREFIX} \u2026 (nomor HP)", f"{MOBILE_PREFIX} \u2026 (mobile)")
        return Offer("prefix", MOBILE_PREFIX, label)
    copy = same_as(name, values)
    if copy is not None:
        return Offer("fill", str(values.get(copy[0], "")).strip(), copy[1])
    if name in PLACE_HERE and town[0]:
        return Offer("fill", town[0].upper(), T(town[1], town[1]))
    for source in FAMILY_NAME.get(name, ()):
        words = str(values.get(source, "")).split()
        if len(words) >= 2:
            return Offer("append", words[-1].upper(), T(f"+ {words[-1]}", f"+ {words[-1]}"))
    return None
