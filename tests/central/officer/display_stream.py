"""A waiting-room display's server-sent event stream, read on a thread (queue tests)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import requests


class Events:
    """A display's server-sent event stream read on a thread."""

    def __init__(self, url: str, last_event_id: int | None = None) -> None:
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self.response = requests.get(url, stream=True, timeout=30, headers=headers)
        assert self.response.status_code == 200
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        kind, data = "", ""
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and kind:
                    with self.changed:
                        self.events.append((kind, json.loads(data)))
                        self.changed.notify_all()
                    kind, data = "", ""
        except (requests.RequestException, AttributeError, ValueError):
            return

    def wait(
        self, kind: str, predicate: Any = lambda _d: True, timeout: float = 10
    ) -> dict[str, Any]:
        """The first event of `kind` matching `predicate` (waits for it)."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((d for k, d in self.events if k == kind and predicate(d)), None),
                timeout,
            )
        assert found, f"no {kind} event; got {self.events}"
        return found

    def close(self) -> None:
        """Hang up: the socket shut first, so the reading thread's blocked read ends at once
        (closing the response alone waits for that read, until the next keep-alive comes)."""
        sock = getattr(getattr(self.response.raw, "_connection", None), "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.response.close()
        self.thread.join(timeout=10)
