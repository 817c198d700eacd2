"""The one rule that decides whether a delete hides a row, against a plain oracle."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elanus.deletes import ALIVE, ALL_PARTITIONS, Deletes, deleted_at, truncated_at
from querynode.recent_deletes import RecentDeletes

PARTITIONS = (11, 12)


def oracle(
    rows: list[tuple[int, int]], partition_id: int, deletes: list[tuple[int, int, int]]
) -> list[int]:
    """Per (pk, row_ts): the earliest delete of that key, newer than the row, that reaches
    the partition; written the obvious way."""
    marks = []
    for pk, row_ts in rows:
        hits = [
            ts
            for key, ts, scope in deletes
            if key == pk and ts > row_ts and scope in (ALL_PARTITIONS, partition_id)
        ]
        marks.append(min(hits) if hits else int(ALIVE))
    return marks


def records(deletes: list[tuple[int, int, int]]) -> Deletes:
    return Deletes(
        pa.array([d[0] for d in deletes], type=pa.int64()),
        np.array([d[1] for d in deletes], dtype=np.uint64),
        np.array([d[2] for d in deletes], dtype=np.int64),
    )


keys = st.integers(0, 6)
stamps = st.integers(1, 30)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(keys, stamps), max_size=25),
    deletes=st.lists(
        st.tuples(keys, stamps, st.sampled_from((ALL_PARTITIONS, *PARTITIONS))), max_size=12
    ),
    partition_id=st.sampled_from(PARTITIONS),
)
def test_deleted_at_matches_the_oracle(
    rows: list[tuple[int, int]], deletes: list[tuple[int, int, int]], partition_id: int
) -> None:
    row_pks = pa.array([r[0] for r in rows], type=pa.int64())
    row_ts = np.array([r[1] for r in rows], dtype=np.uint64)
    marks = deleted_at(row_pks, row_ts, partition_id, records(deletes))
    assert marks.tolist() == oracle(rows, partition_id, deletes)


def test_scoped_delete_spares_the_other_partition() -> None:
    pks = pa.array(["a", "b", "c"])
    row_ts = np.array([5, 5, 5], dtype=np.uint64)
    scoped = Deletes.of(pa.array(["a", "c"]), 9, 11)
    assert deleted_at(pks, row_ts, 11, scoped).tolist() == [9, ALIVE, 9]
    assert deleted_at(pks, row_ts, 12, scoped).tolist() == [ALIVE] * 3
    everywhere = Deletes.of(pa.array(["b"]), 9, ALL_PARTITIONS)
    assert deleted_at(pks, row_ts, 12, everywhere).tolist() == [ALIVE, 9, ALIVE]


def test_an_upsert_keeps_its_own_row() -> None:
    """Delete and insert under one timestamp: the old row goes, the new one stays."""
    pks = pa.array([7, 7], type=pa.int64())
    row_ts = np.array([3, 8], dtype=np.uint64)
    marks = deleted_at(pks, row_ts, 11, Deletes.of(pa.array([7], type=pa.int64()), 8, 0))
    assert marks.tolist() == [8, ALIVE]


def test_records_keep_their_columns_aligned() -> None:
    with pytest.raises(ValueError, match="aligned"):
        Deletes(pa.array([1]), np.array([1, 2], dtype=np.uint64), np.zeros(1, dtype=np.int64))
    both = Deletes.concat(
        [Deletes.of(pa.array([1, 2]), 5, 11), Deletes.of(pa.array([3]), 7, ALL_PARTITIONS)]
    )
    assert len(both) == 3 and both.max_ts == 7
    assert both.reaching(12).pks.to_pylist() == [3]
    assert both.after(5).pks.to_pylist() == [3]
    assert both.at_or_before(5).pks.to_pylist() == [1, 2]


def test_recent_deletes_are_forgotten_once_nothing_can_need_them() -> None:
    memory = RecentDeletes()
    memory.add(Deletes.of(pa.array([1]), 10, ALL_PARTITIONS))
    memory.add(Deletes.of(pa.array([2]), 20, 11))
    later = memory.after(15)
    assert later is not None and later.pks.to_pylist() == [2]
    assert memory.after(20) is None
    # A growing row at ts 12 may still be hidden by the delete at 20 (at handoff).
    memory.forget(served_ts=25, oldest_growing_ts=12)
    assert len(memory) == 1 and memory.max_ts == 20
    # An insert older than 20 could still arrive until a tick passes 20.
    memory.forget(served_ts=18, oldest_growing_ts=None)
    assert len(memory) == 1
    memory.forget(served_ts=20, oldest_growing_ts=None)
    assert len(memory) == 0 and memory.all() is None


def test_a_truncate_hides_exactly_the_rows_inserted_strictly_before_it() -> None:
    row_ts = np.array([5, 9, 10, 11, 30], dtype=np.uint64)
    marks = truncated_at(row_ts, 10)
    assert marks.tolist() == [10, 10, int(ALIVE), int(ALIVE), int(ALIVE)]
    # A row is visible at T when row_ts <= T < mark: before the truncate all were.
    visible_at_9 = (row_ts <= 9) & (marks > 9)
    assert visible_at_9.tolist() == [True, True, False, False, False]
    assert truncated_at(row_ts, 0).tolist() == [int(ALIVE)] * 5
