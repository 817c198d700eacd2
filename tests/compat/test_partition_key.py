"""The partition key through pymilvus (issue 19, point 5).

A schema field with ``is_partition_key=True`` gives the collection
``num_partitions`` partitions (16 by default, at most 1024) named
``_default_0`` ...; each row goes to the partition its key hashes to, with
Milvus's hashes (MurmurHash3 of an Int64 key's eight little-endian bytes, CRC-32
of a VarChar key's first 100 bytes). The tests hold each partition's row count
to an in-memory model of that hash, check that a filter on the key (which lets
the server read only the matching partitions) answers exactly what the model
says, and that Milvus's refusals (naming partitions by hand, partition DDL)
change nothing.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import INVALID_PARAMETER, count_rows, raises_milvus, random_vectors, unique_name
from .server import ElanusServer

pytestmark = pytest.mark.not_on_milvus_lite("Milvus Lite 2.5 has no partition RPCs")

DIM = 8
UNIMPLEMENTED = 10
UNEXPECTED = 65535  # Milvus's code for its bare refusals (errors.New in its proxy)
MASK32 = 0xFFFFFFFF


# --- the model: Milvus's partition-key hashes, written from their definitions


def murmur3_32(data: bytes) -> int:
    """MurmurHash3 x86 32-bit, seed 0."""

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & MASK32

    def scramble(k: int) -> int:
        return (rotl((k * 0xCC9E2D51) & MASK32, 15) * 0x1B873593) & MASK32

    h = 0
    blocks = len(data) // 4
    for i in range(blocks):
        h = rotl(h ^ scramble(int.from_bytes(data[4 * i : 4 * i + 4], "little")), 13)
        h = (h * 5 + 0xE6546B64) & MASK32
    tail = data[4 * blocks :]
    if tail:
        h ^= scramble(int.from_bytes(tail, "little"))
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK32
    return h ^ (h >> 16)


def model_partition(key: int | str, num_partitions: int) -> str:
    if isinstance(key, int):
        hashed = murmur3_32(key.to_bytes(8, "little", signed=True)) & 0x7FFFFFFF
    else:
        hashed = zlib.crc32(key.encode()[:100])
    return f"_default_{hashed % num_partitions}"


def test_the_model_hash_is_murmur3() -> None:
    # Published MurmurHash3 x86_32 values (seed 0), so the model itself is right.
    assert murmur3_32(b"") == 0
    assert murmur3_32(b"hello") == 0x248BFA47
    assert murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


# --- helpers


def key_schema(key_type: DataType) -> object:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    if key_type == DataType.VARCHAR:
        schema.add_field("tenant", DataType.VARCHAR, max_length=256, is_partition_key=True)
    else:
        schema.add_field("tenant", DataType.INT64, is_partition_key=True)
    return schema


def create_keyed(
    client: MilvusClient, name: str, key_type: DataType = DataType.INT64, **kwargs: object
) -> None:
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="L2")
    client.create_collection(
        name,
        schema=key_schema(key_type),
        index_params=index,
        consistency_level="Strong",
        **kwargs,
    )


def tenant_keys(count: int, key_type: DataType, seed: int) -> list[int | str]:
    rng = np.random.default_rng(seed)
    if key_type == DataType.VARCHAR:
        pool: list[int | str] = [f"tenant-{i}-{'x' * (i % 5) * 30}" for i in range(40)]
    else:
        pool = [int(v) for v in rng.integers(-(2**62), 2**62, size=40)]
        pool.extend([0, 1, -1, 2**63 - 1])
    return [pool[int(i)] for i in rng.integers(0, len(pool), size=count)]


def keyed_rows(first: int, keys: list[int | str], seed: int) -> list[dict]:
    vectors = random_vectors(len(keys), DIM, seed)
    return [
        {"id": first + i, "vector": vectors[i].tolist(), "tenant": key}
        for i, key in enumerate(keys)
    ]


def partition_counts(client: MilvusClient, name: str) -> dict[str, int]:
    return {
        p: int(client.get_partition_stats(name, p)["row_count"])
        for p in client.list_partitions(name)
    }


def model_counts(keys: list[int | str], num_partitions: int) -> dict[str, int]:
    counted = Counter(model_partition(k, num_partitions) for k in keys)
    return {f"_default_{i}": counted.get(f"_default_{i}", 0) for i in range(num_partitions)}


def literal(key: int | str) -> str:
    return f'"{key}"' if isinstance(key, str) else str(key)


# --- creation


def test_a_key_collection_gets_its_partitions_named_as_milvus_names_them(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    default, eight = new_collection_name("pk16"), new_collection_name("pk8")
    create_keyed(client, default)
    create_keyed(client, eight, num_partitions=8)
    assert client.list_partitions(default) == [f"_default_{i}" for i in range(16)]
    assert client.list_partitions(eight) == [f"_default_{i}" for i in range(8)]
    described = client.describe_collection(eight)
    assert described["num_partitions"] == 8
    assert [f for f in described["fields"] if f["name"] == "tenant"][0]["is_partition_key"]


@pytest.mark.parametrize("key_type", [DataType.INT64, DataType.VARCHAR], ids=["int64", "varchar"])
def test_rows_go_to_the_partition_their_key_hashes_to(
    client: MilvusClient, new_collection_name: Callable[[str], str], key_type: DataType
) -> None:
    name, partitions = new_collection_name("route"), 7
    create_keyed(client, name, key_type, num_partitions=partitions)
    keys = tenant_keys(600, key_type, seed=3)
    client.insert(name, keyed_rows(0, keys[:300], seed=1))
    client.upsert(name, keyed_rows(300, keys[300:], seed=2))
    client.flush(name)
    assert partition_counts(client, name) == model_counts(keys, partitions)
    assert count_rows(client, name) == len(keys)


@pytest.mark.parametrize("key_type", [DataType.INT64, DataType.VARCHAR], ids=["int64", "varchar"])
def test_a_filter_on_the_key_reads_what_the_model_says(
    client: MilvusClient, new_collection_name: Callable[[str], str], key_type: DataType
) -> None:
    name = new_collection_name("prune")
    create_keyed(client, name, key_type, num_partitions=16)
    keys = tenant_keys(400, key_type, seed=5)
    rows = keyed_rows(0, keys, seed=6)
    client.insert(name, rows)
    distinct = list(dict.fromkeys(keys))
    some = distinct[:3]
    every_id = {r["id"]: r["tenant"] for r in rows}

    def ids(filter_text: str) -> set[int]:
        found = client.query(name, filter=filter_text, output_fields=["id"], limit=1000)
        return {int(r["id"]) for r in found}

    one = some[0]
    assert ids(f"tenant == {literal(one)}") == {i for i, k in every_id.items() if k == one}
    listed = f"tenant in [{', '.join(literal(k) for k in some)}]"
    wanted = {i for i, k in every_id.items() if k in some}
    assert ids(listed) == wanted
    assert ids(f"{listed} and id < 200") == {i for i in wanted if i < 200}
    either = f"tenant == {literal(some[0])} or tenant == {literal(some[1])}"
    assert ids(either) == {i for i, k in every_id.items() if k in some[:2]}
    # A filter that pins no key reads every partition.
    assert ids(f"{listed} or id < 10") == wanted | {i for i in every_id if i < 10}
    # Templates pin the key as literals do.
    templated = client.query(
        name, filter="tenant == {k}", filter_params={"k": one}, output_fields=["id"], limit=1000
    )
    assert {int(r["id"]) for r in templated} == ids(f"tenant == {literal(one)}")

    # A search with the key filter finds the same rows as one over everything,
    # keeping only that tenant: pruning never loses a hit.
    query = [rows[0]["vector"]]
    pruned = client.search(name, query, limit=500, filter=f"tenant == {literal(one)}")
    unpruned = client.search(name, query, limit=500, filter="id >= 0")
    of_tenant = {h["id"] for h in unpruned[0] if every_id[h["id"]] == one}
    assert {h["id"] for h in pruned[0]} == of_tenant
    of_one = len(ids(f"tenant == {literal(one)}"))
    assert client.delete(name, filter=f"tenant == {literal(one)}")["delete_count"] == of_one
    assert ids(f"tenant == {literal(one)}") == set()
    assert count_rows(client, name) == sum(1 for k in keys if k != one)


# --- Milvus's refusals


def test_partitions_by_hand_are_refused_and_change_nothing(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("refuse")
    create_keyed(client, name, num_partitions=4)
    client.insert(name, keyed_rows(0, [1, 2, 3, 4], seed=1))
    before = client.list_partitions(name)
    refusals = [
        (UNEXPECTED, "disable create partition", lambda: client.create_partition(name, "mine")),
        (UNEXPECTED, "disable drop partition", lambda: client.drop_partition(name, "_default_0")),
        (
            UNEXPECTED,
            "disable release partitions",
            lambda: client.release_partitions(name, ["_default_1"]),
        ),
        (
            UNEXPECTED,
            "disable load partitions",
            lambda: client.load_partitions(name, ["_default_1"]),
        ),
        (
            INVALID_PARAMETER,
            "manually specifying the partition names",
            lambda: client.insert(name, keyed_rows(10, [5], seed=2), partition_name="_default_1"),
        ),
        (
            INVALID_PARAMETER,
            "manually specifying the partition names",
            lambda: client.upsert(name, keyed_rows(11, [5], seed=2), partition_name="_default_1"),
        ),
        (
            UNEXPECTED,
            "manually specifying the partition names",
            lambda: client.query(name, filter="id >= 0", partition_names=["_default_1"]),
        ),
        (
            UNEXPECTED,
            "manually specifying the partition names",
            lambda: client.search(name, [[0.0] * DIM], limit=3, partition_names=["_default_1"]),
        ),
        (
            UNEXPECTED,
            "manually specifying the partition names",
            lambda: client.delete(name, filter="id >= 0", partition_name="_default_1"),
        ),
    ]
    for code, words, refused_call in refusals:
        with raises_milvus(code) as caught:
            refused_call()
        assert words in caught.value.message
    assert client.list_partitions(name) == before
    assert count_rows(client, name) == 4


def test_bad_partition_key_schemas_are_refused_and_create_nothing(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    too_many, without_key, isolated = (new_collection_name("bad") for _ in range(3))
    with raises_milvus(INVALID_PARAMETER):
        create_keyed(client, too_many, num_partitions=1025)
    plain = MilvusClient.create_schema(auto_id=False)
    plain.add_field("id", DataType.INT64, is_primary=True)
    plain.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    with raises_milvus(INVALID_PARAMETER):
        client.create_collection(without_key, schema=plain, num_partitions=4)
    # Elanus does not build the per-key indexes isolation asks for: refused, not ignored.
    with raises_milvus(UNIMPLEMENTED):
        create_keyed(client, isolated, properties={"partitionkey.isolation": "true"})
    for name in (too_many, without_key, isolated):
        assert not client.has_collection(name)
    accepted = new_collection_name("notisolated")
    create_keyed(client, accepted, num_partitions=2, properties={"partitionkey.isolation": "false"})
    assert client.list_partitions(accepted) == ["_default_0", "_default_1"]
    assert create_keyed_limit_ok(client, new_collection_name("max"))


def create_keyed_limit_ok(client: MilvusClient, name: str) -> bool:
    create_keyed(client, name, num_partitions=1024)
    return len(client.list_partitions(name)) == 1024


# --- restart


def test_partitions_and_routing_survive_a_restart(own_server: ElanusServer) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    name, partitions = unique_name("keykept"), 5
    create_keyed(client, name, num_partitions=partitions)
    keys = tenant_keys(100, DataType.INT64, seed=9)
    client.insert(name, keyed_rows(0, keys[:50], seed=1))
    client.close()

    own_server.kill()
    own_server.start()

    client = MilvusClient(uri=own_server.uri, timeout=60)
    try:
        assert client.list_partitions(name) == [f"_default_{i}" for i in range(partitions)]
        client.insert(name, keyed_rows(50, keys[50:], seed=2))
        client.load_collection(name)
        client.flush(name)
        assert partition_counts(client, name) == model_counts(keys, partitions)
        one = keys[0]
        found = client.query(name, filter=f"tenant == {one}", output_fields=["id"], limit=1000)
        assert {int(r["id"]) for r in found} == {i for i, k in enumerate(keys) if k == one}
        client.drop_collection(name)
    finally:
        client.close()
