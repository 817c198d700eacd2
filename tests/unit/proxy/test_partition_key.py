"""proxy.partition_key: Milvus's hashes, the routing of rows and the pruning of reads."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pyarrow as pa
import pytest

from elanus import errors, expr
from elanus.meta import CollectionInfo, ConsistencyLevel, PartitionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proxy import partition_key
from proxy.partition_key import (
    int64_key_hashes,
    murmur3_32,
    partition_indexes,
    pruned_partitions,
    row_partitions,
)


def collection(key_type: DataType, count: int) -> CollectionInfo:
    key = FieldSchema(
        "tenant",
        key_type,
        is_partition_key=True,
        type_params={"max_length": "300"} if key_type == DataType.VARCHAR else {},
    )
    schema = CollectionSchema(
        "c",
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "2"}),
            key,
            FieldSchema("n", DataType.INT64),
        ),
    ).with_field_ids()
    # Stored out of order on purpose: the hash's order is by the name's number.
    partitions = tuple(PartitionInfo(1000 + i, f"_default_{i}", 1) for i in range(count))
    return CollectionInfo(
        1, "default", schema, 1, ("v0",), ("p0",), ConsistencyLevel.STRONG, 1, partitions[::-1]
    )


def test_murmur3_matches_published_values() -> None:
    assert murmur3_32(b"") == 0
    assert murmur3_32(b"", seed=1) == 0x514E28B7
    assert murmur3_32(b"hello") == 0x248BFA47
    assert murmur3_32(b"hello, world") == 0x149BBB7F
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


def test_the_vectorised_int64_hash_is_murmur3_of_eight_little_endian_bytes() -> None:
    rng = random.Random(1)
    keys = [0, 1, -1, 2**63 - 1, -(2**63)] + [rng.randint(-(2**63), 2**63 - 1) for _ in range(500)]
    expected = [murmur3_32(k.to_bytes(8, "little", signed=True)) & 0x7FFFFFFF for k in keys]
    assert int64_key_hashes(np.array(keys, dtype=np.int64)).tolist() == expected


def test_varchar_keys_hash_by_crc32_of_their_first_100_bytes() -> None:
    long_a, long_b = "a" * 100 + "tail one", "a" * 100 + "another tail"
    keys = pa.array(["alpha", "é-tenant", long_a, long_b])
    got = partition_indexes(keys, 1 << 20).tolist()
    assert got[:2] == [
        zlib.crc32(b"alpha") % (1 << 20),
        zlib.crc32("é-tenant".encode()) % (1 << 20),
    ]
    assert got[2] == got[3] == zlib.crc32(b"a" * 100) % (1 << 20)


def test_rows_route_to_the_partition_numbered_by_the_hash() -> None:
    info = collection(DataType.INT64, 7)
    keys = np.arange(-50, 50, dtype=np.int64)
    rows = pa.table({"id": pa.array(keys), "tenant": pa.array(keys * 7919)})
    chosen = row_partitions(info, rows)
    wanted = 1000 + (int64_key_hashes(keys * 7919) % np.uint64(7)).astype(np.int64)
    assert chosen.tolist() == wanted.tolist()


@pytest.mark.parametrize(
    ("text", "pinned"),
    [
        ("tenant == 5", [5]),
        ("5 == tenant", [5]),
        ("tenant in [1, 2, 3]", [1, 2, 3]),
        ("tenant in [1, 2] and n > 3", [1, 2]),
        ("n > 3 and tenant == 2", [2]),
        ("tenant in [1, 2] and tenant in [2, 3]", [2]),
        ("tenant == 1 or tenant == 4", [1, 4]),
        ("(tenant == 1 and n < 2) or tenant in [4, 6]", [1, 4, 6]),
        ("tenant == 1 or n == 4", None),
        ("tenant != 1", None),
        ("tenant not in [1]", None),
        ("not (tenant == 1)", None),
        ("tenant > 1", None),
        ("n == 1", None),
        ("tenant == {k}", [9]),
    ],
)
def test_a_filter_prunes_to_the_partitions_of_the_keys_it_pins(
    text: str, pinned: list[int] | None
) -> None:
    info = collection(DataType.INT64, 16)
    every = tuple(sorted(p.partition_id for p in info.partitions))
    parsed = expr.parse(text, info.schema, {"k": 9})
    got = pruned_partitions(info, every, parsed)
    if pinned is None:
        assert got == every
    else:
        hashes = partition_indexes(pa.array(pinned, pa.int64()), 16)
        assert set(got) == {1000 + int(i) for i in hashes}


def test_pruning_only_narrows_what_is_loaded() -> None:
    info = collection(DataType.VARCHAR, 4)
    only_two = (1000, 1001)
    parsed = expr.parse('tenant in ["a", "b", "c", "d", "e", "f"]', info.schema, {})
    assert set(pruned_partitions(info, only_two, parsed)) <= set(only_two)
    assert pruned_partitions(info, only_two, expr.parse("tenant in []", info.schema, {})) == (
        only_two
    )


def test_num_partitions_follows_milvus_rules() -> None:
    keyed = collection(DataType.INT64, 1).schema
    plain = CollectionSchema("p", tuple(f for f in keyed.fields if not f.is_partition_key))
    assert partition_key.partitions_to_create(keyed, 0) == 16
    assert partition_key.partitions_to_create(keyed, 1024) == 1024
    assert partition_key.partitions_to_create(plain, 0) == 0
    for schema, count in ((keyed, 1025), (keyed, -1), (plain, 4)):
        with pytest.raises(errors.ParameterInvalid):
            partition_key.partitions_to_create(schema, count)


def test_isolation_is_refused_unless_false() -> None:
    partition_key.check_isolation_property({})
    partition_key.check_isolation_property({"partitionkey.isolation": "False"})
    with pytest.raises(errors.Unimplemented):
        partition_key.check_isolation_property({"partitionkey.isolation": "True"})
    with pytest.raises(errors.ParameterInvalid):
        partition_key.check_isolation_property({"partitionkey.isolation": "maybe"})
