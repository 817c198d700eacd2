"""Every place that applies deletes agrees with the one rule (elanus/deletes.py).

One scenario with the same keys in two partitions, deletes scoped to one
partition, to all, and an upsert, is read back after each step that moves the
deletes to another consumer: the delegator's growing segments (the stream), the
handoff to sealed segments, delta log files with compaction (the datanode's
purge and the delegator's swap), a fresh load that replays the delta logs, and a
restart of every role. Search, query and count must show the same rows at each.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from roles_harness import STRONG, RoleSet, make_rows, vectors_for, wait_until

from elanus.config import Config
from elanus.deletes import ALL_PARTITIONS
from elanus.meta import DEFAULT_DB, CollectionInfo
from proxy.reads import SearchPlan

Rows = dict[str, dict[int, str]]  # partition name -> pk -> tag


def _no_auto(config: Config) -> None:
    config.coordinator.compaction_auto = False


def _pid(info: CollectionInfo, name: str) -> int:
    partition = info.partition(name)
    assert partition is not None
    return partition.partition_id


def _keys(*pks: int) -> pa.Array:
    return pa.array(pks, type=pa.int64())


def _read(roles: RoleSet, info: CollectionInfo) -> Rows:
    """Every visible row per partition, by query; count and search must agree with it."""
    seen: Rows = {}
    for name in ("A", "B"):
        pid = _pid(info, name)
        rows = roles.reader.query(
            info, (pid,), "pk >= 0", {}, ("pk", "tag"), None, 0, False, STRONG
        )
        pks = rows.rows.column("pk").to_pylist()
        assert len(pks) == len(set(pks)), f"{name}: a key twice in one partition: {sorted(pks)}"
        seen[name] = dict(zip(pks, rows.rows.column("tag").to_pylist(), strict=True))
        count = roles.reader.query(info, (pid,), "", {}, ("pk",), None, 0, True, STRONG).count
        assert count == len(pks), f"{name}: count(*) {count} but {len(pks)} rows"
        for pk in sorted(seen[name])[:4]:
            assert pk in _search(roles, info, pid, pk), f"{name}: search misses live row {pk}"
    return seen


def _search(roles: RoleSet, info: CollectionInfo, pid: int, pk: int) -> list[int]:
    field = info.schema.field("vec")
    assert field is not None
    plan = SearchPlan(
        info=info,
        partition_ids=(pid,),
        field=field,
        metric_type="L2",
        queries=vectors_for([pk], field.dim),
        topk=3,
        offset=0,
        round_decimal=-1,
        search_params={},
        filter="",
        template_values={},
        output_columns=("tag",),
        ignore_growing=False,
    )
    return roles.reader.search(plan, STRONG).pks.to_pylist()


def _compact(roles: RoleSet, info: CollectionInfo) -> None:
    compaction_id = roles.coordinator.manual_compaction(info.collection_id)
    wait_until(
        lambda: roles.coordinator.compaction_state(compaction_id).state == "Completed",
        what="compaction completed",
    )
    assert roles.coordinator.compaction_state(compaction_id).failed == 0


@pytest.mark.slow
def test_every_consumer_applies_partition_scoped_deletes(tmp_path: Path) -> None:
    roles = RoleSet(tmp_path).start(_no_auto)
    try:
        info = roles.create_collection(shards=2)
        for name in ("A", "B"):
            roles.coordinator.create_partition(DEFAULT_DB, "docs", name)
        info = roles.info()
        a, b = _pid(info, "A"), _pid(info, "B")
        roles.load(info)
        roles.writer.insert(info, a, make_rows(info.schema, range(20), tag="a"))
        roles.writer.insert(info, b, make_rows(info.schema, range(30), tag="b"))
        expected: Rows = {"A": dict.fromkeys(range(20), "a"), "B": dict.fromkeys(range(30), "b")}

        # 1. On growing segments, from the stream.
        roles.writer.delete(info, a, _keys(1, 2, 3, 25))  # 25 lives only in B: untouched
        roles.writer.delete(info, ALL_PARTITIONS, _keys(4))
        roles.writer.upsert(info, b, make_rows(info.schema, [5], tag="u"))
        for pk in (1, 2, 3, 4, 5):
            expected["A"].pop(pk)
        expected["B"].pop(4)
        expected["B"][5] = "u"
        assert _read(roles, info) == expected, "growing"

        # 2. Handoff: the sealed files replace the growing copies, marks carried over.
        roles.flush_and_wait(info)
        assert _read(roles, info) == expected, "after the handoff"

        # 3. Deletes of sealed rows, persisted as delta logs, then purged by compaction.
        roles.writer.delete(info, b, _keys(6, 7))
        roles.writer.delete_scoped(info, {a: _keys(8), b: _keys(9)})
        roles.flush_and_wait(info)
        for name, pks in (("A", (8,)), ("B", (6, 7, 9))):
            for pk in pks:
                expected[name].pop(pk)
        assert _read(roles, info) == expected, "deletes of sealed rows"
        _compact(roles, info)
        assert _read(roles, info) == expected, "after compaction"

        # 4. Deletes after the compaction: in the stream and later delta logs only.
        roles.writer.delete(info, a, _keys(10, 26))
        expected["A"].pop(10)
        roles.flush_and_wait(info)
        roles.coordinator.release_collection(info.collection_id)
        roles.load(info)  # a fresh delegator replays the delta logs
        assert _read(roles, info) == expected, "after release and load"
    finally:
        roles.stop()

    again = RoleSet(tmp_path).start(_no_auto)
    try:
        info = again.info()
        again.load(info)
        assert _read(again, info) == expected, "after a restart"
    finally:
        again.stop()
