"""Officer and admin web pages (central_server.routers.officer serves them)."""

from __future__ import annotations

from dataclasses import dataclass

from central_server.auth import Auth
from central_server.notify import OutboxWorker
from central_server.ratelimit import StatusLookupLimiter


@dataclass
class Review:
    """What create_app keeps: the staff auth, the notification outbox worker, the status limiter."""

    auth: Auth
    worker: OutboxWorker
    status_limiter: StatusLookupLimiter

    def start(self) -> None:
        """Start the outbox worker (no-op without channels)."""
        self.worker.start()

    def stop(self) -> None:
        """Stop the outbox worker."""
        self.worker.stop()
