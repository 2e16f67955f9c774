"""What anyone may open: the liveness probe and the verification page of issued documents."""

from fastapi import APIRouter

from central_server.db import Database
from central_server.issued import verification_router


def router(db: Database) -> APIRouter:
    """GET /health and GET /verify/{code} (the QR printed on every issued document)."""
    r = APIRouter()

    @r.get("/health")
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    r.include_router(verification_router(db))
    return r
