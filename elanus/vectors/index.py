"""Vector indexes over one segment's rows: build, search with a row filter, serialize.

Float indexes are FAISS indexes searched with an ``IDSelectorBitmap`` so the
filter is applied inside FAISS. Binary indexes keep the packed codes and scan
them with numpy (FAISS's binary IVF accepts no selector and has no Jaccard);
FAISS trains their IVF centroids.

A filtered approximate search can come back short when few rows pass the
filter. Where that happens, or when 93% or more of the rows are filtered out
(knowhere's threshold), the affected queries are answered exactly instead, so
a search returns ``min(k, valid rows)`` results.
"""

from __future__ import annotations

import json
import struct
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from elanus.errors import InternalError
from elanus.vectors.brute_force import (
    brute_force_search,
    normalize_rows,
    pairwise_distances,
    select_topk,
    worst_distance,
)
from elanus.vectors.spec import (
    BIN_IVF_FLAT,
    COSINE,
    FLAT,
    HNSW,
    HNSW_INDEX_TYPES,
    HNSW_PQ,
    HNSW_PRQ,
    HNSW_SQ,
    IP,
    IVF_FLAT,
    IVF_PQ,
    IVF_RABITQ,
    IVF_SQ8,
    LOSSLESS_REFINE_TYPES,
    SCANN,
    IndexSpec,
    resolve_spec,
    validate_search_params,
)

_MAGIC = b"ELVIDX01"
_FILTERED_OUT_RATIO_FOR_EXACT = 0.93
_SCANN_NBITS = 4  # fast-scan codes are 4 bits per sub-quantizer
# FAISS's scalar quantizers for Milvus's sq_type and refine_type names.
_SQ_QUANTIZERS = {
    "SQ4U": faiss.ScalarQuantizer.QT_4bit_uniform,
    "SQ6": faiss.ScalarQuantizer.QT_6bit,
    "SQ8": faiss.ScalarQuantizer.QT_8bit,
    "FP16": faiss.ScalarQuantizer.QT_fp16,
    "BF16": faiss.ScalarQuantizer.QT_bf16,
}
# Structures searched through inverted lists; probing all of them is an exhaustive scan.
_IVF_STRUCTURES = (IVF_FLAT, IVF_SQ8, IVF_PQ, SCANN, IVF_RABITQ)


class VectorIndex(ABC):
    """An index over ``num_rows`` vectors; results name rows by offset (0..num_rows-1)."""

    def __init__(self, spec: IndexSpec, dim: int) -> None:
        self.spec = spec
        self.dim = dim

    @property
    @abstractmethod
    def num_rows(self) -> int: ...

    def search(
        self,
        queries: np.ndarray,
        k: int,
        search_params: Mapping[str, Any] | None = None,
        valid: np.ndarray | None = None,
        raw_vectors: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows per query among rows where ``valid`` (a bool mask over rows) is True.

        Returns (distances float32 (nq, k), row offsets int64 (nq, k)) sorted best
        first; missing results have offset -1 and distance +inf (-inf for IP/COSINE).
        Raises ParameterInvalid for bad search params (e.g. HNSW ef < k).
        ``raw_vectors`` (the indexed rows, in order) lets an exact search read the
        few valid rows directly instead of reconstructing them or scanning every list.
        """
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        resolved = validate_search_params(self.spec, k, search_params or {})
        queries = self._check_queries(queries)
        mask = None if valid is None else _check_mask(valid, self.num_rows)
        valid_count = self.num_rows if mask is None else int(mask.sum())
        nq = len(queries)
        if valid_count == 0 or nq == 0:
            return _empty_result(nq, k, self.spec.metric_type)
        if valid_count <= (1.0 - _FILTERED_OUT_RATIO_FOR_EXACT) * self.num_rows:
            return self._exact(queries, k, mask, raw_vectors)
        distances, offsets = self._approximate_search(queries, k, resolved, mask)
        short = np.flatnonzero((offsets >= 0).sum(axis=1) < min(k, valid_count))
        if len(short):
            distances[short], offsets[short] = self._exact(queries[short], k, mask, raw_vectors)
        return distances, offsets

    @property
    def exact_from_raw(self) -> bool:
        """True when the exact path ranks by true distances, so raw rows give the same answer.

        Quantized indexes (IVF_SQ8, IVF_PQ, SCANN without raw data) rank by their
        codes even when exhaustive, so they keep their own exact path.
        """
        return False

    def _exact(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None, raw: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if raw is None or not self.exact_from_raw or len(raw) != self.num_rows:
            return self._exact_search(queries, k, mask)
        return brute_force_search(raw, queries, k, self.spec.metric_type, mask)

    def serialize(self) -> bytes:
        """The index as bytes for object storage; :func:`load_index` reverses it."""
        header = {
            "index_type": self.spec.index_type,
            "metric_type": self.spec.metric_type,
            "dim": self.dim,
            "num_rows": self.num_rows,
            **self._header_extra(),
        }
        return _pack(header, self._blobs())

    @abstractmethod
    def _check_queries(self, queries: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _approximate_search(
        self, queries: np.ndarray, k: int, params: dict[str, float], mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    @abstractmethod
    def _exact_search(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def _header_extra(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def _blobs(self) -> dict[str, bytes]: ...


@dataclass(frozen=True)
class InnerProductAsL2:
    """An IVF_PQ index for IP or COSINE, built in an L2 geometry where nearer means a
    larger inner product.

    FAISS's IVF_PQ ranks inner products poorly: on 128-d clustered rows (m=16,
    nbits=8, nprobe=32) recall@10 was 0.09 for IP and 0.13 for COSINE, against
    0.69 and 0.37 built this way. Each row gets one more coordinate,
    sqrt(M^2 - |x|^2) with M the largest row norm, then zeros up to ``pad``
    coordinates so ``m`` still divides the dimension (the code stays m bytes);
    a query gets zeros there. Then |q' - x'|^2 = |q|^2 + M^2 - 2 q.x, so the L2
    order is the inner-product order and the score comes back exactly from the
    distance. COSINE's unit rows need no extra coordinate (M = 1).
    """

    max_norm_sq: float
    pad: int

    @classmethod
    def fit(cls, rows: np.ndarray, m: int) -> InnerProductAsL2:
        """``pad`` is 0 when every row has the same norm (COSINE's unit rows): the
        extra coordinate would be zero everywhere and only dilute the codes."""
        norms_sq = np.einsum("ij,ij->i", rows, rows)
        largest = float(norms_sq.max(initial=0.0))
        same_norm = bool(np.all(largest - norms_sq <= 1e-5 * max(largest, 1.0)))
        return cls(largest, 0 if same_norm else m)

    def rows(self, data: np.ndarray) -> np.ndarray:
        if not self.pad:
            return np.ascontiguousarray(data, dtype=np.float32)
        extra = np.zeros((len(data), self.pad), dtype=np.float32)
        norms_sq = np.einsum("ij,ij->i", data, data)
        extra[:, 0] = np.sqrt(np.maximum(self.max_norm_sq - norms_sq, 0.0))
        return np.ascontiguousarray(np.hstack([data, extra]), dtype=np.float32)

    def queries(self, data: np.ndarray) -> np.ndarray:
        if not self.pad:
            return np.ascontiguousarray(data, dtype=np.float32)
        zeros = np.zeros((len(data), self.pad), dtype=np.float32)
        return np.ascontiguousarray(np.hstack([data, zeros]), dtype=np.float32)

    def scores(self, queries: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """Inner products from the L2 distances FAISS answered for ``queries``."""
        norms_sq = np.einsum("ij,ij->i", queries, queries)[:, None]
        result: np.ndarray = (norms_sq + self.max_norm_sq - distances) / 2.0
        return result

    def header(self) -> dict[str, float | int]:
        return {"max_norm_sq": self.max_norm_sq, "pad": self.pad}


class FaissFloatIndex(VectorIndex):
    """FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ, HNSW, SCANN, HNSW_SQ, HNSW_PQ, HNSW_PRQ or
    IVF_RABITQ on float vectors, as one FAISS index.

    COSINE is inner product over unit vectors: rows are normalised at build,
    queries at search. ``structure`` is what was built, which is FLAT for a
    segment too small to train the requested index (as Milvus, which keeps
    small segments unindexed). SCANN is an ``IndexIVFPQFastScan`` (4-bit codes,
    scanned with SIMD lookups) wrapped in an ``IndexRefineFlat`` that re-ranks
    ``reorder_k`` candidates on the raw vectors, unless built without raw data.
    IVF_PQ for IP or COSINE searches an L2 index through ``as_l2``
    (:class:`InnerProductAsL2`). A refined HNSW_SQ/PQ/PRQ or IVF_RABITQ is an
    ``IndexRefine`` whose second index holds the rows at ``refine_type``'s
    precision; it re-ranks ``k * refine_k`` candidates of the quantized one.
    """

    def __init__(
        self,
        spec: IndexSpec,
        dim: int,
        index: faiss.Index,
        structure: str,
        as_l2: InnerProductAsL2 | None = None,
    ) -> None:
        super().__init__(spec, dim)
        self._index = index
        self._structure = structure
        self._as_l2 = as_l2

    @property
    def num_rows(self) -> int:
        return int(self._index.ntotal)

    def _check_queries(self, queries: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(queries, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (nq, {self.dim}), got {data.shape}")
        return normalize_rows(data) if self.spec.metric_type == COSINE else data

    def _approximate_search(
        self, queries: np.ndarray, k: int, params: dict[str, float], mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        selector = None
        if mask is not None:
            # A local until the search returns: FAISS reads it through the selector.
            bitmap = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
        search_params = self._faiss_params(params, selector, k)
        if self._as_l2 is None:
            distances, offsets = self._index.search(queries, k, params=search_params)
        else:
            found, offsets = self._index.search(
                self._as_l2.queries(queries), k, params=search_params
            )
            distances = self._as_l2.scores(queries, found)
        return _pad_missing(distances, offsets, self.spec.metric_type)

    def _exact_search(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self._structure in _IVF_STRUCTURES and not self._refined:
            # Probing every list is exhaustive over the index's own codes, filter inside FAISS.
            nlist = int(faiss.extract_index_ivf(self._index).nlist)
            exhaustive = {"nprobe": nlist, "reorder_k": k, "refine_k": 1.0, "rbq_bits_query": 0}
            return self._approximate_search(queries, k, exhaustive, mask)
        if self._structure in HNSW_INDEX_TYPES or self._refined:
            # A graph has no exhaustive search: rank the rows it stores (the refine
            # index's when refined, else the codes decoded), valid rows only.
            rows = np.arange(self.num_rows) if mask is None else np.flatnonzero(mask)
            vectors = self._index.reconstruct_batch(rows.astype(np.int64))
            metric = IP if self.spec.metric_type == COSINE else self.spec.metric_type
            distances, positions = brute_force_search(vectors, queries, k, metric)
            return distances, np.where(positions >= 0, rows[positions], -1)
        return self._approximate_search(queries, k, {}, mask)

    @property
    def exact_from_raw(self) -> bool:
        """Raw rows rank as this index's exact path does: unquantized structures,
        and refined ones whose refine index holds the rows at full precision."""
        if self._structure in (FLAT, IVF_FLAT, HNSW):
            return True
        return self._refined and isinstance(
            faiss.downcast_index(self._index.refine_index), faiss.IndexFlat
        )

    @property
    def _refined(self) -> bool:
        """True for an ``IndexRefine``: a SCANN with raw data or a refined quantized index."""
        return isinstance(self._index, faiss.IndexRefine)

    def _faiss_params(
        self, params: dict[str, float], selector: faiss.IDSelector | None, k: int
    ) -> faiss.SearchParameters | None:
        base: faiss.SearchParameters
        if self._structure in HNSW_INDEX_TYPES:
            base = faiss.SearchParametersHNSW(sel=selector, efSearch=int(params["ef"]))
        elif self._structure == IVF_RABITQ:
            base = faiss.IVFRaBitQSearchParameters(
                sel=selector, nprobe=int(params["nprobe"]), qb=int(params["rbq_bits_query"])
            )
        elif self._structure in _IVF_STRUCTURES:
            base = faiss.SearchParametersIVF(sel=selector, nprobe=int(params["nprobe"]))
        else:
            return None if selector is None else faiss.SearchParameters(sel=selector)
        if not self._refined:
            return base
        if self._structure == SCANN:
            # FAISS re-ranks int(k * k_factor) candidates; the half keeps the product >= reorder_k.
            k_factor = (params["reorder_k"] + 0.5) / k
        else:
            k_factor = params["refine_k"]
        refine = faiss.IndexRefineSearchParameters(k_factor=k_factor, base_index_params=base)
        refine.referenced_base_params = base  # keeps the base params alive with the wrapper
        return refine

    def _header_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"structure": self._structure}
        if self._as_l2 is not None:
            extra["inner_product_as_l2"] = self._as_l2.header()
        return extra

    def _blobs(self) -> dict[str, bytes]:
        return {"faiss": faiss.serialize_index(self._index).tobytes()}


class BinaryIndex(VectorIndex):
    """BIN_FLAT or BIN_IVF_FLAT over packed bit codes, HAMMING or JACCARD.

    For IVF, ``centroids`` are FAISS-trained binary centroids and rows are kept
    grouped by list (``list_order`` sorted by list, ``list_bounds`` its CSR
    offsets) so a query scans only its ``nprobe`` nearest lists.
    """

    def __init__(
        self,
        spec: IndexSpec,
        dim: int,
        codes: np.ndarray,
        centroids: np.ndarray | None = None,
        assignment: np.ndarray | None = None,
    ) -> None:
        super().__init__(spec, dim)
        self._codes = np.ascontiguousarray(codes, dtype=np.uint8)
        self._centroids = centroids
        self._assignment = assignment
        self._quantizer: faiss.IndexBinaryFlat | None = None
        if centroids is not None and assignment is not None:
            self._quantizer = faiss.IndexBinaryFlat(dim)
            self._quantizer.add(centroids)
            self._list_order = np.argsort(assignment, kind="stable")
            counts = np.bincount(assignment, minlength=len(centroids))
            self._list_bounds = np.concatenate(([0], np.cumsum(counts)))

    @property
    def num_rows(self) -> int:
        return len(self._codes)

    def _check_queries(self, queries: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(queries, dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != self.dim // 8:
            raise ValueError(
                f"binary queries must have shape (nq, {self.dim // 8}), got {data.shape}"
            )
        return data

    def _approximate_search(
        self, queries: np.ndarray, k: int, params: dict[str, float], mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self._quantizer is None:
            return self._exact_search(queries, k, mask)
        metric = self.spec.metric_type
        nprobe = min(int(params.get("nprobe", 1)), self._quantizer.ntotal)
        _, probes = self._quantizer.search(queries, nprobe)
        distances, offsets = _empty_result(len(queries), k, metric)
        for i, lists in enumerate(probes):
            rows = np.concatenate(
                [self._list_order[self._list_bounds[c] : self._list_bounds[c + 1]] for c in lists]
            )
            if mask is not None:
                rows = rows[mask[rows]]
            if len(rows) == 0:
                continue
            scores = pairwise_distances(self._codes[rows], queries[i : i + 1], metric)
            best, picked = select_topk(scores, k, metric)
            distances[i, : best.shape[1]] = best[0]
            offsets[i, : best.shape[1]] = rows[picked[0]]
        return distances, offsets

    def _exact_search(
        self, queries: np.ndarray, k: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return brute_force_search(self._codes, queries, k, self.spec.metric_type, mask)

    def _blobs(self) -> dict[str, bytes]:
        blobs = {"codes": self._codes.tobytes()}
        if self._centroids is not None and self._assignment is not None:
            blobs["centroids"] = self._centroids.tobytes()
            blobs["assignment"] = self._assignment.astype("<i4").tobytes()
        return blobs


def build_index(spec: IndexSpec, vectors: np.ndarray, dim: int) -> VectorIndex:
    """Build the index ``spec`` describes over ``vectors`` (row i gets offset i).

    Float vectors are ``(n, dim)`` float32; binary ones ``(n, dim/8)`` uint8.
    IVF ``nlist`` is capped at the row count so small segments still build.
    ``spec`` may hold raw params; they are checked again here.
    """
    spec = resolve_spec(spec, dim)
    if spec.is_binary:
        return _build_binary(spec, vectors, dim)
    data = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    if spec.metric_type == COSINE:
        data = normalize_rows(data)
    metric = faiss.METRIC_L2 if spec.metric_type == "L2" else faiss.METRIC_INNER_PRODUCT
    structure = _float_structure(spec, len(data))
    if structure == IVF_PQ and metric == faiss.METRIC_INNER_PRODUCT:
        as_l2 = InnerProductAsL2.fit(data, spec.params["m"])
        rows = as_l2.rows(data)
        index = _train_ivf(spec, structure, rows, dim + as_l2.pad, faiss.METRIC_L2)
        index.add(rows)
        return FaissFloatIndex(spec, dim, index, structure, as_l2)
    if structure == HNSW:
        index = faiss.IndexHNSWFlat(dim, spec.params["M"], metric)
        index.hnsw.efConstruction = spec.params["efConstruction"]
    elif structure in (IVF_FLAT, IVF_SQ8, IVF_PQ):
        index = _train_ivf(spec, structure, data, dim, metric)
    elif structure == SCANN:
        index = _train_scann(spec, data, dim, metric)
    elif structure in (HNSW_SQ, HNSW_PQ, HNSW_PRQ, IVF_RABITQ):
        index = _refined(spec, _quantized_index(spec, structure, len(data), dim, metric), metric)
        index.train(data)
    else:
        index = faiss.IndexFlat(dim, metric)
    index.add(data)
    return FaissFloatIndex(spec, dim, index, structure)


def load_index(spec: IndexSpec, data: bytes) -> VectorIndex:
    """Read an index written by :meth:`VectorIndex.serialize`, checking it matches ``spec``."""
    header, blobs = _unpack(data)
    spec = resolve_spec(spec, int(header["dim"]))
    if (header["index_type"], header["metric_type"]) != (spec.index_type, spec.metric_type):
        raise InternalError(
            f"index file holds {header['index_type']}/{header['metric_type']}, "
            f"expected {spec.index_type}/{spec.metric_type}"
        )
    dim = int(header["dim"])
    if not spec.is_binary:
        index = faiss.deserialize_index(np.frombuffer(blobs["faiss"], dtype=np.uint8))
        as_l2 = header.get("inner_product_as_l2")
        geometry = (
            InnerProductAsL2(float(as_l2["max_norm_sq"]), int(as_l2["pad"])) if as_l2 else None
        )
        return FaissFloatIndex(spec, dim, index, header["structure"], geometry)
    codes = np.frombuffer(blobs["codes"], dtype=np.uint8).reshape(-1, dim // 8)
    if "centroids" not in blobs:
        return BinaryIndex(spec, dim, codes)
    centroids = np.frombuffer(blobs["centroids"], dtype=np.uint8).reshape(-1, dim // 8)
    assignment = np.frombuffer(blobs["assignment"], dtype="<i4").astype(np.int64)
    return BinaryIndex(spec, dim, codes, centroids, assignment)


def _float_structure(spec: IndexSpec, num_rows: int) -> str:
    """What to build: the requested type, or FLAT when the rows cannot train it."""
    if num_rows == 0:
        return "FLAT"
    if spec.index_type in (IVF_PQ, HNSW_PQ, HNSW_PRQ) and num_rows < 2 ** spec.params["nbits"]:
        return "FLAT"
    if spec.index_type == SCANN and num_rows < 2**_SCANN_NBITS:
        return "FLAT"
    return spec.index_type


def _train_ivf(
    spec: IndexSpec, structure: str, data: np.ndarray, dim: int, metric: int
) -> faiss.Index:
    nlist = min(spec.params["nlist"], len(data))
    if structure == IVF_PQ:
        # "np": no polysemous training, which Milvus does not use and which costs seconds.
        encoding = f"PQ{spec.params['m']}x{spec.params['nbits']}np"
    else:
        encoding = "SQ8" if structure == IVF_SQ8 else "Flat"
    index = faiss.index_factory(dim, f"IVF{nlist},{encoding}", metric)
    ivf = faiss.extract_index_ivf(index)
    # Small segments train on few points per list; that is expected, not worth a warning.
    ivf.cp.min_points_per_centroid = 1
    if structure == IVF_PQ:
        faiss.downcast_index(index).pq.cp.min_points_per_centroid = 1
    index.train(data)
    return index


def _quantized_index(
    spec: IndexSpec, structure: str, num_rows: int, dim: int, metric: int
) -> faiss.Index:
    """The untrained FAISS index for HNSW_SQ, HNSW_PQ, HNSW_PRQ or IVF_RABITQ."""
    params = spec.params
    index: faiss.Index
    if structure == HNSW_SQ:
        index = faiss.IndexHNSWSQ(dim, _SQ_QUANTIZERS[params["sq_type"]], params["M"], metric)
    elif structure == HNSW_PQ:
        index = faiss.IndexHNSWPQ(dim, params["m"], params["M"], params["nbits"], metric)
        faiss.downcast_index(index.storage).pq.cp.min_points_per_centroid = 1
    elif structure == HNSW_PRQ:
        # m splits of the dimensions, each coded by nrq residual quantizers of nbits.
        storage = faiss.IndexProductResidualQuantizer(
            dim, params["m"], params["nrq"], params["nbits"], metric
        )
        index = faiss.IndexHNSW(storage, params["M"])
        index.own_fields = True
        storage.this.disown()
    else:
        nlist = min(params["nlist"], num_rows)
        index = faiss.index_factory(dim, f"IVF{nlist},RaBitQ", metric)
        faiss.extract_index_ivf(index).cp.min_points_per_centroid = 1
        return index
    index.hnsw.efConstruction = params["efConstruction"]
    return index


def _refined(spec: IndexSpec, base: faiss.Index, metric: int) -> faiss.Index:
    """``base`` wrapped in an ``IndexRefine`` when the spec asks for one (refine and a
    refine_type, as knowhere), the refine index keeping rows at refine_type's precision."""
    refine_type = spec.params.get("refine_type")
    if not spec.params.get("refine") or refine_type is None:
        return base
    dim = int(base.d)
    if refine_type in LOSSLESS_REFINE_TYPES:
        rows: faiss.Index = faiss.IndexFlat(dim, metric)
    else:
        rows = faiss.IndexScalarQuantizer(dim, _SQ_QUANTIZERS[refine_type], metric)
    refined = faiss.IndexRefine(base, rows)
    # The refine index frees both; Python must not free them a second time.
    refined.own_fields = True
    refined.own_refine_index = True
    base.this.disown()
    rows.this.disown()
    return refined


def _train_scann(spec: IndexSpec, data: np.ndarray, dim: int, metric: int) -> faiss.Index:
    """IVF over 4-bit fast-scan PQ codes of residuals, two dimensions per code as knowhere's SCANN.

    Encoding residuals ("fsr") rather than raw vectors roughly triples recall
    before re-ranking on clustered data, for the same code size.
    """
    nlist = min(spec.params["nlist"], len(data))
    subquantizers = dim // 2 if dim % 2 == 0 else dim
    base = faiss.index_factory(dim, f"IVF{nlist},PQ{subquantizers}x{_SCANN_NBITS}fsr", metric)
    ivf = faiss.extract_index_ivf(base)
    ivf.cp.min_points_per_centroid = 1
    base.train(data)
    if not spec.params["with_raw_data"]:
        return base
    refined = faiss.IndexRefineFlat(base)
    # The refine index frees its base; Python must not free it a second time.
    refined.own_fields = True
    base.this.disown()
    return refined


def _build_binary(spec: IndexSpec, vectors: np.ndarray, dim: int) -> BinaryIndex:
    if dim % 8:
        raise ValueError(f"binary vector dimension must be a multiple of 8, got {dim}")
    codes = np.ascontiguousarray(vectors, dtype=np.uint8).reshape(-1, dim // 8)
    if spec.index_type != BIN_IVF_FLAT or len(codes) == 0:
        return BinaryIndex(spec, dim, codes)
    nlist = min(spec.params["nlist"], len(codes))
    trainer = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(dim), dim, nlist)
    trainer.cp.min_points_per_centroid = 1
    trainer.train(codes)
    quantizer = faiss.downcast_IndexBinary(trainer.quantizer)
    centroids = faiss.vector_to_array(quantizer.xb).reshape(nlist, dim // 8).copy()
    _, nearest = quantizer.search(codes, 1)
    return BinaryIndex(spec, dim, codes, centroids, nearest[:, 0].astype(np.int64))


def _check_mask(valid: np.ndarray, num_rows: int) -> np.ndarray:
    mask = np.ascontiguousarray(valid, dtype=bool)
    if mask.shape != (num_rows,):
        raise ValueError(f"valid mask must have shape ({num_rows},), got {mask.shape}")
    return mask


def _empty_result(nq: int, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.full((nq, k), worst_distance(metric), dtype=np.float32),
        np.full((nq, k), -1, dtype=np.int64),
    )


def _pad_missing(
    distances: np.ndarray, offsets: np.ndarray, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    """FAISS pads with +-FLT_MAX; use infinities, which every merge sorts last."""
    distances = np.asarray(distances, dtype=np.float32).copy()
    offsets = np.asarray(offsets, dtype=np.int64).copy()
    distances[offsets < 0] = worst_distance(metric)
    return distances, offsets


def _pack(header: dict[str, Any], blobs: dict[str, bytes]) -> bytes:
    """Container: magic, header length, JSON header (with blob sizes), then the blobs in order."""
    header = {**header, "blobs": [[name, len(blob)] for name, blob in blobs.items()]}
    encoded = json.dumps(header, sort_keys=True).encode()
    return b"".join([_MAGIC, struct.pack("<I", len(encoded)), encoded, *blobs.values()])


def _unpack(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    if data[: len(_MAGIC)] != _MAGIC:
        raise InternalError("not an Elanus vector index file")
    start = len(_MAGIC) + 4
    (header_len,) = struct.unpack_from("<I", data, len(_MAGIC))
    header = json.loads(data[start : start + header_len])
    position = start + header_len
    blobs: dict[str, bytes] = {}
    for name, size in header["blobs"]:
        blobs[name] = bytes(data[position : position + size])
        position += size
    if position != len(data):
        raise InternalError(f"vector index file is {len(data)} bytes, header says {position}")
    return header, blobs
