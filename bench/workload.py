"""One workload run against one system: insert, build each index, sweep the
search parameter (single queries and nq=100 batches), filtered search, memory.

Each system runs alone (one after another, never concurrently), so they do
not compete for the machine's cores.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .datasets import FILTERS, Dataset, recall_at_k
from .systems import IndexCase, MilvusServerSystem, System

BATCH_NQ = 100
BATCH_PASSES = 3
BATCH_BUDGET_S = 4.0  # no further pass once the passes so far took this long


@dataclass(frozen=True)
class Profile:
    """How much to run: sizes, query counts and the parameter sweeps."""

    name: str
    synthetic_rows: int
    synthetic_dim: int
    queries: int  # per dataset; batches use all of them, nq=100 at a time
    single_queries: int  # how many of them are also sent one by one
    single_budget_s: float  # upper bound on one single-query sweep point
    hnsw: dict[str, int]
    ef_sweep: tuple[int, ...]
    nprobe_sweep: tuple[int, ...]
    filtered_ef: int
    filtered_nprobe: int


PROFILES = {
    # A minute-long check that every system and step works; numbers mean little.
    "smoke": Profile(
        name="smoke",
        synthetic_rows=20_000,
        synthetic_dim=64,
        queries=200,
        single_queries=50,
        single_budget_s=5.0,
        hnsw={"M": 16, "efConstruction": 64},
        ef_sweep=(16, 64),
        nprobe_sweep=(4, 16),
        filtered_ef=64,
        filtered_nprobe=16,
    ),
    "quick": Profile(
        name="quick",
        synthetic_rows=100_000,
        synthetic_dim=128,
        queries=1000,
        single_queries=200,
        single_budget_s=10.0,
        hnsw={"M": 16, "efConstruction": 128},
        ef_sweep=(16, 32, 64, 128),
        nprobe_sweep=(4, 16, 64, 128),
        filtered_ef=64,
        filtered_nprobe=16,
    ),
    "full": Profile(
        name="full",
        synthetic_rows=1_000_000,
        synthetic_dim=128,
        queries=1000,
        single_queries=500,
        single_budget_s=60.0,
        hnsw={"M": 16, "efConstruction": 128},
        ef_sweep=(16, 32, 64, 128, 256),
        nprobe_sweep=(4, 16, 64, 128),
        filtered_ef=64,
        filtered_nprobe=16,
    ),
    # Peak RSS per role at 1M x 128 with IVF_FLAT only (run with --indexes IVF_FLAT):
    # an HNSW build of 1M rows takes most of an hour on 2 cores. Few queries; the
    # numbers that matter here are memory, insert and build.
    "rss1m": Profile(
        name="rss1m",
        synthetic_rows=1_000_000,
        synthetic_dim=128,
        queries=200,
        single_queries=50,
        single_budget_s=10.0,
        hnsw={"M": 16, "efConstruction": 128},
        ef_sweep=(64,),
        nprobe_sweep=(16, 64),
        filtered_ef=64,
        filtered_nprobe=16,
    ),
}


def index_cases(profile: Profile, rows: int) -> list[IndexCase]:
    """HNSW and IVF_FLAT; nlist near 4*sqrt(rows), a power of two, as Milvus suggests."""
    nlist = 1 << max(4, round(np.log2(4 * np.sqrt(rows))))
    return [
        IndexCase("HNSW", dict(profile.hnsw), "ef", profile.ef_sweep),
        IndexCase("IVF_FLAT", {"nlist": int(nlist)}, "nprobe", profile.nprobe_sweep),
    ]


@dataclass
class SearchPoint:
    """One (index, parameter, filter) setting: recall and speed, single and batch."""

    param: int
    filter: str  # "" for unfiltered, else a FILTERS key
    recall: float
    batch_qps: float
    single_qps: float
    single_p50_ms: float
    single_p99_ms: float
    single_queries: int
    # Elanus only: time inside the Search handler, and inside index searches, per query.
    server_p50_ms: float | None = None
    server_p99_ms: float | None = None
    index_p50_ms: float | None = None


@dataclass
class IndexResult:
    kind: str
    build_params: dict[str, int]
    sweep_key: str
    build_s: float
    load_s: float
    points: list[SearchPoint] = field(default_factory=list)


@dataclass
class SystemResult:
    system: str
    dataset: str
    rows: int
    dim: int
    metric: str
    insert_s: float | None
    # Elanus only: the summed time inside its Insert handlers during the insert phase.
    insert_server_s: float | None = None
    # Servers only: the part of insert_s spent in flush (after the last insert's ack).
    flush_s: float | None = None
    indexes: list[IndexResult] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    loadavg_start: str = ""
    loadavg_end: str = ""
    wall_s: float = 0.0

    @property
    def insert_rows_per_s(self) -> float | None:
        return None if self.insert_s is None else self.rows / self.insert_s

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def run_workload(
    system: System,
    data: Dataset,
    profile: Profile,
    kinds: list[str] | None = None,
    log: Any = print,
) -> SystemResult:
    """Everything for one system on one dataset, in a fixed order."""
    started = time.perf_counter()
    result = SystemResult(
        system.name, data.name, data.size, data.dim, data.metric, None, loadavg_start=loadavg()
    )
    server = system.server if isinstance(system, MilvusServerSystem) else None
    offset = server.timing_offset() if server is not None else 0
    result.insert_s = system.insert(data)
    if isinstance(system, MilvusServerSystem):
        result.flush_s = system.flush_s
    if server is not None and server.timing_file is not None:
        handled, _ = server.timings_since(offset, "Insert")
        result.insert_server_s = sum(handler_s for handler_s, _ in handled)
    if result.insert_s is not None:
        log(f"  {system.name}: inserted {data.size} rows in {result.insert_s:.1f}s")
    for case in index_cases(profile, data.size):
        if kinds is not None and case.kind not in kinds:
            continue
        times = system.build(case, data)
        log(
            f"  {system.name}: {case.kind} built in {times.build_s:.1f}s,"
            f" loaded {times.load_s:.1f}s"
        )
        outcome = IndexResult(
            case.kind, case.build_params, case.sweep_key, times.build_s, times.load_s
        )
        for value in case.sweep:
            outcome.points.append(_measure(system, data, case, value, "", profile))
        filtered_value = profile.filtered_ef if case.kind == "HNSW" else profile.filtered_nprobe
        for label in FILTERS:
            outcome.points.append(_measure(system, data, case, filtered_value, label, profile))
        for point in outcome.points:
            log(
                f"    {case.sweep_key}={point.param:<4} filter={point.filter or '-':<4}"
                f" recall={point.recall:.3f} batch={point.batch_qps:8.0f} q/s"
                f" single p50={point.single_p50_ms:6.2f}ms p99={point.single_p99_ms:6.2f}ms"
                + (f" server p50={point.server_p50_ms:.2f}ms" if point.server_p50_ms else "")
            )
        result.indexes.append(outcome)
    result.memory = system.memory()
    result.loadavg_end = loadavg()
    result.wall_s = time.perf_counter() - started
    return result


def _measure(
    system: System, data: Dataset, case: IndexCase, value: int, label: str, profile: Profile
) -> SearchPoint:
    truth = data.truth[label]
    queries = data.queries
    # Warm-up: one batch, untimed (first-touch of pages, lazy structures).
    system.search(queries[:BATCH_NQ], case, value, label)
    found = np.empty_like(truth)
    # Best of a few passes: the machine is shared, and the fastest pass is the
    # one least disturbed by other work.
    best_s, spent_s = float("inf"), 0.0
    for _ in range(BATCH_PASSES):
        if spent_s > BATCH_BUDGET_S:
            break
        batch_started = time.perf_counter()
        for start in range(0, len(queries), BATCH_NQ):
            found[start : start + BATCH_NQ] = system.search(
                queries[start : start + BATCH_NQ], case, value, label
            )
        elapsed = time.perf_counter() - batch_started
        best_s, spent_s = min(best_s, elapsed), spent_s + elapsed
    batch_qps = len(queries) / best_s
    recall = recall_at_k(found, truth)

    server = system.server if isinstance(system, MilvusServerSystem) else None
    offset = server.timing_offset() if server is not None else 0
    latencies = []
    deadline = time.perf_counter() + profile.single_budget_s
    for row in range(min(profile.single_queries, len(queries))):
        if time.perf_counter() > deadline:
            break
        sent = time.perf_counter()
        system.search(queries[row : row + 1], case, value, label)
        latencies.append(time.perf_counter() - sent)
    millis = np.array(latencies) * 1000
    point = SearchPoint(
        param=value,
        filter=label,
        recall=recall,
        batch_qps=batch_qps,
        single_qps=len(latencies) / max(float(np.sum(latencies)), 1e-9),
        single_p50_ms=float(np.percentile(millis, 50)),
        single_p99_ms=float(np.percentile(millis, 99)),
        single_queries=len(latencies),
    )
    if server is not None and server.timing_file is not None:
        timings, _ = server.timings_since(offset, "Search")
        if timings:
            handler = np.array([t[0] for t in timings]) * 1000
            index = np.array([t[1] for t in timings]) * 1000
            point.server_p50_ms = float(np.percentile(handler, 50))
            point.server_p99_ms = float(np.percentile(handler, 99))
            point.index_p50_ms = float(np.percentile(index, 50))
    return point
