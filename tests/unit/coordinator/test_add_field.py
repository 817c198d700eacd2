"""AddCollectionField in the coordinator: the schema change, its refusals, and its keeping."""

from __future__ import annotations

import pytest
from test_coordinator_core import Env, schema

from coordinator import Coordinator
from coordinator.catalog import MAX_FIELDS
from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel
from elanus.schema import CollectionSchema, DataType, FieldSchema


def create(coord: Coordinator, name: str = "c") -> CollectionInfo:
    return coord.create_collection(DEFAULT_DB, schema(name), 1, ConsistencyLevel.BOUNDED, {})


def nullable(
    name: str, data_type: DataType = DataType.INT64, default_value: object = None
) -> FieldSchema:
    params = {"max_length": "16"} if data_type is DataType.VARCHAR else {}
    return FieldSchema(
        name, data_type, type_params=params, nullable=True, default_value=default_value
    )


def test_a_field_is_appended_numbered_after_the_highest_id_with_the_version_bumped(
    env: Env,
) -> None:
    coord = env.coordinator
    created = create(coord)
    assert created.schema.version == 0 and created.update_timestamp == created.created_ts

    first = coord.add_collection_field(DEFAULT_DB, "c", nullable("score"))
    second = coord.add_collection_field(
        DEFAULT_DB, "c", nullable("tag", DataType.VARCHAR, default_value="x")
    )

    assert [f.name for f in second.schema.fields] == ["id", "v", "score", "tag"]
    assert [f.field_id for f in second.schema.fields] == [100, 101, 102, 103]
    assert (first.schema.version, second.schema.version) == (1, 2)
    assert created.created_ts < first.update_timestamp < second.update_timestamp
    assert second.created_ts == created.created_ts
    assert coord.describe_collection(DEFAULT_DB, "c") == second
    added = second.schema.field("tag")
    assert added is not None and added.nullable and added.default_value == "x"


def test_the_change_is_kept_across_a_restart(env: Env) -> None:
    create(env.coordinator)
    changed = env.coordinator.add_collection_field(DEFAULT_DB, "c", nullable("score"))
    coord = env.reopen()
    assert coord.describe_collection(DEFAULT_DB, "c") == changed
    again = coord.add_collection_field(DEFAULT_DB, "c", nullable("more"))
    assert again.schema.version == 2 and again.schema.fields[-1].field_id == 103


def test_refusals_change_nothing(env: Env) -> None:
    coord = env.coordinator
    create(coord)
    coord.create_alias(DEFAULT_DB, "nick", "c")
    before = coord.add_collection_field(DEFAULT_DB, "nick", nullable("score"))  # by alias
    with pytest.raises(errors.ParameterInvalid, match="duplicate field name: score"):
        coord.add_collection_field(DEFAULT_DB, "c", nullable("score", DataType.DOUBLE))
    with pytest.raises(errors.ParameterInvalid, match="duplicate field name: id"):
        coord.add_collection_field(DEFAULT_DB, "c", nullable("id"))
    with pytest.raises(errors.CollectionNotFound):
        coord.add_collection_field(DEFAULT_DB, "missing", nullable("x"))
    with pytest.raises(errors.DatabaseNotFound):
        coord.add_collection_field("nodb", "c", nullable("x"))
    assert coord.describe_collection(DEFAULT_DB, "c") == before
    assert env.reopen().describe_collection(DEFAULT_DB, "c") == before


def test_the_field_limit_counts_the_listed_fields(env: Env) -> None:
    coord = env.coordinator
    create(coord)
    for number in range(MAX_FIELDS - 2):
        coord.add_collection_field(DEFAULT_DB, "c", nullable(f"f{number}", DataType.INT8))
    full = coord.describe_collection(DEFAULT_DB, "c")
    assert len(full.schema.fields) == MAX_FIELDS == 64
    with pytest.raises(errors.ParameterInvalid, match="reached the maximum value 64"):
        coord.add_collection_field(DEFAULT_DB, "c", nullable("one_more"))
    assert coord.describe_collection(DEFAULT_DB, "c") == full


def test_the_dynamic_field_is_not_counted_and_keeps_its_place(env: Env) -> None:
    coord = env.coordinator
    plain = schema("d")
    meta = FieldSchema("$meta", DataType.JSON, field_id=102, is_dynamic=True)
    dynamic = CollectionSchema("d", (*plain.fields, meta), enable_dynamic_field=True)
    coord.create_collection(DEFAULT_DB, dynamic, 1, ConsistencyLevel.BOUNDED, {})
    for number in range(MAX_FIELDS - 2):
        coord.add_collection_field(DEFAULT_DB, "d", nullable(f"f{number}", DataType.INT8))
    info = coord.describe_collection(DEFAULT_DB, "d")
    assert len(info.schema.fields) == MAX_FIELDS + 1
    assert info.schema.dynamic_field is not None
    assert len({f.field_id for f in info.schema.fields}) == len(info.schema.fields)
