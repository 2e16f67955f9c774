"""Region master list: importing official editions and the kiosks' download over HTTP."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from central_server.db import Database
from central_server.embedded import EmbeddedServer
from central_server.regions import (
    RegionImportError,
    current_edition,
    import_edition,
    read_edition,
    region_name,
)
from central_server.regions import (
    main as regions_main,
)
from kiosk_app.central import CentralClient
from tests.central.conftest import count_rows
from tests.region_editions import FULL_EDITION, NEW, OLD, write_edition

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(database_url: str) -> Database:
    """The central server's database with the schema in place."""
    database = Database(database_url)
    database.create_all(())
    yield database
    database.dispose()


@pytest.mark.skipif(not FULL_EDITION.is_dir(), reason="../shared/data/wilayah not present")
def test_full_country_edition_imports_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'central.db'}")
    db.create_all(())
    try:
        first = import_edition(db, FULL_EDITION, label="kode-wilayah-2020")
        assert first.changed
        assert first.counts == {
            "provinces": 34, "regencies": 514, "districts": 7266, "villages": 83467,
        }  # fmt: skip
        again = import_edition(db, FULL_EDITION)
        assert not again.changed and again.edition_id == first.edition_id
        assert count_rows(db.url, "regions") == 34 + 514 + 7266 + 83467
        assert region_name(db, "35.17.08.2007") == "Cukir"
        assert region_name(db, "93") is None  # Papua Selatan came later (2022)
        row = current_edition(db)
        assert row is not None and row.label == "kode-wilayah-2020" and row.villages == 83467
    finally:
        db.dispose()


def test_newer_edition_replaces_the_old_one(db: Database, tmp_path: Path) -> None:
    old = import_edition(db, write_edition(tmp_path / "2020", OLD))
    assert region_name(db, "9101011001") == "Kelapa Lima"
    new = import_edition(db, write_edition(tmp_path / "2022", NEW), label="kepmendagri-2022")
    assert new.changed and new.edition_id != old.edition_id
    assert region_name(db, "93") == "PAPUA SELATAN"
    assert region_name(db, "9301011001") == "Kelapa Lima"
    assert region_name(db, "9101011001") is None  # nothing of the old edition remains
    assert count_rows(db.url, "region_editions") == 1
    assert count_rows(db.url, "regions") == sum(len(rows) for rows in NEW.values())
    back = import_edition(db, tmp_path / "2020")  # re-importing the old one is a change again
    assert back.changed and back.edition_id == old.edition_id


@pytest.mark.parametrize(
    ("kind", "rows", "message"),
    [
        ("villages", "3517082007,351799,Cukir\n", "parent '351799' of 3517082007"),
        ("villages", "351708200,351708,Cukir\n", "is not 10 digits"),
        ("districts", "351708,3517,Diwek\n351708,3517,Diwek\n", "appears twice"),
        ("districts", "351708,3517\n", "expected code,parent,name"),
        ("cities", "3599,35,\n", "empty"),
    ],
)
def test_bad_edition_is_refused_and_the_current_one_kept(
    db: Database, tmp_path: Path, kind: str, rows: str, message: str
) -> None:
    good = import_edition(db, write_edition(tmp_path / "good", OLD))
    bad = write_edition(tmp_path / "bad", NEW)
    (bad / f"{kind}.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(RegionImportError, match=message) as failure:
        import_edition(db, bad)
    assert f"{kind}.csv line" in str(failure.value)
    row = current_edition(db)
    assert row is not None and row.edition_id == good.edition_id
    assert region_name(db, "9101011001") == "Kelapa Lima"


def test_missing_file_and_header_line(tmp_path: Path) -> None:
    edition = write_edition(tmp_path / "e", OLD)
    with open(edition / "provinces.csv", "r+", encoding="utf-8") as handle:
        body = handle.read()
        handle.seek(0)
        handle.write("kode,nama\n" + body)  # a header line is skipped
    assert read_edition(edition)["91"] == "PAPUA"
    (edition / "villages.csv").unlink()
    with pytest.raises(RegionImportError, match="villages.csv: cannot open"):
        read_edition(edition)


def _get(server: EmbeddedServer, token: str | None, etag: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if etag:
        headers["If-None-Match"] = etag
    return requests.get(f"{server.base_url}/api/v1/regions", headers=headers, timeout=30)


def test_download_with_etag(
    server: EmbeddedServer, client: CentralClient, database_url: str, tmp_path: Path
) -> None:
    assert _get(server, None).status_code == 401
    missing = _get(server, client.token)
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "no_regions"
    db = Database(database_url)
    try:
        first = import_edition(db, write_edition(tmp_path / "2020", OLD))
        answer = _get(server, client.token)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/gzip"
        assert answer.headers["ETag"] == f'"{first.edition_id}"'
        document = json.loads(gzip.decompress(answer.content))
        assert document["edition"] == first.edition_id
        assert ["3517082007", "Cukir"] in document["regions"]
        assert len(document["regions"]) == sum(len(rows) for rows in OLD.values())
        assert _get(server, client.token, answer.headers["ETag"]).status_code == 304
        edition = requests.get(
            f"{server.base_url}/api/v1/regions/edition",
            headers={"Authorization": f"Bearer {client.token}"}, timeout=30,
        ).json()  # fmt: skip
        assert edition["edition"] == first.edition_id and edition["counts"]["villages"] == 5
        newer = import_edition(db, write_edition(tmp_path / "2022", NEW))
        changed = _get(server, client.token, answer.headers["ETag"])
        assert changed.status_code == 200 and changed.headers["ETag"] == f'"{newer.edition_id}"'
        regions = dict(json.loads(gzip.decompress(changed.content))["regions"])
        assert regions["93"] == "PAPUA SELATAN" and "9101" not in regions
    finally:
        db.dispose()


def test_import_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    edition = write_edition(tmp_path / "2022", NEW)
    command = [sys.executable, "-m", "kiosk_app", "central", "--import-regions", str(edition),
               "--db", url]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "imported" and summary["provinces"] == 3
    (edition / "cities.csv").write_text("9301,93\n", encoding="utf-8")
    assert regions_main(["import", str(edition), "--db", url]) == 1
    assert "cities.csv line 1" in capsys.readouterr().err
    assert count_rows(url, "regions") == sum(len(rows) for rows in NEW.values())
