"""The whole data path with every role behind its own gRPC server, against the in-process run.

Insert, search, query, delete, flush, hand off, build the index, release: each
observation over gRPC must equal the same observation with the roles wired as
objects, and both must be right on their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from grpc_roles import GrpcRoleSet
from roles_harness import RoleSet, make_rows, wait_until

from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo

ROWS = 100
DELETED = range(10)


def _segments(roles: RoleSet, info: CollectionInfo) -> tuple[list[int], list[int]]:
    sealed: list[int] = []
    growing: list[int] = []
    for vchannel in info.vchannels:
        delegator = roles.querynode.delegator(vchannel)
        assert delegator is not None
        s, g = delegator.segment_ids()
        sealed += s
        growing += g
    return sealed, growing


def _hits(roles: RoleSet, info: CollectionInfo, pks: list[int]) -> dict[str, Any]:
    result = roles.search(info, pks, topk=3)
    return {
        "query_index": result.query_index.tolist(),
        "pks": result.pks.to_pylist(),
        "scores": result.scores.tolist(),
        "tags": result.fields.column("tag").to_pylist(),
    }


def run_flow(roles: RoleSet) -> dict[str, Any]:
    """Drive one collection through its life; return what a client would have seen."""
    seen: dict[str, Any] = {}
    info = roles.create_collection(shards=2)
    roles.coordinator.create_partition(DEFAULT_DB, info.name, "extra")
    info = roles.info()
    seen["partitions"] = [p.name for p in info.partitions]
    roles.load(info)
    roles.writer.insert(info, info.partitions[0].partition_id, make_rows(info.schema, range(ROWS)))

    seen["growing_hits"] = _hits(roles, info, [5, 42])
    seen["rows"] = roles.rows_by_pk(info)
    seen["count"] = roles.query(info, count_only=True).count

    roles.writer.delete(info, 0, pa.array(DELETED, type=pa.int64()))
    seen["rows_after_delete"] = roles.rows_by_pk(info)
    seen["deleted_hits"] = _hits(roles, info, [3])

    roles.flush_and_wait(info)
    wait_until(
        lambda: (s := _segments(roles, info)) and s[0] and not s[1],
        what="handoff of every growing segment",
    )
    wait_until(
        lambda: roles.coordinator.describe_indexes(info.collection_id)[0].state == "Finished",
        what="index built",
    )
    progress = roles.coordinator.describe_indexes(info.collection_id)[0]
    seen["index"] = (progress.state, progress.indexed_rows, progress.total_rows)
    seen["sealed_hits"] = _hits(roles, info, [50, 42, 3])
    seen["rows_after_flush"] = roles.rows_by_pk(info, "pk < 20")
    seen["statistics"] = roles.coordinator.collection_statistics(info.collection_id).row_count
    seen["collections"] = [c.name for c in roles.coordinator.list_collections(DEFAULT_DB)]

    roles.coordinator.release_collection(info.collection_id)
    seen["load_state"] = roles.coordinator.load_progress(info.collection_id).state
    with pytest.raises(errors.CollectionNotLoaded):
        roles.coordinator.shard_leaders(info.collection_id)
    roles.coordinator.drop_collection(DEFAULT_DB, info.name)
    with pytest.raises(errors.CollectionNotFound) as missing:
        roles.coordinator.describe_collection(DEFAULT_DB, info.name)
    seen["missing"] = missing.value.reason
    return seen


def test_the_data_path_over_grpc_equals_the_in_process_one(tmp_path: Path) -> None:
    observed = {}
    for name, kind in (("in_process", RoleSet), ("grpc", GrpcRoleSet)):
        roles = kind(tmp_path / name).start()
        try:
            observed[name] = run_flow(roles)
        finally:
            roles.stop()

    over_grpc = observed["grpc"]
    assert over_grpc == observed["in_process"]

    # And right on its own, so that equally wrong cannot pass.
    assert over_grpc["partitions"] == ["_default", "extra"]
    assert over_grpc["growing_hits"]["pks"][0] == 5 and over_grpc["growing_hits"]["pks"][3] == 42
    assert over_grpc["growing_hits"]["scores"][0] == pytest.approx(0.0, abs=1e-5)
    assert over_grpc["growing_hits"]["tags"] == ["a"] * 6
    assert set(over_grpc["rows"]) == set(range(ROWS)) and over_grpc["count"] == ROWS
    assert set(over_grpc["rows_after_delete"]) == set(range(10, ROWS))
    assert 3 not in over_grpc["deleted_hits"]["pks"]
    assert over_grpc["index"] == ("Finished", ROWS, ROWS)
    assert over_grpc["sealed_hits"]["pks"][0] == 50 and 3 not in over_grpc["sealed_hits"]["pks"]
    assert set(over_grpc["rows_after_flush"]) == set(range(10, 20))
    assert over_grpc["statistics"] == ROWS  # deletes are not subtracted, as in Milvus
    assert over_grpc["collections"] == ["docs"]
    assert over_grpc["load_state"] == "NotLoad"
    assert "collection not found" in over_grpc["missing"]
