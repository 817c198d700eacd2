"""Segment and delta files round-trip every column type exactly, nulls included."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from elanus.deletes import ALL_PARTITIONS, Deletes
from elanus.segment import TS_COLUMN, read_deltas, read_segment, write_deltas, write_segment

DIM = 8


def float_vectors(rows: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel(), type=pa.float32()), DIM)


def sample_table(num_rows: int = 50, nulls: bool = True) -> pa.Table:
    rng = np.random.default_rng(13)

    def maybe_null(values: list) -> list:
        return [None if nulls and i % 7 == 3 else v for i, v in enumerate(values)]

    vectors = rng.standard_normal((num_rows, DIM)).astype(np.float32)
    vectors[0] = [np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38, -1.0, 0.0]
    bits = rng.integers(0, 256, (num_rows, 4), dtype=np.uint8)
    columns = {
        "id": pa.array(np.arange(num_rows, dtype=np.int64) * 11 - 200),
        "flag": pa.array(maybe_null([i % 2 == 0 for i in range(num_rows)]), type=pa.bool_()),
        "i8": pa.array(maybe_null([(i % 256) - 128 for i in range(num_rows)]), type=pa.int8()),
        "i16": pa.array(maybe_null([i * 997 - 32768 for i in range(num_rows)]), type=pa.int16()),
        "i32": pa.array(maybe_null([2**31 - 1 - i for i in range(num_rows)]), type=pa.int32()),
        "i64": pa.array(maybe_null([-(2**63) + i for i in range(num_rows)]), type=pa.int64()),
        "f32": pa.array(maybe_null(rng.standard_normal(num_rows).tolist()), type=pa.float32()),
        "f64": pa.array(maybe_null(rng.standard_normal(num_rows).tolist()), type=pa.float64()),
        "text": pa.array(maybe_null([f"héllo {i} ✓" * (i % 4) for i in range(num_rows)])),
        "doc": pa.array(
            maybe_null([json.dumps({"n": i, "tags": ["a"] * (i % 3)}) for i in range(num_rows)])
        ),
        "vec": float_vectors(vectors),
        "bits": pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(4), num_rows, [None, pa.py_buffer(bits.tobytes())]
        ),
        "$meta": pa.array([json.dumps({"extra": i}) for i in range(num_rows)]),
        TS_COLUMN: pa.array(np.arange(num_rows, dtype=np.uint64) + (1 << 60)),
    }
    return pa.table(columns)


def test_every_type_round_trips() -> None:
    table = sample_table()
    restored = read_segment(write_segment(table))
    assert restored.schema.equals(table.schema)
    # Arrow's equality says NaN != NaN, so the vector column is compared by its bytes below.
    assert restored.drop_columns(["vec"]).equals(table.drop_columns(["vec"]))
    vectors = restored.column("vec").combine_chunks().values.to_numpy()
    original = table.column("vec").combine_chunks().values.to_numpy()
    # Bit-exact, NaN and signed zero included.
    assert vectors.tobytes() == original.tobytes()


def test_nullable_vector_column_and_sliced_chunks() -> None:
    vectors = np.arange(6 * DIM, dtype=np.float32).reshape(6, DIM)
    column = pa.FixedSizeListArray.from_arrays(
        pa.array(vectors.ravel()), DIM, mask=pa.array([False, True, False, False, True, False])
    )
    table = pa.table({"vec": column, TS_COLUMN: pa.array(np.arange(6, dtype=np.uint64))})
    sliced = pa.concat_tables([table.slice(1, 3), table.slice(4, 2)])
    restored = read_segment(write_segment(sliced))
    assert restored.column("vec").to_pylist() == sliced.column("vec").to_pylist()
    assert restored.column("vec").null_count == 2


def test_empty_segment() -> None:
    table = sample_table().slice(0, 0)
    restored = read_segment(write_segment(table))
    assert restored.num_rows == 0 and restored.schema.equals(table.schema)


def test_schema_metadata_is_kept() -> None:
    table = sample_table(5).replace_schema_metadata({"collection": "books"})
    assert read_segment(write_segment(table)).schema.metadata == {b"collection": b"books"}


def test_requires_uint64_timestamps() -> None:
    with pytest.raises(ValueError, match="_ts"):
        write_segment(pa.table({"id": pa.array([1])}))
    with pytest.raises(ValueError, match="uint64"):
        write_segment(pa.table({"id": pa.array([1]), TS_COLUMN: pa.array([1], pa.int64())}))


def test_vectors_are_stored_compactly() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((5000, DIM)).astype(np.float32)
    table = pa.table(
        {"vec": float_vectors(vectors), TS_COLUMN: pa.array(np.zeros(5000, dtype=np.uint64))}
    )
    assert len(write_segment(table)) < vectors.nbytes * 1.1


@pytest.mark.parametrize(
    "pks",
    [pa.array([5, -3, 2**62, 5], type=pa.int64()), pa.array(["a", "", "ünï", "a"])],
)
def test_deltas_round_trip(pks: pa.Array) -> None:
    records = Deletes(
        pks,
        np.array([1, 2**63 + 5, 3, 2**64 - 1], dtype=np.uint64),
        np.array([ALL_PARTITIONS, 7, 2**40, 7], dtype=np.int64),
    )
    restored = read_deltas(write_deltas(records))
    assert restored.pks.equals(pks)
    assert restored.timestamps.dtype == np.uint64 and restored.partitions.dtype == np.int64
    np.testing.assert_array_equal(restored.timestamps, records.timestamps)
    np.testing.assert_array_equal(restored.partitions, records.partitions)


def test_deltas_written_before_partitions_hit_every_partition() -> None:
    """Delta files of earlier releases have only (pk, ts): their deletes stay global."""
    sink = io.BytesIO()
    pq.write_table(
        pa.table({"pk": pa.array([4, 9]), "ts": pa.array([10, 20], type=pa.uint64())}), sink
    )
    restored = read_deltas(sink.getvalue())
    assert restored.pks.to_pylist() == [4, 9]
    assert restored.timestamps.tolist() == [10, 20]
    assert restored.partitions.tolist() == [ALL_PARTITIONS, ALL_PARTITIONS]


def test_deltas_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 keys, 1 timestamps, 2 partitions"):
        Deletes(pa.array([1, 2]), np.array([1], dtype=np.uint64), np.zeros(2, dtype=np.int64))
