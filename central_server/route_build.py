"""FastAPI's route handlers and OpenAPI document, built up front and one at a time.

FastAPI (0.16x) builds the handlers of an included router's routes (their dependencies and
model fields) on the first request that reaches the router, on the event loop: the first
citizen to call each area of the API waited for it. It builds model fields under
warnings.catch_warnings(), which swaps the process's one list of warning filters; two threads
building at once (two app servers of one process, the suite's) can leave one building without
the filter that silences pydantic's UnsupportedFieldAttributeWarning: under an "error" filter, a
failed app or a 500. So create_app builds every route before the app serves (build_routes),
and whatever builds FastAPI models here (create_app, the OpenAPI document) holds BUILDING.
"""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

BUILDING = threading.RLock()  # one app, or one OpenAPI document, built at a time


def build_routes(app: FastAPI) -> int:
    """Build the request handler of every route of `app` now; returns how many routes it has.

    Walking the routes with their inclusion contexts (as the OpenAPI document does) builds
    those FastAPI would build on a first request; the low-priority routes (tried when no route
    matches: a 404's first request built them) too."""
    with BUILDING:
        count = sum(1 for _ in iter_route_contexts(app.routes))
        for _route in app.router._iter_low_priority_routes():
            pass
    return count
