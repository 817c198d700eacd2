"""A 1%-selective filter over one sealed segment's column, scanned and answered by a
scalar index, in process (no server): ``python -m bench.scalar_filter [rows]``.

Prints the build time of each index and the median of a few evaluations of each
filter with and without it; the answers are checked to be identical.

Measured on 1M rows (2026-12-02, Intel Xeon, 2 cores shared with other work, so a
rough figure): STL_SORT on an INT64 column with 1% nulls built in 0.34 s;
``n < 10000`` (1%) 7.5 ms scanned, 4.3 ms indexed; ``500000 <= n < 510000`` 13.3 ->
7.1 ms; ``n in [5 values]`` 16.2 -> 5.2 ms. TRIE on VARCHAR built in 0.8 s;
``s like "k00%"`` 12.6 -> 2.7 ms; ``s == "k001234"`` 12.5 -> 2.3 ms. What is left of
an indexed leaf is mostly the column's validity mask and the row mask itself.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from elanus import expr, scalar_index
from elanus.schema import CollectionSchema, DataType, FieldSchema

SCHEMA = CollectionSchema(
    name="bench",
    fields=(
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("n", DataType.INT64, nullable=True),
        FieldSchema("s", DataType.VARCHAR, type_params={"max_length": "16"}),
    ),
)
FILTERS = {
    "n": ["n < 10000", "n in [7, 70, 700, 7000, 70000]", "500000 <= n < 510000"],
    "s": ['s like "k00%"', 's == "k001234"'],
}


def _median_s(run: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(rows: int) -> None:
    rng = np.random.default_rng(7)
    numbers = rng.integers(0, 1_000_000, rows)
    table = pa.table(
        {
            "id": pa.array(np.arange(rows)),
            "n": pa.array(numbers, mask=rng.random(rows) < 0.01),
            "s": pa.array([f"k{v:06d}" for v in rng.integers(0, 100_000, rows)]),
        }
    )
    for field, index_type in (("n", "STL_SORT"), ("s", "TRIE")):
        start = time.perf_counter()
        data = scalar_index.build_scalar_index(index_type, table.column(field))
        lookup = scalar_index.load_scalar_index(data)
        built = time.perf_counter() - start
        print(f"{index_type} on {field}: built and loaded in {built:.2f} s, {len(data)} bytes")
        for text in FILTERS[field]:
            parsed = expr.parse(text, SCHEMA)
            scanned = expr.evaluate(parsed, table)
            indexed = expr.evaluate(parsed, table, indexes={field: lookup})
            assert np.array_equal(scanned, indexed), text
            scan_s = _median_s(lambda p=parsed: expr.evaluate(p, table, {}))
            by_field = {field: lookup}
            index_s = _median_s(lambda p=parsed, i=by_field: expr.evaluate(p, table, {}, indexes=i))
            print(
                f"  {text!r}: {int(scanned.sum())} rows; scan {scan_s * 1e3:.1f} ms, "
                f"index {index_s * 1e3:.1f} ms"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
