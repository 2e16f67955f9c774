"""A failed statement's error, which a traceback carries into the server's log, names no bound
value: a NIK or a name given to a query stays out of the log (UU 27/2022)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from central_server.db import Database

NIK = "3517014107900001"
NAME = "SITI AMINAH BINTI ABDULLAH"


def test_a_failing_statement_names_no_bound_value(database_url: str) -> None:
    db = Database(database_url)
    try:
        with pytest.raises((DBAPIError, StatementError)) as failed:
            with db.transaction() as session:
                session.execute(
                    text("SELECT nik FROM no_such_table WHERE nik = :nik AND name = :name"),
                    {"nik": NIK, "name": NAME},
                )
    finally:
        db.dispose()
    message = str(failed.value)
    assert "no_such_table" in message  # the statement is still named, for the technician
    assert NIK not in message and NAME not in message
    assert "hidden due to hide_parameters" in message
