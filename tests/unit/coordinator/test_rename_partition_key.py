"""The coordinator's RenameCollection and partition-key collections.

A rename is one catalog transaction: the collection keeps its id (so its
segments, indexes and load state), its aliases keep naming it, and a restart
reads the new name back. Milvus's refusals change nothing. A random sequence of
creates, renames, aliases and drops is held against an in-memory model. A
partition-key collection is created with its ``_default_N`` partitions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial

import pytest
from test_coordinator_core import Env, schema

from coordinator import Coordinator
from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel, SegmentState
from elanus.schema import CollectionSchema, DataType, FieldSchema


def create(coord: Coordinator, db: str, name: str) -> CollectionInfo:
    return coord.create_collection(db, schema(name), 1, ConsistencyLevel.BOUNDED, {})


def keyed_schema(name: str) -> CollectionSchema:
    return CollectionSchema(
        name,
        (
            FieldSchema("id", DataType.INT64, is_primary=True),
            FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
            FieldSchema("tenant", DataType.INT64, is_partition_key=True),
        ),
    ).with_field_ids()


# --- rename


def test_a_rename_keeps_the_id_and_the_aliases_and_survives_a_restart(env: Env) -> None:
    coord = env.coordinator
    info = create(coord, DEFAULT_DB, "old")
    coord.create_alias(DEFAULT_DB, "nick", "old")
    index = coord.create_index(info.collection_id, "v", "", "FLAT", "L2", {}, {})
    coord.load_collection(info.collection_id)

    coord.rename_collection(DEFAULT_DB, "old", DEFAULT_DB, "new")

    renamed = coord.describe_collection(DEFAULT_DB, "new")
    assert renamed.collection_id == info.collection_id and renamed.name == "new"
    assert renamed.vchannels == info.vchannels and renamed.partitions == info.partitions
    assert coord.describe_alias(DEFAULT_DB, "nick") == "new"
    assert coord.load_progress(info.collection_id).state != "NotLoad"
    assert [i.index.index_id for i in coord.describe_indexes(info.collection_id)] == [
        index.index_id
    ]
    with pytest.raises(errors.CollectionNotFound):
        coord.describe_collection(DEFAULT_DB, "old")

    coord = env.reopen()
    assert coord.describe_collection(DEFAULT_DB, "new").collection_id == info.collection_id
    assert coord.describe_alias(DEFAULT_DB, "nick") == "new"
    assert [c.name for c in coord.list_collections(DEFAULT_DB)] == ["new"]
    create(coord, DEFAULT_DB, "old")  # the old name is free
    keys = sorted(kv.key for kv in env.kv.get_prefix("collection-names/"))
    assert keys == ["collection-names/default/new", "collection-names/default/old"]


def test_a_rename_into_another_database_moves_it(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {})
    info = create(coord, DEFAULT_DB, "orders")
    coord.rename_collection(DEFAULT_DB, "orders", "shop", "orders")
    assert coord.list_collections(DEFAULT_DB) == []
    moved = coord.describe_collection("shop", "orders")
    assert moved.collection_id == info.collection_id and moved.db_name == "shop"
    coord = env.reopen()
    assert coord.describe_collection("shop", "orders").db_name == "shop"
    with pytest.raises(errors.OperationRefused, match="not empty"):
        coord.drop_database("shop")


def test_refused_renames_change_nothing(env: Env) -> None:
    coord = env.coordinator
    coord.create_database("shop", {})
    create(coord, DEFAULT_DB, "a")
    create(coord, DEFAULT_DB, "b")
    coord.create_alias(DEFAULT_DB, "nick", "a")
    before = sorted((kv.key, kv.value) for kv in env.kv.get_prefix(""))

    def refused(error: type[errors.ElanusError], *args: str) -> errors.ElanusError:
        with pytest.raises(error) as caught:
            coord.rename_collection(*args)
        return caught.value

    taken = refused(errors.ParameterInvalid, DEFAULT_DB, "a", DEFAULT_DB, "b")
    assert taken.code == 1100
    assert "duplicated new collection name default:b" in taken.reason
    assert refused(errors.AliasCollectionNameConflict, DEFAULT_DB, "b", DEFAULT_DB, "nick").code
    via_alias = refused(errors.ParameterInvalid, DEFAULT_DB, "nick", DEFAULT_DB, "c")
    assert "unsupported use an alias to rename collection, alias:nick" in via_alias.reason
    assert refused(errors.CollectionNotFound, DEFAULT_DB, "zz", DEFAULT_DB, "c").code == 100
    assert refused(errors.DatabaseNotFound, DEFAULT_DB, "a", "nodb", "c").code == 800
    assert refused(errors.DatabaseNotFound, "nodb", "a", DEFAULT_DB, "c").code == 800
    aliased = refused(errors.ParameterInvalid, DEFAULT_DB, "a", "shop", "a")
    assert "must drop all aliases of this collection before rename" in aliased.reason

    assert sorted((kv.key, kv.value) for kv in env.kv.get_prefix("")) == before
    assert [c.name for c in coord.list_collections(DEFAULT_DB)] == ["a", "b"]


def test_random_renames_aliases_and_drops_match_a_model(env: Env) -> None:
    """Random DDL against a dict model, (db, name) -> id and (db, alias) -> id: the
    model says whether each call must succeed, and the catalog must then agree."""
    coord = env.coordinator
    rng = random.Random(7)
    dbs = [DEFAULT_DB, "x"]
    coord.create_database("x", {})
    names = [f"n{i}" for i in range(5)]
    collections: dict[tuple[str, str], int] = {}
    aliases: dict[tuple[str, str], int] = {}
    done = {"create": 0, "rename": 0, "alias": 0, "drop_alias": 0, "drop": 0}

    for step in range(400):
        op = rng.choice(sorted(done))
        db, other_db = rng.choice(dbs), rng.choice(dbs)
        name, new_name = rng.choice(names), rng.choice(names)
        target = collections.get((db, name))
        if op == "create":
            ok = (db, name) not in aliases
            call: Callable[[], object] = partial(create, coord, db, name)
        elif op == "rename":
            ok = (
                target is not None
                and (other_db, new_name) not in collections
                and (other_db, new_name) not in aliases
                and (db == other_db or target not in aliases.values())
            )
            call = partial(coord.rename_collection, db, name, other_db, new_name)
        elif op == "alias":
            ok = (
                target is not None
                and (db, new_name) not in collections
                and aliases.get((db, new_name), target) == target
            )
            call = partial(coord.create_alias, db, new_name, name)
        elif op == "drop_alias":
            ok = True
            call = partial(coord.drop_alias, db, name)
        else:
            if target is None:
                continue
            ok = target not in aliases.values()
            call = partial(coord.drop_collection, db, name)
        try:
            result = call()
        except errors.ElanusError as refused:
            assert not ok, f"step {step}: {op} refused: {refused.reason}"
        else:
            assert ok, f"step {step}: {op} {db}.{name} -> {other_db}.{new_name} accepted"
            done[op] += 1
            if op == "create":
                assert isinstance(result, CollectionInfo)
                assert collections.setdefault((db, name), result.collection_id) == (
                    result.collection_id
                )
            elif op == "rename":
                collections[(other_db, new_name)] = collections.pop((db, name))
            elif op == "alias":
                aliases[(db, new_name)] = collections[(db, name)]
            elif op == "drop_alias":
                aliases.pop((db, name), None)
            else:
                del collections[(db, name)]
        for d in dbs:
            listed = {(d, c.name): c.collection_id for c in coord.list_collections(d)}
            assert listed == {k: v for k, v in collections.items() if k[0] == d}, step
            assert coord.list_aliases(d, "") == sorted(a for ad, a in aliases if ad == d), step
        for (adb, alias), collection_id in aliases.items():
            assert coord.describe_collection(adb, alias).collection_id == collection_id, step
    assert all(count > 5 for count in done.values()), done
    coord = env.reopen()
    for (db, name), collection_id in collections.items():
        assert coord.describe_collection(db, name).collection_id == collection_id
    for (db, alias), collection_id in aliases.items():
        assert coord.describe_collection(db, alias).collection_id == collection_id


# --- partition key


def test_a_partition_key_collection_gets_its_numbered_partitions(env: Env) -> None:
    coord = env.coordinator
    info = coord.create_collection(
        DEFAULT_DB, keyed_schema("keyed"), 1, ConsistencyLevel.BOUNDED, {}, 5
    )
    assert [p.name for p in info.partitions] == [f"_default_{i}" for i in range(5)]
    assert len({p.partition_id for p in info.partitions}) == 5
    assert info.partition_key is not None and info.partition_key.name == "tenant"
    assert [p.name for p in info.key_partitions()] == [f"_default_{i}" for i in range(5)]
    # Created again alike: the same collection; with another count: refused.
    again = coord.create_collection(
        DEFAULT_DB, keyed_schema("keyed"), 1, ConsistencyLevel.BOUNDED, {}, 5
    )
    assert again.collection_id == info.collection_id
    with pytest.raises(errors.ParameterInvalid):
        coord.create_collection(
            DEFAULT_DB, keyed_schema("keyed"), 1, ConsistencyLevel.BOUNDED, {}, 6
        )
    # Partitions by hand are refused, whichever API asks.
    with pytest.raises(errors.OperationRefused, match="disable create partition"):
        coord.create_partition(DEFAULT_DB, "keyed", "mine")
    with pytest.raises(errors.OperationRefused, match="disable drop partition"):
        coord.drop_partition(DEFAULT_DB, "keyed", "_default_0")
    coord = env.reopen()
    kept = coord.describe_collection(DEFAULT_DB, "keyed")
    assert kept.partitions == info.partitions


def test_more_than_1024_partitions_are_refused(env: Env) -> None:
    coord = env.coordinator
    with pytest.raises(errors.ParameterInvalid, match=r"partition number \(1025\) exceeds"):
        coord.create_collection(
            DEFAULT_DB, keyed_schema("big"), 1, ConsistencyLevel.BOUNDED, {}, 1025
        )
    assert coord.list_collections(DEFAULT_DB) == []


# --- truncate


def test_a_truncate_is_recorded_only_rising_and_drops_the_older_segments(env: Env) -> None:
    coord = env.coordinator
    info = create(coord, DEFAULT_DB, "t")
    part = info.partitions[0].partition_id
    old = coord.assign_segment(info.collection_id, part, info.vchannels[0], 5)
    coord.flush(info.collection_id)  # seals ``old`` below the truncate
    growing = coord.assign_segment(info.collection_id, part, info.vchannels[0], 5)
    truncate_ts = coord.alloc_timestamp()

    coord.truncate_collection(info.collection_id, truncate_ts)
    coord.truncate_collection(info.collection_id, truncate_ts - 10)  # an older one: no-op

    assert coord.describe_collection(DEFAULT_DB, "t").truncated_ts == truncate_ts
    segments = {
        s.segment_id: s
        for s in coord.segments.of_collection(info.collection_id, list(SegmentState))
    }
    assert segments[old].state is SegmentState.DROPPED and segments[old].dropped_at_ms > 0
    # Sealed now, above the truncate: its datanode writes it out without the older rows.
    assert segments[growing].state is SegmentState.SEALED
    assert segments[growing].seal_ts > truncate_ts
    coord = env.reopen()
    assert coord.describe_collection(DEFAULT_DB, "t").truncated_ts == truncate_ts
    assert [c.name for c in coord.list_collections(DEFAULT_DB)] == ["t"]


def test_truncating_a_missing_collection_is_refused(env: Env) -> None:
    with pytest.raises(errors.CollectionNotFound):
        env.coordinator.truncate_collection(12345, env.coordinator.alloc_timestamp())
