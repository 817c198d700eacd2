"""The TTL rule (elanus/expiry.py) and the two places that apply it: the querynode's
segment views (growing and sealed alike) and the datanode's compaction purge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from datanode.compactor import compact
from elanus import expiry, segment, timestamps
from elanus.columns import TS_COLUMN, arrow_schema
from elanus.meta import CompactionPlan, SegmentInfo, SegmentState
from elanus.schema import CollectionSchema, DataType, FieldSchema
from elanus.storage.local_dir import LocalDirStore
from querynode.segment import Segment, table_schema

SECOND_MS = 1000
T0_MS = 1_700_000_000_000  # an arbitrary wall-clock instant, in ms


def at(ms: int, logical: int = 0) -> int:
    return timestamps.compose(T0_MS + ms, logical)


def test_a_row_expires_once_it_is_older_than_the_ttl_at_the_read_timestamp() -> None:
    row_ts = np.array([at(0), at(999), at(1000), at(1000, 5), at(2500)], dtype=np.uint64)
    read_ts = at(2000, 7)  # physical 2000 ms: the cutoff is physical 1000 ms, logical 0
    assert expiry.expired(row_ts, 1, read_ts).tolist() == [True, True, False, False, False]
    assert expiry.expiry_cutoff(1, read_ts) == at(1000)
    assert expiry.expired(row_ts, 0, read_ts).tolist() == [False] * 5  # no TTL
    assert expiry.expiry_cutoff(0, read_ts) == expiry.NEVER
    assert expiry.expired(row_ts, 3600, read_ts).tolist() == [False] * 5


@pytest.mark.parametrize("ttl_s", [0, 1, 2, 5])
def test_the_segment_bound_agrees_with_the_row_rule(ttl_s: int) -> None:
    rng = np.random.default_rng(ttl_s)
    for _ in range(50):
        row_ts = np.array(
            [at(int(ms)) for ms in rng.integers(0, 10 * SECOND_MS, 20)], dtype=np.uint64
        )
        read_ts = at(int(rng.integers(0, 12 * SECOND_MS)))
        rows_expired = bool(expiry.expired(row_ts, ttl_s, read_ts).any())
        assert expiry.any_expired(int(row_ts.min()), ttl_s, read_ts) == rows_expired


def test_expiry_depends_on_the_read_timestamp_only() -> None:
    """A Strong and a Bounded read at the same MVCC timestamp see the same rows, and a
    read at an older timestamp (Bounded) may see rows a newer one no longer does."""
    row_ts = np.array([at(0), at(1500)], dtype=np.uint64)
    strong, bounded = at(3000), at(2000)
    assert expiry.expired(row_ts, 1, strong).tolist() == [True, True]
    assert expiry.expired(row_ts, 1, bounded).tolist() == [True, False]


# --- the querynode's segments


def _schema() -> CollectionSchema:
    return CollectionSchema(
        "c",
        (
            FieldSchema("pk", DataType.INT64, is_primary=True),
            FieldSchema("vec", DataType.FLOAT_VECTOR, type_params={"dim": "2"}),
        ),
    ).with_field_ids()


def _rows(pks: list[int]) -> pa.Table:
    vectors = pa.FixedSizeListArray.from_arrays(
        pa.array(np.zeros(2 * len(pks), dtype=np.float32)), 2
    )
    return pa.table({"pk": pa.array(pks, type=pa.int64()), "vec": vectors})


def test_growing_and_sealed_segments_hide_the_same_expired_rows() -> None:
    schema = _schema()
    arrow = arrow_schema(schema)
    growing = Segment.empty(1, 10, schema, arrow)
    batches = [([0, 1], at(0)), ([2, 3], at(1200)), ([4], at(2600))]
    for pks, ts in batches:
        growing.append(_rows(pks), ts)
    table = growing.table.cast(table_schema(arrow))
    sealed = Segment.from_table(2, 10, schema, table, sealed=True)
    for read_ms in (500, 2100, 2700, 3700, 9000):
        read_ts = at(read_ms)
        expected = (growing.row_ts <= read_ts) & ~expiry.expired(growing.row_ts, 1, read_ts)
        for seg in (growing, sealed):
            view = seg.view()
            assert view.mask(None, read_ts, ttl_s=1).tolist() == expected.tolist()
            search_mask = view.search_mask(None, read_ts, ttl_s=1)
            if search_mask is None:  # every row qualifies: allowed only when none expired
                assert expected.all()
            else:
                assert search_mask.tolist() == expected.tolist()
    # Without a TTL nothing expires, however old.
    assert growing.view().mask(None, at(10**9), ttl_s=0).all()


# --- the datanode's compaction


def test_compaction_purges_exactly_the_rows_expired_at_its_timestamp(tmp_path: Path) -> None:
    storage = LocalDirStore(tmp_path)
    schema = _schema()
    sources = []
    for segment_id, (pks, ts) in enumerate([([0, 1, 2], at(0)), ([3, 4], at(4000))], start=1):
        table = _rows(pks).append_column(TS_COLUMN, pa.array([ts] * len(pks), type=pa.uint64()))
        key = segment.segment_data_key(7, 10, segment_id)
        storage.put(key, segment.write_segment(table))
        sources.append(
            SegmentInfo(segment_id, 7, 10, "v0", SegmentState.FLUSHED, len(pks), at(5000), key, "")
        )
    plan = CompactionPlan(
        plan_id=50,
        result_segment_id=99,
        pk_name="pk",
        compact_ts=at(5500),
        segments=tuple(sources),
        delta_logs=(),
        ttl_s=3,  # the cutoff is 2500 ms: the first segment's rows are gone
    )
    result = compact(plan, storage, schema)
    assert result.state is SegmentState.FLUSHED and result.num_rows == 2
    assert result.min_row_ts == at(4000)
    kept = segment.read_segment(storage.get(result.data_key))
    assert kept.column("pk").to_pylist() == [3, 4]

    everything = compact(
        CompactionPlan(51, 98, "pk", at(60_000), tuple(sources), (), ttl_s=3), storage, schema
    )
    assert everything.state is SegmentState.DROPPED and everything.num_rows == 0
    kept_all = compact(
        CompactionPlan(52, 97, "pk", at(60_000), tuple(sources), ()), storage, schema
    )
    assert kept_all.num_rows == 5  # no TTL: nothing expires


def test_the_expired_share_of_a_segment_follows_its_time_span() -> None:
    oldest, newest = at(0), at(10_000)
    assert expiry.expired_share(oldest, newest, 0, at(60_000)) == 0.0  # no TTL
    assert expiry.expired_share(oldest, newest, 5, at(4_000)) == 0.0  # cutoff before it
    assert expiry.expired_share(oldest, newest, 5, at(7_500)) == pytest.approx(0.25)
    assert expiry.expired_share(oldest, newest, 5, at(15_001)) == 1.0  # all of it
    assert expiry.expired_share(at(3_000), at(3_000), 1, at(4_500)) == 1.0  # one instant
