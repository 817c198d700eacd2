"""Index and metric names with Milvus's validation rules.

Clients send index parameters as loosely typed key/values (often every value a
string), so this module is where they become a checked :class:`IndexSpec`.
The rules follow Milvus 2.4+: an empty metric means COSINE for float vectors
and HAMMING for binary ones, and AUTOINDEX means HNSW (M=18,
efConstruction=240) for float vectors and BIN_IVF_FLAT for binary ones.
FLOAT16 and BFLOAT16 fields take the float rules: FAISS indexes them as float32.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from elanus.errors import IndexNotSupported, OperationRefused, ParameterInvalid, fields
from elanus.schema import DataType, FieldSchema

# Metric names as Milvus spells them.
L2 = "L2"
IP = "IP"
COSINE = "COSINE"
HAMMING = "HAMMING"
JACCARD = "JACCARD"

FLOAT_METRICS = (L2, IP, COSINE)
BINARY_METRICS = (HAMMING, JACCARD)
_METRIC_ALIASES = {"TANIMOTO": JACCARD}
_LARGER_IS_BETTER = frozenset({IP, COSINE})

# Vector field types an index applies to; all but BINARY_VECTOR are searched as float32.
_INDEXABLE_TYPES = frozenset(
    {
        DataType.FLOAT_VECTOR,
        DataType.FLOAT16_VECTOR,
        DataType.BFLOAT16_VECTOR,
        DataType.BINARY_VECTOR,
    }
)

# Milvus's names of the vector types, as its messages print them.
_VECTOR_TYPE_NAMES = {
    DataType.FLOAT_VECTOR: "FloatVector",
    DataType.FLOAT16_VECTOR: "Float16Vector",
    DataType.BFLOAT16_VECTOR: "BFloat16Vector",
    DataType.BINARY_VECTOR: "BinaryVector",
}

# Index type names.
FLAT = "FLAT"
IVF_FLAT = "IVF_FLAT"
IVF_SQ8 = "IVF_SQ8"
IVF_PQ = "IVF_PQ"
HNSW = "HNSW"
BIN_FLAT = "BIN_FLAT"
BIN_IVF_FLAT = "BIN_IVF_FLAT"
AUTOINDEX = "AUTOINDEX"
# Milvus's SCANN; here an analogue: IVF with 4-bit fast-scan PQ codes, refined on raw vectors.
SCANN = "SCANN"
# Milvus 2.6's quantized graphs and IVF over RaBitQ binary codes, each optionally refined.
HNSW_SQ = "HNSW_SQ"
HNSW_PQ = "HNSW_PQ"
HNSW_PRQ = "HNSW_PRQ"
IVF_RABITQ = "IVF_RABITQ"

FLOAT_INDEX_TYPES = (FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ, HNSW, SCANN) + (
    HNSW_SQ,
    HNSW_PQ,
    HNSW_PRQ,
    IVF_RABITQ,
)
BINARY_INDEX_TYPES = (BIN_FLAT, BIN_IVF_FLAT)
IVF_INDEX_TYPES = frozenset({IVF_FLAT, IVF_SQ8, IVF_PQ, SCANN, IVF_RABITQ, BIN_IVF_FLAT})
HNSW_INDEX_TYPES = frozenset({HNSW, HNSW_SQ, HNSW_PQ, HNSW_PRQ})
# Indexes that take knowhere's refine, refine_type (build) and refine_k (search) parameters.
REFINABLE_INDEX_TYPES = frozenset({HNSW_SQ, HNSW_PQ, HNSW_PRQ, IVF_RABITQ})

# Scalar quantizer names for sq_type and refine_type, upper-cased (Milvus takes any case).
# SQ4U is one 4-bit range shared by every dimension (Milvus 2.6.8+).
SQ_TYPES = ("SQ4U", "SQ6", "SQ8", "FP16", "BF16")
# FLAT is knowhere's other name for FP32: the raw vectors.
REFINE_TYPES = SQ_TYPES + ("FP32", "FLAT")
LOSSLESS_REFINE_TYPES = frozenset({"FP32", "FLAT"})

INT32_MAX = 2**31 - 1

# What AUTOINDEX builds, as Milvus's default autoIndex settings do.
_AUTO_FLOAT = (HNSW, {"M": 18, "efConstruction": 240})
_AUTO_BINARY = (BIN_IVF_FLAT, {"nlist": 1024})

# Defaults Milvus documents for parameters the user leaves out.
DEFAULT_NLIST = 128
DEFAULT_NPROBE = 8
DEFAULT_HNSW_M = 30
DEFAULT_EF_CONSTRUCTION = 360
DEFAULT_PQ_M = 32
DEFAULT_PQ_NBITS = 8
DEFAULT_SQ_TYPE = "SQ8"
DEFAULT_PRQ_M = 2
DEFAULT_PRQ_NRQ = 2
DEFAULT_RBQ_BITS_QUERY = 0
DEFAULT_REFINE_K = 1.0
# knowhere's float parameters are C++ floats: refine_k's upper bound is FLT_MAX.
FLT_MAX = 3.4028234663852886e38
# HNSW searches with ef = max(k, this) when the request names no ef (knowhere's rule).
MIN_DEFAULT_EF = 16


@dataclass(frozen=True)
class IndexSpec:
    """A validated index definition: what to build and how to compare vectors.

    ``params`` holds only build parameters, with defaults filled in and values
    as ints. ``requested_type`` is what the user asked for (``AUTOINDEX``), so
    describe-index can echo it while ``index_type`` says what was built.
    """

    index_type: str
    metric_type: str
    params: dict[str, Any] = field(default_factory=dict)
    requested_type: str = ""

    def __post_init__(self) -> None:
        if not self.requested_type:
            object.__setattr__(self, "requested_type", self.index_type)

    @property
    def is_binary(self) -> bool:
        return self.index_type in BINARY_INDEX_TYPES

    def to_dict(self) -> dict[str, Any]:
        return {
            "index_type": self.index_type,
            "metric_type": self.metric_type,
            "params": dict(self.params),
            "requested_type": self.requested_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IndexSpec:
        return cls(
            index_type=data["index_type"],
            metric_type=data["metric_type"],
            params=dict(data.get("params", {})),
            requested_type=data.get("requested_type", ""),
        )


def larger_is_better(metric: str) -> bool:
    """True for similarities (IP, COSINE), false for distances (L2, HAMMING, JACCARD)."""
    return normalize_metric(metric) in _LARGER_IS_BETTER


def normalize_metric(metric: str) -> str:
    """Upper-case a metric name and resolve aliases (TANIMOTO is JACCARD)."""
    name = metric.strip().upper()
    return _METRIC_ALIASES.get(name, name)


def parse_index_spec(
    index_type: str, metric_type: str, params: Mapping[str, Any], field: FieldSchema
) -> IndexSpec:
    """Check an index request for ``field`` and return what to build.

    Raises IndexNotSupported for an index type that does not apply to the
    field, ParameterInvalid for a bad metric or parameter value.
    """
    if field.data_type not in _INDEXABLE_TYPES:
        raise IndexNotSupported(
            f"vector index on field {field.name!r} of type {field.data_type.name} is not supported"
        )
    binary = field.data_type == DataType.BINARY_VECTOR
    requested = index_type.strip().upper() or AUTOINDEX
    # Only a metric left out takes the default; a blank one is refused, as in Milvus.
    metric = normalize_metric(metric_type) if metric_type else (HAMMING if binary else COSINE)

    if requested == AUTOINDEX:
        built, auto_params = _AUTO_BINARY if binary else _AUTO_FLOAT
        merged: dict[str, Any] = {**auto_params, **params}
    else:
        built, merged = requested, dict(params)
    _check_index_type(built, requested, field, binary)
    _check_metric(metric, metric_type, binary)
    build_params = _check_build_params(built, merged, field)
    return IndexSpec(built, metric, build_params, requested_type=requested)


def resolve_spec(spec: IndexSpec, dim: int) -> IndexSpec:
    """Re-check a spec that may hold raw user params (strings, AUTOINDEX, missing defaults).

    Idempotent on the output of :func:`parse_index_spec`, so builders and
    loaders can call it on whatever the metadata holds. A binary field is
    recognised by a binary index type or metric.
    """
    binary = spec.index_type.upper() in BINARY_INDEX_TYPES or (
        normalize_metric(spec.metric_type) in BINARY_METRICS
    )
    data_type = DataType.BINARY_VECTOR if binary else DataType.FLOAT_VECTOR
    field = FieldSchema("vector", data_type, type_params={"dim": str(dim)})
    requested = spec.requested_type if spec.requested_type == AUTOINDEX else spec.index_type
    return parse_index_spec(requested, spec.metric_type, spec.params, field)


def validate_search_params(spec: IndexSpec, k: int, params: Mapping[str, Any]) -> dict[str, float]:
    """Resolve a search's index parameters (nprobe, ef, reorder_k, refine_k,
    rbq_bits_query) with Milvus's defaults.

    Unknown keys are ignored, as Milvus does. HNSW refuses ``ef < k`` and SCANN
    ``reorder_k < k`` with Milvus's messages rather than silently widening the search.
    ``refine_k`` (a float >= 1) multiplies k for the candidates a refined index re-ranks.
    """
    resolved = _validate_index_search_params(spec, k, params)
    if spec.index_type in REFINABLE_INDEX_TYPES:
        resolved["refine_k"] = _float_param(params, "refine_k", DEFAULT_REFINE_K, 1.0, FLT_MAX)
    if spec.index_type == IVF_RABITQ:
        resolved["rbq_bits_query"] = _int_param(
            params, "rbq_bits_query", DEFAULT_RBQ_BITS_QUERY, 0, 8, json_typed=True
        )
    return resolved


def _validate_index_search_params(
    spec: IndexSpec, k: int, params: Mapping[str, Any]
) -> dict[str, float]:
    if spec.index_type == SCANN:
        nprobe = _int_param(params, "nprobe", DEFAULT_NPROBE, 1, 65536, json_typed=True)
        reorder_k = _int_param(params, "reorder_k", k, 1, INT32_MAX, json_typed=True)
        if reorder_k < k:
            raise ParameterInvalid(f"reorder_k({reorder_k}) should be larger than k({k})")
        return {"nprobe": nprobe, "reorder_k": reorder_k}
    if spec.index_type in IVF_INDEX_TYPES:
        nprobe = _int_param(params, "nprobe", DEFAULT_NPROBE, 1, 65536, json_typed=True)
        return {"nprobe": nprobe}
    if spec.index_type in HNSW_INDEX_TYPES:
        if "ef" not in params:
            return {"ef": max(k, MIN_DEFAULT_EF)}
        ef = _int_param(params, "ef", k, 1, INT32_MAX, json_typed=True)
        if ef < k:
            raise ParameterInvalid(f"ef({ef}) should be larger than k({k})")
        return {"ef": ef}
    return {}


def _check_index_type(built: str, requested: str, field: FieldSchema, binary: bool) -> None:
    allowed = BINARY_INDEX_TYPES if binary else FLOAT_INDEX_TYPES
    if built in allowed:
        return
    kind = "binary" if binary else "float"
    if built in BINARY_INDEX_TYPES + FLOAT_INDEX_TYPES:
        # Milvus's check of the index type against the field's type, with its wording.
        raise ParameterInvalid(
            fields(expected="valid index params", actual="invalid index params"),
            cause=f"data type {_VECTOR_TYPE_NAMES[field.data_type]} can't build with this "
            f"index {requested}",
        )
    raise IndexNotSupported(
        f"index type {requested} is not supported; "
        f"for {kind} vector fields use {_or_list(allowed + (AUTOINDEX,))}"
    )


# Binary metrics Milvus knows and Elanus's FAISS indexes do not compute.
_STRUCTURE_METRICS = ("SUBSTRUCTURE", "SUPERSTRUCTURE")


def _check_metric(metric: str, requested: str, binary: bool) -> None:
    """Milvus's CreateIndex check of the metric, with its message (the metric as sent)."""
    allowed = BINARY_METRICS if binary else FLOAT_METRICS
    if binary and metric in _STRUCTURE_METRICS:
        # Milvus's proxy lets these through and its index checker refuses them.
        raise OperationRefused(
            f"metric type {metric} not found or not supported, supported: "
            f"[{' '.join(BINARY_METRICS)}]"
        )
    if metric not in allowed:
        kind = "binary" if binary else "float"
        raise ParameterInvalid(
            fields(expected="valid index params", actual="invalid index params"),
            cause=f"{kind} vector index does not support metric type: {requested}",
        )


def _check_build_params(
    index_type: str, params: Mapping[str, Any], field: FieldSchema
) -> dict[str, Any]:
    if index_type in IVF_INDEX_TYPES:
        checked: dict[str, Any] = {"nlist": _int_param(params, "nlist", DEFAULT_NLIST, 1, 65536)}
        if index_type == IVF_PQ:
            checked.update(_check_pq_params(params, field))
        if index_type == SCANN:
            checked["with_raw_data"] = _bool_param(params, "with_raw_data", True)
        if index_type == IVF_RABITQ:
            checked.update(_check_refine_params(index_type, params))
        return checked
    if index_type in HNSW_INDEX_TYPES:
        graph: dict[str, Any] = {
            "M": _int_param(params, "M", DEFAULT_HNSW_M, 2, 2048),
            "efConstruction": _int_param(
                params, "efConstruction", DEFAULT_EF_CONSTRUCTION, 1, INT32_MAX
            ),
        }
        if index_type == HNSW_SQ:
            graph["sq_type"] = _check_sq_type(params)
        elif index_type == HNSW_PQ:
            graph.update(_check_graph_pq_params(params, field))
        elif index_type == HNSW_PRQ:
            graph.update(_check_prq_params(params, field))
        if index_type in REFINABLE_INDEX_TYPES:
            graph.update(_check_refine_params(index_type, params))
        return graph
    return {}


def _check_sq_type(params: Mapping[str, Any]) -> str:
    """knowhere's sq_type check (any case); its message names no value."""
    sq_type = str(params.get("sq_type") or DEFAULT_SQ_TYPE).upper()
    if sq_type not in SQ_TYPES:
        raise ParameterInvalid("invalid scalar quantizer type")
    return sq_type


def _check_refine_params(index_type: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``refine`` and ``refine_type``; as knowhere, a refine is built only when both are given.

    A refine_type is checked even when refine is false. The HNSW family and
    IVF_RABITQ word the refusal differently in knowhere; both are kept.
    """
    refine = _bool_param(params, "refine", False)
    raw = params.get("refine_type")
    checked: dict[str, Any] = {"refine": refine}
    if raw is None or raw == "":
        return checked
    refine_type = str(raw).upper()  # knowhere lower-cases, and trims nothing
    if refine_type not in REFINE_TYPES:
        if index_type == IVF_RABITQ:
            raise ParameterInvalid(
                f"invalid refine type : {raw}, optional types are "
                "[sq6, sq8, fp16, bf16, fp32, flat]"
            )
        raise ParameterInvalid("invalid refine type type")
    checked["refine_type"] = refine_type
    return checked


def _check_graph_pq_params(params: Mapping[str, Any], field: FieldSchema) -> dict[str, int]:
    m = _int_param(params, "m", DEFAULT_PQ_M, 1, 65536)
    nbits = _int_param(params, "nbits", DEFAULT_PQ_NBITS, 1, 24)
    if field.dim % m != 0:
        raise ParameterInvalid(
            "The dimension of the vector (dim) should be a multiple of the number of "
            f"subquantizers (m). Dimension: {field.dim}, m: {m}"
        )
    return {"m": m, "nbits": nbits}


def _check_prq_params(params: Mapping[str, Any], field: FieldSchema) -> dict[str, int]:
    m = _int_param(params, "m", DEFAULT_PRQ_M, 1, 65536)
    nrq = _int_param(params, "nrq", DEFAULT_PRQ_NRQ, 1, 16)
    nbits = _int_param(params, "nbits", DEFAULT_PQ_NBITS, 1, 24)
    if field.dim % m != 0:
        raise ParameterInvalid(
            "The dimension of a vector (dim) should be a multiple of the number of "
            f"subquantizers (m). Dimension: {field.dim}, m: {m}"
        )
    return {"m": m, "nrq": nrq, "nbits": nbits}


def _check_pq_params(params: Mapping[str, Any], field: FieldSchema) -> dict[str, int]:
    m = _int_param(params, "m", DEFAULT_PQ_M, 1, 65536)
    if field.dim % m != 0:
        raise ParameterInvalid(
            f"IVF_PQ parameter m={m} must divide the dimension {field.dim} of field {field.name!r}"
        )
    # FAISS's product quantizer trains 2**nbits centroids per sub-vector; keep it tractable.
    nbits = _int_param(params, "nbits", DEFAULT_PQ_NBITS, 1, 16)
    return {"m": m, "nbits": nbits}


def _int_param(
    params: Mapping[str, Any],
    name: str,
    default: int,
    low: int,
    high: int,
    json_typed: bool = False,
) -> int:
    """Read an integer parameter that may arrive as int or string, checking its range.

    ``json_typed`` is for search params, which arrive as a JSON object: there
    knowhere refuses a float, a boolean or a null (build params arrive as strings).
    """
    if name not in params:
        return default
    raw = params[name]
    if json_typed and (raw is None or isinstance(raw, bool | float | list | dict)):
        raise ParameterInvalid(
            f"Type conflict in json: param '{name}' ({_json_text(raw)}) should be integer"
        )
    if raw is None or raw == "":
        return default
    value = _as_int(raw)
    if value is None:
        if _as_float(raw) is not None:  # a number, not an integer: knowhere's JSON type check
            raise ParameterInvalid("wrong data type in json")
        # Milvus's own check, before knowhere's, words it so.
        raise ParameterInvalid(cause=f"invalid integer value, key: '{name}', value: '{raw}'")
    if not low <= value <= high:
        raise ParameterInvalid(
            f"Out of range in json: param '{name}' ({value}) should be in range [{low}, {high}]"
        )
    return value


def _float_param(
    params: Mapping[str, Any], name: str, default: float, low: float, high: float
) -> float:
    """A float search parameter sent as a number or a string, checked as knowhere words it."""
    if name not in params:
        return default
    raw = params[name]
    value = None if raw is None else _as_float(raw)
    if value is None:
        raise ParameterInvalid(
            f"Type conflict in json: param '{name}' ({_json_text(raw)}) should be a number"
        )
    if not low <= value <= high:
        raise ParameterInvalid(
            f"Out of range in json: param '{name}' ({_json_text(raw)}) "
            f"should be in range [{low:.6f}, {high:.6f}]"
        )
    return value


def _json_text(raw: Any) -> str:
    """A value as knowhere prints it in its messages: JSON, strings unquoted."""
    return raw if isinstance(raw, str) else json.dumps(raw)


def _as_float(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
    else:
        return None
    return value if value == value else None  # NaN is no number here


def _bool_param(params: Mapping[str, Any], name: str, default: bool) -> bool:
    """A boolean parameter sent as a bool or as "true"/"false" (any case)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in ("true", "false"):
        raise ParameterInvalid(
            f"Type conflict in json: param '{name}' (\"{raw}\") should be a boolean"
        )
    return text == "true"


def _as_int(raw: Any) -> int | None:
    """An int or an integer string; a float, even 128.0, is no integer to knowhere."""
    if isinstance(raw, bool | float):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return None
    return None


def _or_list(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
