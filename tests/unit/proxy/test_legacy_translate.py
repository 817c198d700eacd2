"""proxy/legacy/translate.py: 1.x names, codes and vectors onto Elanus's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from elanus import errors
from elanus.meta import CollectionInfo, ConsistencyLevel, PartitionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proto.legacy.v1 import milvus_pb2, status_pb2
from proxy.legacy import translate as t


def _info(schema: CollectionSchema, properties: dict[str, str] | None = None) -> CollectionInfo:
    return CollectionInfo(
        collection_id=1,
        db_name="default",
        schema=schema,
        shards_num=1,
        vchannels=("v0",),
        pchannels=("p0",),
        consistency_level=ConsistencyLevel.BOUNDED,
        created_ts=0,
        partitions=(PartitionInfo(2, "_default", 0),),
        properties=properties or {},
    )


def test_status_codes_are_1x_numbers() -> None:
    assert t.status().error_code == 0
    not_found = t.refusal_status(errors.CollectionNotFound("collection=x"))
    assert not_found.error_code == status_pb2.COLLECTION_NOT_EXISTS == 4
    assert t.refusal_status(errors.ParameterInvalid("x")).error_code == 5
    assert t.refusal_status(errors.IndexNotSupported("x")).error_code == 8
    assert t.refusal_status(RuntimeError("boom")).error_code == 1
    refused = t.refusal_status(t.Refused(status_pb2.ILLEGAL_DIMENSION, "bad"))
    assert (refused.error_code, refused.reason) == (7, "bad")


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "x" * 256])
def test_invalid_collection_names(name: str) -> None:
    with pytest.raises(t.Refused) as raised:
        t.check_collection_name(name)
    assert raised.value.v1_code == status_pb2.ILLEGAL_COLLECTION_NAME


def test_metrics_and_index_types() -> None:
    assert t.metric(1) == ("L2", "L2", False)
    assert t.metric(5) == ("TANIMOTO", "JACCARD", True)
    for unsupported in (6, 7, 99):
        with pytest.raises(t.Refused) as raised:
            t.metric(unsupported)
        assert raised.value.v1_code == status_pb2.ILLEGAL_METRIC_TYPE
    assert t.index_type(5, binary=False) == ("IVF_SQ8H", "IVF_SQ8")
    assert t.index_type(2, binary=True) == ("IVF_FLAT", "BIN_IVF_FLAT")
    for number, binary in ((4, False), (12, False), (11, True)):
        with pytest.raises(t.Refused) as raised:
            t.index_type(number, binary)
        assert raised.value.v1_code == status_pb2.ILLEGAL_INDEX_TYPE


def test_new_schema_and_view() -> None:
    schema = t.new_schema("c", 16, binary=True)
    assert [(f.name, f.data_type) for f in schema.fields] == [
        ("id", DataType.INT64),
        ("vector", DataType.BINARY_VECTOR),
    ]
    view = t.view(_info(schema, {"metric_type": "TANIMOTO", "index_file_size": "64"}), "JACCARD")
    assert (view.dimension, view.binary, view.metric_name, view.index_file_size) == (
        16,
        True,
        "TANIMOTO",
        64,
    )
    for dim, binary in ((0, False), (40000, False), (12, True)):
        with pytest.raises(t.Refused) as raised:
            t.new_schema("c", dim, binary)
        assert raised.value.v1_code == status_pb2.ILLEGAL_DIMENSION


def test_view_refuses_schemas_1x_cannot_express() -> None:
    wide = CollectionSchema(
        "w",
        (
            FieldSchema("pk", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
            FieldSchema("year", DataType.INT64),
        ),
    )
    with pytest.raises(t.Refused, match="cannot express"):
        t.view(_info(wide), "L2")
    cosine = t.new_schema("c", 4, binary=False)
    with pytest.raises(t.Refused, match="COSINE") as raised:
        t.view(_info(cosine), "COSINE")
    assert raised.value.v1_code == status_pb2.ILLEGAL_METRIC_TYPE
    assert t.view(_info(cosine), "").metric_name == "L2"  # no index yet: 1.x's default


def test_vectors_from_records_checks_dimension() -> None:
    view = t.view(_info(t.new_schema("c", 3, binary=False)), "L2")
    records = [milvus_pb2.RowRecord(float_data=[1, 2, 3]), milvus_pb2.RowRecord(float_data=[4, 5])]
    with pytest.raises(t.Refused) as raised:
        t.vectors_from_records(records, view)
    assert raised.value.v1_code == status_pb2.ILLEGAL_DIMENSION
    good = t.vectors_from_records(records[:1], view)
    assert good.tolist() == [[1.0, 2.0, 3.0]]


def test_tanimoto_distances() -> None:
    jaccard = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    tanimoto = t.legacy_distances(jaccard, "TANIMOTO")
    assert tanimoto[:2].tolist() == pytest.approx([0.0, 1.0])
    assert math.isinf(tanimoto[2])
    assert t.legacy_distances(jaccard, "JACCARD") is jaccard
