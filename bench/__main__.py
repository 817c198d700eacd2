"""``python -m bench``: run the benchmark, profile Elanus search, write the report.

    python -m bench run [--profile quick|full|rss1m] [--systems faiss,elanus,cluster,milvus-lite]
                        [--datasets wordllama,synthetic] [--indexes HNSW,IVF_FLAT]
                        [--out FILE]
    python -m bench profile [--profile quick]     # cProfile of Elanus's Search handler
    python -m bench report [--results FILE ...]   # bench/RESULTS.md and the plot

Use ``bench/run`` to get the bench venv (pymilvus, milvus-lite, faiss, matplotlib).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import time
from pathlib import Path

from . import machine
from .cluster import start_cluster
from .datasets import Dataset, synthetic, wordllama
from .servers import ServerHandle, elanus_source, start_elanus, start_milvus_lite
from .systems import FaissFloor, IndexCase, MilvusServerSystem, System
from .workload import PROFILES, Profile, run_workload

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SYSTEMS = ("faiss", "elanus", "cluster", "milvus-lite")
DATASETS = ("wordllama", "synthetic")
INDEX_KINDS = ("HNSW", "IVF_FLAT")


def load_dataset(name: str, profile: Profile) -> Dataset:
    if name == "wordllama":
        return wordllama(nq=profile.queries)
    if name == "synthetic":
        return synthetic(profile.synthetic_rows, profile.synthetic_dim, nq=profile.queries)
    raise ValueError(f"unknown dataset {name!r}")


def open_system(name: str, source: Path | None, elanus_profile: bool = False) -> System:
    if name == "faiss":
        return FaissFloor()
    server: ServerHandle
    if name == "elanus":
        server = start_elanus(elanus_profile, source)
    elif name == "cluster":
        server = start_cluster(source)
    else:
        server = start_milvus_lite()
    try:
        return MilvusServerSystem(name, server)
    except Exception:
        server.stop()
        raise


def close_system(system: System, keep_files: bool = False) -> None:
    system.close()
    if isinstance(system, MilvusServerSystem):
        system.server.stop(keep_files)


def cmd_run(args: argparse.Namespace) -> int:
    profile = PROFILES[args.profile]
    systems = _split(args.systems, SYSTEMS)
    datasets = _split(args.datasets, DATASETS)
    kinds = _split(args.indexes, INDEX_KINDS)
    out = Path(args.out or RESULTS_DIR / f"{profile.name}.json")
    source, sha = _elanus_code(args)
    record = {"profile": profile.name, "machine": machine.describe(sha, source), "runs": []}
    print(f"machine: {record['machine']}", flush=True)
    started = time.perf_counter()
    for dataset_name in datasets:
        data = load_dataset(dataset_name, profile)
        print(f"{data.name}: {data.size} x {data.dim} {data.metric}", flush=True)
        for system_name in systems:
            system = open_system(system_name, source)
            try:
                result = run_workload(system, data, profile, kinds, log=_log)
            finally:
                close_system(system)
            record["runs"].append(result.to_json())
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record, indent=1))
    record["wall_s"] = time.perf_counter() - started
    record["loadavg_end"] = machine.loadavg()
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out} after {record['wall_s']:.0f}s", flush=True)
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    """Where Elanus's time goes: cProfile of its Search handler (single HNSW queries,
    unfiltered and 1% filtered) and of the harness's client side of the insert phase."""
    profile = PROFILES[args.profile]
    data = load_dataset("synthetic", profile)
    source, _ = _elanus_code(args)
    system = open_system("elanus", source, elanus_profile=True)
    assert isinstance(system, MilvusServerSystem)
    case = IndexCase("HNSW", dict(profile.hnsw), "ef", (profile.filtered_ef,))
    client_profile = cProfile.Profile()
    try:
        client_profile.runcall(system.insert, data)
        system.build(case, data)
        for label in ("", "1%"):
            for row in range(args.queries):
                system.search(data.queries[row : row + 1], case, profile.filtered_ef, label)
    finally:
        close_system(system, keep_files=True)
    stats_file = system.server.profile_file
    assert stats_file is not None
    out = Path(args.out or RESULTS_DIR / "elanus_search_profile.txt")
    with out.open("w") as handle:
        handle.write(f"### Elanus server: Search handler, 2 x {args.queries} single HNSW queries\n")
        stats = pstats.Stats(f"{stats_file}.Search", stream=handle)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        handle.write("### Elanus server: Insert handler, 10k-row batches\n")
        insert_stats = pstats.Stats(f"{stats_file}.Insert", stream=handle)
        insert_stats.sort_stats("cumulative").print_stats(30)
        handle.write("### Harness (pymilvus client): the insert phase, 10k-row batches, flush\n")
        client_stats = pstats.Stats(client_profile, stream=handle)
        client_stats.sort_stats("cumulative").print_stats(25)
    shutil.rmtree(system.server.workdir, ignore_errors=True)
    print(f"wrote {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from . import report

    paths = [Path(p) for p in args.results] or [RESULTS_DIR / "quick.json"]
    records = [json.loads(path.read_text()) for path in paths]
    report.write(records[0], BENCH_DIR / "RESULTS.md", RESULTS_DIR, extra=records[1:])
    print(f"wrote {BENCH_DIR / 'RESULTS.md'}")
    return 0


def _elanus_code(args: argparse.Namespace) -> tuple[Path | None, str]:
    """Which Elanus code the server runs: a snapshot of a commit (default HEAD), or
    with --elanus-tree the working tree as it is (uncommitted edits included)."""
    if args.elanus_tree:
        return None, machine.git_sha()
    return elanus_source(args.elanus_ref)


def _split(value: str | None, allowed: tuple[str, ...]) -> list[str]:
    chosen = list(allowed) if not value else [v.strip() for v in value.split(",") if v.strip()]
    unknown = set(chosen) - set(allowed)
    if unknown:
        raise SystemExit(f"unknown choice(s) {sorted(unknown)}; pick from {allowed}")
    return chosen


def _log(message: str) -> None:
    print(message, flush=True)


def _add_elanus_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--elanus-ref", default="HEAD", help="commit of Elanus to run")
    command.add_argument(
        "--elanus-tree", action="store_true", help="run the working tree instead of a commit"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the workloads and save results as JSON")
    run.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    run.add_argument("--systems", default=None, help=f"comma list of {SYSTEMS}")
    run.add_argument("--datasets", default=None, help=f"comma list of {DATASETS}")
    run.add_argument("--indexes", default=None, help=f"comma list of {INDEX_KINDS}")
    run.add_argument("--out", default=None)
    _add_elanus_options(run)
    prof = commands.add_parser("profile", help="cProfile Elanus's Search handler")
    _add_elanus_options(prof)
    prof.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    prof.add_argument("--queries", type=int, default=300)
    prof.add_argument("--out", default=None)
    rep = commands.add_parser("report", help="write bench/RESULTS.md and the plot")
    rep.add_argument(
        "--results",
        nargs="*",
        default=[],
        help="result files; the first gives the targets and the plot, the others more tables",
    )
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "profile": cmd_profile, "report": cmd_report}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
