"""Index builds lost with their indexnode, or failed, are retried a bounded number of
times; a result from an attempt given up meanwhile is harmless."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_channel_leases import Recorder, current_lease

from coordinator import Coordinator
from coordinator.builds import MAX_BUILD_ATTEMPTS
from elanus.config import CoordinatorConfig
from elanus.kv.embedded import EmbeddedKV
from elanus.meta import DEFAULT_DB, ConsistencyLevel, IndexBuildTask
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from elanus.stream.embedded_log import EmbeddedLog


@pytest.fixture
def coord(tmp_path: Path) -> Iterator[Coordinator]:
    kv = EmbeddedKV(tmp_path / "kv.sqlite")
    stream = EmbeddedLog(tmp_path / "log")
    config = CoordinatorConfig(dml_channel_pool=2, segment_max_rows=100)
    core = Coordinator(config, kv, stream, LocalDirStore(tmp_path / "objects"))
    core.register_datanode(1, Recorder())
    core.register_indexnode(1, Recorder())
    core.start()
    yield core
    core.stop()
    stream.close()
    kv.close()


def flushed_segment_with_index(coord: Coordinator) -> tuple[int, int]:
    """A collection with one flushed segment and an index on it: (collection, segment)."""
    schema = CollectionSchema(
        "c",
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
        ),
    ).with_field_ids()
    info = coord.create_collection(DEFAULT_DB, schema, 1, ConsistencyLevel.STRONG, {})
    vchannel = info.vchannels[0]
    seg_id = coord.assign_segment(info.collection_id, info.partitions[0].partition_id, vchannel, 4)
    coord.flush(info.collection_id)
    segment = coord.segments.get(seg_id)
    assert segment is not None
    coord.segment_flushed(dataclasses.replace(segment, num_rows=4), current_lease(coord, vchannel))
    coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    assert coord.wait_idle(5.0)
    return info.collection_id, seg_id


def submitted(node: Recorder) -> list[IndexBuildTask]:
    return [args[0] for args in node.named("submit")]


def only_indexnode(coord: Coordinator) -> Recorder:
    node = coord.nodes.indexnode_for(0)
    assert isinstance(node, Recorder)
    return node


def test_a_build_lost_with_its_indexnode_is_finished_by_another(coord: Coordinator) -> None:
    first_node = only_indexnode(coord)
    collection_id, seg_id = flushed_segment_with_index(coord)
    [lost] = submitted(first_node)

    second_node = Recorder()
    coord.nodes.unregister_indexnode(1)  # what membership does when the session ends
    coord.register_indexnode(2, second_node)
    coord.indexnode_left(1)
    assert coord.wait_idle(5.0)
    [retried] = submitted(second_node)
    assert retried.build_id != lost.build_id
    assert retried.segment.segment_id == seg_id
    assert coord.describe_indexes(collection_id)[0].state == "InProgress"

    coord._storage.put("index/retried", b"r")
    coord.index_built(retried, "index/retried")
    [progress] = coord.describe_indexes(collection_id)
    assert progress.state == "Finished" and progress.indexed_rows == 4

    # The first node comes back and reports its old build: nothing changes, its file goes.
    coord._storage.put("index/lost", b"l")
    coord.index_built(lost, "index/lost")
    coord.index_failed(lost, "too late anyway")
    segment = coord.segments.get(seg_id)
    assert segment is not None
    assert list(segment.index_files.values()) == ["index/retried"]
    assert coord._storage.list("index/") == ["index/retried"]
    assert coord.describe_indexes(collection_id)[0].state == "Finished"


def test_a_repeated_report_of_the_same_build_is_harmless(coord: Coordinator) -> None:
    collection_id, seg_id = flushed_segment_with_index(coord)
    [task] = submitted(only_indexnode(coord))
    coord._storage.put("index/one", b"1")
    coord.index_built(task, "index/one")
    coord.index_built(task, "index/one")  # the indexnode retried a report that had landed
    segment = coord.segments.get(seg_id)
    assert segment is not None and list(segment.index_files.values()) == ["index/one"]
    assert coord._storage.list("index/") == ["index/one"]


def test_a_result_of_a_given_up_attempt_that_lands_first_is_kept(coord: Coordinator) -> None:
    collection_id, seg_id = flushed_segment_with_index(coord)
    [lost] = submitted(only_indexnode(coord))
    second_node = Recorder()
    coord.nodes.unregister_indexnode(1)
    coord.register_indexnode(2, second_node)
    coord.indexnode_left(1)
    assert coord.wait_idle(5.0)
    [retried] = submitted(second_node)
    coord._storage.put("index/lost", b"l")
    coord._storage.put("index/retried", b"r")
    coord.index_built(lost, "index/lost")  # the old node was only slow
    coord.index_built(retried, "index/retried")
    segment = coord.segments.get(seg_id)
    assert segment is not None and list(segment.index_files.values()) == ["index/lost"]
    assert coord._storage.list("index/") == ["index/lost"]
    assert coord.describe_indexes(collection_id)[0].state == "Finished"


def test_a_build_that_keeps_failing_is_retried_a_bounded_number_of_times(
    coord: Coordinator,
) -> None:
    node = only_indexnode(coord)
    collection_id, _ = flushed_segment_with_index(coord)
    for attempt in range(MAX_BUILD_ATTEMPTS):
        assert coord.wait_idle(5.0)
        tasks = submitted(node)
        assert len(tasks) == attempt + 1
        assert coord.describe_indexes(collection_id)[0].state == "InProgress"
        coord.index_failed(tasks[-1], f"boom {attempt}")
    assert coord.wait_idle(5.0)
    assert len(submitted(node)) == MAX_BUILD_ATTEMPTS
    [progress] = coord.describe_indexes(collection_id)
    assert progress.state == "Failed"
    assert f"failed {MAX_BUILD_ATTEMPTS} times" in progress.fail_reason
    assert f"boom {MAX_BUILD_ATTEMPTS - 1}" in progress.fail_reason
    coord.schedule_missing_builds()  # a node joining later does not start it again
    assert coord.wait_idle(5.0)
    assert len(submitted(node)) == MAX_BUILD_ATTEMPTS


def test_a_build_waits_for_an_indexnode_when_the_last_one_left(coord: Coordinator) -> None:
    collection_id, seg_id = flushed_segment_with_index(coord)
    coord.nodes.unregister_indexnode(1)
    coord.indexnode_left(1)
    assert coord.wait_idle(5.0)
    assert coord.describe_indexes(collection_id)[0].state == "InProgress"
    comeback = Recorder()
    coord.register_indexnode(1, comeback)
    coord.schedule_missing_builds()  # what membership does when an indexnode joins
    assert coord.wait_idle(5.0)
    [task] = submitted(comeback)
    assert task.segment.segment_id == seg_id
