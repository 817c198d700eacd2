"""Fields added to a loaded collection, end to end in process: every role reads rows and
files written before the change with the field filled (its default value, or null).

A model-based test drives random inserts (with the current schema, and with a stale
one, as a proxy that planned just before the change would), deletes, flushes, field
additions, compactions and restarts against a dict of what every row should read.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from roles_harness import STRONG, RoleSet, make_rows, vectors_for, wait_until

from elanus.columns import arrow_schema, missing_column, vector_column
from elanus.config import Config
from elanus.meta import DEFAULT_DB, CollectionInfo, SegmentState
from elanus.requests import QueryRequest
from elanus.schema import CollectionSchema, DataType, FieldSchema
from querynode.delegator import ShardDelegator


def _no_auto(config: Config) -> None:
    config.coordinator.compaction_auto = False


def rows_for(schema: CollectionSchema, pks: list[int], values: dict[str, list[Any]]) -> pa.Table:
    """Rows of ``schema``: pk, tag, vec, then each added field's ``values`` (or its fill)."""
    vec = schema.field("vec")
    assert vec is not None
    columns: list[pa.Array] = []
    for f in schema.fields:
        if f.name == "pk":
            columns.append(pa.array(pks, type=pa.int64()))
        elif f.name == "tag":
            columns.append(pa.array([f"t{pk}" for pk in pks], type=pa.string()))
        elif f.name == "vec":
            columns.append(vector_column(vectors_for(pks, vec.dim), vec))
        elif f.name in values:
            columns.append(pa.array(values[f.name], type=arrow_schema(schema).field(f.name).type))
        else:
            columns.append(missing_column(f, len(pks)))
    return pa.Table.from_arrays(columns, schema=arrow_schema(schema))


def read_all(roles: RoleSet, info: CollectionInfo) -> dict[int, dict[str, Any]]:
    added = tuple(f.name for f in info.schema.fields[3:])
    result = roles.reader.query(
        info,
        roles.reader.loaded_partitions(info, []),
        "pk >= 0",
        {},
        ("pk", *added),
        None,
        0,
        False,
        STRONG,
    ).rows
    pks = result.column("pk").to_pylist()
    assert len(pks) == len(set(pks)), "a key read twice"
    return {
        pk: {name: result.column(name)[i].as_py() for name in added} for i, pk in enumerate(pks)
    }


def count(roles: RoleSet, info: CollectionInfo, filter_text: str) -> int:
    result = roles.reader.query(
        info,
        roles.reader.loaded_partitions(info, []),
        filter_text,
        {},
        ("pk",),
        None,
        0,
        True,
        STRONG,
    )
    return result.count


def compact(roles: RoleSet, info: CollectionInfo) -> None:
    compaction_id = roles.coordinator.manual_compaction(info.collection_id)
    wait_until(
        lambda: roles.coordinator.compaction_state(compaction_id).state == "Completed",
        what="compaction completed",
    )
    assert roles.coordinator.compaction_state(compaction_id).failed == 0


@pytest.fixture
def roles(tmp_path: Path):
    started = RoleSet(tmp_path).start(_no_auto)
    yield started
    started.stop()


def test_old_files_growing_rows_and_new_rows_read_the_added_fields(roles: RoleSet) -> None:
    info = roles.create_collection(shards=2)
    roles.load(info)
    partition = info.partitions[0].partition_id
    roles.writer.insert(info, partition, make_rows(info.schema, range(0, 40)))
    roles.flush_and_wait(info)  # sealed files without the fields
    roles.writer.insert(info, partition, make_rows(info.schema, range(40, 60)))  # growing
    stale = info
    roles.coordinator.add_collection_field(
        DEFAULT_DB, "docs", FieldSchema("score", DataType.INT64, nullable=True)
    )
    info = roles.coordinator.add_collection_field(
        DEFAULT_DB,
        "docs",
        FieldSchema(
            "kind",
            DataType.VARCHAR,
            type_params={"max_length": "8"},
            nullable=True,
            default_value="old",
        ),
    )
    assert info.schema.version == 2
    new_pks = list(range(60, 70))
    roles.writer.insert(
        info,
        partition,
        rows_for(info.schema, new_pks, {"score": new_pks, "kind": ["new"] * len(new_pks)}),
    )
    # A write planned with the schema of before (a proxy racing the change).
    roles.writer.insert(stale, partition, make_rows(stale.schema, range(70, 75)))

    seen = read_all(roles, info)
    assert len(seen) == 75
    assert all(seen[pk] == {"score": None, "kind": "old"} for pk in range(0, 60))
    assert all(seen[pk] == {"score": pk, "kind": "new"} for pk in new_pks)
    assert all(seen[pk] == {"score": None, "kind": "old"} for pk in range(70, 75))
    assert count(roles, info, "score is null") == 65
    assert count(roles, info, 'kind == "old" and pk < 10') == 10
    for vchannel in info.vchannels:
        assert roles.delegator(vchannel).collection.schema.version == 2

    # Compaction merges files from before and after the change into the new layout.
    roles.flush_and_wait(info)
    compact(roles, info)
    assert read_all(roles, info) == seen
    assert count(roles, info, 'kind == "old"') == 65


@dataclass
class Model:
    """What every live row reads: pk -> added field -> value."""

    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    added: list[FieldSchema] = field(default_factory=list)
    next_pk: int = 0

    def fill(self, f: FieldSchema) -> Any:
        return f.default_value


@pytest.mark.parametrize("seed", [19, 4, 77])
def test_random_schema_changes_against_a_model(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    roles = RoleSet(tmp_path).start(_no_auto)
    try:
        info = roles.create_collection(shards=2)
        roles.load(info)
        partition = info.partitions[0].partition_id
        model = Model()
        schemas = [info]  # every version seen, for stale writes
        kinds = ["insert"] * 5 + ["stale"] * 2 + ["delete", "flush", "flush", "add", "add"]
        kinds += ["compact", "compact", "restart"]
        restarts = 0
        done: list[str] = []
        for step in range(30):
            kind = rng.choice(kinds)
            if kind == "restart" and restarts >= 1:
                kind = "insert"
            if kind in ("insert", "stale"):
                used = info if kind == "insert" else rng.choice(schemas)
                pks = list(range(model.next_pk, model.next_pk + rng.randint(1, 15)))
                model.next_pk += len(pks)
                known = {f.name for f in used.schema.fields}
                values: dict[str, list[Any]] = {}
                for f in model.added:
                    if f.name not in known:
                        continue
                    values[f.name] = [None if rng.random() < 0.3 else _value(f, pk) for pk in pks]
                    # A null sent for a field with a default reads as the default.
                    values[f.name] = [f.default_value if v is None else v for v in values[f.name]]
                roles.writer.insert(used, partition, rows_for(used.schema, pks, values))
                for i, pk in enumerate(pks):
                    model.rows[pk] = {
                        f.name: values[f.name][i] if f.name in values else model.fill(f)
                        for f in model.added
                    }
            elif kind == "delete" and model.rows:
                gone = rng.sample(sorted(model.rows), min(5, len(model.rows)))
                roles.writer.delete(info, 0, pa.array(gone, type=pa.int64()))
                for pk in gone:
                    del model.rows[pk]
            elif kind == "flush":
                roles.flush_and_wait(info)
            elif kind == "add" and len(model.added) < 6:
                number = len(model.added)
                added = _new_field(number, rng)
                info = roles.coordinator.add_collection_field(DEFAULT_DB, "docs", added)
                schemas.append(info)
                model.added.append(info.schema.fields[-1])
                for row in model.rows.values():
                    row[added.name] = added.default_value
            elif kind == "compact":
                roles.flush_and_wait(info)
                compact(roles, info)
            elif kind == "restart":
                restarts += 1
                roles.stop()
                roles = RoleSet(tmp_path).start(_no_auto)
                info = roles.info()
                roles.load(info)
            done.append(kind)
            seen = read_all(roles, info)
            assert seen == model.rows, f"step {step} ({kind}) after {done}"
        assert model.added and "flush" in done, done  # the walk changed the schema
        for f in model.added:
            nulls = sum(1 for row in model.rows.values() if row[f.name] is None)
            assert count(roles, info, f"{f.name} is null") == nulls
    finally:
        roles.stop()


def _new_field(number: int, rng: random.Random) -> FieldSchema:
    if number % 2:
        default = None if rng.random() < 0.5 else f"d{number}"
        return FieldSchema(
            f"s{number}",
            DataType.VARCHAR,
            type_params={"max_length": "16"},
            nullable=True,
            default_value=default,
        )
    default_int = None if rng.random() < 0.5 else number * 100
    return FieldSchema(f"n{number}", DataType.INT64, nullable=True, default_value=default_int)


def _value(f: FieldSchema, pk: int) -> Any:
    return f"v{pk}" if f.data_type is DataType.VARCHAR else pk


def test_a_shard_behind_the_change_adopts_it_before_loading_a_newer_file(roles: RoleSet) -> None:
    """A flushed file may carry a field the shard has not seen yet (it is behind on its
    channel): the shard takes the new schema first, so the file's values are kept."""
    stale = roles.create_collection(shards=1)
    roles.load(stale)
    partition = stale.partitions[0].partition_id
    info = roles.coordinator.add_collection_field(
        DEFAULT_DB, "docs", FieldSchema("score", DataType.INT64, nullable=True)
    )
    roles.writer.insert(info, partition, rows_for(info.schema, [1, 2], {"score": [10, 20]}))
    roles.flush_and_wait(info)
    (vchannel,) = info.vchannels
    flushed = roles.coordinator.segments.of_collection(info.collection_id, [SegmentState.FLUSHED])
    snapshot = roles.coordinator.channel_snapshot(vchannel)
    behind = ShardDelegator(
        dataclasses.replace(snapshot, collection=stale, segments=(), delta_logs=()),
        roles.stream,
        roles.storage,
        1.0,
        lambda: roles.coordinator.channel_snapshot(vchannel).collection,
    )
    for segment_info in flushed:
        behind.segment_flushed(segment_info)
    assert behind.collection.schema.version == 1
    result = behind.query(
        QueryRequest(
            collection_id=info.collection_id,
            vchannel=vchannel,
            partition_ids=(),
            filter="",
            output_fields=("pk", "score"),
            mvcc_ts=2**63,
            guarantee_ts=0,
        )
    )
    rows = result.rows
    scores = dict(zip(rows.column("pk").to_pylist(), rows.column("score").to_pylist(), strict=True))
    assert scores == {1: 10, 2: 20}
