"""Citizen notifications: a durable outbox, a worker with retries, pluggable channels."""

from central_server.notify.channels import (
    Channel,
    DeliveryError,
    FileChannel,
    HttpGatewayChannel,
    RecordingChannel,
    SmtpChannel,
)
from central_server.notify.outbox import OutboxWorker, enqueue, enqueue_for_transition

__all__ = [
    "Channel",
    "DeliveryError",
    "FileChannel",
    "HttpGatewayChannel",
    "OutboxWorker",
    "RecordingChannel",
    "SmtpChannel",
    "enqueue",
    "enqueue_for_transition",
]
