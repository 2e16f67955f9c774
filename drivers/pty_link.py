"""A pty pair with a stable link path: how our emulators look like a serial device to the host."""

from __future__ import annotations

import os
import pty
import tty
from pathlib import Path


class PtyLink:
    """The device side (`master`) of a raw pty whose host side is reachable at `link`."""

    def __init__(self, link: Path | str) -> None:
        """Prepare a link path; nothing is opened until `open()`."""
        self.link = Path(link)
        self.master = -1
        self._slave = -1

    @property
    def is_open(self) -> bool:
        """True while plugged in."""
        return self.master >= 0

    def open(self, *, blocking: bool = True) -> None:
        """Plug in: create the raw pty pair and point `link` at its host side."""
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # keep LF as LF; the host's pyserial sets raw mode too
        os.set_blocking(self.master, blocking)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self._slave))

    def close(self) -> None:
        """Unplug: remove the link and close both ends (the host's reads then fail)."""
        if self.link.is_symlink():
            self.link.unlink()
        for fd in (self.master, self._slave):
            if fd >= 0:
                os.close(fd)
        self.master = self._slave = -1
