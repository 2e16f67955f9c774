"""What a kiosk uploaded goes back out only as a download, typed from an allow-list.

A kiosk is a box in a lobby: whatever it sends (log bundles, screenshots, scans) is treated as
hostile. It is never rendered inline on the officers' origin: Content-Disposition: attachment,
a content type from ALLOWED_TYPES (else application/octet-stream), nosniff and a sandboxing CSP.
"""

from __future__ import annotations

from typing import Literal, get_args

from fastapi.responses import Response

from central_server.security import DOWNLOAD_CSP

UploadType = Literal[
    "application/gzip",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "application/octet-stream",
]
# Types a kiosk may label an upload with, and the first bytes each must start with (b"": any).
ALLOWED_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/gzip": (b"\x1f\x8b",),
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "text/plain": (b"",),
    "application/octet-stream": (b"",),
}
FALLBACK_TYPE = "application/octet-stream"
assert set(ALLOWED_TYPES) == set(get_args(UploadType))


def looks_like(content_type: str, data: bytes) -> bool:
    """True when `content_type` is allowed and `data` starts the way that type does."""
    magics = ALLOWED_TYPES.get(content_type)
    return magics is not None and any(data.startswith(magic) for magic in magics)


def served_type(content_type: str | None) -> str:
    """The stored type if it is on the allow-list, else application/octet-stream."""
    return content_type if content_type in ALLOWED_TYPES else FALLBACK_TYPE


def download(data: bytes, content_type: str | None, filename: str) -> Response:
    """`data` as an attachment named `filename` (ASCII letters, digits, '.', '-', '_' kept)."""
    safe = "".join(c for c in filename if c.isascii() and (c.isalnum() or c in ".-_")) or "file"
    return Response(
        data,
        media_type=served_type(content_type),
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
