"""Rows written before a field was added, read with the schema of after: a segment file,
a growing segment in a querynode, a datanode's buffer and a compaction all fill the
new column with the field's default value, or null."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from datanode import compactor
from datanode.buffer import SegmentBuffer
from elanus import dml, segment
from elanus.columns import TS_COLUMN, arrow_schema, conform, fill_missing, vector_column
from elanus.meta import CompactionPlan, SegmentInfo, SegmentState
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from querynode.segment import Segment, table_schema

VEC = FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "2"})
BEFORE = CollectionSchema(
    "c", (FieldSchema("pk", DataType.INT64, is_primary=True), VEC)
).with_field_ids()
AFTER = BEFORE.with_added_field(
    FieldSchema("score", DataType.INT32, nullable=True)
).with_added_field(
    FieldSchema(
        "kind", DataType.VARCHAR, type_params={"max_length": "8"}, nullable=True, default_value="x"
    )
)


def rows(schema: CollectionSchema, pks: list[int], **values: list[object]) -> pa.Table:
    columns = [
        pa.array(pks, type=pa.int64()),
        vector_column(np.ones((len(pks), 2), dtype=np.float32), VEC),
    ]
    names = [f.name for f in schema.fields]
    columns += [pa.array(values[n], type=arrow_schema(schema).field(n).type) for n in names[2:]]
    return pa.Table.from_arrays(columns, schema=arrow_schema(schema))


def with_ts(table: pa.Table, ts: int) -> pa.Table:
    return table.append_column(TS_COLUMN, pa.array([ts] * table.num_rows, type=pa.uint64()))


def test_the_schema_change_is_numbered_and_versioned() -> None:
    assert [f.field_id for f in AFTER.fields] == [100, 101, 102, 103]
    assert AFTER.version == 2 and BEFORE.version == 0
    assert CollectionSchema.from_dict(AFTER.to_dict()) == AFTER


def test_an_old_segment_file_reads_the_added_fields_filled() -> None:
    data = segment.write_segment(with_ts(rows(BEFORE, [1, 2]), 5))
    table = conform(
        fill_missing(segment.read_segment(data), AFTER), table_schema(arrow_schema(AFTER))
    )
    assert table.column_names == ["pk", "vec", "score", "kind", TS_COLUMN]
    assert table.column("score").to_pylist() == [None, None]
    assert table.column("kind").to_pylist() == ["x", "x"]
    assert table.column(TS_COLUMN).to_pylist() == [5, 5]


def test_a_field_that_needs_a_value_is_never_invented() -> None:
    strict = BEFORE.with_added_field(FieldSchema("must", DataType.INT64))
    with pytest.raises(ValueError, match="must"):
        fill_missing(rows(BEFORE, [1]), strict)


def test_a_growing_segment_adopts_the_new_schema_and_keeps_appending() -> None:
    arrow_before = arrow_schema(BEFORE)
    seg = Segment.empty(1, 10, BEFORE, arrow_before)
    seg.append(rows(BEFORE, [1, 2]), 7)
    old_view = seg.view()
    seg.adopt(AFTER, arrow_schema(AFTER))
    seg.append(rows(AFTER, [3], score=[30], kind=["y"]), 8)
    table = seg.view().table
    assert table.column("score").to_pylist() == [None, None, 30]
    assert table.column("kind").to_pylist() == ["x", "x", "y"]
    assert seg.row_ts.tolist() == [7, 7, 8]
    assert old_view.table.column_names == ["pk", "vec", TS_COLUMN]  # views keep their rows


def test_a_datanode_buffer_writes_every_batch_in_the_new_layout() -> None:
    buffer = SegmentBuffer(1, 10, first_position=0, tick_before=0)
    stamp = dml.Stamp(1, 100, 1)
    buffer.add(dml.InsertBatch(stamp, 1, 10, 1, "ch", rows(BEFORE, [1])))
    buffer.add(dml.InsertBatch(stamp, 1, 10, 1, "ch", rows(AFTER, [2], score=[20], kind=[None])))
    table = buffer.table(AFTER)
    assert table.column_names == ["pk", "vec", "score", "kind", TS_COLUMN]
    assert table.column("score").to_pylist() == [None, 20]
    assert table.column("kind").to_pylist() == ["x", None]  # a null written stays null


def test_a_compaction_merges_old_and_new_files_into_the_new_layout(tmp_path: Path) -> None:
    storage = LocalDirStore(tmp_path)
    sources = []
    for segment_id, table in (
        (1, with_ts(rows(BEFORE, [1, 2]), 5)),
        (2, with_ts(rows(AFTER, [3], score=[3], kind=["z"]), 6)),
    ):
        key = f"seg/{segment_id}"
        storage.put(key, segment.write_segment(table))
        sources.append(
            SegmentInfo(segment_id, 1, 10, "ch", SegmentState.FLUSHED, 1, 9, data_key=key)
        )
    plan = CompactionPlan(7, 3, "pk", 9, tuple(sources), ())
    result = compactor.compact(plan, storage, AFTER)
    merged = segment.read_segment(storage.get(result.data_key))
    assert merged.column_names == ["pk", "vec", "score", "kind", TS_COLUMN]
    assert merged.column("score").to_pylist() == [None, None, 3]
    assert merged.column("kind").to_pylist() == ["x", "x", "z"]
