"""Fictional e-KTP holders for the simulated card reader (no real person behind any record)."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import date
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import make_nik

PHOTO_SIZE = (300, 400)
_RED = (200, 30, 36)
_BLUE = (24, 72, 168)


def _citizen(region: str, serial: int, *card: Any) -> tuple[str, int, Identity]:
    """One fictional citizen: region (PPKKCC: province, regency/city, district codes), serial,
    and the card's fields from name to occupation; citizen() copies the Identity on every call."""
    fields = ("", *card, "WNI", "SEUMUR HIDUP")  # NIK (made below), card..., citizenship, validity
    return region, serial, Identity(*fields)


_CITIZENS: tuple[tuple[str, int, Identity], ...] = (
    _citizen(
        "351709",
        1,
        "BUDI SANTOSO",
        "JOMBANG",
        date(1985, 8, 12),
        "L",
        "O",
        "JL. MAWAR NO. 12",
        "003/007",
        "SENGON",
        "JOMBANG",
        "KABUPATEN JOMBANG",
        "JAWA TIMUR",
        "ISLAM",
        "KAWIN",
        "WIRASWASTA",
    ),
    _citizen(
        "351708",
        23,
        "SITI NUR AINI",
        "JOMBANG",
        date(1990, 3, 5),
        "P",
        "A",
        "DUSUN KRAJAN RT 002",
        "002/004",
        "CUKIR",
        "DIWEK",
        "KABUPATEN JOMBANG",
        "JAWA TIMUR",
        "ISLAM",
        "KAWIN",
        "MENGURUS RUMAH TANGGA",
    ),
    _citizen(
        "317407",
        112,
        "ANDI PRATAMA WIJAYA",
        "JAKARTA",
        date(1998, 11, 27),
        "L",
        "B",
        "JL. KENANGA III NO. 8A",
        "005/002",
        "GANDARIA UTARA",
        "KEBAYORAN BARU",
        "JAKARTA SELATAN",
        "DKI JAKARTA",
        "KRISTEN",
        "BELUM KAWIN",
        "KARYAWAN SWASTA",
    ),
    _citizen(
        "317401",
        57,
        "MAYA KUSUMAWATI",
        "SEMARANG",
        date(1979, 6, 30),
        "P",
        "AB",
        "JL. TEBET BARAT DALAM IV NO. 21",
        "008/010",
        "TEBET BARAT",
        "TEBET",
        "JAKARTA SELATAN",
        "DKI JAKARTA",
        "KATOLIK",
        "KAWIN",
        "PEGAWAI NEGERI SIPIL",
    ),
    _citizen(
        "327302",
        9,
        "ASEP HIDAYAT",
        "BANDUNG",
        date(1972, 1, 17),
        "L",
        "-",
        "JL. DAGO POJOK NO. 45",
        "003/007",
        "DAGO",
        "COBLONG",
        "KOTA BANDUNG",
        "JAWA BARAT",
        "ISLAM",
        "KAWIN",
        "GURU",
    ),
    _citizen(
        "327313",
        340,
        "NENG RINA MARLINA",
        "GARUT",
        date(2003, 9, 2),
        "P",
        "O",
        "GG. BUDI ASIH NO. 7",
        "001/003",
        "CIJAGRA",
        "LENGKONG",
        "KOTA BANDUNG",
        "JAWA BARAT",
        "ISLAM",
        "BELUM KAWIN",
        "PELAJAR/MAHASISWA",
    ),
)


def fictional_citizens() -> list[Identity]:
    """Return fresh Identity objects for every fictional citizen."""
    return [citizen(i) for i in range(len(_CITIZENS))]


def citizen_count() -> int:
    """Return how many fictional citizens exist."""
    return len(_CITIZENS)


def citizen(index: int) -> Identity:
    """Return a fresh Identity for fictional citizen `index`; ValueError when out of range."""
    if not isinstance(index, int) or not 0 <= index < len(_CITIZENS):
        raise ValueError(f"citizen index must be 0..{len(_CITIZENS) - 1}, got {index!r}")
    region, serial, card = _CITIZENS[index]
    nik = make_nik(region[0:2], region[2:4], region[4:6], card.birth_date, card.sex, serial)
    return replace(card, nik=nik, photo_jpeg=_portrait(index))


@cache
def _portrait(index: int) -> bytes:
    """Draw a deterministic e-KTP style head-and-shoulders JPEG for citizen `index`."""
    c = _CITIZENS[index][2]
    rnd = random.Random(f"portrait-{index}")
    w, h = PHOTO_SIZE
    # e-KTP photos use red for odd birth years and blue for even ones.
    base = _RED if c.birth_date.year % 2 else _BLUE
    img = Image.new("RGB", PHOTO_SIZE, base)
    draw = ImageDraw.Draw(img)
    for y in range(h):  # soft studio gradient
        k = 1.0 - 0.18 * y / h
        draw.line([(0, y), (w, y)], fill=tuple(int(v * k) for v in base))

    skin = rnd.choice([(224, 180, 140), (198, 150, 110), (172, 124, 88), (150, 105, 75)])
    shirt = rnd.choice([(245, 245, 245), (40, 40, 60), (70, 90, 120), (120, 40, 40)])
    hair = (25 + rnd.randint(0, 20),) * 3
    cx = w // 2 + rnd.randint(-6, 6)
    head_w, head_h = rnd.randint(118, 132), rnd.randint(152, 166)
    head_top = 96 + rnd.randint(-6, 6)
    head = (cx - head_w // 2, head_top, cx + head_w // 2, head_top + head_h)

    draw.ellipse((cx - 140, 282, cx + 140, 560), fill=shirt)  # shoulders
    if c.sex == "P":
        veil = rnd.choice([(235, 235, 235), (30, 30, 30), (90, 60, 110), (30, 80, 90)])
        draw.ellipse((head[0] - 26, head[1] - 24, head[2] + 26, head[3] + 52), fill=veil)
        draw.polygon([(cx - 95, 250), (cx + 95, 250), (cx + 125, 400), (cx - 125, 400)], fill=veil)
        draw.ellipse((head[0] + 6, head[1] + 14, head[2] - 6, head[3]), fill=skin)
    else:
        draw.rectangle((cx - 26, head[3] - 30, cx + 26, 300), fill=skin)  # neck
        draw.polygon([(cx - 26, 296), (cx, 336), (cx + 26, 296)], fill=skin)  # collar opening
        draw.ellipse(head, fill=skin)
        draw.chord((head[0] - 4, head[1] - 12, head[2] + 4, head[1] + 70), 180, 360, fill=hair)
        draw.ellipse((head[0] - 8, head[1] + 50, head[0] + 12, head[1] + 84), fill=skin)  # ears
        draw.ellipse((head[2] - 12, head[1] + 50, head[2] + 8, head[1] + 84), fill=skin)
    eye_y = head[1] + head_h * 0.45
    for dx in (-head_w * 0.2, head_w * 0.2):
        draw.ellipse((cx + dx - 7, eye_y - 4, cx + dx + 7, eye_y + 4), fill=(40, 30, 25))
    draw.line(
        [(cx, eye_y + 8), (cx - 4, eye_y + 30), (cx + 3, eye_y + 32)],
        fill=tuple(v - 30 for v in skin),
        width=2,
    )
    mouth_y = head[1] + head_h * 0.78
    draw.arc((cx - 18, mouth_y - 10, cx + 18, mouth_y + 6), 20, 160, fill=(120, 60, 60), width=3)

    # A little sensor grain so the JPEG looks (and weighs) like a real photo.
    noise = Image.frombytes("L", PHOTO_SIZE, rnd.randbytes(w * h)).convert("RGB")
    img = Image.blend(img, noise, 0.05).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()
