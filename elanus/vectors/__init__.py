"""Vector indexes with Milvus's names and semantics, on FAISS.

Distances are reported as Milvus reports them to clients: L2 is the squared
Euclidean distance, IP the inner product, COSINE the cosine similarity, HAMMING
the number of differing bits, JACCARD the Jaccard distance. IP and COSINE are
similarities (larger is better); the others are distances.
"""

from elanus.vectors.brute_force import brute_force_search, worst_distance
from elanus.vectors.index import VectorIndex, build_index, load_index
from elanus.vectors.merge import count_hits, merge_topk
from elanus.vectors.spec import (
    AUTOINDEX,
    BIN_FLAT,
    BIN_IVF_FLAT,
    BINARY_METRICS,
    COSINE,
    FLAT,
    FLOAT_METRICS,
    HAMMING,
    HNSW,
    HNSW_PQ,
    HNSW_PRQ,
    HNSW_SQ,
    IP,
    IVF_FLAT,
    IVF_PQ,
    IVF_RABITQ,
    IVF_SQ8,
    JACCARD,
    L2,
    SCANN,
    IndexSpec,
    larger_is_better,
    normalize_metric,
    parse_index_spec,
    resolve_spec,
    validate_search_params,
)
from elanus.vectors.window import ScoreWindow, check_range_params, probe_windowed

__all__ = [
    "AUTOINDEX",
    "BIN_FLAT",
    "BIN_IVF_FLAT",
    "BINARY_METRICS",
    "COSINE",
    "FLAT",
    "FLOAT_METRICS",
    "HAMMING",
    "HNSW",
    "HNSW_PQ",
    "HNSW_PRQ",
    "HNSW_SQ",
    "IP",
    "IVF_FLAT",
    "IVF_PQ",
    "IVF_RABITQ",
    "IVF_SQ8",
    "JACCARD",
    "L2",
    "SCANN",
    "IndexSpec",
    "ScoreWindow",
    "VectorIndex",
    "brute_force_search",
    "build_index",
    "check_range_params",
    "count_hits",
    "larger_is_better",
    "load_index",
    "merge_topk",
    "normalize_metric",
    "parse_index_spec",
    "probe_windowed",
    "resolve_spec",
    "validate_search_params",
    "worst_distance",
]
