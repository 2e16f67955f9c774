"""The kiosk's region cache against a real central server on loopback, and offline."""

from __future__ import annotations

import gzip
import http.server
import json
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central_server.db import Database
from central_server.embedded import EmbeddedServer, start_embedded
from central_server.regions import import_edition
from kiosk_app.central import CentralClient
from kiosk_app.services.durable import STORAGE
from kiosk_app.services.regions import CACHE_FILE, RegionCache
from tests.region_editions import NEW, OLD, write_edition
from tests.services.test_durable_files import _in_namespace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def central(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, Database, CentralClient]]:
    """A central server (SQLite), its database and an enrolling kiosk client."""
    url = f"sqlite:///{tmp_path / 'central.db'}"
    with start_embedded(url, open_enrolment=True) as server:
        db = Database(url)
        client = CentralClient(server.base_url, "KIOSK-T-01", "3517", enrol_as="test", timeout=10)
        try:
            yield server, db, client
        finally:
            client.close()
            db.dispose()


def test_first_download_then_only_when_the_edition_changes(
    central: tuple[EmbeddedServer, Database, CentralClient], tmp_path: Path
) -> None:
    server, db, client = central
    cache = RegionCache(client, tmp_path / "kiosk")
    assert cache.source == "builtin" and cache.describe("3517082007").startswith("Desa Cukir")
    assert cache.refresh() == "no_edition"  # nothing imported yet: keep the sample
    old = import_edition(db, write_edition(tmp_path / "2020", OLD))
    assert cache.refresh() == "updated"
    assert (cache.edition, cache.source) == (old.edition_id, "central")
    assert (tmp_path / "kiosk" / CACHE_FILE).is_file()
    assert cache.search("kelapa").codes == ("9101011001",)
    assert cache.refresh() == "unchanged"
    new = import_edition(db, write_edition(tmp_path / "2022", NEW))
    assert cache.refresh() == "updated" and cache.edition == new.edition_id
    assert cache.describe("9301011001") == (
        "Kel. Kelapa Lima, Kec. Merauke, Kab. Merauke, Prov. Papua Selatan"
    )
    assert cache.name("9101011001") == ""
    assert [cache.label(c) for c in cache.children(None)] == [
        "Prov. Jawa Timur", "Prov. Papua", "Prov. Papua Selatan",
    ]  # fmt: skip
    # A restarted kiosk with the server gone uses the stored download.
    server.stop()
    assert cache.refresh() == "unavailable" and cache.edition == new.edition_id
    again = RegionCache(client, tmp_path / "kiosk")
    assert again.load() and again.source == "cache" and again.edition == new.edition_id
    assert again.refresh() == "unavailable" and again.search("sentani").total == 1


def test_background_refresh_and_a_corrupt_cache(
    central: tuple[EmbeddedServer, Database, CentralClient], tmp_path: Path
) -> None:
    _server, db, client = central
    new = import_edition(db, write_edition(tmp_path / "2022", NEW))
    (tmp_path / "kiosk").mkdir()
    (tmp_path / "kiosk" / CACHE_FILE).write_bytes(b"not gzip at all")
    cache = RegionCache(client, tmp_path / "kiosk", refresh_interval_s=60)
    cache.start()
    try:
        deadline = time.monotonic() + 120  # a hang detector: slow only on a busy machine
        while cache.edition != new.edition_id and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cache.loaded.is_set() and cache.edition == new.edition_id
        stored = json.loads(gzip.decompress((tmp_path / "kiosk" / CACHE_FILE).read_bytes()))
        assert stored["edition"] == new.edition_id  # the corrupt file was replaced...
        kept = list((tmp_path / "kiosk").glob(CACHE_FILE + ".damaged-*"))
        assert [k.read_bytes() for k in kept] == [b"not gzip at all"]  # ...and kept aside
        status = STORAGE.status()
        assert status["state"] == "damaged" and CACHE_FILE in status["files"]
    finally:
        cache.stop()


def test_never_downloaded_and_offline_uses_the_builtin_sample(tmp_path: Path) -> None:
    client = CentralClient("http://127.0.0.1:9", "KIOSK-T-02", "3517", enrol_as="t", timeout=2)
    cache = RegionCache(client, tmp_path)
    assert not cache.load()
    assert cache.refresh() == "unavailable"
    assert cache.source == "builtin" and not (tmp_path / CACHE_FILE).exists()
    assert cache.search("sengon").codes == ("3517092009",)
    assert RegionCache(None, tmp_path).refresh() == "unavailable"


class _LyingServer(http.server.BaseHTTPRequestHandler):
    """Announces an edition, then sends a download that does not check out."""

    body = b""

    def do_GET(self) -> None:
        if self.path.endswith("/edition"):
            payload = json.dumps({"edition": "abc"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            payload = self.body
            self.send_response(200)
            self.send_header("ETag", '"abc"')
            self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: object) -> None:
        """Quiet."""


@pytest.mark.parametrize(
    "body",
    [
        b"\x1f\x8b garbage",
        gzip.compress(b"[1, 2]"),
        gzip.compress(json.dumps({"edition": "other", "regions": [["35", "X"]]}).encode()),
        gzip.compress(json.dumps({"edition": "abc", "regions": []}).encode()),
    ],
    ids=["not-gzip", "not-an-object", "wrong-edition", "empty"],
)
def test_a_bad_download_is_refused_and_the_cache_kept(tmp_path: Path, body: bytes) -> None:
    handler = type("Handler", (_LyingServer,), {"body": body})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        client = CentralClient(url, "KIOSK-T-03", "3517", token="t0ken", timeout=5)
        cache = RegionCache(client, tmp_path)
        assert cache.refresh() == "invalid"
        assert cache.source == "builtin" and not (tmp_path / CACHE_FILE).exists()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


REFRESH_CHILD = textwrap.dedent("""
    import errno, json, sys
    from pathlib import Path
    from kiosk_app.central import CentralClient
    from kiosk_app.services.durable import STORAGE
    from kiosk_app.services.regions import CACHE_FILE, RegionCache
    folder, url, fill = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "fill"
    if fill:  # take every byte of the tiny disk
        with open(folder / "ballast", "wb", buffering=0) as ballast:
            try:
                while True:
                    ballast.write(b"x" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    client = CentralClient(url, "KIOSK-T-09", "3517", enrol_as="test", timeout=10)
    cache = RegionCache(client, folder)
    loaded = cache.load()
    outcome = cache.refresh()
    print(json.dumps({
        "loaded_before": loaded,
        "outcome": outcome,
        "edition": cache.edition,
        "found": cache.search("sentani").total,
        "health": STORAGE.status(),
        "left_over": sorted(p.name for p in folder.iterdir() if p.name != "ballast"),
    }))
""")


def test_a_read_only_data_folder_keeps_the_old_cache_and_uses_the_download(
    central: tuple[EmbeddedServer, Database, CentralClient], tmp_path: Path
) -> None:
    server, db, client = central
    folder = tmp_path / "kiosk"
    old = import_edition(db, write_edition(tmp_path / "2020", OLD))
    assert RegionCache(client, folder).refresh() == "updated"
    kept = (folder / CACHE_FILE).read_bytes()
    new = import_edition(db, write_edition(tmp_path / "2022", NEW))
    readonly = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    result = _in_namespace(folder, readonly, REFRESH_CHILD, server.base_url, "keep")
    assert result["loaded_before"] is True  # the stored edition was read first
    assert (result["outcome"], result["edition"]) == ("updated", new.edition_id)
    assert result["found"] == 1  # the citizen searches the new edition now
    assert result["health"]["state"] == "unwritable" and CACHE_FILE in result["health"]["files"]
    assert (folder / CACHE_FILE).read_bytes() == kept  # the old cache is untouched
    again = RegionCache(client, folder)
    assert again.load() and again.edition == old.edition_id  # and still usable after


def _refresh_mounted(
    central: tuple[EmbeddedServer, Database, CentralClient],
    tmp_path: Path,
    mount: str,
    fill: str,
    cache: bytes | None = None,
) -> tuple[dict[str, Any], Path]:
    """A kiosk folder (holding `cache` as its cached edition) re-mounted by `mount` ({folder}
    in it), refreshed by a child process while a new edition is out: it uses the download."""
    server, db, _client = central
    folder = tmp_path / "kiosk"
    folder.mkdir()
    if cache is not None:
        (folder / CACHE_FILE).write_bytes(cache)
    new = import_edition(db, write_edition(tmp_path / "2022", NEW))
    result = _in_namespace(
        folder, mount.format(folder=folder), REFRESH_CHILD, server.base_url, fill
    )
    assert result["loaded_before"] is False
    assert (result["outcome"], result["edition"]) == ("updated", new.edition_id)
    assert result["found"] == 1
    return result, folder


def test_a_damaged_cache_on_a_read_only_data_folder_is_left_and_the_download_used(
    central: tuple[EmbeddedServer, Database, CentralClient], tmp_path: Path
) -> None:
    """A damaged cache that cannot be moved aside (the folder is read-only): the kiosk starts
    (no OSError out of load), says the file is damaged, and uses the download."""
    damaged = b"\x00 not a region edition"
    readonly = "mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
    result, folder = _refresh_mounted(central, tmp_path, readonly, "keep", damaged)
    assert CACHE_FILE in result["health"]["files"]
    assert (folder / CACHE_FILE).read_bytes() == damaged


def test_a_full_disk_uses_the_download_and_leaves_no_half_written_file(
    central: tuple[EmbeddedServer, Database, CentralClient], tmp_path: Path
) -> None:
    tiny = "mount -t tmpfs -o size=64k tmpfs {folder}"
    result, _folder = _refresh_mounted(central, tmp_path, tiny, "fill")
    assert result["health"]["state"] == "full" and CACHE_FILE in result["health"]["files"]
    assert result["left_over"] == []  # no half-written regions.json.tmp holding the space
