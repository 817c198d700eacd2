"""The MilvusClient quick start, step by step, as a new user would run it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pymilvus import DataType, MilvusClient

from .helpers import ON_MILVUS_LITE, count_rows, random_vectors, wait_until

DIM = 8
ROWS = 100
COLORS = ("red", "green", "blue", "yellow")


def quickstart_rows(count: int = ROWS, seed: int = 7) -> list[dict]:
    vectors = random_vectors(count, DIM, seed)
    return [
        {"id": i, "vector": vectors[i].tolist(), "color": COLORS[i % 4], "tag": i % 10}
        for i in range(count)
    ]


def test_quick_start_collection_lifecycle(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("quick")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")

    assert client.has_collection(name)
    assert name in client.list_collections()
    described = client.describe_collection(name)
    assert described["collection_name"] == name
    assert described["enable_dynamic_field"] is True
    assert described["auto_id"] is False
    fields = {field["name"]: field for field in described["fields"]}
    assert set(fields) == {"id", "vector"}
    assert fields["id"]["type"] == DataType.INT64
    assert fields["id"].get("is_primary") is True
    assert fields["vector"]["type"] == DataType.FLOAT_VECTOR
    assert fields["vector"]["params"]["dim"] == DIM
    # The quick-start collection gets an index on "vector" and is loaded at once.
    assert client.list_indexes(name) == ["vector"]
    assert str(client.get_load_state(name)["state"]) == "Loaded"

    client.drop_collection(name)
    assert not client.has_collection(name)
    assert name not in client.list_collections()


def test_quick_start_insert_search_query_get(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("quick")
    client.create_collection(name, dimension=DIM, metric_type="L2", consistency_level="Strong")
    rows = quickstart_rows()

    inserted = client.insert(name, rows)
    assert inserted["insert_count"] == ROWS
    assert list(inserted["ids"]) == list(range(ROWS))

    hits = client.search(name, data=[rows[3]["vector"]], limit=5, output_fields=["color"])
    assert len(hits) == 1 and len(hits[0]) == 5
    assert hits[0][0]["id"] == 3
    assert hits[0][0]["distance"] == pytest.approx(0.0, abs=1e-5)
    assert hits[0][0]["entity"]["color"] == COLORS[3]
    distances = [hit["distance"] for hit in hits[0]]
    assert distances == sorted(distances), "L2 hits come nearest first"

    red_hits = client.search(
        name,
        data=[rows[1]["vector"], rows[2]["vector"]],
        filter="color == 'red'",
        limit=4,
        output_fields=["color", "tag"],
    )
    assert len(red_hits) == 2
    for per_query in red_hits:
        assert len(per_query) == 4
        for hit in per_query:
            assert hit["entity"]["color"] == "red"
            assert hit["id"] % 4 == 0

    queried = client.query(name, filter="tag in [1, 2]", output_fields=["color", "tag"])
    assert sorted(row["id"] for row in queried) == [i for i in range(ROWS) if i % 10 in (1, 2)]
    for row in queried:
        assert row["color"] == COLORS[row["id"] % 4]
        assert row["tag"] == row["id"] % 10

    got = client.get(name, ids=[0, 2, 99], output_fields=["vector", "color"])
    assert sorted(row["id"] for row in got) == [0, 2, 99]
    for row in got:
        assert row["vector"] == pytest.approx(rows[row["id"]]["vector"])
        assert row["color"] == rows[row["id"]]["color"]

    assert count_rows(client, name) == ROWS
    assert count_rows(client, name, "color == 'blue'") == ROWS // 4


def test_query_limit_and_offset_page_through_everything(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("pages")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.insert(name, quickstart_rows())

    assert len(client.query(name, filter="id >= 0", limit=10)) == 10
    assert len(client.query(name, filter="id >= 0", limit=10, offset=95)) == 5
    assert len(client.query(name, filter="", limit=7, output_fields=["color"])) == 7
    pages = [
        client.query(name, filter="id >= 0", limit=25, offset=start, output_fields=["id"])
        for start in range(0, ROWS, 25)
    ]
    seen = [row["id"] for page in pages for row in page]
    assert sorted(seen) == list(range(ROWS)), "pages must not overlap or skip rows"

    first = client.search(name, data=[quickstart_rows()[0]["vector"]], limit=10)[0]
    shifted = client.search(name, data=[quickstart_rows()[0]["vector"]], limit=5, offset=5)[0]
    assert [hit["id"] for hit in shifted] == [hit["id"] for hit in first][5:]


def test_delete_by_ids_and_by_filter(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("delete")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.insert(name, quickstart_rows())

    client.delete(name, ids=[0, 2])
    assert count_rows(client, name) == ROWS - 2
    assert client.get(name, ids=[0, 2]) == []

    blue_before = count_rows(client, name, "color == 'blue'")
    assert blue_before == ROWS // 4 - 1, "id 2 was blue and is gone"
    result = client.delete(name, filter="color == 'blue'")
    if ON_MILVUS_LITE and isinstance(result, list):
        assert len(result) == blue_before  # Milvus Lite answers with the pre-2.3.2 pk list
    else:
        assert result["delete_count"] == blue_before
    assert count_rows(client, name, "color == 'blue'") == 0
    assert count_rows(client, name) == ROWS - 2 - blue_before
    assert client.query(name, filter="color == 'blue'") == []
    hits = client.search(name, data=[quickstart_rows()[2]["vector"]], limit=20)[0]
    assert all(hit["id"] % 4 != 2 and hit["id"] != 0 for hit in hits)


def test_upsert_replaces_and_adds(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("upsert")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    rows = quickstart_rows()
    client.insert(name, rows)

    changed = dict(rows[5], color="purple", vector=[0.5] * DIM)
    added = {"id": 1000, "vector": [0.25] * DIM, "color": "black", "tag": 42}
    result = client.upsert(name, [changed, added])
    assert result["upsert_count"] == 2

    assert count_rows(client, name) == ROWS + 1
    got = {row["id"]: row for row in client.get(name, ids=[5, 1000], output_fields=["*"])}
    assert got[5]["color"] == "purple"
    assert got[5]["vector"] == pytest.approx([0.5] * DIM)
    assert got[1000]["color"] == "black" and got[1000]["tag"] == 42
    assert count_rows(client, name, "id == 5") == 1, "upsert must not leave the old row"


def test_flush_and_collection_stats(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("stats")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.insert(name, quickstart_rows(60))
    client.flush(name)
    assert int(client.get_collection_stats(name)["row_count"]) == 60
    client.insert(name, quickstart_rows(100)[60:])
    client.flush(name)
    assert int(client.get_collection_stats(name)["row_count"]) == 100
    assert count_rows(client, name) == 100


def test_load_release_and_load_state(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("load")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    client.insert(name, quickstart_rows(20))
    assert str(client.get_load_state(name)["state"]) == "Loaded"

    client.release_collection(name)
    assert str(client.get_load_state(name)["state"]) == "NotLoad"

    client.load_collection(name)
    assert str(client.get_load_state(name)["state"]) == "Loaded"
    assert count_rows(client, name) == 20


def test_explicit_index_params_describe_list_drop(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("index")
    schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(name, schema=schema, consistency_level="Strong")
    # Without index params the collection is neither indexed nor loaded
    # (Milvus Lite 2.5 reports Loaded here; Milvus and its docs say NotLoad).
    assert client.list_indexes(name) == []
    if not ON_MILVUS_LITE:
        assert str(client.get_load_state(name)["state"]) == "NotLoad"

    index_params = client.prepare_index_params()
    index_params.add_index(
        field_name="embedding",
        index_type="IVF_FLAT",
        metric_type="L2",
        index_name="emb_ivf",
        params={"nlist": 8},
    )
    client.create_index(name, index_params)
    assert client.list_indexes(name) == ["emb_ivf"]
    described = client.describe_index(name, index_name="emb_ivf")
    assert described["index_type"] == "IVF_FLAT"
    assert described["metric_type"] == "L2"
    assert described["field_name"] == "embedding"
    assert int(described["nlist"]) == 8

    client.drop_index(name, index_name="emb_ivf")
    assert client.list_indexes(name) == []

    # Milvus Lite 2.5 builds only FLAT, IVF_FLAT and AUTOINDEX.
    second_type = "FLAT" if ON_MILVUS_LITE else "HNSW"
    second = client.prepare_index_params()
    second.add_index(
        field_name="embedding",
        index_type=second_type,
        metric_type="IP",
        params={"M": 8, "efConstruction": 64} if second_type == "HNSW" else {},
    )
    client.create_index(name, second)
    described = client.describe_index(name, index_name="embedding")
    assert described["index_type"] == second_type
    assert described["metric_type"] == "IP"
    vectors = random_vectors(30, DIM, seed=3)
    client.insert(name, [{"pk": i, "embedding": vectors[i].tolist()} for i in range(30)])
    client.load_collection(name)
    hits = client.search(name, data=[vectors[4].tolist()], limit=3, search_params={"ef": 32})
    assert len(hits[0]) == 3
    assert str(client.get_load_state(name)["state"]) == "Loaded"


@pytest.mark.needs_partitions
def test_partitions(client: MilvusClient, new_collection_name: Callable[[str], str]) -> None:
    name = new_collection_name("parts")
    client.create_collection(name, dimension=DIM, metric_type="L2", consistency_level="Strong")
    assert client.list_partitions(name) == ["_default"]

    client.create_partition(name, "p1")
    assert client.has_partition(name, "p1")
    assert not client.has_partition(name, "p2")
    assert sorted(client.list_partitions(name)) == ["_default", "p1"]

    rows = quickstart_rows(40)
    client.insert(name, rows[:20])
    client.insert(name, rows[20:], partition_name="p1")
    assert count_rows(client, name) == 40

    in_p1 = client.search(name, data=[rows[3]["vector"]], limit=10, partition_names=["p1"])[0]
    assert len(in_p1) == 10 and all(hit["id"] >= 20 for hit in in_p1)
    queried = client.query(name, filter="id >= 0", partition_names=["p1"], output_fields=["id"])
    assert sorted(row["id"] for row in queried) == list(range(20, 40))

    # Partition-level load and release: a partition must be released before it is dropped.
    client.release_collection(name)
    client.load_partitions(name, ["p1"])
    assert str(client.get_load_state(name, partition_name="p1")["state"]) == "Loaded"
    in_p1_only = client.query(name, filter="id >= 0", partition_names=["p1"], output_fields=["id"])
    assert len(in_p1_only) == 20
    client.release_partitions(name, ["p1"])
    client.drop_partition(name, "p1")
    assert not client.has_partition(name, "p1")
    assert client.list_partitions(name) == ["_default"]
    client.load_collection(name)
    assert count_rows(client, name) == 20


def test_default_bounded_consistency_sees_writes_eventually(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("bounded")
    client.create_collection(name, dimension=DIM)  # the default level: Bounded
    client.insert(name, quickstart_rows(30))

    def all_visible() -> bool:
        rows = client.query(name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) == 30

    assert wait_until(all_visible, timeout_s=15.0), "Bounded reads never caught up"
