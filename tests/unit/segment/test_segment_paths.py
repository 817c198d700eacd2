"""Object keys: one layout, grouped by collection so a drop is a prefix delete."""

from __future__ import annotations

import pytest

from elanus.segment import (
    collection_prefixes,
    delta_log_key,
    index_file_key,
    index_prefix,
    pk_stats_key,
    segment_data_key,
)


def test_layout() -> None:
    assert segment_data_key(1, 2, 3) == "segments/1/2/3/data.parquet"
    assert pk_stats_key(1, 2, 3) == "segments/1/2/3/pk_stats.bin"
    assert delta_log_key(1, "by-dml-0_1v0", 9) == "deltas/1/by-dml-0_1v0/9.parquet"
    assert index_file_key(1, 3, 4, 5) == "indexes/1/3/4/5.faiss"
    assert index_file_key(1, 3, 4, 5).startswith(index_prefix(1, 3, 4))


def test_every_key_of_a_collection_is_under_its_prefixes() -> None:
    keys = [
        segment_data_key(7, 2, 3),
        pk_stats_key(7, 2, 3),
        delta_log_key(7, "ch", 1),
        index_file_key(7, 3, 4, 5),
    ]
    assert all(any(k.startswith(p) for p in collection_prefixes(7)) for k in keys)
    # Collection 70's files must not fall under collection 7's prefixes.
    assert not any(segment_data_key(70, 1, 1).startswith(p) for p in collection_prefixes(7))


@pytest.mark.parametrize("vchannel", ["", "a/b", ".."])
def test_rejects_channel_names_that_break_keys(vchannel: str) -> None:
    with pytest.raises(ValueError):
        delta_log_key(1, vchannel, 1)
