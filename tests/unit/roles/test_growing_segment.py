"""Growing segments in a querynode: appends stay cheap, visibility and deletes stay right."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
from roles_harness import make_rows, make_schema, vectors_for

from elanus.columns import arrow_schema
from elanus.deletes import ALL_PARTITIONS, Deletes
from elanus.requests import SearchRequest
from querynode.segment import Segment, search_view

SCHEMA = make_schema(dim=128)
ARROW = arrow_schema(SCHEMA)


def _request(queries: np.ndarray, limit: int, mvcc_ts: int) -> SearchRequest:
    return SearchRequest(
        collection_id=1,
        vchannel="v",
        partition_ids=(),
        anns_field="vec",
        metric_type="L2",
        queries=queries,
        limit=limit,
        search_params={},
        filter="",
        output_fields=("tag",),
        mvcc_ts=mvcc_ts,
        guarantee_ts=1,
    )


def test_many_small_appends_cost_the_same_late_as_early() -> None:
    """2,000 inserts of 10 rows: the last appends must not cost more than the first
    (re-copying every earlier row on each append makes them ~10x dearer)."""
    segment = Segment.empty(1, 1, SCHEMA, ARROW)
    batches = [make_rows(SCHEMA, range(i * 10, i * 10 + 10)) for i in range(2000)]
    costs = []
    for ts, batch in enumerate(batches, start=1):
        started = time.perf_counter()
        segment.append(batch, ts)
        costs.append(time.perf_counter() - started)
    early, late = np.median(costs[100:300]), np.median(costs[-200:])
    assert late < 4 * early, f"append cost grew from {early * 1e6:.0f} to {late * 1e6:.0f} us"
    assert segment.num_rows == 20_000


def test_appends_deletes_and_views_stay_consistent() -> None:
    segment = Segment.empty(1, 1, SCHEMA, ARROW)
    views = []
    for ts in range(1, 201):
        segment.append(make_rows(SCHEMA, [ts * 2, ts * 2 + 1], tag=f"t{ts}"), ts * 10)
        if ts % 50 == 0:
            views.append((segment.num_rows, segment.view()))
        if ts % 7 == 0:
            segment.apply_deletes(
                Deletes.of(pa.array([ts * 2], type=pa.int64()), ts * 10 + 5, ALL_PARTITIONS)
            )
    # Earlier views are snapshots: later appends and deletes do not show in them.
    for rows, view in views:
        assert view.num_rows == rows == len(view.row_ts) == len(view.deleted_at)
        assert len(view.vectors["vec"]) == rows
    view = segment.view()
    visible = view.visible(10**9)
    pks = np.array(view.table.column("pk").to_pylist())
    deleted = {ts * 2 for ts in range(7, 201, 7)}
    assert set(pks[~visible].tolist()) == deleted
    # Visibility at an older timestamp: rows inserted later are hidden, deletes too.
    at_500 = view.visible(500)
    assert set(pks[at_500].tolist()) == set(range(2, 102)) - {14, 28, 42, 56, 70, 84, 98}
    # Vectors stay aligned with their rows.
    np.testing.assert_array_equal(view.vectors["vec"], vectors_for(pks.tolist(), 128))
    hits = search_view(view, _request(vectors_for([31], 128), 1, 10**9), None, "pk", "L2")
    assert hits is not None and hits.pks.to_pylist() == [31]
    assert hits.fields.column("tag").to_pylist() == ["t15"]
