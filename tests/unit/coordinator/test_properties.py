"""AlterCollection, AlterCollectionField and AlterIndex in the coordinator: what is
accepted, what is refused (changing nothing), and that it is kept across restarts,
with a model-based walk of random alterations against a plain dict."""

from __future__ import annotations

import random

import pytest
from test_coordinator_core import Env, schema

from coordinator import Coordinator
from elanus import errors
from elanus.meta import DEFAULT_DB, CollectionInfo, ConsistencyLevel
from elanus.properties import AUTOCOMPACTION_ENABLED, MMAP_ENABLED, TTL_SECONDS
from elanus.schema import CollectionSchema, DataType, FieldSchema


def with_tag(name: str = "c") -> CollectionSchema:
    base = schema(name)
    tag = FieldSchema("tag", DataType.VARCHAR, field_id=102, type_params={"max_length": "8"})
    return CollectionSchema(name, (*base.fields, tag))


def create(coord: Coordinator, name: str = "c") -> CollectionInfo:
    return coord.create_collection(DEFAULT_DB, with_tag(name), 1, ConsistencyLevel.BOUNDED, {})


def test_properties_are_set_removed_and_kept_across_a_restart(env: Env) -> None:
    coord = env.coordinator
    create(coord)
    coord.create_alias(DEFAULT_DB, "nick", "c")
    coord.alter_collection(DEFAULT_DB, "nick", {TTL_SECONDS: "60", MMAP_ENABLED: "true"}, ())
    changed = coord.alter_collection(DEFAULT_DB, "c", {}, (MMAP_ENABLED,))
    assert changed.properties == {TTL_SECONDS: "60"}
    assert coord.describe_collection(DEFAULT_DB, "c").properties == {TTL_SECONDS: "60"}
    coord = env.reopen()
    assert coord.describe_collection(DEFAULT_DB, "c") == changed


@pytest.mark.parametrize(
    ("properties", "delete_keys", "message"),
    [
        ({TTL_SECONDS: "-1"}, (), "collection TTL is not a valid positive integer"),
        ({TTL_SECONDS: "ten"}, (), "collection TTL is not a valid positive integer"),
        ({AUTOCOMPACTION_ENABLED: "yes"}, (), "only true or false is allowed"),
        ({"collection.insertRate.max.mb": "5"}, (), "'collection.insertRate.max.mb'"),
        ({}, ("no.such.key",), "'no.such.key' is not supported"),
        ({}, (), "no properties or delete keys provided"),
        ({TTL_SECONDS: "5"}, (MMAP_ENABLED,), "at the same time"),
    ],
)
def test_refusals_name_the_problem_and_change_nothing(
    env: Env, properties: dict[str, str], delete_keys: tuple[str, ...], message: str
) -> None:
    coord = env.coordinator
    create(coord)
    before = coord.alter_collection(DEFAULT_DB, "c", {TTL_SECONDS: "7"}, ())
    with pytest.raises(errors.ParameterInvalid, match=message):
        coord.alter_collection(DEFAULT_DB, "c", properties, delete_keys)
    assert coord.describe_collection(DEFAULT_DB, "c") == before
    with pytest.raises(errors.CollectionNotFound):
        coord.alter_collection(DEFAULT_DB, "missing", {TTL_SECONDS: "1"}, ())


def test_create_collection_checks_the_values_of_known_keys(env: Env) -> None:
    with pytest.raises(errors.ParameterInvalid, match="collection TTL"):
        env.coordinator.create_collection(
            DEFAULT_DB, with_tag(), 1, ConsistencyLevel.BOUNDED, {TTL_SECONDS: "-5"}
        )
    with pytest.raises(errors.CollectionNotFound):
        env.coordinator.describe_collection(DEFAULT_DB, "c")


def test_a_varchar_max_length_and_a_field_mmap_are_altered(env: Env) -> None:
    coord = env.coordinator
    create(coord)
    changed = coord.alter_collection_field(DEFAULT_DB, "c", "tag", {"max_length": "32"}, ())
    tag = changed.schema.field("tag")
    assert tag is not None and tag.max_length == 32
    assert changed.schema.version == 0  # the fields are the same fields: no new version
    changed = coord.alter_collection_field(DEFAULT_DB, "c", "v", {MMAP_ENABLED: "false"}, ())
    vec = changed.schema.field("v")
    assert vec is not None and vec.type_params == {"dim": "4", MMAP_ENABLED: "false"}
    for name, props, deleted, error in [
        ("id", {"max_length": "10"}, (), errors.ParameterInvalid),
        ("tag", {"max_length": "0"}, (), errors.ParameterInvalid),
        ("tag", {"max_length": "65536"}, (), errors.ParameterInvalid),
        ("tag", {}, ("max_length",), errors.ParameterInvalid),
        ("tag", {"nullable": "true"}, (), errors.ParameterInvalid),
        ("nope", {MMAP_ENABLED: "true"}, (), errors.FieldNotFound),
    ]:
        with pytest.raises(error):
            coord.alter_collection_field(DEFAULT_DB, "c", name, props, deleted)
    assert coord.describe_collection(DEFAULT_DB, "c") == changed
    assert env.reopen().describe_collection(DEFAULT_DB, "c") == changed


def test_an_index_mmap_is_set_shown_removed_and_kept(env: Env) -> None:
    coord = env.coordinator
    info = create(coord)
    coord.create_index(info.collection_id, "v", "v_idx", "FLAT", "L2", {}, {"index_type": "FLAT"})
    coord.alter_index(info.collection_id, "v_idx", {MMAP_ENABLED: "True"}, ())
    (shown,) = coord.describe_indexes(info.collection_id, index_name="v_idx")
    assert shown.index.user_params == {"index_type": "FLAT", MMAP_ENABLED: "True"}
    with pytest.raises(errors.ParameterInvalid, match="'nlist' is not supported"):
        coord.alter_index(info.collection_id, "v_idx", {"nlist": "8"}, ())
    with pytest.raises(errors.IndexNotFound):
        coord.alter_index(info.collection_id, "other", {MMAP_ENABLED: "true"}, ())
    coord = env.reopen()
    (kept,) = coord.describe_indexes(info.collection_id, index_name="v_idx")
    assert kept.index == shown.index
    coord.alter_index(info.collection_id, "v_idx", {}, (MMAP_ENABLED,))
    (dropped,) = coord.describe_indexes(info.collection_id, index_name="v_idx")
    assert dropped.index.user_params == {"index_type": "FLAT"}


def test_mmap_changes_wait_for_a_release(env: Env) -> None:
    """As in Milvus: mmap of a collection, a field or an index changes only while the
    collection is released (code 104); the TTL and the rest change at any time."""
    coord = env.coordinator
    info = create(coord)
    coord.create_index(info.collection_id, "v", "v_idx", "FLAT", "L2", {}, {})
    coord.load_collection(info.collection_id)
    for alter in (
        lambda: coord.alter_collection(DEFAULT_DB, "c", {MMAP_ENABLED: "true"}, ()),
        lambda: coord.alter_collection_field(DEFAULT_DB, "c", "tag", {MMAP_ENABLED: "true"}, ()),
        lambda: coord.alter_index(info.collection_id, "v_idx", {MMAP_ENABLED: "true"}, ()),
    ):
        with pytest.raises(errors.CollectionLoaded):
            alter()
    loaded = coord.alter_collection(DEFAULT_DB, "c", {TTL_SECONDS: "5"}, ())
    assert loaded.properties == {TTL_SECONDS: "5"}
    coord.release_collection(info.collection_id)
    released = coord.alter_collection(DEFAULT_DB, "c", {MMAP_ENABLED: "true"}, ())
    assert released.properties == {TTL_SECONDS: "5", MMAP_ENABLED: "true"}
    coord.alter_index(info.collection_id, "v_idx", {MMAP_ENABLED: "true"}, ())


def test_random_alterations_match_a_model_across_restarts(env: Env) -> None:
    """Random sets, removals and bad requests (refused, changing nothing), with
    restarts: the collection's properties always equal the model's."""
    rng = random.Random(19)
    coord = env.coordinator
    create(coord)
    model: dict[str, str] = {}
    values = {
        TTL_SECONDS: ["0", "1", "3600", "-1", "x"],
        AUTOCOMPACTION_ENABLED: ["true", "False", "0", "maybe"],
        MMAP_ENABLED: ["true", "false", "on"],
        "unknown.key": ["1"],
    }
    good = {TTL_SECONDS: {"0", "1", "3600"}, AUTOCOMPACTION_ENABLED: {"true", "False", "0"}}
    good[MMAP_ENABLED] = {"true", "false"}
    for step in range(120):
        if step % 40 == 39:
            coord = env.reopen()
        keys = rng.sample(sorted(values), rng.randint(1, 2))
        if rng.random() < 0.3:
            deleted = tuple(keys)
            accepted = all(k in good for k in keys)
            try:
                coord.alter_collection(DEFAULT_DB, "c", {}, deleted)
            except errors.ParameterInvalid:
                assert not accepted
            else:
                assert accepted
                for k in deleted:
                    model.pop(k, None)
        else:
            props = {k: rng.choice(values[k]) for k in keys}
            accepted = all(v in good.get(k, set()) for k, v in props.items())
            try:
                coord.alter_collection(DEFAULT_DB, "c", props, ())
            except errors.ParameterInvalid:
                assert not accepted
            else:
                assert accepted
                model.update(props)
        assert coord.describe_collection(DEFAULT_DB, "c").properties == model
