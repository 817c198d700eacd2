"""Primary-key statistics: no false negatives, false positives near the target."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elanus.segment import FALSE_POSITIVE_RATE, PrimaryKeyStats, build_pk_stats, hash_keys


def test_int_keys_no_false_negatives_and_target_false_positives() -> None:
    rng = np.random.default_rng(17)
    keys = rng.choice(2**40, 60_000, replace=False).astype(np.int64)
    present, absent = keys[:20_000], keys[20_000:]
    stats = build_pk_stats(pa.array(present))
    assert stats.might_contain_many(pa.array(present)).all()
    assert isinstance(stats.min, int) and isinstance(stats.max, int)
    # Absent keys inside [min, max] exercise the filter, not the range check.
    inside = absent[(absent >= stats.min) & (absent <= stats.max)]
    rate = stats.might_contain_many(pa.array(inside)).mean()
    assert 0.5 * FALSE_POSITIVE_RATE < rate < 2 * FALSE_POSITIVE_RATE


def test_string_keys() -> None:
    present = [f"user-{i:06d}" for i in range(10_000)]
    stats = build_pk_stats(pa.array(present))
    assert (stats.min, stats.max) == ("user-000000", "user-009999")
    assert stats.might_contain_many(present).all()
    absent = [f"user-{i:06d}x" for i in range(10_000)]
    rate = stats.might_contain_many(absent).mean()
    assert 0.5 * FALSE_POSITIVE_RATE < rate < 2 * FALSE_POSITIVE_RATE
    assert not stats.might_contain("zzz")  # outside [min, max]


def test_min_max_and_scalar_lookup() -> None:
    stats = build_pk_stats(pa.chunked_array([pa.array([10, 20]), pa.array([-5])]))
    assert (stats.min, stats.max, stats.num_keys) == (-5, 20, 3)
    assert stats.might_contain(10) and stats.might_contain(-5)
    assert not stats.might_contain(21) and not stats.might_contain(-6)


def test_serialization_round_trip() -> None:
    stats = build_pk_stats(pa.array(np.arange(0, 3000, 3, dtype=np.int64)))
    restored = PrimaryKeyStats.from_bytes(stats.to_bytes())
    probe = pa.array(np.arange(-10, 3010, dtype=np.int64))
    np.testing.assert_array_equal(
        restored.might_contain_many(probe), stats.might_contain_many(probe)
    )
    assert (restored.min, restored.max, restored.num_keys) == (0, 2997, 1000)
    with pytest.raises(ValueError):
        PrimaryKeyStats.from_bytes(stats.to_bytes()[:-1])


def test_empty_segment_contains_nothing() -> None:
    stats = PrimaryKeyStats.from_bytes(build_pk_stats(pa.array([], pa.int64())).to_bytes())
    assert stats.min is None and not stats.might_contain(0)


def reference_fmix64(value: int) -> int:
    """MurmurHash3's finaliser in plain Python integers, independent of the numpy code."""
    mask = (1 << 64) - 1
    value &= mask
    value ^= value >> 33
    value = (value * 0xFF51AFD7ED558CCD) & mask
    value ^= value >> 33
    value = (value * 0xC4CEB9FE1A85EC53) & mask
    return value ^ (value >> 33)


def test_hashes_follow_the_documented_definition() -> None:
    # The on-disk filters depend on these hashes staying exactly what the docstring says.
    ints = [0, 1, -1, 2**63 - 1, -(2**63)]
    assert reference_fmix64(1) == 12994781566227106604
    assert hash_keys(pa.array(ints)).tolist() == [reference_fmix64(k) for k in ints]
    assert hash_keys(pa.array([-1], pa.int32()))[0] == reference_fmix64(-1)
    strings = ["", "a", "ünï"]
    expected = [
        reference_fmix64(
            int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "little")
        )
        for k in strings
    ]
    assert hash_keys(pa.array(strings)).tolist() == expected


def test_rejects_null_and_float_keys() -> None:
    with pytest.raises(ValueError, match="null"):
        build_pk_stats(pa.array([1, None]))
    with pytest.raises(ValueError, match="integers or strings"):
        build_pk_stats(pa.array([1.5]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=200))
def test_never_a_false_negative(keys: list[int]) -> None:
    stats = build_pk_stats(pa.array(keys, pa.int64()))
    assert stats.might_contain_many(keys).all()
    assert (stats.min, stats.max) == (min(keys), max(keys))
