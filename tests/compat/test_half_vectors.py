"""FLOAT16 and BFLOAT16 vector fields through the real pymilvus client.

FLOAT16 vectors go in as numpy float16 arrays; BFLOAT16 ones as raw bytes
(two per dimension), because numpy has no bfloat16 without ml_dtypes. What is
stored comes back bit for bit, and searches rank like float32 brute force over
the same values widened to float32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from .helpers import INVALID_PARAMETER, count_rows, raises_milvus
from .server import ElanusServer

DIM = 16
ROWS = 300
HALF_TYPES = ["float16", "bfloat16"]


def half_bits(kind: str, rows: int, seed: int) -> np.ndarray:
    """(rows, DIM) uint16: the 2-byte values as a client would produce them."""
    values = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    if kind == "float16":
        return values.astype(np.float16).view(np.uint16)
    return (values.view(np.uint32) >> 16).astype(np.uint16)  # bf16 by truncation


def as_float32(kind: str, bits: np.ndarray) -> np.ndarray:
    """The reference widening, written independently of the server's."""
    if kind == "float16":
        return bits.view(np.float16).astype(np.float32)
    return (bits.astype(np.uint32) << 16).view(np.float32)


def client_vector(kind: str, bits: np.ndarray) -> Any:
    """What a user hands pymilvus: a float16 array, or the bf16 bytes."""
    return bits.view(np.float16).copy() if kind == "float16" else bits.tobytes()


def stored_bytes(value: Any) -> bytes:
    """A returned vector's bytes, whichever shape this pymilvus version gives it."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, np.ndarray):
        return value.tobytes()
    return bytes(value)


def data_type(kind: str) -> DataType:
    return DataType.FLOAT16_VECTOR if kind == "float16" else DataType.BFLOAT16_VECTOR


def create(client: MilvusClient, name: str, kind: str, index_type: str, metric: str = "L2") -> None:
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("tag", DataType.INT64)
    schema.add_field("vec", data_type(kind), dim=DIM)
    params = client.prepare_index_params()
    build = {"M": 16, "efConstruction": 64} if index_type == "HNSW" else {}
    if index_type.startswith("IVF"):
        build = {"nlist": 8, "m": 4} if index_type == "IVF_PQ" else {"nlist": 8}
    params.add_index("vec", index_type=index_type, metric_type=metric, params=build)
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")


def insert(client: MilvusClient, name: str, kind: str, bits: np.ndarray, first: int = 0) -> None:
    rows = [
        {"id": first + i, "tag": (first + i) % 3, "vec": client_vector(kind, bits[i])}
        for i in range(len(bits))
    ]
    assert client.insert(name, rows)["insert_count"] == len(rows)


def brute_force_l2(data: np.ndarray, query: np.ndarray, k: int) -> list[float]:
    return sorted(float(d) for d in ((data - query) ** 2).sum(axis=1))[:k]


@pytest.mark.parametrize("index_type", ["FLAT", "HNSW"])
@pytest.mark.parametrize("kind", HALF_TYPES)
def test_insert_search_and_round_trip(
    client: MilvusClient, new_collection_name: Callable[[str], str], kind: str, index_type: str
) -> None:
    name = new_collection_name(f"{kind}_{index_type.lower()}")
    create(client, name, kind, index_type)
    bits = half_bits(kind, ROWS, seed=21)
    insert(client, name, kind, bits)
    data = as_float32(kind, bits)

    got = client.get(name, ids=[0, 7, 299], output_fields=["vec"])
    assert {row["id"]: stored_bytes(row["vec"]) for row in got} == {
        i: bits[i].tobytes() for i in (0, 7, 299)
    }

    own = [3, 150, 298]
    results = client.search(
        name,
        data=[client_vector(kind, bits[i]) for i in own],
        limit=5,
        search_params={"metric_type": "L2", "params": {"ef": 64}},
        output_fields=["vec"],
    )
    for row_id, hits in zip(own, results, strict=True):
        assert hits[0]["id"] == row_id
        assert hits[0]["distance"] == pytest.approx(0.0, abs=1e-4)
        assert stored_bytes(hits[0]["entity"]["vec"]) == bits[row_id].tobytes()
        expected = brute_force_l2(data, data[row_id], 5)
        assert [hit["distance"] for hit in hits] == pytest.approx(expected, rel=1e-4, abs=1e-4)

    # A filtered query returns every stored vector exactly.
    rows = client.query(name, filter="tag == 1", output_fields=["vec"], limit=ROWS)
    assert len(rows) == ROWS // 3
    for row in rows:
        assert stored_bytes(row["vec"]) == bits[row["id"]].tobytes()

    client.delete(name, ids=own)
    assert count_rows(client, name) == ROWS - len(own)
    hits = client.search(name, data=[client_vector(kind, bits[3])], limit=3)[0]
    assert 3 not in [hit["id"] for hit in hits]


@pytest.mark.parametrize(
    ("index_type", "metric"),
    [("IVF_FLAT", "IP"), ("IVF_SQ8", "L2"), ("IVF_PQ", "L2"), ("AUTOINDEX", "COSINE")],
)
@pytest.mark.parametrize("kind", HALF_TYPES)
def test_float_indexes_after_flush(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    kind: str,
    index_type: str,
    metric: str,
) -> None:
    name = new_collection_name(f"{kind}_{index_type.lower()}")
    create(client, name, kind, index_type, metric)
    bits = half_bits(kind, ROWS, seed=22)
    insert(client, name, kind, bits)
    client.flush(name)
    described = client.describe_index(name, "vec")
    assert described["index_type"] == index_type and described["metric_type"] == metric
    hits = client.search(
        name,
        data=[client_vector(kind, bits[11])],
        limit=3,
        search_params={"metric_type": metric, "params": {"nprobe": 8}},
    )[0]
    if index_type in ("IVF_FLAT", "AUTOINDEX"):  # exact enough to find itself first
        if metric == "IP":
            data = as_float32(kind, bits)
            assert hits[0]["id"] == int(np.argmax(data @ data[11]))
        else:
            assert hits[0]["id"] == 11
    else:
        assert 11 in [hit["id"] for hit in hits]
    got = client.get(name, ids=[11], output_fields=["vec"])[0]
    assert stored_bytes(got["vec"]) == bits[11].tobytes()


@pytest.mark.parametrize("kind", HALF_TYPES)
def test_wrong_dimension_is_refused_and_nothing_inserted(
    client: MilvusClient, new_collection_name: Callable[[str], str], kind: str
) -> None:
    name = new_collection_name(f"{kind}_dim")
    create(client, name, kind, "FLAT")
    insert(client, name, kind, half_bits(kind, 4, seed=1))
    longer = np.random.default_rng(2).standard_normal((3, DIM + 2)).astype(np.float32)
    longer_bits = (
        longer.astype(np.float16).view(np.uint16)
        if kind == "float16"
        else (longer.view(np.uint32) >> 16).astype(np.uint16)
    )
    rows = [{"id": 10 + i, "tag": 0, "vec": client_vector(kind, longer_bits[i])} for i in range(3)]
    with raises_milvus(INVALID_PARAMETER) as caught:
        client.insert(name, rows)
    assert f"dim ({DIM + 2})" in caught.value.message
    with raises_milvus(INVALID_PARAMETER):
        client.search(name, data=[client_vector(kind, longer_bits[0])], limit=3)
    assert count_rows(client, name) == 4


@pytest.mark.parametrize("kind", HALF_TYPES)
def test_half_vectors_survive_a_restart(own_server: ElanusServer, kind: str) -> None:
    client = MilvusClient(uri=own_server.uri, timeout=60)
    name = f"{kind}_restart"
    create(client, name, kind, "HNSW")
    bits = half_bits(kind, ROWS, seed=23)
    insert(client, name, kind, bits[:200])
    client.flush(name)  # sealed, indexed segment files
    insert(client, name, kind, bits[200:], first=200)  # growing only
    client.close()

    own_server.kill()
    own_server.start()
    client = MilvusClient(uri=own_server.uri, timeout=60)
    client.load_collection(name)
    assert count_rows(client, name) == ROWS
    got = client.get(name, ids=[5, 250], output_fields=["vec"])
    assert {row["id"]: stored_bytes(row["vec"]) for row in got} == {
        5: bits[5].tobytes(),
        250: bits[250].tobytes(),
    }
    for row_id in (5, 250):
        hit = client.search(
            name,
            data=[client_vector(kind, bits[row_id])],
            limit=1,
            search_params={"params": {"ef": 64}},
        )[0][0]
        assert hit["id"] == row_id and hit["distance"] == pytest.approx(0.0, abs=1e-4)
    client.drop_collection(name)
    client.close()
