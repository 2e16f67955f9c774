"""`python -m central_server`: run the reference central server."""

from __future__ import annotations

import argparse

import uvicorn

from central_server.app import create_app
from central_server.settings import DEFAULT_DATABASE_URL


def serve(host: str, port: int, database_url: str) -> None:
    """Serve the central server in the foreground until interrupted."""
    uvicorn.run(create_app(database_url), host=host, port=port, ws="none", log_level="info")


def main(argv: list[str] | None = None) -> None:
    """Parse command-line options and serve."""
    parser = argparse.ArgumentParser(prog="central_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", default=DEFAULT_DATABASE_URL, help="SQLAlchemy URL")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.db)


if __name__ == "__main__":
    main()
