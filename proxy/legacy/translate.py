"""Milvus 1.x names and numbers, and how they map onto Elanus.

A 1.x collection is an Elanus collection with an INT64 primary key ``id`` (the
proxy allocates ids when a 1.x insert gives none; 1.x clients may mix both) and
one vector field ``vector``: FLOAT_VECTOR for L2/IP, BINARY_VECTOR (dimension in
bits) for the binary metrics. Its 1.x metric and ``index_file_size`` are kept as
collection properties. It always has an index on ``vector`` (FLAT until the
client builds another), because 1.x searches need no index and no load.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from elanus import errors
from elanus.meta import CollectionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proto.legacy.v1 import status_pb2

PK_FIELD = "id"
VECTOR_FIELD = "vector"
METRIC_PROPERTY = "metric_type"
INDEX_FILE_SIZE_PROPERTY = "index_file_size"
DEFAULT_INDEX_FILE_SIZE = 1024  # MB, as Milvus 1.x
MAX_DIMENSION = 32768
MAX_TOPK = 16384
SERVER_VERSION = "1.1.1"  # pymilvus 1.1.2 refuses to connect unless the server says 1.1.x

# 1.x MetricType numbers -> (1.x name, Elanus metric, binary field).
METRICS: dict[int, tuple[str, str, bool]] = {
    1: ("L2", "L2", False),
    2: ("IP", "IP", False),
    3: ("HAMMING", "HAMMING", True),
    4: ("JACCARD", "JACCARD", True),
    # Elanus searches Jaccard distance d; a Tanimoto distance is -log2(1 - d), the same order.
    5: ("TANIMOTO", "JACCARD", True),
}
UNSUPPORTED_METRICS = {
    6: "SUBSTRUCTURE (FAISS has no substructure search)",
    7: "SUPERSTRUCTURE (FAISS has no superstructure search)",
}
METRIC_NUMBERS = {name: number for number, (name, _, _) in METRICS.items()}

# 1.x IndexType numbers -> (1.x name, Elanus index type for float, for binary vectors).
INDEX_TYPES: dict[int, tuple[str, str, str | None]] = {
    1: ("FLAT", "FLAT", "BIN_FLAT"),
    2: ("IVF_FLAT", "IVF_FLAT", "BIN_IVF_FLAT"),
    3: ("IVF_SQ8", "IVF_SQ8", None),
    5: ("IVF_SQ8H", "IVF_SQ8", None),  # the GPU hybrid of IVF_SQ8: the same index on CPU
    6: ("IVF_PQ", "IVF_PQ", None),
    11: ("HNSW", "HNSW", None),
}
UNSUPPORTED_INDEX_TYPES = {
    4: "RNSG (FAISS has no NSG index in Elanus)",
    12: "ANNOY (FAISS has no Annoy index)",
}
INDEX_NUMBERS = {name: number for number, (name, _, _) in INDEX_TYPES.items()}
INDEX_NUMBERS.update({"BIN_FLAT": 1, "BIN_IVF_FLAT": 2})

# Milvus 1.x's rule for collection names and partition tags.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")

Code = int


class Refused(errors.ElanusError):
    """A 1.x request refused with a 1.x ErrorCode and a reason (shown bare, as 1.x does)."""

    code = errors.ParameterInvalid.code

    def __init__(self, v1_code: Code, reason: str) -> None:
        super().__init__(reason)
        self.v1_code = v1_code

    @property
    def reason(self) -> str:
        return self.detail


def status(code: Code = status_pb2.SUCCESS, reason: str = "") -> status_pb2.Status:
    return status_pb2.Status(error_code=code, reason=reason or ("OK" if code == 0 else ""))  # type: ignore[arg-type]


def refusal_status(exc: BaseException) -> status_pb2.Status:
    """The 1.x Status for what a handler raised."""
    if isinstance(exc, Refused):
        return status(exc.v1_code, exc.reason)
    if isinstance(exc, errors.CollectionNotFound):
        return status(status_pb2.COLLECTION_NOT_EXISTS, exc.reason)
    if isinstance(exc, errors.IndexNotSupported):
        return status(status_pb2.ILLEGAL_INDEX_TYPE, exc.reason)
    if isinstance(exc, errors.ElanusError):
        code = status_pb2.ILLEGAL_ARGUMENT if exc.legacy_code == 5 else status_pb2.UNEXPECTED_ERROR
        if isinstance(exc, errors.PartitionNotFound | errors.ParameterInvalid):
            code = status_pb2.ILLEGAL_ARGUMENT
        return status(code, exc.reason)
    return status(status_pb2.UNEXPECTED_ERROR, f"{type(exc).__name__}: {exc}")


def check_collection_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise Refused(
            status_pb2.ILLEGAL_COLLECTION_NAME,
            f"Invalid collection name: {name!r}: it must start with a letter or underscore, "
            "hold only letters, digits and underscores, and be at most 255 characters",
        )


def check_partition_tag(tag: str) -> None:
    if not NAME_PATTERN.fullmatch(tag):
        raise Refused(status_pb2.ILLEGAL_ARGUMENT, f"Invalid partition tag: {tag!r}")


def metric(number: int) -> tuple[str, str, bool]:
    if number in UNSUPPORTED_METRICS:
        raise Refused(
            status_pb2.ILLEGAL_METRIC_TYPE,
            f"metric type {UNSUPPORTED_METRICS[number]} is not supported by Elanus",
        )
    if number not in METRICS:
        raise Refused(status_pb2.ILLEGAL_METRIC_TYPE, f"Invalid metric type: {number}")
    return METRICS[number]


def new_schema(name: str, dimension: int, binary: bool) -> CollectionSchema:
    if not 0 < dimension <= MAX_DIMENSION or (binary and dimension % 8):
        rule = " and a multiple of 8 for binary metrics" if binary else ""
        raise Refused(
            status_pb2.ILLEGAL_DIMENSION,
            f"Invalid dimension: {dimension}: it must be in [1, {MAX_DIMENSION}]{rule}",
        )
    vector_type = DataType.BINARY_VECTOR if binary else DataType.FLOAT_VECTOR
    return CollectionSchema(
        name=name,
        fields=(
            FieldSchema(PK_FIELD, DataType.INT64, is_primary=True),
            FieldSchema(VECTOR_FIELD, vector_type, type_params={"dim": str(dimension)}),
        ),
    )


@dataclass(frozen=True)
class LegacyView:
    """A collection as a 1.x client sees it."""

    info: CollectionInfo
    pk: FieldSchema
    vector: FieldSchema
    metric_name: str  # 1.x's name (TANIMOTO stays TANIMOTO)
    index_file_size: int

    @property
    def binary(self) -> bool:
        return self.vector.data_type is DataType.BINARY_VECTOR

    @property
    def dimension(self) -> int:
        return self.vector.dim


def view(info: CollectionInfo, index_metric: str) -> LegacyView:
    """The 1.x view of a collection, or a refusal when its schema has no 1.x shape."""
    fields = [f for f in info.schema.fields if not f.is_dynamic]
    pk = info.schema.primary_field
    vectors = [f for f in fields if f.data_type.is_vector]
    fits = (
        pk.data_type is DataType.INT64
        and len(fields) == 2
        and len(vectors) == 1
        and vectors[0].data_type in (DataType.FLOAT_VECTOR, DataType.BINARY_VECTOR)
    )
    if not fits:
        raise Refused(
            status_pb2.ILLEGAL_ARGUMENT,
            f"collection {info.name!r} has a schema the Milvus 1.x API cannot express "
            "(it needs an INT64 primary key and one float or binary vector field, nothing "
            "else); use a Milvus 2.x client for it",
        )
    binary = vectors[0].data_type is DataType.BINARY_VECTOR
    # A 2.x collection without an index has no metric yet: 1.x's default for its vectors.
    metric_name = info.properties.get(METRIC_PROPERTY, "") or index_metric
    metric_name = metric_name or ("HAMMING" if binary else "L2")
    if metric_name not in METRIC_NUMBERS:
        raise Refused(
            status_pb2.ILLEGAL_METRIC_TYPE,
            f"collection {info.name!r} uses the metric {metric_name}, which Milvus 1.x does "
            "not have; use a Milvus 2.x client for it",
        )
    try:
        size = int(info.properties.get(INDEX_FILE_SIZE_PROPERTY, DEFAULT_INDEX_FILE_SIZE))
    except ValueError:
        size = DEFAULT_INDEX_FILE_SIZE
    return LegacyView(info, pk, vectors[0], metric_name, size)


def index_type(number: int, binary: bool) -> tuple[str, str]:
    """(1.x name, Elanus index type) of a 1.x IndexType number."""
    if number in UNSUPPORTED_INDEX_TYPES:
        raise Refused(
            status_pb2.ILLEGAL_INDEX_TYPE,
            f"index type {UNSUPPORTED_INDEX_TYPES[number]} is not supported by Elanus",
        )
    if number not in INDEX_TYPES:
        raise Refused(status_pb2.ILLEGAL_INDEX_TYPE, f"Invalid index type: {number}")
    name, float_type, binary_type = INDEX_TYPES[number]
    if binary:
        if binary_type is None:
            raise Refused(
                status_pb2.ILLEGAL_INDEX_TYPE,
                f"index type {name} does not apply to binary vectors (use FLAT or IVF_FLAT)",
            )
        return name, binary_type
    return name, float_type


def json_params(pairs: Any) -> dict[str, Any]:
    """The ``params`` JSON object 1.x clients put in extra_params."""
    for pair in pairs:
        if pair.key == "params":
            if not pair.value:
                return {}
            try:
                value = json.loads(pair.value)
            except ValueError:
                raise Refused(status_pb2.ILLEGAL_ARGUMENT, "params is not valid JSON") from None
            if not isinstance(value, dict):
                raise Refused(status_pb2.ILLEGAL_ARGUMENT, "params must be a JSON object")
            return value
    return {}


def vectors_from_records(records: Any, target: LegacyView) -> np.ndarray:
    """(rows, dim) float32, or (rows, dim/8) uint8 for binary vectors; dimension checked."""
    if not len(records):
        raise Refused(status_pb2.ILLEGAL_ROWRECORD, "no vectors are given")
    dim = target.dimension
    if target.binary:
        width = dim // 8
        for i, record in enumerate(records):
            if len(record.binary_data) != width or len(record.float_data):
                raise Refused(
                    status_pb2.ILLEGAL_DIMENSION,
                    f"vector {i} has {len(record.binary_data) * 8} bits, the collection's "
                    f"dimension is {dim}",
                )
        raw = b"".join(bytes(r.binary_data) for r in records)
        return np.frombuffer(raw, dtype=np.uint8).reshape(len(records), width)
    for i, record in enumerate(records):
        if len(record.float_data) != dim:
            raise Refused(
                status_pb2.ILLEGAL_DIMENSION,
                f"vector {i} has dimension {len(record.float_data)}, the collection's "
                f"dimension is {dim}",
            )
    values = np.array([list(r.float_data) for r in records], dtype=np.float32)
    if not np.isfinite(values).all():
        raise Refused(status_pb2.ILLEGAL_ROWRECORD, "vectors contain NaN or infinite values")
    return values.reshape(len(records), dim)


def legacy_distances(distances: np.ndarray, metric_name: str) -> np.ndarray:
    """Elanus's scores as 1.x reports them (only Tanimoto differs)."""
    if metric_name != "TANIMOTO":
        return distances
    with np.errstate(divide="ignore"):
        similarity = np.clip(1.0 - distances.astype(np.float64), 0.0, 1.0)
        result: np.ndarray = -np.log2(similarity)
    return np.where(np.isfinite(result), result, math.inf).astype(np.float32)
