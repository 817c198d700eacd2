"""Recall@10 and index bytes per row of HNSW against Milvus 2.6's quantized indexes
(HNSW_SQ, HNSW_PQ, HNSW_PRQ, IVF_RABITQ), unrefined and refined on raw rows, in
process. ``python -m bench.quantized_metrics [rows]``.

The rows are Gaussian clusters (128-d) as in bench.ivf_pq_metrics; bytes per
row is the serialized index (codes, graph links, ids, refine copy) over the
row count. Graphs: M=16, efConstruction=200, ef=64; IVF_RABITQ: nlist=256,
nprobe=32; refined ones re-rank k * refine_k=4 candidates on FP32 rows.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from elanus.schema import DataType, FieldSchema
from elanus.vectors import build_index, parse_index_spec
from elanus.vectors.brute_force import brute_force_search

DIM, K = 128, 10
GRAPH = {"M": 16, "efConstruction": 200}
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("HNSW", GRAPH, {"ef": 64}),
    ("HNSW_SQ", {**GRAPH, "sq_type": "SQ8"}, {"ef": 64}),
    ("HNSW_SQ", {**GRAPH, "sq_type": "SQ4U"}, {"ef": 64}),
    ("HNSW_PQ", {**GRAPH, "m": 16, "nbits": 8}, {"ef": 64}),
    ("HNSW_PRQ", {**GRAPH, "m": 8, "nrq": 2, "nbits": 8}, {"ef": 64}),
    ("IVF_RABITQ", {"nlist": 256}, {"nprobe": 32}),
]
REFINE = {"refine": True, "refine_type": "FP32"}


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits))


def main(rows_count: int) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, DIM)).astype(np.float32) * 3
    rows = (centres[rng.integers(0, 100, rows_count)] + rng.normal(size=(rows_count, DIM))).astype(
        np.float32
    )
    queries = (centres[rng.integers(0, 100, 200)] + rng.normal(size=(200, DIM))).astype(np.float32)
    field = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(DIM)})
    truths = {metric: brute_force_search(rows, queries, K, metric)[1] for metric in ("L2", "IP")}
    print(f"{rows_count} x {DIM}; refined: FP32 refine, refine_k=4")
    print(f"{'index':<28} {'L2 recall':>9} {'IP recall':>9} {'bytes/row':>9} {'L2 build s':>10}")
    for index_type, build, search in CASES:
        for refined in (False, True) if index_type != "HNSW" else (False,):
            params = {**build, **(REFINE if refined else {})}
            query_params = {**search, **({"refine_k": 4} if refined else {})}
            recalls, size, built_s = {}, 0, 0.0
            for metric in ("L2", "IP"):
                spec = parse_index_spec(index_type, metric, params, field)
                started = time.perf_counter()
                index = build_index(spec, rows, DIM)
                if metric == "L2":
                    built_s = time.perf_counter() - started
                    size = len(index.serialize())
                found = index.search(queries, K, query_params)[1]
                recalls[metric] = _recall(found, truths[metric])
            label = index_type + (f" {build['sq_type']}" if "sq_type" in build else "")
            label += " +refine" if refined else ""
            print(
                f"{label:<28} {recalls['L2']:>9.3f} {recalls['IP']:>9.3f} "
                f"{size / rows_count:>9.0f} {built_s:>10.2f}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
