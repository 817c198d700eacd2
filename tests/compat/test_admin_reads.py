"""The administration reads tools call (issue 19 point 6), through pymilvus's connection
calls (the ones its utility module and MilvusClient make, in 2.5 and 3.0 alike):
persistent and loaded segments, replicas, compaction plans, and ignore_growing in
search and query. Values are checked against what each test did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import common_pb2

from .helpers import ON_MILVUS_LITE, count_rows, random_vectors, wait_until

DIM = 8
SHARDS = 2
WAIT_S = 60.0

pytestmark = pytest.mark.not_on_milvus_lite("Milvus Lite serves no segment or replica views")


def make_collection(client: MilvusClient, name: str, shards: int = SHARDS) -> int:
    """A loaded collection with a FLAT index, Strong by default; its id."""
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="L2", index_name="vec_idx")
    client.create_collection(
        name,
        schema=schema,
        index_params=index,
        num_shards=shards,
        consistency_level="Strong",
    )
    return int(client.describe_collection(name)["collection_id"])


def insert(client: MilvusClient, name: str, first: int, count: int) -> None:
    vectors = random_vectors(count, DIM, first)
    client.insert(name, [{"id": first + i, "vec": vectors[i].tolist()} for i in range(count)])


def persistent(client: MilvusClient, name: str) -> list[Any]:
    return list(client._get_connection().get_persistent_segment_infos(name, timeout=30))


def loaded(client: MilvusClient, name: str) -> list[Any]:
    return list(client._get_connection().get_query_segment_info(name, timeout=30))


def test_persistent_segments_appear_flushed_with_their_rows_after_flush(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("persist")
    collection_id = make_collection(client, name)
    insert(client, name, 0, 40)
    # Growing data is not persistent: Milvus lists sealed and flushed segments only.
    assert persistent(client, name) == []
    if hasattr(client, "list_segments"):  # pymilvus 3 can ask for growing segments too
        from pymilvus.client.types import SegmentState

        growing = client.list_segments(name, states=[SegmentState.Growing])
        assert sum(s.num_rows for s in growing) == 40
        assert {s.state for s in growing} == {common_pb2.Growing}

    client.flush(name)
    infos = persistent(client, name)
    assert infos, "no persistent segment after flush"
    assert {i.state for i in infos} == {common_pb2.Flushed}
    assert sum(i.num_rows for i in infos) == 40
    assert {i.collectionID for i in infos} == {collection_id}
    partitions = client.list_partitions(name)
    assert partitions == ["_default"]
    assert len({i.partitionID for i in infos}) == 1
    assert len({i.segmentID for i in infos}) == len(infos)
    if hasattr(client, "list_persistent_segments"):
        listed = client.list_persistent_segments(name)
        assert sorted(s.segment_id for s in listed) == sorted(i.segmentID for i in infos)
        assert all(s.collection_name == name for s in listed)


def test_loaded_segments_are_the_flushed_ones_on_their_querynode_with_the_index(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("loaded")
    collection_id = make_collection(client, name)
    insert(client, name, 0, 30)
    assert loaded(client, name) == []  # growing data only: nothing sealed is served
    client.flush(name)
    flushed = {i.segmentID: i.num_rows for i in persistent(client, name)}
    replica_nodes = {n for r in client.describe_replica(name) for n in r.group_nodes}

    def indexed() -> bool:
        infos = loaded(client, name)
        return {i.segmentID for i in infos} == set(flushed) and all(
            i.index_name == "vec_idx" for i in infos
        )

    assert wait_until(indexed, WAIT_S), f"loaded segments: {loaded(client, name)}"
    for info in loaded(client, name):
        assert info.collectionID == collection_id
        assert info.num_rows == flushed[info.segmentID]
        assert info.state == common_pb2.Sealed
        assert info.indexID > 0
        assert list(info.nodeIds) and set(info.nodeIds) <= replica_nodes

    client.release_collection(name)
    assert loaded(client, name) == []
    if hasattr(client, "list_loaded_segments"):
        client.load_collection(name)
        listed = client.list_loaded_segments(name)
        assert sorted(s.segment_id for s in listed) == sorted(flushed)


def test_replicas_name_every_shard_with_its_leader(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    querynode_ports: set[int] | None,
) -> None:
    name = new_collection_name("replica")
    collection_id = make_collection(client, name)
    replicas = client.describe_replica(name)
    assert len(replicas) == 1
    replica = replicas[0]
    assert replica.id > 0
    assert len(replica.shards) == SHARDS
    assert len({s.channel_name for s in replica.shards}) == SHARDS
    for shard in replica.shards:
        assert shard.shard_leader in replica.group_nodes
        assert set(shard.shard_nodes) == {shard.shard_leader}
    # The same replica, asked again: its id is kept.
    assert client.describe_replica(name)[0].id == replica.id
    stub = client._get_connection()._stub
    from pymilvus.grpc_gen import milvus_pb2

    reply = stub.GetReplicas(
        milvus_pb2.GetReplicasRequest(collectionID=collection_id, with_shard_nodes=True), timeout=30
    )
    assert reply.status.code == 0, reply.status.reason
    if querynode_ports is not None:
        # On the cluster: each leader is a real querynode, found at its address.
        assert len(replica.group_nodes) == len(querynode_ports)
        for shard in reply.replicas[0].shard_replicas:
            assert int(shard.leader_addr.rsplit(":", 1)[1]) in querynode_ports

    client.release_collection(name)
    assert client.describe_replica(name) == []


def test_compaction_plans_name_the_merged_segments_and_their_result(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("plans")
    make_collection(client, name, shards=1)
    for batch in range(2):
        insert(client, name, batch * 100, 25)
        client.flush(name)
    before = {i.segmentID for i in persistent(client, name)}
    assert len(before) == 2

    job = client.compact(name)
    assert wait_until(lambda: client.get_compaction_state(job) == "Completed", WAIT_S)
    plans = client._get_connection().get_compaction_plans(job, timeout=30)
    assert plans.state == common_pb2.Completed
    assert len(plans.plans) == 1
    plan = plans.plans[0]
    assert set(plan.sources) == before
    after = {i.segmentID: i.num_rows for i in persistent(client, name)}
    assert after == {plan.target: 50}
    if hasattr(client, "get_compaction_plans"):
        again = client.get_compaction_plans(job)
        assert [(set(p.sources), p.target) for p in again.plans] == [(before, plan.target)]
    assert count_rows(client, name) == 50


def test_ignore_growing_hides_unflushed_rows_from_search_and_query(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite")
    name = new_collection_name("growing")
    make_collection(client, name)
    insert(client, name, 0, 30)
    client.flush(name)
    insert(client, name, 1000, 20)  # growing: never flushed in this test

    def sealed_count() -> int:
        rows = client.query(name, filter="id >= 0", output_fields=["id"], ignore_growing=True)
        return len(rows)

    # The querynode swaps its growing copy for the flushed files right after the flush.
    assert wait_until(lambda: sealed_count() == 30, WAIT_S), sealed_count()
    ids = client.query(name, filter="id >= 0", output_fields=["id"], ignore_growing=True)
    assert sorted(r["id"] for r in ids) == list(range(30))
    assert count_rows(client, name) == 50

    query_vectors = random_vectors(2, DIM, 1000)  # the first two growing rows
    hits = client.search(
        name,
        data=query_vectors.tolist(),
        limit=5,
        search_params={"metric_type": "L2", "params": {}, "ignore_growing": True},
    )
    assert all(hit["id"] < 30 for per_query in hits for hit in per_query)
    everything = client.search(name, data=query_vectors.tolist(), limit=1)
    assert [per_query[0]["id"] for per_query in everything] == [1000, 1001]


def system_info(client: MilvusClient, request: str) -> Any:
    from pymilvus.grpc_gen import milvus_pb2

    stub = client._get_connection()._stub
    return stub.GetMetrics(milvus_pb2.GetMetricsRequest(request=request), timeout=30)


def test_system_info_lists_the_running_roles_with_their_hardware(
    client: MilvusClient,
    new_collection_name: Callable[[str], str],
    querynode_ports: set[int] | None,
) -> None:
    import json

    reply = system_info(client, json.dumps({"metric_type": "system_info"}))
    assert reply.status.code == 0, reply.status.reason
    assert reply.component_name.startswith("proxy")
    nodes = json.loads(reply.response)["nodes_info"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        infos = node["infos"]
        assert node["identifier"] == infos["id"]
        assert infos["name"] == f"{infos['type']}{infos['id']}"
        assert infos["has_error"] is False
        assert infos["created_time"] and infos["updated_time"]
        hardware = infos["hardware_infos"]
        assert hardware["cpu_core_count"] >= 1
        assert 0 < hardware["memory_usage"] <= hardware["memory"]
        assert 0 < hardware["disk_usage"] <= hardware["disk"]
        by_type.setdefault(infos["type"], []).append(infos)
    assert {"proxy", "mixcoord", "datanode", "querynode", "indexnode"} <= set(by_type)
    assert nodes[0]["infos"]["type"] == "proxy"  # the asked proxy first, linked to the rest
    linked = {edge["connected_identifier"] for edge in nodes[0]["connected"]}
    assert {n["infos"]["id"] for n in nodes[1:]} <= linked

    querynode_ids = {q["id"] for q in by_type["querynode"]}
    name = new_collection_name("metrics")
    make_collection(client, name)
    assert set(client.describe_replica(name)[0].group_nodes) == querynode_ids
    if querynode_ports is not None:  # on the cluster: the querynode processes that run
        assert len(querynode_ids) == len(querynode_ports)
        ports = {int(q["hardware_infos"]["ip"].rsplit(":", 1)[1]) for q in by_type["querynode"]}
        assert ports == querynode_ports
        assert by_type["proxy"][0]["system_info"]["deploy_mode"] == "DISTRIBUTED"


def test_an_unknown_or_missing_metric_type_is_refused(client: MilvusClient) -> None:
    unknown = system_info(client, '{"metric_type": "no_such_metric"}')
    assert unknown.status.code == 1200
    assert "no_such_metric" in unknown.status.reason
    missing = system_info(client, '{"other": 1}')
    assert missing.status.code != 0
    assert "metric_type" in missing.status.reason
    assert system_info(client, "not json").status.code != 0
