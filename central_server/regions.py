"""Region master list: import an official edition from CSV, serve it to kiosks (gzip + ETag).

`python -m central_server.regions import DIR [--db URL] [--label NAME]` reads DIR/provinces.csv,
cities.csv, districts.csv and villages.csv (code,parent,name; provinces: code,name) and makes
them the current edition in one transaction. The edition id is a hash of the content, so
importing the same files again changes nothing, and a newer edition replaces the old atomically.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from fastapi.responses import Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from central_server.db import Database
from central_server.kiosk_auth import KioskGuard
from central_server.region_models import Region, RegionEdition
from central_server.schemas import Error
from central_server.settings import DEFAULT_DATABASE_URL

log = logging.getLogger(__name__)

FILES = (("provinces.csv", 2), ("cities.csv", 4), ("districts.csv", 6), ("villages.csv", 10))
PAYLOAD_FORMAT = 1
_BATCH = 5000


class RegionImportError(ValueError):
    """The edition's files are missing or malformed (the message names file and line)."""


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the current edition, whether it changed, and its counts."""

    edition_id: str
    changed: bool
    counts: dict[str, int]


def read_edition(directory: Path) -> dict[str, str]:
    """Read and check the four CSV files of an edition; return {code: name}, provinces first."""
    names: dict[str, str] = {}
    for filename, length in FILES:
        path = Path(directory) / filename
        try:
            handle = path.open(encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise RegionImportError(f"{path}: cannot open: {exc.strerror or exc}") from exc
        with handle:
            try:
                for line, row in enumerate(csv.reader(handle), start=1):
                    _read_row(names, filename, line, row, length)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise RegionImportError(f"{filename}: unreadable CSV: {exc}") from exc
    if not any(len(code) == 10 for code in names):
        raise RegionImportError("villages.csv: no kelurahan/desa in this edition")
    return names


def _read_row(names: dict[str, str], filename: str, line: int, row: list[str], length: int) -> None:
    cells = [cell.strip() for cell in row]
    if not any(cells):
        return
    if line == 1 and not cells[0].isdigit():
        return  # a header line
    where = f"{filename} line {line}"
    if length == 2 and len(cells) == 2:
        cells = [cells[0], "", cells[1]]
    if len(cells) != 3:
        raise RegionImportError(f"{where}: expected code,parent,name, got {len(cells)} columns")
    code, parent, name = cells
    if len(code) != length or not code.isdigit() or not code.isascii():
        raise RegionImportError(f"{where}: code {code!r} is not {length} digits")
    expected = "" if length == 2 else code[: 6 if length == 10 else length - 2]
    if parent.replace(".", "") != expected:
        raise RegionImportError(f"{where}: parent {parent!r} of {code} should be {expected!r}")
    if expected and expected not in names:
        raise RegionImportError(f"{where}: parent {expected} of {code} is not in the edition")
    if not name or len(name) > 200:
        raise RegionImportError(f"{where}: name of {code} is empty or longer than 200 characters")
    if code in names:
        raise RegionImportError(f"{where}: code {code} appears twice")
    names[code] = " ".join(name.split())


def _counts(names: dict[str, str]) -> dict[str, int]:
    by_length = {2: 0, 4: 0, 6: 0, 10: 0}
    for code in names:
        by_length[len(code)] += 1
    return {"provinces": by_length[2], "regencies": by_length[4],
            "districts": by_length[6], "villages": by_length[10]}  # fmt: skip


def build_payload(edition_id: str, label: str, names: dict[str, str]) -> bytes:
    """The kiosks' download: gzip'd compact JSON, byte-identical for identical content."""
    document = {
        "format": PAYLOAD_FORMAT,
        "edition": edition_id,
        "label": label,
        "regions": [[code, names[code]] for code in sorted(names, key=lambda c: (len(c), c))],
    }
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=9, mtime=0)


def import_edition(db: Database, directory: Path, label: str | None = None) -> ImportResult:
    """Make the edition in `directory` current (no-op when its content already is)."""
    return import_names(db, read_edition(directory), label or Path(directory).resolve().name)


def import_names(db: Database, names: dict[str, str], label: str) -> ImportResult:
    """Make the edition `names` ({code: name}) current (no-op when its content already is)."""
    canonical = "\n".join(f"{c}\t{names[c]}" for c in sorted(names)).encode()
    digest = hashlib.sha256(canonical).hexdigest()
    edition_id = digest[:16]
    counts = _counts(names)
    label = label[:120]
    with db.transaction() as session:
        current = session.scalar(select(RegionEdition).where(RegionEdition.is_current))
        if current is not None and current.content_sha256 == digest:
            log.info("region edition %s already current; nothing to import", edition_id)
            return ImportResult(edition_id, False, counts)
        session.execute(delete(Region).where(Region.edition_id == edition_id))  # a stale copy
        session.execute(delete(RegionEdition).where(RegionEdition.edition_id == edition_id))
        session.add(RegionEdition(
            edition_id=edition_id, label=label, imported_at=datetime.now(UTC),
            content_sha256=digest, is_current=False,
            payload=build_payload(edition_id, label, names), **counts,
        ))  # fmt: skip
        session.flush()
        rows = [
            {"edition_id": edition_id, "code": code, "level": _level(code), "name": name}
            for code, name in names.items()
        ]
        for start in range(0, len(rows), _BATCH):
            session.execute(insert(Region), rows[start : start + _BATCH])
        _retire_others(session, edition_id)
    log.info("region edition %s (%s) imported: %s", edition_id, label, counts)
    return ImportResult(edition_id, True, counts)


def _level(code: str) -> int:
    return {2: 1, 4: 2, 6: 3, 10: 4}[len(code)]


def _retire_others(session: Session, edition_id: str) -> None:
    """Drop every other edition and make `edition_id` current (inside the import's transaction)."""
    old = session.scalars(
        select(RegionEdition.edition_id).where(RegionEdition.edition_id != edition_id)
    ).all()
    if old:
        session.execute(delete(Region).where(Region.edition_id.in_(old)))
        session.execute(delete(RegionEdition).where(RegionEdition.edition_id.in_(old)))
    session.execute(
        update(RegionEdition).where(RegionEdition.edition_id == edition_id).values(is_current=True)
    )


def current_edition(db: Database) -> RegionEdition | None:
    """The current edition's row (payload not loaded), None before the first import."""
    with db.transaction() as session:
        return session.scalar(select(RegionEdition).where(RegionEdition.is_current))


def region_name(db: Database, code: str) -> str | None:
    """Name of a region in the current edition, None when unknown."""
    with db.transaction() as session:
        return session.scalar(
            select(Region.name)
            .join(RegionEdition, RegionEdition.edition_id == Region.edition_id)
            .where(RegionEdition.is_current, Region.code == code.replace(".", ""))
        )


def _no_edition() -> HTTPException:
    return HTTPException(
        404, {"code": "no_regions", "message": "no region edition imported on this server"}
    )


def build_router(db: Database, kiosk_dependency: KioskGuard) -> APIRouter:
    """Kiosk endpoints: the current edition's id, and its download with ETag/If-None-Match."""
    router = APIRouter(prefix="/api/v1/regions", tags=["regions"],
                       dependencies=[Depends(kiosk_dependency)])  # fmt: skip

    @router.get("/edition", responses={404: {"model": Error}})
    def edition() -> dict[str, Any]:
        """Id, label and counts of the current edition (cheap: kiosks poll it)."""
        row = current_edition(db)
        if row is None:
            raise _no_edition()
        return {
            "edition": row.edition_id, "label": row.label,
            "imported_at": row.imported_at.isoformat(),
            "counts": {"provinces": row.provinces, "regencies": row.regencies,
                       "districts": row.districts, "villages": row.villages},
        }  # fmt: skip

    @router.get("", responses={200: {"content": {"application/gzip": {}}}, 304: {}, 404: {}})
    def download(if_none_match: Annotated[str | None, Header()] = None) -> Response:
        """The whole current edition as gzip'd JSON; 304 when the kiosk already has it."""
        row = current_edition(db)
        if row is None:
            raise _no_edition()
        etag = f'"{row.edition_id}"'
        headers = {"ETag": etag, "X-Region-Edition": row.edition_id, "Cache-Control": "no-cache"}
        wanted = {t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")}
        if etag in wanted or "*" in wanted:
            return Response(status_code=304, headers=headers)
        with db.transaction() as session:
            payload = session.scalar(
                select(RegionEdition.payload).where(RegionEdition.edition_id == row.edition_id)
            )
        if payload is None:  # replaced between the two reads: the kiosk asks again later
            raise HTTPException(503, {"code": "edition_changed", "message": "try again"})
        return Response(payload, media_type="application/gzip", headers=headers)

    return router


def main(argv: list[str] | None = None) -> int:
    """`python -m central_server.regions import DIR`: import an official edition."""
    parser = argparse.ArgumentParser(prog="central_server.regions", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import an edition from a directory of CSV files")
    imp.add_argument("directory", type=Path)
    imp.add_argument("--label", help="a name for the edition (default: the directory's name)")
    imp.add_argument(
        "--db",
        default=os.environ.get("ANJUNGAN_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="SQLAlchemy database URL (default: $ANJUNGAN_DATABASE_URL or ./var/central.db)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run_import(args.directory, args.db, args.label)


def run_import(directory: Path, database_url: str, label: str | None = None) -> int:
    """Import into `database_url` and print one summary line; exit status 0, or 1 on bad input."""
    db = Database(database_url)
    try:
        db.create_all(())
        result = import_edition(db, directory, label)
    except RegionImportError as exc:
        print(f"region import failed: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    state = "imported" if result.changed else "unchanged"
    print(json.dumps({"edition": result.edition_id, "status": state, **result.counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
