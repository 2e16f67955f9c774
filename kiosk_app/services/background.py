"""Background work whose failures are always logged (a future nobody reads hides its exception)."""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)


def log_failure(future: Future[Any]) -> None:
    """Done-callback: log the exception a background job ended with (cancelled jobs pass)."""
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        log.error("background job failed: %s", type(error).__name__, exc_info=error)


def watched(future: Future[Any]) -> Future[Any]:
    """`future`, with its exception (if any) logged when it ends."""
    future.add_done_callback(log_failure)
    return future
