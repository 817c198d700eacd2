"""Index/metric validation with Milvus's names, defaults and messages."""

from __future__ import annotations

import pytest

from elanus.errors import IndexNotSupported, OperationRefused, ParameterInvalid
from elanus.schema import DataType, FieldSchema
from elanus.vectors import (
    IndexSpec,
    larger_is_better,
    parse_index_spec,
    resolve_spec,
    validate_search_params,
)

FLOAT = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "128"})
BINARY = FieldSchema("bits", DataType.BINARY_VECTOR, type_params={"dim": "64"})


def test_names_are_case_insensitive_and_values_may_be_strings() -> None:
    spec = parse_index_spec("ivf_flat", "l2", {"nlist": "256", "unknown": "x"}, FLOAT)
    assert spec == IndexSpec("IVF_FLAT", "L2", {"nlist": 256}, requested_type="IVF_FLAT")


def test_defaults() -> None:
    assert parse_index_spec("HNSW", "", {}, FLOAT).metric_type == "COSINE"
    assert parse_index_spec("HNSW", "IP", {}, FLOAT).params == {"M": 30, "efConstruction": 360}
    assert parse_index_spec("IVF_FLAT", "IP", {}, FLOAT).params == {"nlist": 128}
    assert parse_index_spec("BIN_FLAT", "", {}, BINARY).metric_type == "HAMMING"
    assert parse_index_spec("BIN_FLAT", "tanimoto", {}, BINARY).metric_type == "JACCARD"


def test_autoindex_maps_to_hnsw_and_remembers_the_request() -> None:
    spec = parse_index_spec("AUTOINDEX", "", {}, FLOAT)
    assert (spec.index_type, spec.metric_type, spec.requested_type) == (
        "HNSW",
        "COSINE",
        "AUTOINDEX",
    )
    assert spec.params == {"M": 18, "efConstruction": 240}
    assert parse_index_spec("", "L2", {}, FLOAT).requested_type == "AUTOINDEX"
    binary = parse_index_spec("autoindex", "", {}, BINARY)
    assert (binary.index_type, binary.metric_type) == ("BIN_IVF_FLAT", "HAMMING")
    assert IndexSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("index_type", "metric", "params", "field", "error", "message"),
    [
        (
            "HNSW",
            "HAMMING",
            {},
            FLOAT,
            ParameterInvalid,
            "float vector index does not support metric type: HAMMING",
        ),
        (
            "BIN_FLAT",
            "L2",
            {},
            BINARY,
            ParameterInvalid,
            "binary vector index does not support metric type: L2",
        ),
        (
            "BIN_IVF_FLAT",
            "L2",
            {},
            FLOAT,
            ParameterInvalid,
            "data type FloatVector can't build with this index BIN_IVF_FLAT: invalid parameter",
        ),
        (
            "HNSW",
            "L2",
            {},
            BINARY,
            ParameterInvalid,
            "data type BinaryVector can't build with this index HNSW: invalid parameter",
        ),
        ("DISKANN", "L2", {}, FLOAT, IndexNotSupported, "index type DISKANN is not supported"),
        (
            "IVF_FLAT",
            "L2",
            {"nlist": 0},
            FLOAT,
            ParameterInvalid,
            r"'nlist' \(0\) should be in range \[1, 65536\]",
        ),
        ("IVF_FLAT", "L2", {"nlist": 65537}, FLOAT, ParameterInvalid, "nlist"),
        ("IVF_FLAT", "L2", {"nlist": "many"}, FLOAT, ParameterInvalid, "invalid integer value"),
        ("HNSW", "L2", {"M": "16.0"}, FLOAT, ParameterInvalid, "wrong data type in json"),
        ("HNSW", "L2", {"M": 1}, FLOAT, ParameterInvalid, r"\[2, 2048\]"),
        ("HNSW", "L2", {"M": 2049}, FLOAT, ParameterInvalid, "'M'"),
        ("HNSW", "L2", {"efConstruction": 0}, FLOAT, ParameterInvalid, "efConstruction"),
        ("HNSW", "L2", {"M": True}, FLOAT, ParameterInvalid, "integer"),
        ("IVF_PQ", "L2", {"m": 7}, FLOAT, ParameterInvalid, "must divide the dimension 128"),
        ("FLAT", "L2", {}, FieldSchema("n", DataType.INT64), IndexNotSupported, "INT64"),
    ],
)
def test_invalid_requests(
    index_type: str, metric: str, params: dict, field: FieldSchema, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        parse_index_spec(index_type, metric, params, field)


def test_range_edges_are_accepted() -> None:
    assert parse_index_spec("IVF_FLAT", "L2", {"nlist": 65536}, FLOAT).params["nlist"] == 65536
    assert (
        parse_index_spec("HNSW", "L2", {"M": 2048, "efConstruction": 1}, FLOAT).params["M"] == 2048
    )


def test_search_params() -> None:
    hnsw = parse_index_spec("HNSW", "L2", {}, FLOAT)
    assert validate_search_params(hnsw, 10, {}) == {"ef": 16}
    assert validate_search_params(hnsw, 100, {}) == {"ef": 100}
    assert validate_search_params(hnsw, 10, {"ef": "10"}) == {"ef": 10}
    with pytest.raises(ParameterInvalid, match=r"ef\(9\) should be larger than k\(10\)"):
        validate_search_params(hnsw, 10, {"ef": 9})
    ivf = parse_index_spec("IVF_FLAT", "L2", {}, FLOAT)
    assert validate_search_params(ivf, 10, {}) == {"nprobe": 8}
    with pytest.raises(ParameterInvalid, match="nprobe"):
        validate_search_params(ivf, 10, {"nprobe": 0})


def test_larger_is_better() -> None:
    assert larger_is_better("IP") and larger_is_better("cosine")
    assert not any(larger_is_better(m) for m in ("L2", "HAMMING", "JACCARD", "TANIMOTO"))


def test_resolve_spec_accepts_raw_params_and_is_idempotent() -> None:
    raw = IndexSpec("ivf_flat", "l2", {"nlist": "64"})
    resolved = resolve_spec(raw, 128)
    assert resolved == IndexSpec("IVF_FLAT", "L2", {"nlist": 64})
    assert resolve_spec(resolved, 128) == resolved
    auto = parse_index_spec("AUTOINDEX", "", {}, FLOAT)
    assert resolve_spec(auto, 128) == auto
    assert resolve_spec(IndexSpec("AUTOINDEX", "HAMMING"), 64).index_type == "BIN_IVF_FLAT"


@pytest.mark.parametrize("metric", ["SUBSTRUCTURE", "superstructure"])
def test_structure_metrics_are_refused_in_milvus_words(metric: str) -> None:
    field = FieldSchema("bits", DataType.BINARY_VECTOR, type_params={"dim": "16"})
    with pytest.raises(OperationRefused) as caught:
        parse_index_spec("BIN_FLAT", metric, {}, field)
    assert caught.value.reason == (
        f"metric type {metric.upper()} not found or not supported, supported: [HAMMING JACCARD]"
    )


@pytest.mark.parametrize("metric", [" ", "invalid"])
def test_a_blank_or_unknown_metric_is_refused_but_none_means_the_default(metric: str) -> None:
    field = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "4"})
    with pytest.raises(ParameterInvalid, match="float vector index does not support metric type"):
        parse_index_spec("FLAT", metric, {}, field)
    assert parse_index_spec("FLAT", "", {}, field).metric_type == "COSINE"
