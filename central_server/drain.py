"""An app server's stop behind nginx (SIGTERM: `systemctl restart anjungan-central@PORT`) that
no POST pays for with a 502.

nginx keeps idle connections to the app servers (provisioning/central.py: upstream keepalive)
and writes the next request onto one of them without asking first. uvicorn's own stop closed
its idle connections at once: a POST nginx was writing onto one of them just then failed after
it was sent, and nginx sends a POST it has sent once to no other server (proxy_next_upstream
without non_idempotent: it may have been processed), so it answered 502. Whoever closes an
idle kept-alive connection races the other side's next request; only nginx can close one
without that race, as it knows it sends nothing on it.

So a stopping app server drains first:
- it stops listening: a new connection is refused, which nginx tries on the other app server
  (a refused connection carried no request, so a POST goes on safely); the connections the
  kernel had already completed but uvicorn not yet accepted are accepted and served (closing
  a listening socket resets them, and nginx may have written a POST onto one);
- every answer from then on says `Connection: close`, and the connection ends after it: nginx
  reuses none of them;
- it closes no idle connection itself: it waits until nginx has closed every one (after using
  it once more, or when nginx's upstream keepalive_timeout ends it), at most DRAIN_S;
- then uvicorn's own stop: requests still running finish (timeout_graceful_shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("central_server")
# Above nginx's upstream keepalive_timeout (provisioning/central.py: UPSTREAM_KEEPALIVE_S):
# nginx has closed every idle connection before the drain gives up; below systemd's stop
# timeout (TimeoutStopSec, 90 s by default) with timeout_graceful_shutdown on top.
DRAIN_S = 25.0
CLOSE = (b"connection", b"close")


class Closing:
    """Once draining: every answer says `Connection: close` (uvicorn then ends the connection
    after it, and nginx does not keep it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.draining:
                headers = [h for h in message.get("headers", []) if h[0].lower() != CLOSE[0]]
                message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        await self.app(scope, receive, closing)


class DrainingServer(uvicorn.Server):
    """uvicorn's server with the drain above before its own shutdown."""

    def __init__(self, config: uvicorn.Config, closing: Closing, drain_s: float = DRAIN_S):
        super().__init__(config)
        self.closing = closing
        self.drain_s = drain_s

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.closing.draining = True
        # a copy of each listening socket keeps it listening while uvicorn's server closes
        listening = [
            socket.socket(fileno=os.dup(sock.fileno()))
            for server in self.servers
            for sock in server.sockets
        ]
        for server in self.servers:
            server.close()
        queued = [conn for sock in listening for conn in accept_queued(sock)]
        for sock in sockets or []:
            sock.close()
        loop = asyncio.get_running_loop()
        for conn in queued:  # answered like any other, with Connection: close
            await loop.connect_accepted_socket(self.protocol, conn)
        open_at_start = len(self.server_state.connections)
        log.info("draining: %d connection(s) open, closed by nginx first", open_at_start)
        deadline = time.monotonic() + self.drain_s
        while self.server_state.connections and not self.force_exit and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        left = len(self.server_state.connections)
        if left:
            log.warning(
                "drain ended with %d connection(s) still open after %.0f s: closing them "
                "(nginx's upstream keepalive_timeout should be below it)",
                left,
                self.drain_s,
            )
        await super().shutdown(sockets)

    def protocol(self) -> asyncio.Protocol:
        """A connection's protocol, as uvicorn's startup makes them."""
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
            _loop=asyncio.get_running_loop(),
        )


def accept_queued(listener: socket.socket) -> list[socket.socket]:
    """Accept every connection waiting in `listener`'s queue, then close it: from then on a
    connection is refused. (One completed between the last accept and the close, a few
    instructions later, would still be reset.)"""
    accepted: list[socket.socket] = []
    with listener:
        listener.setblocking(False)
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return accepted
            accepted.append(conn)
