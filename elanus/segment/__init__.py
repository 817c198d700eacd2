"""The segment file format every role agrees on: rows, primary-key statistics, deletes, keys.

A datanode writes a flushed segment as one Parquet file (:func:`write_segment`)
plus its primary-key statistics (:func:`build_pk_stats`), and deletes as delta
files (:func:`write_deltas`); querynodes and indexnodes read them back. Object
keys come from :mod:`elanus.segment.paths`.
"""

from elanus.columns import TS_COLUMN
from elanus.segment.files import (
    PK_COLUMN,
    read_deltas,
    read_segment,
    write_deltas,
    write_segment,
)
from elanus.segment.paths import (
    collection_prefixes,
    delta_log_key,
    index_file_key,
    index_prefix,
    pk_stats_key,
    segment_data_key,
    segment_prefix,
)
from elanus.segment.pk_stats import (
    FALSE_POSITIVE_RATE,
    BloomFilter,
    PrimaryKeyStats,
    build_pk_stats,
    hash_keys,
)

__all__ = [
    "FALSE_POSITIVE_RATE",
    "PK_COLUMN",
    "TS_COLUMN",
    "BloomFilter",
    "PrimaryKeyStats",
    "build_pk_stats",
    "collection_prefixes",
    "delta_log_key",
    "hash_keys",
    "index_file_key",
    "index_prefix",
    "pk_stats_key",
    "read_deltas",
    "read_segment",
    "segment_data_key",
    "segment_prefix",
    "write_deltas",
    "write_segment",
]
