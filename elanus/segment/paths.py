"""Object-storage keys for segment, statistics, delta and index files.

Every role derives keys here and nowhere else, so a file one role writes is
where another looks for it. Keys group by collection first, so dropping a
collection is a prefix delete of :func:`collection_prefixes`.
"""

from __future__ import annotations


def segment_prefix(collection_id: int, partition_id: int, segment_id: int) -> str:
    """The folder holding one segment's data and statistics files (ends with '/')."""
    return f"segments/{collection_id}/{partition_id}/{segment_id}/"


def segment_data_key(collection_id: int, partition_id: int, segment_id: int) -> str:
    """The segment's rows: one Parquet file written by :func:`elanus.segment.write_segment`."""
    return segment_prefix(collection_id, partition_id, segment_id) + "data.parquet"


def pk_stats_key(collection_id: int, partition_id: int, segment_id: int) -> str:
    """The segment's primary-key statistics (:meth:`PrimaryKeyStats.to_bytes`)."""
    return segment_prefix(collection_id, partition_id, segment_id) + "pk_stats.bin"


def delta_log_key(collection_id: int, vchannel: str, log_id: int) -> str:
    """A batch of deletes from one virtual channel (:func:`elanus.segment.write_deltas`)."""
    _check_component(vchannel, "vchannel")
    return f"deltas/{collection_id}/{vchannel}/{log_id}.parquet"


def index_file_key(collection_id: int, segment_id: int, index_id: int, build_id: int) -> str:
    """One build of one index over one segment (:meth:`VectorIndex.serialize`)."""
    return f"indexes/{collection_id}/{segment_id}/{index_id}/{build_id}.faiss"


def index_prefix(collection_id: int, segment_id: int, index_id: int) -> str:
    """Every build of an index over a segment, for garbage collection after a drop."""
    return f"indexes/{collection_id}/{segment_id}/{index_id}/"


def collection_prefixes(collection_id: int) -> tuple[str, ...]:
    """Every prefix under which a collection's files live."""
    return (
        f"segments/{collection_id}/",
        f"deltas/{collection_id}/",
        f"indexes/{collection_id}/",
    )


def _check_component(value: str, what: str) -> None:
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"{what} {value!r} cannot be part of an object key")
