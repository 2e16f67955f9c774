"""Every route is built when create_app returns (FastAPI would build an included router's on
the first request reaching it), and two app servers of one process, built and first asked at
once from their threads, answer without letting out the warning FastAPI silences while it
builds (central_server/route_build.py)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
import requests
from fastapi import FastAPI
from fastapi._compat.v2 import ModelField
from fastapi.routing import _IncludedRouter

from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from tests.central.conftest import ADMIN_TOKEN, TODAY

# One request per area, in the app's route order (the last walks past every router), a page,
# the OpenAPI document and a path no route matches.
FIRST_ASKED = (
    ("/login", 200),
    ("/health", 200),
    ("/display/3517", 200),
    ("/api/v1/fleet/kiosks", 401),
    ("/fleet/alerts", 303),
    ("/api/v1/slots", 401),
    ("/openapi.json", 200),
    ("/no-such-page", 404),
)


def new_app(folder: Path) -> FastAPI:
    """An app on its own SQLite file."""
    folder.mkdir(exist_ok=True)
    return create_app(
        f"sqlite:///{folder / 'central.db'}",
        today=lambda: TODAY,
        admin_token=ADMIN_TOKEN,
        background_loops=False,
    )


def included(routes: list[Any]) -> Iterator[_IncludedRouter]:
    """Every included router FastAPI matches requests through: the app's, and the branches
    each holds for the routers included in it."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield route
            yield from included(route._effective_candidates)


def unbuilt(app: FastAPI) -> list[str]:
    """The included routers whose routes (or, for the app's own, whose low-priority routes)
    FastAPI has yet to build, by prefix and first route path."""
    found = []
    for branch in included(list(app.routes)):
        version = branch.original_router._get_routes_version()
        if branch._effective_candidates_version != version:
            first = next((r.path for r in branch.original_router.routes if hasattr(r, "path")), "")
            found.append(f"{branch.include_context.prefix or '-'} {first}")
    for branch in (r for r in app.routes if isinstance(r, _IncludedRouter)):
        version = branch.original_router._get_routes_version()
        if branch._effective_low_priority_routes_version != version:
            found.append(f"low priority of {branch.include_context.prefix or '-'}")
    return found


def test_create_app_leaves_no_route_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI's own record of what it built says every router is built; and no request,
    whichever area it reaches, builds a route handler (FastAPI's one function for it)."""
    app = new_app(tmp_path / "a")
    assert sum(isinstance(r, _IncludedRouter) for r in app.routes) >= 5  # the areas
    assert unbuilt(app) == []
    built: list[str] = []
    populate = fastapi.routing._populate_api_route_state

    def counting(route: Any, path: str, *args: Any, **kwargs: Any) -> None:
        built.append(path)
        populate(route, path, *args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "_populate_api_route_state", counting)
    with EmbeddedServer(app, "127.0.0.1", 0).start() as server, requests.Session() as http:
        answers = [
            http.get(server.base_url + path, allow_redirects=False, timeout=10).status_code
            for path, _ in FIRST_ASKED
        ]
    assert answers == [status for _, status in FIRST_ASKED]
    assert built == []  # was every area's routes on its first request


class Overlap:
    """Counts FastAPI's model-field builds (each under warnings.catch_warnings()) running at
    once in this process: the race needs two."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.running = self.most = 0
        self._lock = threading.Lock()
        build = ModelField.__post_init__

        def counted(field: ModelField) -> None:
            with self._lock:
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                build(field)
            finally:
                with self._lock:
                    self.running -= 1

        monkeypatch.setattr(ModelField, "__post_init__", counted)


@pytest.mark.filterwarnings("error::pydantic.warnings.UnsupportedFieldAttributeWarning")
def test_two_apps_built_and_first_asked_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps built at the same moment from two threads, then asked their first requests at
    once through both servers: every answer is the route's own (no 500, no failed build; the
    warning FastAPI silences is an error here), and FastAPI never built two model fields at
    once (the race behind the warning: it let one out now and then; the interpreter switches
    threads often here so that builds would meet)."""
    new_app(tmp_path / "before")  # a process that built an app before, as a test run has
    overlap = Overlap(monkeypatch)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for attempt in range(2):
            start = threading.Barrier(2)

            def build(name: str, attempt: int = attempt, start: threading.Barrier = start) -> Any:
                start.wait()
                return new_app(tmp_path / f"{name}{attempt}")

            with ThreadPoolExecutor(max_workers=2) as pool:
                apps = list(pool.map(build, ("a", "b")))
            servers = [EmbeddedServer(app, "127.0.0.1", 0).start() for app in apps]
            try:
                calls = [(s, path) for path, _ in FIRST_ASKED for s in servers]
                asked = threading.Barrier(len(calls))

                def ask(call: tuple[EmbeddedServer, str], asked: threading.Barrier = asked) -> int:
                    asked.wait()
                    url = call[0].base_url + call[1]
                    return requests.get(url, allow_redirects=False, timeout=30).status_code

                with ThreadPoolExecutor(max_workers=len(calls)) as pool:
                    answers = list(pool.map(ask, calls))
            finally:
                for server in servers:
                    server.stop()
            assert answers == [status for _, status in FIRST_ASKED for _ in servers], attempt
    finally:
        sys.setswitchinterval(interval)
    assert overlap.most == 1
