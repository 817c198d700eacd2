"""The partition key on the standalone roles, against an in-memory model.

Random inserts, upserts (which may move a row to another tenant's partition) and
deletes by key filter; after each step every partition holds exactly the rows
the model places there by Milvus's hash (computed here with the scalar reference
MurmurHash3, not the vectorised one routing uses), and a read pinned to a key,
pruned to its partitions, answers what the model says.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from roles_harness import STRONG, RoleSet, vectors_for

from elanus import expr
from elanus.columns import vector_column
from elanus.meta import CollectionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proxy import partition_key

PARTITIONS = 6
TENANTS = [-7, 0, 3, 11, 2**40 + 5, 9_000_000_000]


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[RoleSet]:
    started = RoleSet(tmp_path).start()
    yield started
    started.stop()


def keyed_schema() -> CollectionSchema:
    return CollectionSchema(
        "keyed",
        (
            FieldSchema("pk", DataType.INT64, is_primary=True),
            FieldSchema("tag", DataType.VARCHAR, type_params={"max_length": "64"}),
            FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "8"}),
            FieldSchema("tenant", DataType.INT64, is_partition_key=True),
        ),
    ).with_field_ids()


def model_partition(info: CollectionInfo, tenant: int) -> int:
    hashed = partition_key.murmur3_32(tenant.to_bytes(8, "little", signed=True)) & 0x7FFFFFFF
    name = f"_default_{hashed % PARTITIONS}"
    found = info.partition(name)
    assert found is not None
    return found.partition_id


def rows_of(info: CollectionInfo, pks: list[int], tenants: list[int], tag: str) -> pa.Table:
    field = info.schema.field("vec")
    assert field is not None
    return pa.table(
        {
            "pk": pa.array(pks, pa.int64()),
            "tag": pa.array([tag] * len(pks)),
            "vec": vector_column(vectors_for(pks, field.dim), field),
            "tenant": pa.array(tenants, pa.int64()),
        }
    )


def rows_in(
    roles: RoleSet, info: CollectionInfo, partition_ids: tuple[int, ...], text: str
) -> dict:
    found = roles.reader.query(
        info, partition_ids, text, {}, ("pk", "tenant"), None, 0, False, STRONG
    )
    return dict(
        zip(
            found.rows.column("pk").to_pylist(),
            found.rows.column("tenant").to_pylist(),
            strict=True,
        )
    )


def test_random_writes_land_where_the_model_puts_them(roles: RoleSet) -> None:
    info = roles.coordinator.create_collection(
        "default", keyed_schema(), 2, STRONG.level, {}, PARTITIONS
    )
    roles.coordinator.create_index(info.collection_id, "vec", "", "FLAT", "L2", {}, {})
    roles.load(info)
    rng = random.Random(11)
    model: dict[int, int] = {}  # pk -> tenant
    for step in range(25):
        op = rng.choice(["insert", "upsert", "delete"])
        if op == "delete":
            tenant = rng.choice(TENANTS)
            text = f"tenant == {tenant} and pk % 3 == {step % 3}"
            parsed = expr.parse(text, info.schema, {})
            pruned = partition_key.pruned_partitions(
                info, roles.reader.loaded_partitions(info, []), parsed
            )
            assert pruned == (model_partition(info, tenant),)
            gone = rows_in(roles, info, pruned, text)
            if gone:
                roles.writer.delete(info, 0, pa.array(sorted(gone), pa.int64()))
            for pk in gone:
                del model[pk]
        else:
            pks = rng.sample(range(200), 12)
            if op == "insert":
                pks = [pk for pk in pks if pk not in model]
            tenants = [rng.choice(TENANTS) for _ in pks]
            rows = rows_of(info, pks, tenants, op)
            placement = partition_key.row_partitions(info, rows)
            if op == "insert":
                roles.writer.insert(info, placement, rows)
            else:
                roles.writer.upsert(info, placement, rows)
            model.update(zip(pks, tenants, strict=True))
        if step % 8 == 7:
            roles.flush_and_wait(info)
        for partition in info.partitions:
            expected = {
                pk: t
                for pk, t in model.items()
                if model_partition(info, t) == partition.partition_id
            }
            assert rows_in(roles, info, (partition.partition_id,), "") == expected, step
    for tenant in TENANTS:
        expected = {pk: t for pk, t in model.items() if t == tenant}
        pruned = roles.reader.partitions_to_read(info, [], f"tenant == {tenant}", {})
        assert pruned == (model_partition(info, tenant),)
        assert rows_in(roles, info, pruned, f"tenant == {tenant}") == expected
