"""IVF_PQ recall@10 by metric, in process: Elanus's index (elanus.vectors) beside
FAISS's own IVF_PQ built for the same metric, on the same clustered rows.
``python -m bench.ivf_pq_metrics [rows]``.

The rows are Gaussian clusters around centres of different norms (128-d,
m=16, nbits=8, nlist=256, nprobe=32). Elanus builds IP and COSINE IVF_PQ in an
L2 geometry (elanus.vectors.index.InnerProductAsL2); FAISS's column is what
it answers for the metric directly, which Elanus did before.
"""

from __future__ import annotations

import sys
import time

import faiss
import numpy as np

from elanus.schema import DataType, FieldSchema
from elanus.vectors import build_index, parse_index_spec
from elanus.vectors.brute_force import brute_force_search, normalize_rows

DIM, M, NBITS, NLIST, NPROBE, K = 128, 16, 8, 256, 32, 10


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits))


def _faiss_direct(rows: np.ndarray, queries: np.ndarray, metric: str) -> np.ndarray:
    if metric == "COSINE":
        rows, queries = normalize_rows(rows), normalize_rows(queries)
    kind = faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT
    index = faiss.index_factory(DIM, f"IVF{NLIST},PQ{M}x{NBITS}np", kind)
    index.train(rows)
    index.add(rows)
    faiss.extract_index_ivf(index).nprobe = NPROBE
    return index.search(queries, K)[1]


def main(rows_count: int) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(100, DIM)).astype(np.float32) * 3
    rows = (centres[rng.integers(0, 100, rows_count)] + rng.normal(size=(rows_count, DIM))).astype(
        np.float32
    )
    queries = (centres[rng.integers(0, 100, 200)] + rng.normal(size=(200, DIM))).astype(np.float32)
    field = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": str(DIM)})
    print(f"{rows_count} x {DIM}, IVF_PQ m={M} nbits={NBITS} nlist={NLIST} nprobe={NPROBE}")
    print(f"{'metric':<7} {'elanus recall@10':>16} {'faiss direct':>12} {'elanus build s':>14}")
    for metric in ("L2", "IP", "COSINE"):
        truth = brute_force_search(rows, queries, K, metric)[1]
        spec = parse_index_spec("IVF_PQ", metric, {"nlist": NLIST, "m": M, "nbits": NBITS}, field)
        started = time.perf_counter()
        index = build_index(spec, rows, DIM)
        built_s = time.perf_counter() - started
        ours = _recall(index.search(queries, K, {"nprobe": NPROBE})[1], truth)
        direct = _recall(_faiss_direct(rows, queries, metric), truth)
        print(f"{metric:<7} {ours:>16.3f} {direct:>12.3f} {built_s:>14.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
