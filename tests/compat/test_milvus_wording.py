"""Milvus's exact wording and codes for refusals that clients (and Milvus's own test
suite) match on, and the strictness Milvus applies when a collection is declared.

Each refusal must also leave nothing behind: no collection, no partition.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pymilvus import CollectionSchema, DataType, MilvusClient, MilvusException

from .helpers import COLLECTION_NOT_FOUND, INVALID_PARAMETER, raises_milvus, unique_name

DIM = 4
FIELD_NAME_INVALID = 1701
INDEX_NOT_FOUND = 700
PARTITION_NOT_FOUND = 200
UNWRAPPED_ERROR = 65535  # Milvus's code for a plain error (bad dim, bad partition name)
RESOURCE_INSUFFICIENT = 12  # Milvus: not enough nodes for the replicas asked for


def _schema(client: MilvusClient) -> CollectionSchema:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    return schema


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("12-s", "the first character of a collection name must be an underscore or letter"),
        ("a-b", "collection name can only contain numbers, letters and underscores"),
        ("a" * 256, "the length of a collection name must be less than 255 characters"),
    ],
)
def test_malformed_collection_names_get_milvus_wording(
    client: MilvusClient, name: str, why: str
) -> None:
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.create_collection(name, dimension=DIM)
    assert f"Invalid collection name: {name}. {why}: invalid parameter" in caught.value.message
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.describe_collection(name)
    assert f"Invalid collection name: {name}." in caught.value.message
    assert name not in client.list_collections()


def test_missing_collection_names_its_database(client: MilvusClient) -> None:
    name = unique_name("absent")
    with raises_milvus(COLLECTION_NOT_FOUND) as caught:
        client.describe_collection(name)  # DescribeCollection keeps Milvus's older wording
    assert f"can't find collection[database=default][collection={name}]" in caught.value.message
    with raises_milvus(COLLECTION_NOT_FOUND) as caught:
        client.load_collection(name)
    assert f"collection not found[database=default][collection={name}]" in caught.value.message
    with raises_milvus(COLLECTION_NOT_FOUND) as caught:
        client.insert(name, [{"id": 1, "vector": [0.0] * DIM}])
    assert f"[database=default][collection={name}]" in caught.value.message


def test_malformed_alias_gets_milvus_wording(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("alias_words")
    client.create_collection(name, dimension=DIM)
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.create_alias(name, "1alias")
    assert (
        "Invalid collection alias: 1alias. the first character of a collection alias must be "
        "an underscore or letter" in caught.value.message
    )
    assert client.list_aliases(name)["aliases"] == []


@pytest.mark.parametrize("keyword", ["like", "and", "in", "array_contains", "TRUE", "text_match"])
def test_filter_keywords_are_refused_as_field_names(client: MilvusClient, keyword: str) -> None:
    name = unique_name("keyword")
    schema = _schema(client)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    schema.add_field(keyword, DataType.INT64)
    with raises_milvus(FIELD_NAME_INVALID) as caught:
        client.create_collection(name, schema=schema)
    assert f"Invalid field name: {keyword}. {keyword} is keyword in milvus." in (
        caught.value.message
    )
    assert name not in client.list_collections()


@pytest.mark.parametrize(
    ("data_type", "dim", "words"),
    [
        (DataType.FLOAT_VECTOR, 1, "invalid dimension: 1. should be in range 2 ~ 32768"),
        (
            DataType.FLOAT_VECTOR,
            32769,
            "invalid dimension: 32769 of field vec. float vector dimension should be in range "
            "2 ~ 32768",
        ),
        (
            DataType.BINARY_VECTOR,
            12,
            "invalid dimension: 12 of field vec. binary vector dimension should be multiple of 8",
        ),
    ],
)
def test_dims_out_of_range_are_refused(
    client: MilvusClient, data_type: DataType, dim: int, words: str
) -> None:
    name = unique_name("dim")
    schema = _schema(client)
    schema.add_field("vec", data_type, dim=dim)
    with pytest.raises(MilvusException) as caught:
        client.create_collection(name, schema=schema)
    assert words in caught.value.message
    assert name not in client.list_collections()


def test_largest_and_smallest_dims_are_accepted(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    for dim in (2, 32768):
        name = new_collection_name("dim_ok")
        schema = _schema(client)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        client.create_collection(name, schema=schema)
        assert client.describe_collection(name)["fields"][1]["params"]["dim"] == dim


@pytest.mark.parametrize("metric", [" ", "invalid"])
def test_blank_or_unknown_metric_is_refused(
    client: MilvusClient, new_collection_name: Callable[[str], str], metric: str
) -> None:
    """The quick create_collection makes the collection, then its index: the index is refused
    (and the collection stays, unindexed, as in Milvus)."""
    name = new_collection_name("metric")
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.create_collection(name, dimension=DIM, metric_type=metric)
    assert (
        f"float vector index does not support metric type: {metric}: invalid parameter"
        "[expected=valid index params][actual=invalid index params]" in caught.value.message
    )
    assert client.list_indexes(name) == []


@pytest.mark.parametrize(
    ("data_type", "default", "sent_as"),
    [
        (DataType.INT8, "abc", "DataType_VarChar"),
        (DataType.FLOAT, False, "DataType_Bool"),
        (DataType.VARCHAR, 3, "DataType_Int64"),
    ],
)
def test_default_of_the_wrong_type_is_refused(
    client: MilvusClient, data_type: DataType, default: object, sent_as: str
) -> None:
    name = unique_name("default")
    schema = _schema(client)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    type_names = {DataType.INT8: "Int8", DataType.FLOAT: "Float", DataType.VARCHAR: "VarChar"}
    extra = {"max_length": 8} if data_type == DataType.VARCHAR else {}
    schema.add_field("f", data_type, default_value=default, **extra)
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.create_collection(name, schema=schema)
    assert (
        f"type ({type_names[data_type]}) of field (f) is not equal to the type({sent_as}) "
        "of default_value" in caught.value.message
    )
    assert name not in client.list_collections()


def test_count_with_a_limit_is_refused(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("count_limit")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.insert(name, [{"id": i, "vector": [float(i)] * DIM} for i in range(3)])
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.query(name, filter="id >= 0", output_fields=["count(*)"], limit=2)
    assert "count entities with pagination is not allowed" in caught.value.message
    rows = client.query(name, filter="id >= 0", output_fields=["count(*)"])
    assert rows[0]["count(*)"] == 3


@pytest.mark.parametrize(
    ("partition", "why"),
    [
        ("12 s", "Partition name can only contain numbers, letters and underscores."),
        ("%$#", "The first character of a partition name must be an underscore or letter."),
    ],
)
def test_malformed_partition_names_get_milvus_wording(
    client: MilvusClient, new_collection_name: Callable[[str], str], partition: str, why: str
) -> None:
    name = new_collection_name("partition_words")
    client.create_collection(name, dimension=DIM)
    for call in (
        lambda: client.create_partition(name, partition),
        lambda: client.has_partition(name, partition),
        lambda: client.insert(name, [{"id": 1, "vector": [0.0] * DIM}], partition_name=partition),
    ):
        with raises_milvus(UNWRAPPED_ERROR) as caught:
            call()
        assert f"Invalid partition name: {partition}. {why}" in caught.value.message
    assert client.list_partitions(name) == ["_default"]


def test_partition_names_may_start_with_a_digit_and_hold_a_hyphen(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    """Milvus's partition names are looser than collection names."""
    name = new_collection_name("partition_digit")
    client.create_collection(name, dimension=DIM)
    client.create_partition(name, "2024-q1")
    assert client.has_partition(name, "2024-q1")


def _add_vector(schema: CollectionSchema) -> None:
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)


@pytest.mark.parametrize(
    ("build", "code", "words"),
    [
        (
            lambda s: s.add_field("vec", DataType.INT64),
            UNWRAPPED_ERROR,
            "duplicated field name vec found",
        ),
        (lambda s: None, INVALID_PARAMETER, "schema does not contain vector field"),
        (
            lambda s: s.add_field("tags", DataType.ARRAY, element_type=DataType.INT64),
            UNWRAPPED_ERROR,
            "type param(max_capacity) should be specified for array field tags",
        ),
        (
            lambda s: s.add_field(
                "tags", DataType.ARRAY, element_type=DataType.INT64, max_capacity=4097
            ),
            UNWRAPPED_ERROR,
            "the maximum capacity specified for a Array should be in (0, 4096]",
        ),
        (
            lambda s: s.add_field("text", DataType.VARCHAR, max_length=65536),
            INVALID_PARAMETER,
            "the maximum length specified for the field(text) should be in (0, 65535], "
            "but got 65536 instead",
        ),
        (
            lambda s: s.add_field("other", DataType.FLOAT_VECTOR, dim=DIM, nullable=True),
            INVALID_PARAMETER,
            "vector type not support null, type:FloatVector, name:other",
        ),
    ],
)
def test_schema_refusals_use_milvus_wording(
    client: MilvusClient, build: Callable[[CollectionSchema], None], code: int, words: str
) -> None:
    name = unique_name("schema_words")
    schema = _schema(client)
    if words != "schema does not contain vector field":
        _add_vector(schema)
    build(schema)
    with raises_milvus(code) as caught:
        client.create_collection(name, schema=schema)
    assert words in caught.value.message
    assert name not in client.list_collections()


def test_more_than_sixteen_shards_are_refused(client: MilvusClient) -> None:
    name = unique_name("shards")
    schema = _schema(client)
    _add_vector(schema)
    with raises_milvus(UNWRAPPED_ERROR) as caught:
        client.create_collection(name, schema=schema, num_shards=17)
    assert "maximum shards's number should be limited to 16" in caught.value.message
    assert name not in client.list_collections()


def test_more_replicas_than_querynodes_are_refused(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("replicas")
    client.create_collection(name, dimension=DIM)
    client.release_collection(name)
    replicas = 8  # more than any test server runs
    with raises_milvus(RESOURCE_INSUFFICIENT) as caught:
        client.load_collection(name, replica_number=replicas)
    assert (
        f"call query coordinator LoadCollection: when load {replicas} replica count: "
        "service resource insufficient[currentStreamingNode=" in caught.value.message
    )
    assert f"[expectedStreamingNode={replicas}]" in caught.value.message
    assert str(client.get_load_state(name)["state"]) == "NotLoad"
    client.load_collection(name)
    assert str(client.get_load_state(name)["state"]) == "Loaded"


def test_load_without_any_index_and_release_of_no_partition(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("no_index")
    schema = _schema(client)
    _add_vector(schema)
    client.create_collection(name, schema=schema)
    with raises_milvus(INDEX_NOT_FOUND) as caught:
        client.load_collection(name)
    assert f"index not found[collection={name}]" in caught.value.message
    assert str(client.get_load_state(name)["state"]) == "NotLoad"
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.release_partitions(name, [])
    assert "[expected=any partition][actual=empty partition list]" in caught.value.message


def test_vectors_of_the_wrong_length_are_refused_in_milvus_words(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("wrong_dim")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.insert(name, [{"id": 1, "vector": [0.5] * DIM}])
    with pytest.raises(MilvusException) as caught:
        client.insert(name, [{"id": 2, "vector": [0.5] * (DIM + 1)}])
    assert f"the length({DIM + 1}) of float data should divide the dim({DIM})" in (
        caught.value.message
    )
    rows = client.query(name, filter="id >= 0", output_fields=["count(*)"])
    assert rows[0]["count(*)"] == 1


def test_creating_an_existing_partition_succeeds_and_changes_nothing(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("dup_partition")
    client.create_collection(name, dimension=DIM)
    client.create_partition(name, "_default")
    client.create_partition(name, "p1")
    client.create_partition(name, "p1")
    assert sorted(client.list_partitions(name)) == ["_default", "p1"]


@pytest.mark.parametrize("metric", ["SUBSTRUCTURE", "SUPERSTRUCTURE"])
def test_structure_metrics_are_refused_for_binary_indexes(
    client: MilvusClient, new_collection_name: Callable[[str], str], metric: str
) -> None:
    name = new_collection_name("structure")
    schema = _schema(client)
    schema.add_field("bits", DataType.BINARY_VECTOR, dim=16)
    client.create_collection(name, schema=schema)
    index = client.prepare_index_params()
    index.add_index(field_name="bits", index_type="BIN_IVF_FLAT", metric_type=metric, nlist=8)
    with raises_milvus(UNWRAPPED_ERROR) as caught:
        client.create_index(name, index)
    assert (
        f"metric type {metric} not found or not supported, supported: [HAMMING JACCARD]"
        in caught.value.message
    )
    assert client.list_indexes(name) == []


def test_loading_a_malformed_partition_name_only_looks_it_up(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    """Milvus checks partition names strictly on writes; a load just does not find it."""
    name = new_collection_name("load_bad_partition")
    client.create_collection(name, dimension=DIM)
    with raises_milvus(PARTITION_NOT_FOUND) as caught:
        client.load_partitions(name, ["12 s"])
    assert "partition not found[partition=12 s]" in caught.value.message


def test_altering_a_database_with_nothing_to_set_or_drop_is_refused(
    client: MilvusClient,
) -> None:
    if not hasattr(client, "drop_database_properties"):
        pytest.skip("this pymilvus's MilvusClient has no drop_database_properties")
    db = unique_name("db_words")
    client.create_database(db)
    try:
        with raises_milvus(UNWRAPPED_ERROR) as caught:
            client.drop_database_properties(db, property_keys=[])
        assert (
            "alter database with empty properties and delete keys, expected to set either "
            "properties or delete keys" in caught.value.message
        )
    finally:
        client.drop_database(db)
