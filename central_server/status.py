"""The public status look-up's hot path: one indexed SELECT, one round trip, no ORM session."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import bindparam, select
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

from central_server.db import Database
from central_server.lifecycle import STATUS_TEXTS
from central_server.models import Application, Office
from central_server.schemas import ApplicationStatusOut, Service, SlotIn, StatusText
from kiosk_app.domain.identity import mask_name

_QUERY = (
    select(
        Application.registration_number,
        Application.service,
        Application.status,
        Application.applicant_name,
        Application.slot_date,
        Application.slot_window,
        Application.created_at,
        Office.name,
    )
    .join(Office, Office.code == Application.office_code)
    .where(Application.registration_number == bindparam("number"))
)


POOL_SIZE = 4  # async connections per worker process for look-ups


class StatusLookup:
    """Reads one application's public status.

    On PostgreSQL the read runs in autocommit (no BEGIN/COMMIT round trips) and psycopg
    prepares the statement after a few executions on each pooled connection; SQLite keeps the
    ordinary transaction (its BEGIN costs no network round trip). SQLAlchemy caches the
    compiled SQL, so a request costs one pool checkout and one execute.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pool: list[psycopg.AsyncConnection[Any]] = []
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        self._sql = str(_QUERY.compile(db.engine, compile_kwargs={"render_postcompile": True}))
        self.engine = (
            db.engine.execution_options(isolation_level="AUTOCOMMIT")
            if db.is_postgresql
            else db.engine
        )

    def row(self, number: str) -> Sequence[Any] | None:
        """The application's public columns and office name, or None."""
        with self.engine.connect() as conn:
            return conn.execute(_QUERY, {"number": number}).first()

    async def fetch(self, number: str) -> ApplicationStatusOut | None:
        """`__call__` for the event loop: on PostgreSQL an async prepared query, no thread hop."""
        if not self.db.is_postgresql:
            return await run_in_threadpool(self, number)
        return self.public(await self._fetch_pg(number))

    async def _fetch_pg(self, number: str) -> Sequence[Any] | None:
        loop = asyncio.get_running_loop()
        if self._pool_loop is not loop:  # connections belong to one event loop
            self._pool, self._pool_loop = [], loop
        conn = self._pool.pop() if self._pool else await self._connect()
        try:
            cursor = await conn.execute(self._sql, {"number": number}, prepare=True)
            row = await cursor.fetchone()
        except BaseException:
            await conn.close()
            raise
        if len(self._pool) < POOL_SIZE:
            self._pool.append(conn)
        else:
            await conn.close()
        return row

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        url = make_url(self.db.url).set(drivername="postgresql")
        return await psycopg.AsyncConnection.connect(
            url.render_as_string(hide_password=False), autocommit=True, connect_timeout=10
        )

    async def aclose(self) -> None:
        """Close the async connections (on shutdown)."""
        pool, self._pool = self._pool, []
        for conn in pool:
            await conn.close()

    def __call__(self, number: str) -> ApplicationStatusOut | None:
        """The public status of `number` (masked name, no NIK), or None if unknown."""
        return self.public(self.row(number))

    @staticmethod
    def public(found: Sequence[Any] | None) -> ApplicationStatusOut | None:
        """The response body for a row of the look-up query (None stays None)."""
        if found is None:
            return None
        number, service, status, name, slot_date, slot_window, created_at, office = found
        return ApplicationStatusOut(
            registration_number=number,
            service=Service(service),
            status=status,
            status_text=StatusText(**STATUS_TEXTS.get(status, {"id": status, "en": status})),
            masked_name=mask_name(name),
            slot=SlotIn(date=slot_date, window=slot_window),
            office_name=office,
            created_at=created_at,
        )
