"""A privacy canary: a fictional citizen with a unique NIK and name, and a scan for their bytes.

The scan looks for the NIK, the full name and each word of the name, in UTF-8 and UTF-16 (both
byte orders), in raw file bytes, inside zlib/deflate streams (compressed logs, PDF streams) and
in the text of PDFs (pdftotext, poppler-utils: subset fonts hide the characters from a byte scan).
Masked forms (mask_nik's 3517********0001, mask_name's Z******* P*******) are allowed.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import string
import subprocess
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from drivers.card_reader.citizens import citizen
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.nik import make_nik

MAX_FILE_BYTES = 64 * 1024 * 1024
_STREAM = re.compile(rb"stream\r?\n")


@dataclass(frozen=True)
class Canary:
    """The canary citizen's secrets and the identity their card carries."""

    nik: str
    name: str

    @classmethod
    def fresh(cls) -> Canary:
        """A NIK and a name never seen before (other tests' canaries cannot match)."""
        rng = random.Random(time.time_ns())
        words = ["ZZ" + "".join(rng.choices(string.ascii_uppercase, k=8)) for _ in range(2)]
        holder = citizen(0)  # the card's other data stay consistent with the NIK
        nik = make_nik(
            holder.nik[:2],
            holder.nik[2:4],
            holder.nik[4:6],
            holder.birth_date,
            holder.sex,
            rng.randrange(1000, 9999),
        )
        return cls(nik, " ".join(words))

    def identity(self, index: int = 0) -> Identity:
        """A fictional citizen's card data with the canary's NIK and name."""
        return replace(citizen(index), nik=self.nik, name=self.name)

    def needles(self) -> list[bytes]:
        """Every byte form that must not appear anywhere."""
        texts = {self.nik, self.name, *self.name.split()}
        texts |= {t.title() for t in texts} | {t.lower() for t in texts}
        forms: set[bytes] = set()
        for text in texts:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                forms.add(text.encode(encoding))
        return sorted(forms, key=len)

    def find(self, data: bytes) -> str | None:
        """The first form found in `data` (or in its deflate streams), or None."""
        for blob in _expanded(data):
            for needle in self.needles():
                if needle in blob:
                    return (
                        needle.decode("utf-8", "replace")
                        if b"\x00" not in needle
                        else f"{needle!r} (utf-16)"
                    )
        return None


def _expanded(data: bytes) -> list[bytes]:
    """The raw bytes plus whatever decompresses out of them (gzip file, deflate streams)."""
    blobs = [data]
    if data[:2] == b"\x1f\x8b":
        try:
            blobs.append(gzip.decompress(data))
        except (OSError, EOFError, zlib.error):
            pass
    if data[:5] == b"%PDF-":
        blobs.append(pdf_text(data))
    for match in _STREAM.finditer(data):
        try:
            blobs.append(
                zlib.decompressobj().decompress(data[match.end() : match.end() + 4_000_000])
            )
        except zlib.error:
            continue
    return blobs


def pdf_text(data: bytes) -> bytes:
    """The text of a PDF as pdftotext reads it (UTF-8)."""
    tool = shutil.which("pdftotext")
    assert tool is not None, "pdftotext missing (apt: poppler-utils)"
    result = subprocess.run(
        [tool, "-q", "-", "-"], input=data, capture_output=True, timeout=60, check=False
    )
    return result.stdout


def scan(
    canary: Canary, roots: list[Path], *, since: float = 0.0, skip: tuple[Path, ...] = ()
) -> dict[str, str]:
    """{path: form found} for files under `roots` (changed after `since`), not under `skip`."""
    leaks: dict[str, str] = {}
    skip = tuple(p.resolve() for p in skip)
    for root in roots:
        if not root.exists():
            continue
        walk = (
            os.walk(root, followlinks=False)
            if root.is_dir()
            else [(str(root.parent), [], [root.name])]
        )
        for dirpath, dirs, files in walk:
            here = Path(dirpath).resolve()
            if any(here == s or s in here.parents for s in skip):
                dirs[:] = []
                continue
            for name in files:
                path = here / name
                if path in skip:
                    continue
                try:
                    info = path.lstat()
                    if not path.is_file() or path.is_symlink() or info.st_size > MAX_FILE_BYTES:
                        continue
                    if max(info.st_mtime, info.st_ctime) < since:
                        continue
                    found = canary.find(path.read_bytes())
                except OSError:
                    continue
                if found is not None:
                    leaks[str(path)] = found
    return leaks


def system_temp_roots(since: float) -> list[Path]:
    """Entries of the shared temporary folders made or changed after `since` (pytest's own
    folders left out: the test scans its tmp_path itself; other runs' folders are not ours)."""
    found: list[Path] = []
    for folder in (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                changed = max(entry.lstat().st_mtime, entry.lstat().st_ctime)
            except OSError:
                continue
            if changed >= since and not entry.name.startswith("pytest-of-"):
                found.append(entry)
    return found
