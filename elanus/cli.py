"""The ``elanus`` command."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from elanus import logs
from elanus.config import ConfigError, load_config
from elanus.launcher import (
    ROLES,
    ClusterConfigError,
    RoleProcess,
    Standalone,
    run_until_signalled,
    version,
)


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
    standalone.add_argument(
        "--legacy-port",
        type=int,
        default=None,
        help="also serve the Milvus 0.x API (pymilvus 0.2.x) on this port (proxy.legacy_port)",
    )
    standalone.add_argument("--config", default=None, help="YAML config file")

    run = commands.add_parser("run", help="run one role of a cluster (etcd, Kafka, MinIO)")
    run.add_argument("role", choices=ROLES)
    run.add_argument("--config", default=None, help="YAML config file")
    run.add_argument("--node-id", type=int, default=None, help="node id (default: allocated)")
    run.add_argument("--port", type=int, default=None, help="gRPC port (default: config)")

    cluster = commands.add_parser("cluster", help="a whole local cluster of processes")
    actions = cluster.add_subparsers(dest="action", required=True)
    cluster_up = actions.add_parser("up", help="start what is not running; wait until healthy")
    cluster_up.add_argument("--data-dir", required=True)
    cluster_up.add_argument("--port", type=int, default=19530, help="proxy i listens on PORT+i")
    cluster_up.add_argument("--host", default="127.0.0.1")
    cluster_up.add_argument(
        "--coordinators",
        type=int,
        default=1,
        help="how many coordinators: one active, the others standing by to take over",
    )
    for role, plural in (
        ("proxy", "proxies"),
        ("querynode", "querynodes"),
        ("datanode", "datanodes"),
        ("indexnode", "indexnodes"),
    ):
        cluster_up.add_argument(f"--{plural}", type=int, default=1, help=f"how many {role}s")
    cluster_status = actions.add_parser("status", help="every process: role, PID, port, health")
    cluster_status.add_argument("--data-dir", required=True)
    cluster_status.add_argument("--json", action="store_true")
    cluster_down = actions.add_parser("down", help="stop every role, then the servers")
    cluster_down.add_argument("--data-dir", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level)
    if args.command == "standalone":
        try:
            config = load_config(args.config)
        except ConfigError as error:
            print(f"elanus standalone: {error}", file=sys.stderr)
            return 2
        if args.data_dir is not None:
            config.storage.data_dir = args.data_dir
        if args.port is not None:
            config.proxy.port = args.port
        if args.host is not None:
            config.proxy.host = args.host
        if args.legacy_port is not None:
            config.proxy.legacy_port = args.legacy_port
        return run_until_signalled(Standalone(config))
    if args.command == "run":
        try:
            process = RoleProcess(args.role, load_config(args.config), args.node_id, args.port)
            return run_until_signalled(process)
        except (ClusterConfigError, ConfigError) as error:
            print(f"elanus run {args.role}: {error}", file=sys.stderr)
            return 2
    if args.command == "cluster":
        return _cluster(args)
    return 2


def _cluster(args: argparse.Namespace) -> int:
    from elanus.cluster import supervisor

    data_dir = Path(args.data_dir)
    try:
        if args.action == "up":
            spec = supervisor.ClusterSpec(
                data_dir,
                port=args.port,
                coordinators=args.coordinators,
                proxies=args.proxies,
                querynodes=args.querynodes,
                datanodes=args.datanodes,
                indexnodes=args.indexnodes,
                host=args.host,
            )
            supervisor.up(spec)
            return 0
        if args.action == "status":
            found = supervisor.status(data_dir)
            if args.json:
                print(json.dumps([asdict(s) for s in found], indent=2))
            else:
                print(f"{'ROLE':<24}{'INDEX':>6}{'PID':>9}{'PORT':>7}  HEALTH")
                for s in found:
                    health = "healthy" if s.healthy else "UNHEALTHY"
                    role = f"{s.role} ({s.state})" if s.state else s.role
                    print(f"{role:<24}{s.index:>6}{s.pid:>9}{s.port:>7}  {health} ({s.detail})")
            return 0 if found and all(s.healthy for s in found) else 1
        supervisor.down(data_dir)
        return 0
    except supervisor.ClusterError as error:
        print(f"elanus cluster {args.action}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
