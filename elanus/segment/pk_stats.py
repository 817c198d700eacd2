"""Primary-key statistics: min, max and a Bloom filter per sealed segment.

A delete names primary keys, not segments; these statistics let a querynode
skip every segment that cannot hold a key. A Bloom filter never answers "no"
for a key it holds; it answers "yes" for an absent key with probability near
:data:`FALSE_POSITIVE_RATE`.

Hashing is our own and stable across processes and versions: a 64-bit hash of
the key (the int64's little-endian bytes, or the string's UTF-8), mixed with
MurmurHash3's 64-bit finaliser; the filter's k probes come from two such
hashes by double hashing (Kirsch and Mitzenmacher).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

FALSE_POSITIVE_RATE = 0.01
_MAGIC = b"ELPKST01"
_SECOND_HASH_SEED = np.uint64(0x9E3779B97F4A7C15)

Key = int | str


@dataclass
class BloomFilter:
    """``num_bits`` bits probed ``num_hashes`` times per key."""

    bits: np.ndarray  # uint8, num_bits rounded up to whole bytes, little-endian bit order
    num_bits: int
    num_hashes: int

    @classmethod
    def for_capacity(cls, capacity: int, false_positive_rate: float) -> BloomFilter:
        """The smallest filter with the target false-positive rate at ``capacity`` keys."""
        capacity = max(capacity, 1)
        num_bits = max(64, math.ceil(-capacity * math.log(false_positive_rate) / math.log(2) ** 2))
        num_hashes = max(1, round(num_bits / capacity * math.log(2)))
        return cls(np.zeros((num_bits + 7) // 8, dtype=np.uint8), num_bits, num_hashes)

    def add_hashes(self, hashes: np.ndarray) -> None:
        flags = np.unpackbits(self.bits, count=self.num_bits, bitorder="little").astype(bool)
        flags[self._positions(hashes).ravel()] = True
        self.bits = np.packbits(flags, bitorder="little")

    def contains_hashes(self, hashes: np.ndarray) -> np.ndarray:
        positions = self._positions(hashes)
        set_bits = (self.bits[positions >> 3] >> (positions & 7).astype(np.uint8)) & 1
        return set_bits.all(axis=1) if len(positions) else np.zeros(0, dtype=bool)

    def _positions(self, hashes: np.ndarray) -> np.ndarray:
        """(n, num_hashes) bit positions: (h1 + i * h2) mod num_bits, h2 odd."""
        first = np.asarray(hashes, dtype=np.uint64)
        second = _fmix64(first ^ _SECOND_HASH_SEED) | np.uint64(1)
        steps = np.arange(self.num_hashes, dtype=np.uint64)
        combined = first[:, None] + steps[None, :] * second[:, None]
        result: np.ndarray = (combined % np.uint64(self.num_bits)).astype(np.int64)
        return result


@dataclass
class PrimaryKeyStats:
    """What a segment's primary keys span; ``min``/``max`` are None for an empty segment."""

    min: Key | None
    max: Key | None
    num_keys: int
    bloom: BloomFilter
    string_keys: bool

    def might_contain(self, pk: Key) -> bool:
        """False only if the segment certainly does not hold ``pk``."""
        return bool(self.might_contain_many([pk])[0])

    def might_contain_many(self, pks: pa.Array | Sequence[Key]) -> np.ndarray:
        """Vectorised :meth:`might_contain`: a bool per key."""
        keys = _as_arrow(pks, self.string_keys)
        if self.min is None or len(keys) == 0:
            return np.zeros(len(keys), dtype=bool)
        values = _key_values(keys)
        in_range = (values >= self.min) & (values <= self.max)
        result = np.zeros(len(keys), dtype=bool)
        candidates = np.flatnonzero(in_range)
        if len(candidates):
            hashes = hash_keys(keys.take(pa.array(candidates)))
            result[candidates] = self.bloom.contains_hashes(hashes)
        return result

    def to_bytes(self) -> bytes:
        header = {
            "min": self.min,
            "max": self.max,
            "num_keys": self.num_keys,
            "num_bits": self.bloom.num_bits,
            "num_hashes": self.bloom.num_hashes,
            "string_keys": self.string_keys,
        }
        encoded = json.dumps(header).encode()
        return b"".join(
            [_MAGIC, struct.pack("<I", len(encoded)), encoded, self.bloom.bits.tobytes()]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PrimaryKeyStats:
        if data[: len(_MAGIC)] != _MAGIC:
            raise ValueError("not an Elanus primary-key statistics file")
        (length,) = struct.unpack_from("<I", data, len(_MAGIC))
        start = len(_MAGIC) + 4
        header = json.loads(data[start : start + length])
        bits = np.frombuffer(data, dtype=np.uint8, offset=start + length).copy()
        if len(bits) != (header["num_bits"] + 7) // 8:
            raise ValueError("primary-key statistics file is truncated")
        bloom = BloomFilter(bits, header["num_bits"], header["num_hashes"])
        return cls(header["min"], header["max"], header["num_keys"], bloom, header["string_keys"])


def build_pk_stats(
    pks: pa.Array | pa.ChunkedArray, false_positive_rate: float = FALSE_POSITIVE_RATE
) -> PrimaryKeyStats:
    """Statistics over a segment's primary keys (int64 or string, no nulls)."""
    if isinstance(pks, pa.ChunkedArray):
        pks = pks.combine_chunks()
    if pks.null_count:
        raise ValueError("primary keys cannot be null")
    string_keys = pa.types.is_string(pks.type) or pa.types.is_large_string(pks.type)
    if not string_keys and not pa.types.is_integer(pks.type):
        raise ValueError(f"primary keys must be integers or strings, got {pks.type}")
    bloom = BloomFilter.for_capacity(len(pks), false_positive_rate)
    if len(pks) == 0:
        return PrimaryKeyStats(None, None, 0, bloom, string_keys)
    bloom.add_hashes(hash_keys(pks))
    values = _key_values(pks)
    low, high = values.min(), values.max()
    low, high = (str(low), str(high)) if string_keys else (int(low), int(high))
    return PrimaryKeyStats(low, high, len(pks), bloom, string_keys)


def hash_keys(pks: pa.Array) -> np.ndarray:
    """Stable 64-bit hashes: int64 little-endian bytes or UTF-8 bytes, mixed."""
    if pa.types.is_integer(pks.type):
        values = pks.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return _fmix64(values.astype("<i8").view(np.uint64))
    return _fmix64(np.fromiter(_string_digests(pks.to_pylist()), dtype=np.uint64, count=len(pks)))


def _string_digests(keys: Iterable[str]) -> Iterable[int]:
    for key in keys:
        yield int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def _fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads every input bit over the whole word."""
    h = np.asarray(values, dtype=np.uint64).copy()
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    result: np.ndarray = h
    return result


def _as_arrow(pks: pa.Array | pa.ChunkedArray | Sequence[Key], string_keys: bool) -> pa.Array:
    if isinstance(pks, pa.ChunkedArray):
        return pks.combine_chunks()
    if isinstance(pks, pa.Array):
        return pks
    return pa.array(list(pks), type=pa.string() if string_keys else pa.int64())


def _key_values(keys: pa.Array) -> np.ndarray:
    """Keys as numpy values that compare like the keys (int64, or Python str objects)."""
    if pa.types.is_integer(keys.type):
        result: np.ndarray = keys.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return result
    return np.asarray(keys.to_pylist(), dtype=object)
