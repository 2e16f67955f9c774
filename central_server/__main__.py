"""`python -m central_server`: run the reference central server (or its background worker)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from central_server.config import CentralConfig, ConfigError, load_central_config


def configure(
    config_path: Path | None, *, db: str | None = None, host: str | None = None,
    port: int | None = None,
) -> CentralConfig:  # fmt: skip
    """The config file (or development defaults) with command-line overrides applied."""
    config = load_central_config(config_path)
    server = config.server
    if db is not None:
        server = dataclasses.replace(server, database_url=db)
    if host is not None:
        server = dataclasses.replace(server, host=host)
    if port is not None:
        server = dataclasses.replace(server, port=port)
    return dataclasses.replace(config, server=server)


def serve(config: CentralConfig) -> None:
    """Serve the central server in the foreground until interrupted."""
    from central_server.runtime import serve as run

    run(config)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `anjungan central` and `python -m central_server` share."""
    parser.add_argument("--config", type=Path, help="TOML config (default: development server)")
    parser.add_argument("--host", help="listen address (default: [server] host)")
    parser.add_argument("--port", type=int, help="listen port (default: [server] port)")
    parser.add_argument("--db", help="SQLAlchemy URL (default: [server] database_url)")
    parser.add_argument(
        "--worker",
        action="store_true",
        help="run the background worker (notification delivery) instead",
    )


def run(args: argparse.Namespace) -> int:
    """Serve, or run the worker, as the parsed options say; 2 on a bad config."""
    try:
        config = configure(args.config, db=args.db, host=args.host, port=args.port)
        if args.worker:
            from central_server.runtime import run_worker

            return run_worker(config)
        serve(config)
    except ConfigError as exc:
        print(f"anjungan central: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse command-line options and serve."""
    parser = argparse.ArgumentParser(prog="central_server", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
