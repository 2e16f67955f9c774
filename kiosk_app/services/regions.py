"""The kiosk's copy of the region master list: a cached download, refreshed when it changes.

The file `<data_dir>/regions.json.gz` holds the central server's download byte for byte. At
start the kiosk loads it (or, if it was never downloaded, the built-in sample of
kiosk_app.domain.regions), then asks the server for the current edition's id and downloads
only when it differs (If-None-Match); it asks again every `refresh_interval_s`. Every failure
keeps the list it has and logs one line; nothing here raises into the UI.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk_app.domain.region_search import RegionTree, SearchResult, tree_from_payload
from kiosk_app.domain.regions import sample_regions
from kiosk_app.services.durable import (
    STORAGE,
    UNWRITABLE,
    set_aside_damaged,
    write_atomically,
    write_problem,
)

if TYPE_CHECKING:
    from kiosk_app.central import CentralClient

log = logging.getLogger(__name__)

CACHE_FILE = "regions.json.gz"
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
BUILTIN = "builtin"


class RegionCache:
    """Thread-safe access to the current region tree; `start()` loads and refreshes it."""

    def __init__(
        self,
        central: CentralClient | None,
        data_dir: Path,
        *,
        refresh_interval_s: float = 3600.0,
        first_delay_s: float = 0.0,
        timeout_s: float = 30.0,
    ) -> None:
        self._central = central
        self.path = Path(data_dir) / CACHE_FILE
        self._interval = refresh_interval_s
        self._first_delay = first_delay_s
        self._timeout = timeout_s
        self._tree = RegionTree(sample_regions(), edition="", source=BUILTIN)
        self._lock = threading.Lock()  # one refresh at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[RegionTree], None]] = []
        self.loaded = threading.Event()  # set once the cached file (if any) was read

    # -- the current tree ----------------------------------------------------------------------
    @property
    def tree(self) -> RegionTree:
        """The region tree in use (replaced as a whole, never changed in place)."""
        return self._tree

    @property
    def edition(self) -> str:
        """Id of the edition in use ("" for the built-in sample)."""
        return self._tree.edition

    @property
    def source(self) -> str:
        """Where the tree came from: "builtin", "cache" or "central"."""
        return self._tree.source

    def name(self, code: str) -> str:
        """Name of a region ("" when unknown)."""
        return self._tree.name(code)

    def label(self, code: str) -> str:
        """Name with its kind ("Kec. Diwek")."""
        return self._tree.label(code)

    def describe(self, code: str) -> str:
        """The whole place ("Desa Cukir, Kec. Diwek, Kab. Jombang, Prov. Jawa Timur")."""
        return self._tree.describe(code)

    def context(self, code: str) -> str:
        """Where a region lies ("Kec. Diwek, Kab. Jombang, Prov. Jawa Timur")."""
        return self._tree.context(code)

    def lineage(self, code: str) -> list[str]:
        """The code and its ancestors, up to the province."""
        return self._tree.lineage(code)

    def children(self, code: str | None = None) -> tuple[str, ...]:
        """Codes one level below `code` (None: provinces), sorted by name."""
        return self._tree.children(code)

    def search(self, query: str, level: int = 4, limit: int = 30) -> SearchResult:
        """Search-as-you-type over the regions of `level`."""
        return self._tree.search(query, level, limit)

    def add_listener(self, listener: Callable[[RegionTree], None]) -> None:
        """Call `listener(tree)` (on a worker thread) whenever a new tree is in use."""
        self._listeners.append(listener)

    def _use(self, tree: RegionTree) -> None:
        tree.index(4)  # build the village index here, not on the first keystroke
        self._tree = tree
        for listener in list(self._listeners):
            try:
                listener(tree)
            except Exception:  # a listener's bug must not stop refreshing
                log.exception("region listener failed")

    # -- loading and refreshing ----------------------------------------------------------------
    def load(self) -> bool:
        """Use the cached download if there is a valid one; True when it was used."""
        try:
            if not self.path.is_file():
                log.info("regions: no cached edition yet; using the built-in sample")
                return False
            tree = self._parse(self.path.read_bytes(), source="cache")
        except (OSError, ValueError) as exc:
            log.warning(
                "regions: cached file %s unusable (%s); using the built-in sample", self.path, exc
            )
            set_aside_damaged(self.path, str(exc), "; the next refresh downloads the edition again")
            return False
        finally:
            self.loaded.set()
        self._use(tree)
        log.info("regions: cached edition %s loaded (%d regions)", tree.edition, len(tree))
        return True

    @staticmethod
    def _parse(blob: bytes, source: str) -> RegionTree:
        try:
            document = json.loads(gzip.decompress(blob))
        except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
            raise ValueError(f"not a gzip'd region list: {exc}") from exc
        if not isinstance(document, dict):
            raise ValueError("region list is not a JSON object")
        return tree_from_payload(document, source=source)

    def refresh(self) -> str:
        """Download the server's edition if it differs from ours; returns what happened.

        "updated", "unchanged", "unavailable" (server unreachable or failing), "no_edition"
        (nothing imported on the server yet) or "invalid" (a download that did not check out).
        """
        if self._central is None:
            return "unavailable"
        from kiosk_app.central import CentralError

        with self._lock:
            try:
                # _call enrols a development kiosk first and maps every failure to CentralError.
                answer = self._central._call(
                    "GET", "/api/v1/regions/edition", what="region edition"
                )
            except CentralError as exc:
                if exc.code == "no_regions":
                    log.info("regions: the central server has no edition yet")
                    return "no_edition"
                return "unavailable"  # already logged by the client
            edition = str(answer.get("edition", "")) if isinstance(answer, dict) else ""
            if edition and edition == self.edition and self.source != BUILTIN:
                return "unchanged"
            return self._download(edition)

    def _download(self, announced: str) -> str:
        """GET the whole list (If-None-Match: our edition), check it, store it, use it."""
        import requests

        central = self._central
        assert central is not None
        headers = {"Authorization": f"Bearer {central.token}", "Accept-Encoding": "identity"}
        if self.edition and self.source != BUILTIN:
            headers["If-None-Match"] = f'"{self.edition}"'
        url = central.base_url + "/api/v1/regions"
        try:
            with central.session.get(
                url, headers=headers, timeout=self._timeout, stream=True, verify=central.verify
            ) as response:
                if response.status_code == 304:
                    return "unchanged"
                if response.status_code != 200:
                    log.warning(
                        "regions: download of edition %s: HTTP %d", announced, response.status_code
                    )
                    return "unavailable"
                etag = response.headers.get("ETag", "").strip('"')
                blob = response.raw.read(MAX_DOWNLOAD_BYTES + 1, decode_content=False)
        except requests.RequestException as exc:
            log.warning(
                "regions: download of edition %s failed: %s: %s", announced, type(exc).__name__, exc
            )
            return "unavailable"
        try:
            if len(blob) > MAX_DOWNLOAD_BYTES:
                raise ValueError(f"larger than {MAX_DOWNLOAD_BYTES} bytes")
            tree = self._parse(blob, source="central")
            if not tree.edition or tree.edition != etag:
                raise ValueError(f"edition {tree.edition!r} does not match ETag {etag!r}")
        except ValueError as exc:
            log.warning("regions: download of edition %s rejected: %s", announced, exc)
            return "invalid"
        try:
            self._store(blob)
        except OSError as exc:  # still use it now; the next start downloads again
            log.warning("regions: cannot write %s: %s", self.path, exc)
            STORAGE.report(self.path, write_problem(exc) or UNWRITABLE, str(exc))
        else:
            STORAGE.writable_again(self.path)
        self._use(tree)
        log.info(
            "regions: edition %s downloaded (%d bytes, %d regions)",
            tree.edition,
            len(blob),
            len(tree),
        )
        return "updated"

    def _store(self, blob: bytes) -> None:
        """Write the download whole or not at all, durably (durable.write_atomically)."""
        write_atomically(self.path, blob)

    # -- background thread ---------------------------------------------------------------------
    def start(self) -> None:
        """Load and refresh on a daemon thread, then refresh every `refresh_interval_s`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="region-cache", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._stop.wait(self._first_delay):
            return
        self.load()
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # never let the refresher die silently
                log.exception("regions: refresh failed")
            if self._stop.wait(self._interval):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread (a download in progress ends at its timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
