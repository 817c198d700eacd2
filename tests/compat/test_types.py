"""Field types, primary keys and the dynamic field: values round-trip exactly."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import ON_MILVUS_LITE, count_rows, random_vectors

DIM = 8
BINARY_DIM = 64  # bits; pymilvus sends BINARY_DIM // 8 bytes per vector


def flat_index(client: MilvusClient, field: str, metric: str = "L2"):
    params = client.prepare_index_params()
    index_type = "BIN_FLAT" if metric in ("HAMMING", "JACCARD") else "FLAT"
    params.add_index(field_name=field, index_type=index_type, metric_type=metric)
    return params


@pytest.mark.parametrize("auto_id", [False, True], ids=["user_ids", "auto_id"])
def test_int64_primary_key(
    client: MilvusClient, new_collection_name: Callable[[str], str], auto_id: bool
) -> None:
    name = new_collection_name("int_pk")
    schema = client.create_schema(auto_id=auto_id, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(
        name, schema=schema, index_params=flat_index(client, "vec"), consistency_level="Strong"
    )
    vectors = random_vectors(10, DIM, seed=11)
    if auto_id:
        rows = [{"vec": vector.tolist()} for vector in vectors]
    else:
        rows = [{"pk": 2**40 + i, "vec": vectors[i].tolist()} for i in range(10)]
    result = client.insert(name, rows)
    ids = list(result["ids"])
    assert len(ids) == 10 and len(set(ids)) == 10
    assert all(isinstance(pk, int) for pk in ids)
    if not auto_id:
        assert ids == [2**40 + i for i in range(10)]

    got = client.get(name, ids=ids, output_fields=["vec"])
    by_id = {row["pk"]: row["vec"] for row in got}
    assert set(by_id) == set(ids)
    for pk, vector in zip(ids, vectors, strict=True):
        assert by_id[pk] == pytest.approx(vector.tolist())
    hit = client.search(name, data=[vectors[4].tolist()], limit=1)[0][0]
    assert hit["pk"] == ids[4]  # keyed by the primary field's name, as Milvus 2.6 does


@pytest.mark.parametrize("auto_id", [False, True], ids=["user_ids", "auto_id"])
def test_varchar_primary_key(
    client: MilvusClient, new_collection_name: Callable[[str], str], auto_id: bool
) -> None:
    name = new_collection_name("str_pk")
    schema = client.create_schema(auto_id=auto_id, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(
        name, schema=schema, index_params=flat_index(client, "vec"), consistency_level="Strong"
    )
    vectors = random_vectors(6, DIM, seed=12)
    if auto_id:
        rows = [{"vec": vector.tolist()} for vector in vectors]
    else:
        keys = ["alpha", "beta", "gamma", "δέλτα", "with space", "quote's"]
        rows = [
            {"pk": key, "vec": vector.tolist()} for key, vector in zip(keys, vectors, strict=True)
        ]
    ids = list(client.insert(name, rows)["ids"])
    assert len(set(ids)) == 6 and all(isinstance(pk, str) and pk for pk in ids)
    if not auto_id:
        assert ids == keys

    got = client.get(name, ids=ids[:3], output_fields=["pk"])
    assert sorted(row["pk"] for row in got) == sorted(ids[:3])
    hit = client.search(name, data=[vectors[5].tolist()], limit=1)[0][0]
    assert hit["pk"] == ids[5]
    client.delete(name, ids=[ids[0]])
    assert count_rows(client, name) == 5
    assert client.get(name, ids=[ids[0]]) == []


SCALARS = [
    {"b": True, "i8": -128, "i16": -32768, "i32": -(2**31), "i64": -(2**63), "f": -1.5,
     "d": -1e300, "s": "", "j": {"a": 1, "tags": ["x", "y"], "nested": {"k": None}}},
    {"b": False, "i8": 127, "i16": 32767, "i32": 2**31 - 1, "i64": 2**63 - 1, "f": 3.25,
     "d": 2.718281828459045, "s": "héllo wörld ✓", "j": [1, 2.5, "three", True]},
    {"b": True, "i8": 0, "i16": 7, "i32": 123456, "i64": 0, "f": 0.1,
     "d": 0.1, "s": "x" * 100, "j": 42},
]  # fmt: skip


def test_scalar_fields_round_trip(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("scalars")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("b", DataType.BOOL)
    schema.add_field("i8", DataType.INT8)
    schema.add_field("i16", DataType.INT16)
    schema.add_field("i32", DataType.INT32)
    schema.add_field("i64", DataType.INT64)
    schema.add_field("f", DataType.FLOAT)
    schema.add_field("d", DataType.DOUBLE)
    schema.add_field("s", DataType.VARCHAR, max_length=128)
    schema.add_field("j", DataType.JSON)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(
        name, schema=schema, index_params=flat_index(client, "vec"), consistency_level="Strong"
    )
    described = {
        field["name"]: field["type"] for field in client.describe_collection(name)["fields"]
    }
    assert described == {
        "id": DataType.INT64, "b": DataType.BOOL, "i8": DataType.INT8, "i16": DataType.INT16,
        "i32": DataType.INT32, "i64": DataType.INT64, "f": DataType.FLOAT,
        "d": DataType.DOUBLE, "s": DataType.VARCHAR, "j": DataType.JSON,
        "vec": DataType.FLOAT_VECTOR,
    }  # fmt: skip

    vectors = random_vectors(len(SCALARS), DIM, seed=13)
    rows = [dict(values, id=i, vec=vectors[i].tolist()) for i, values in enumerate(SCALARS)]
    client.insert(name, rows)
    client.flush(name)

    got = client.query(name, filter="id >= 0", output_fields=["*"])
    assert len(got) == len(SCALARS)
    for row in got:
        expected = SCALARS[row["id"]]
        for key in ("b", "i8", "i16", "i32", "i64", "d", "s", "j"):
            assert row[key] == expected[key], key
            assert type(row[key]) is type(expected[key]), key
        assert row["f"] == pytest.approx(float(np.float32(expected["f"])), rel=1e-7)
        assert np.asarray(row["vec"], dtype=np.float32).tolist() == vectors[row["id"]].tolist()

    assert [r["id"] for r in client.query(name, filter="b == false", output_fields=["id"])] == [1]
    assert count_rows(client, name, "i8 < 0 and i16 < 0") == 1
    assert count_rows(client, name, f"i64 == {2**63 - 1}") == 1
    assert count_rows(client, name, "d > 2.0 and d < 3.0") == 1
    assert count_rows(client, name, "s == 'héllo wörld ✓'") == 1
    assert count_rows(client, name, 'j["a"] == 1') == 1
    if not ON_MILVUS_LITE:  # Milvus Lite 2.5's segcore rejects `not` (code 2000); Milvus has it
        negated = client.query(name, filter="not (i32 > 0)", output_fields=["id"])
        assert [row["id"] for row in negated] == [0]


def test_dynamic_field_in_filters_and_output(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("dynamic")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(
        name, schema=schema, index_params=flat_index(client, "vec"), consistency_level="Strong"
    )
    vectors = random_vectors(20, DIM, seed=14)
    rows = []
    for i in range(20):
        row = {"id": i, "vec": vectors[i].tolist(), "city": ["oslo", "rome"][i % 2], "score": i}
        if i % 5 == 0:
            row["extra"] = {"deep": i}
        rows.append(row)
    client.insert(name, rows)

    rome = client.query(
        name, filter="city == 'rome' and score >= 10", output_fields=["city", "score"]
    )
    assert sorted(row["id"] for row in rome) == [11, 13, 15, 17, 19]
    assert all(row["city"] == "rome" and row["score"] == row["id"] for row in rome)

    with_extra = client.query(name, filter='extra["deep"] >= 5', output_fields=["extra"])
    assert sorted((row["id"], row["extra"]["deep"]) for row in with_extra) == [
        (5, 5), (10, 10), (15, 15)
    ]  # fmt: skip

    everything = client.get(name, ids=[0], output_fields=["*"])[0]
    assert everything["city"] == "oslo" and everything["score"] == 0
    assert everything["extra"] == {"deep": 0}

    hits = client.search(
        name, data=[vectors[3].tolist()], filter="score in [1, 3, 5]", limit=5,
        output_fields=["city", "score"],
    )[0]  # fmt: skip
    assert sorted(hit["id"] for hit in hits) == [1, 3, 5]
    assert hits[0]["id"] == 3
    assert hits[0]["entity"] == {"city": "rome", "score": 3}


def hamming(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(np.bitwise_xor(a, b)).sum())


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = int(np.unpackbits(np.bitwise_or(a, b)).sum())
    both = int(np.unpackbits(np.bitwise_and(a, b)).sum())
    return 1.0 - both / union if union else 0.0


@pytest.mark.parametrize("metric", ["HAMMING", "JACCARD"])
def test_binary_vectors(
    client: MilvusClient, new_collection_name: Callable[[str], str], metric: str
) -> None:
    name = new_collection_name("binary")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("bits", DataType.BINARY_VECTOR, dim=BINARY_DIM)
    client.create_collection(
        name,
        schema=schema,
        index_params=flat_index(client, "bits", metric),
        consistency_level="Strong",
    )
    packed = np.random.default_rng(15).integers(0, 256, (200, BINARY_DIM // 8), dtype=np.uint8)
    client.insert(name, [{"id": i, "bits": packed[i].tobytes()} for i in range(200)])

    got = client.get(name, ids=[7], output_fields=["bits"])[0]["bits"]
    stored = got[0] if isinstance(got, list) else got
    assert bytes(stored) == packed[7].tobytes()

    distance = hamming if metric == "HAMMING" else jaccard
    query = packed[42]
    hits = client.search(
        name, data=[query.tobytes()], limit=10, search_params={"metric_type": metric}
    )[0]
    assert hits[0]["id"] == 42 and hits[0]["distance"] == pytest.approx(0.0)
    expected = sorted(distance(query, packed[i]) for i in range(200))[:10]
    assert [hit["distance"] for hit in hits] == pytest.approx(expected, abs=1e-5)
    for hit in hits:
        assert hit["distance"] == pytest.approx(distance(query, packed[hit["id"]]), abs=1e-5)
