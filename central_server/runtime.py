"""From a CentralConfig to running parts: the app server, its channels, the background worker."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from central_server.config import CentralConfig, ConfigError
from central_server.db import Database
from central_server.lease_reports import LeaseSweep
from central_server.models import Quota
from central_server.notify import (
    Channel,
    FileChannel,
    HttpGatewayChannel,
    OutboxWorker,
    SmtpChannel,
)
from central_server.schemas import Service

log = logging.getLogger("central_server.runtime")


def _secret(path: Path | None, where: str) -> str:
    """The first line of a secret file ('' without one)."""
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from exc


def build_channels(config: CentralConfig) -> dict[str, Channel]:
    """One delivering channel per configured channel name (sms, whatsapp, email)."""
    notify = config.notify
    channels: dict[str, Channel] = {}
    if notify.file is not None:
        for name in notify.file.channels:
            channels[name] = FileChannel(notify.file.directory, name)
    for name in ("sms", "whatsapp"):
        gateway = getattr(notify, name)
        if gateway is not None:
            token = _secret(gateway.token_file, f"[notify.{name}] token_file")
            channels[name] = HttpGatewayChannel(gateway.url, token, timeout_s=gateway.timeout_s)
    if notify.email is not None:
        smtp = notify.email
        channels["email"] = SmtpChannel(
            smtp.host,
            smtp.port,
            smtp.sender,
            starttls=smtp.starttls,
            username=smtp.username,
            password=_secret(smtp.password_file, "[notify.email] password_file"),
            timeout_s=smtp.timeout_s,
        )
    return channels


def seed_quotas(db: Database, config: CentralConfig) -> int:
    """Write the config's daily quotas an office does not have yet; returns how many."""
    known = {service.value for service in Service}
    written = 0
    with db.transaction() as session:
        for n, office in enumerate(config.offices, start=1):
            for service, daily in office.quotas.items():
                if service not in known:
                    raise ConfigError(
                        f"[offices #{n}] quotas.{service}: unknown service "
                        f"(one of {', '.join(sorted(known))})"
                    )
                if session.get(Quota, (office.code, service)) is None:
                    session.add(Quota(office_code=office.code, service=service, daily_quota=daily))
                    written += 1
    return written


def build_app(config: CentralConfig, **overrides: Any) -> FastAPI:
    """The central server app as `config` says; keyword overrides go to create_app (tests)."""
    from central_server.app import create_app  # the worker never builds the app
    from central_server.security import SecurityOptions

    channels = build_channels(config) if config.server.background_loops else {}
    if config.server.trusted_proxies and not config.server.public_url:
        log.warning(
            "[server] public_url is not set: verification QR codes, messages and enrolment "
            "commands name this app server's own address, not the proxy's"
        )
    options: dict[str, Any] = {
        "offices": [(office.code, office.name) for office in config.offices],
        "channels": channels,
        "background_loops": config.server.background_loops,
        "open_enrolment": config.open_enrolment,
        "secure_cookies": config.secure_cookies,
        # X-Forwarded-* only from the configured proxies; Secure cookies forced, else over https
        "security": SecurityOptions.with_limits(
            config.limits,
            trusted_proxies=tuple(config.server.trusted_proxies),
            secure_cookies=True if config.secure_cookies else None,
        ),
        "limits": config.limits,
        "lease_policy": config.leases,
        # [notify] admins, else ANJUNGAN_ADMIN_NOTIFY (a deployment's environment)
        "admin_addresses": config.notify.admins or None,
        "public_url": config.server.public_url or None,
        **overrides,
    }
    app = create_app(config.server.database_url, **options)
    seed_quotas(app.state.db, config)
    app.state.config = config
    return app


def uvicorn_options(config: CentralConfig) -> dict[str, Any]:
    """uvicorn settings: fast parser and loop, no access log, proxies only from trusted peers."""
    proxies = config.server.trusted_proxies
    return {
        "http": "httptools",
        "loop": "uvloop",
        "ws": "none",
        "access_log": False,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
        "timeout_keep_alive": 75,  # longer than nginx's upstream keepalive_timeout (15 s)
        "timeout_graceful_shutdown": 10,
    }


def serve(config: CentralConfig, host: str | None = None, port: int | None = None) -> None:
    """Run one app-server process in the foreground until SIGTERM or Ctrl-C."""
    import uvicorn

    if config.server.database_url.startswith("sqlite:///./"):
        Path("var").mkdir(exist_ok=True)
    from uvicorn.config import STARTUP_FAILURE

    from central_server.drain import Closing, DrainingServer

    app = Closing(build_app(config))  # a SIGTERM drains before it stops (central_server.drain)
    server = DrainingServer(
        uvicorn.Config(
            app,
            host=host or config.server.host,
            port=port if port is not None else config.server.port,
            log_level="info",
            **uvicorn_options(config),
        ),
        app,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stopped as asked (as uvicorn.run)
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)  # uvicorn.run's exit status


def run_worker(config: CentralConfig, stop: threading.Event | None = None) -> int:
    """Deliver notifications and sweep expired slot leases until `stop` is set or SIGTERM
    arrives (once per deployment)."""
    stop = stop or threading.Event()
    db = Database(config.server.database_url)
    db.create_all(tuple((office.code, office.name) for office in config.offices))
    channels = build_channels(config)
    if not channels:
        log.warning("no notification channel configured: nothing to deliver")
    worker = OutboxWorker(db, channels)
    sweep = LeaseSweep(db, lambda: datetime.now(UTC))
    swept_at = float("-inf")
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    log.info("notification worker delivering %s", ", ".join(sorted(channels)) or "nothing")
    try:
        while not stop.is_set():
            try:
                worker.run_once()
            except Exception:  # a database outage: try again on the next pass
                log.exception("notification pass failed; retrying")
            if time.monotonic() - swept_at >= sweep.poll_s:
                swept_at = time.monotonic()
                try:
                    sweep.run_once()
                except Exception:  # as above
                    log.exception("lease sweep failed; retrying")
            stop.wait(worker.poll_s)
    finally:
        db.dispose()
    return 0
