"""Suite-wide guards."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

# pcscd owns a fixed socket (/run/pcscd/pcscd.comm): one definition of its session fixture for
# the whole suite, so every package that uses it shares one daemon instead of starting a second.
from tests.drivers.pcsc.fixtures import pcsc_testbed  # noqa: F401  (session fixture)

SIGPIPE_BIT = 1 << 12  # signal 13 in /proc/self/status's SigIgn mask


def sigpipe_ignored() -> bool:
    """What the kernel says (signal.getsignal only knows what Python itself set)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & SIGPIPE_BIT)
    return True


@pytest.fixture(autouse=True)
def _sigpipe_stays_ignored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Python ignores SIGPIPE (a write to a reset socket raises instead of killing us); a C
    library that restores the default would let one reset connection kill the whole run."""
    yield
    if not sigpipe_ignored():
        import signal

        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        logging.getLogger(__name__).warning("%s left SIGPIPE at its default", request.node.nodeid)


@pytest.fixture(autouse=True)
def _storage_health_forgotten() -> Iterator[None]:
    """The kiosk-wide record of damaged or unwritable files is per process: each test starts
    with none, so one test's damaged file never shows in another's health report."""
    from kiosk_app.services.durable import STORAGE

    STORAGE.clear()
    yield
    STORAGE.clear()
