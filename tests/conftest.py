"""Suite-wide guards."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _sigpipe_stays_ignored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Python ignores SIGPIPE (a write to a reset socket raises instead of killing us); a C
    library that restores the default would let one reset connection kill the whole run."""
    yield
    if signal.getsignal(signal.SIGPIPE) != signal.SIG_IGN:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        logging.getLogger(__name__).warning("%s left SIGPIPE at its default", request.node.nodeid)
