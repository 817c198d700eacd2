"""The benchmark's data: real word embeddings shipped in a wheel, and seeded
Gaussian-mixture vectors, each with held-out queries, a scalar ``tag`` column
of known distribution, and brute-force ground truth cached under bench/.cache.

Every system sees exactly these arrays, so recall numbers are comparable.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

CACHE_DIR = Path(__file__).resolve().parent / ".cache"

# The wordllama wheel ships its 32k-token x 256 embedding table as safetensors.
WORDLLAMA_REQUIREMENT = "wordllama==0.4.0.post1"
WORDLLAMA_MEMBER = "wordllama/weights/l2_supercat_256.safetensors"

# Tag values are uniform over [0, TAG_RANGE): "tag < 10" keeps ~10%, "tag == 0" ~1%.
TAG_RANGE = 100
FILTERS = {"10%": "tag < 10", "1%": "tag == 0"}
TOP_K = 10

_SAFETENSORS_DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": None}


@dataclass(frozen=True)
class Dataset:
    """Base rows, queries and ground truth for one workload."""

    name: str
    metric: str  # "L2" or "COSINE", as Milvus names them
    base: np.ndarray  # (n, dim) float32
    queries: np.ndarray  # (nq, dim) float32
    tags: np.ndarray  # (n,) int64, uniform over [0, TAG_RANGE)
    truth: dict[str, np.ndarray]  # "" (unfiltered) and each FILTERS key -> (nq, TOP_K) row ids

    @property
    def dim(self) -> int:
        return int(self.base.shape[1])

    @property
    def size(self) -> int:
        return int(self.base.shape[0])


def filter_mask(tags: np.ndarray, label: str) -> np.ndarray:
    """The rows FILTERS[label] keeps, computed in numpy for ground truth and FAISS."""
    if label == "10%":
        return tags < 10
    if label == "1%":
        return tags == 0
    raise ValueError(f"unknown filter {label!r}")


def synthetic(n: int, dim: int, nq: int, seed: int = 7, clusters: int = 256) -> Dataset:
    """A seeded Gaussian mixture: ``clusters`` centres, rows scattered around them.

    Queries are fresh draws from the same mixture, so they land near but not on rows.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, size=(clusters, dim)).astype(np.float32)
    spread = rng.uniform(0.15, 0.45, size=clusters).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        which = rng.integers(0, clusters, size=count)
        noise = rng.normal(0.0, 1.0, size=(count, dim)).astype(np.float32)
        return centres[which] + noise * spread[which, None]

    base = draw(n)
    queries = draw(nq)
    tags = rng.integers(0, TAG_RANGE, size=n, dtype=np.int64)
    name = f"synthetic-{n // 1000}k-{dim}d"
    return _with_truth(name, "L2", base, queries, tags, seed)


def wordllama(nq: int, seed: int = 11) -> Dataset:
    """wordllama's token embedding table, ``nq`` random rows held out as queries."""
    table = _load_wordllama_table()
    rng = np.random.default_rng(seed)
    # Drop all-zero rows (unused tokens): they have no cosine direction.
    table = table[np.linalg.norm(table, axis=1) > 0]
    order = rng.permutation(len(table))
    queries = table[order[:nq]]
    base = table[order[nq:]]
    tags = rng.integers(0, TAG_RANGE, size=len(base), dtype=np.int64)
    name = f"wordllama-{len(base) // 1000}k-{base.shape[1]}d"
    return _with_truth(name, "COSINE", base, queries, tags, seed)


def _load_wordllama_table() -> np.ndarray:
    cached = CACHE_DIR / "wordllama_256.npy"
    if cached.exists():
        return np.load(cached)
    wheel = _fetch_wheel(WORDLLAMA_REQUIREMENT)
    with zipfile.ZipFile(wheel) as archive:
        table = read_safetensors_matrix(archive.read(WORDLLAMA_MEMBER))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(cached, table)
    return table


def _fetch_wheel(requirement: str) -> Path:
    """The wheel for ``requirement`` from the cache, downloaded once with pip (no install)."""
    wheels = CACHE_DIR / "wheels"
    project = requirement.split("==")[0]
    found = sorted(wheels.glob(f"{project}-*.whl"))
    if not found:
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels)]
            + [requirement],
            check=True,
            timeout=600,
        )
        found = sorted(wheels.glob(f"{project}-*.whl"))
    if not found:
        raise RuntimeError(f"pip download produced no wheel for {requirement}")
    return found[-1]


def read_safetensors_matrix(blob: bytes) -> np.ndarray:
    """The single 2-D tensor in a safetensors file, as float32.

    The format is an 8-byte little-endian header length, a JSON header naming
    each tensor's dtype, shape and byte range, then the raw buffer.
    """
    header_len = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + header_len])
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    matrices = {k: v for k, v in tensors.items() if len(v["shape"]) == 2}
    if len(matrices) != 1:
        raise ValueError(f"expected one 2-D tensor, found {sorted(matrices)}")
    (entry,) = matrices.values()
    start, end = entry["data_offsets"]
    raw = blob[8 + header_len + start : 8 + header_len + end]
    dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
    if entry["dtype"] == "BF16":
        widened = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        values = widened.view(np.float32)
    elif dtype is None:
        raise ValueError(f"unsupported safetensors dtype {entry['dtype']}")
    else:
        values = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    return values.astype(np.float32).reshape(entry["shape"])


def _with_truth(
    name: str, metric: str, base: np.ndarray, queries: np.ndarray, tags: np.ndarray, seed: int
) -> Dataset:
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    key = hashlib.sha256(
        f"{name}|{metric}|{seed}|{base.shape}|{queries.shape}".encode()
        + base[:: max(1, len(base) // 1000)].tobytes()
        + queries.tobytes()
        + tags.tobytes()
    ).hexdigest()[:16]
    path = CACHE_DIR / "truth" / f"{name}-{key}.npz"
    if path.exists():
        with np.load(path) as stored:
            truth = {("" if k == "all" else k): stored[k] for k in stored.files}
    else:
        truth = {"": exact_topk(base, queries, metric, None)}
        for label in FILTERS:
            truth[label] = exact_topk(base, queries, metric, filter_mask(tags, label))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{(k or "all"): v for k, v in truth.items()})
    return Dataset(name, metric, base, queries, tags, truth)


def exact_topk(
    base: np.ndarray, queries: np.ndarray, metric: str, mask: np.ndarray | None
) -> np.ndarray:
    """Brute-force top-k row ids (into ``base``) among rows where ``mask`` holds."""
    rows = np.arange(len(base)) if mask is None else np.flatnonzero(mask)
    subset, probes = base[rows], queries
    if metric == "COSINE":
        subset, probes = normalized(subset), normalized(probes)
    kind = faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexFlat(base.shape[1], kind)
    index.add(subset)
    _, found = index.search(probes, TOP_K)
    return rows[found]


def normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-30), dtype=np.float32)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each query's true top-k present in its returned ids."""
    hits = 0
    for got, expected in zip(found, truth, strict=True):
        hits += len(np.intersect1d(got[got >= 0], expected))
    return hits / truth.size
