"""A small fault-injecting TCP proxy on loopback: forward, down, slow, 500, 429, reset (every
request or the next one only), the answer lost after the server did the work (every request or
the next one only), and hostile answers (a 200 that is not JSON, JSON of another
shape, a body cut short, a huge body)."""

from __future__ import annotations

import socket
import struct
import threading
import time

# A hostile or broken server's 200 answers, sent without forwarding: (headers, body, cut short)
HOSTILE: dict[str, tuple[str, bytes, bool]] = {
    "garbage": ("Content-Type: text/html\r\n", b"<html><body>Gateway login</body></html>", False),
    "wrong_json": ("Content-Type: application/json\r\n", b'{"ok": true, "items": [1, 2]}', False),
    "truncated": ("Content-Type: application/json\r\n", b'{"registration_number": "AK', True),
    "huge": ("Content-Type: application/json\r\n", b"[" + b"0," * (8 << 20) + b"0]", False),
}
MODES = (
    "forward", "down", "slow", "500", "429", "reset", "reset_once", "reset_after_forward",
    "reset_after_forward_once", *HOSTILE,
)  # fmt: skip
# A client's idle connection is closed after IDLE_S, as production's nginx closes a kiosk's
# (keepalive_timeout 75s): the client, not the proxy, decides how long it waits for an answer,
# so the server gets UPSTREAM_S, longer than any client here waits.
IDLE_S = 75.0
UPSTREAM_S = 120.0


def _read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (headers + Content-Length body) or b'' on EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_response(conn: socket.socket) -> bytes:
    """Read one HTTP response with a Content-Length body."""
    return _read_request(conn)  # same framing (uvicorn always sends Content-Length here)


def _reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class FaultProxy:
    """Listens on 127.0.0.1:<port>; each request is handled per the current `mode` (only the
    requests whose request line starts with `only`, when set; the others are forwarded)."""

    def __init__(self, upstream_port: int, *, slow_s: float = 2.0, retry_after: str = "1") -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.mode = "forward"
        self.only: bytes | None = None  # e.g. b"POST /api/v1/applications/batch"
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.requests = 0  # requests seen, any mode
        self.forwarded = 0  # requests the server got
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """URL to give the client."""
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        """Switch the fault (applies to the next request)."""
        assert mode in MODES, mode
        self.mode = mode

    def close(self) -> None:
        """Stop accepting and wait for the handlers (each bounded by socket timeouts)."""
        self._stop.set()
        self._thread.join(5)
        self._sock.close()
        with self._lock:
            for conn in self._open:  # wake handlers blocked on idle keep-alive connections
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for thread in list(self._threads):
            thread.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "down":  # as if nothing listened: reset at once
                _reset(conn)
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(IDLE_S)
        with self._lock:
            self._open.add(conn)
        try:
            while not self._stop.is_set():
                request = _read_request(conn)
                if not request:
                    return
                with self._lock:
                    self.requests += 1
                mode = self.mode
                if self.only is not None and not request.startswith(self.only):
                    mode = "forward"
                if mode in ("down", "reset"):
                    _reset(conn)
                    return
                if mode == "reset_once":  # the next request only, unread: an nginx reload's
                    with self._lock:  # old worker closing the kept-alive connection it came on
                        self.mode = "forward" if self.mode == "reset_once" else self.mode
                    _reset(conn)
                    return
                if mode in ("500", "429"):
                    reason = "Internal Server Error" if mode == "500" else "Too Many Requests"
                    extra = f"Retry-After: {self.retry_after}\r\n" if mode == "429" else ""
                    body = b'{"detail":"injected"}'
                    conn.sendall(
                        f"HTTP/1.1 {mode} {reason}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n{extra}\r\n".encode()
                        + body
                    )
                    continue
                if mode in HOSTILE:
                    headers, body, cut = HOSTILE[mode]
                    length = len(body) * 2 if cut else len(body)  # cut: promises more than sent
                    conn.sendall(
                        f"HTTP/1.1 200 OK\r\n{headers}Content-Length: {length}\r\n\r\n".encode()
                        + body
                    )
                    if cut:
                        conn.close()
                        return
                    continue
                if mode == "slow":
                    time.sleep(self.slow_s)
                response = self._forward(request)
                if not response:  # the server closed without answering: so does the proxy
                    return
                if mode == "reset_after_forward":  # the server did the work; the answer is lost
                    _reset(conn)
                    return
                if mode == "reset_after_forward_once":  # as above, for this request only
                    with self._lock:
                        self.mode = "forward" if self.mode == mode else self.mode
                    _reset(conn)
                    return
                conn.sendall(response)
        except OSError:
            return
        finally:
            with self._lock:
                self._open.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _forward(self, request: bytes) -> bytes:
        """The server's answer to `request`, on a connection of its own: a kept-alive one
        would be closed by the server's own idle timeout (uvicorn: 5 s) while the client's
        stays open, and the next request sent on it would get no answer."""
        upstream = socket.create_connection(self.upstream, timeout=UPSTREAM_S)
        with self._lock:
            self._open.add(upstream)
        try:
            upstream.sendall(request)
            response = _read_response(upstream)
        finally:
            with self._lock:
                self._open.discard(upstream)
            upstream.close()
        if response:
            with self._lock:
                self.forwarded += 1
        return response
