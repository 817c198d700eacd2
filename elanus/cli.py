"""The ``elanus`` command."""

from __future__ import annotations

import argparse
import sys

from elanus import logs
from elanus.config import load_config
from elanus.launcher import Standalone, run_until_signalled, version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elanus", description="Elanus vector database")
    parser.add_argument("--version", action="version", version=f"elanus {version()}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    commands = parser.add_subparsers(dest="command", required=True)
    standalone = commands.add_parser(
        "standalone", help="run every role in one process on embedded storage"
    )
    standalone.add_argument("--data-dir", default=None, help="where data lives (./elanus-data)")
    standalone.add_argument("--port", type=int, default=None, help="gRPC port (19530)")
    standalone.add_argument("--host", default=None, help="address to listen on (0.0.0.0)")
    standalone.add_argument("--config", default=None, help="YAML config file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level)
    if args.command == "standalone":
        config = load_config(args.config)
        if args.data_dir is not None:
            config.storage.data_dir = args.data_dir
        if args.port is not None:
            config.proxy.port = args.port
        if args.host is not None:
            config.proxy.host = args.host
        run_until_signalled(Standalone(config))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
