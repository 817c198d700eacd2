"""The partition key: which partition a row goes to, and which a filter can touch.

A collection whose schema has a partition-key field has ``num_partitions``
partitions ``_default_0`` ... ``_default_{n-1}``; a row goes to the one whose
number is the hash of its key modulo ``n``, with Milvus's hashes, so a key lands
where Milvus would put it:

- Int64: MurmurHash3 (x86, 32-bit, seed 0) of the key's eight little-endian
  bytes, its top bit cleared;
- VarChar: CRC-32 (IEEE) of the key's first 100 UTF-8 bytes.

A search, query or delete whose filter pins the key (``key == v`` or
``key in [...]``, alone or inside a top-level ``and``, or in every branch of an
``or``) reads only the partitions those keys hash to; any other filter reads
them all. Naming partitions by hand is refused on such a collection, as Milvus
refuses it: the key decides.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from elanus import errors, expr
from elanus.meta import CollectionInfo
from elanus.schema import CollectionSchema, DataType, FieldSchema

# Milvus hashes this many leading bytes of a VarChar key.
VARCHAR_HASH_PREFIX = 100
DEFAULT_NUM_PARTITIONS = 16  # Milvus's default when num_partitions is not given
MAX_PARTITIONS = 1024  # Milvus's rootCoord.maxPartitionNum
ISOLATION_PROPERTY = "partitionkey.isolation"
MANUAL_PARTITION_REFUSED = (
    "not support manually specifying the partition names if partition key mode is used"
)

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK32 = 0xFFFFFFFF


def partitions_to_create(schema: CollectionSchema, num_partitions: int) -> int:
    """How many partitions a new collection gets by its key (0: none, just ``_default``),
    with Milvus's checks of ``num_partitions``."""
    if not any(f.is_partition_key for f in schema.fields):
        if num_partitions != 0:
            raise errors.ParameterInvalid(
                cause="num_partitions should only be specified with partition key field enabled"
            )
        return 0
    if num_partitions < 0:
        raise errors.ParameterInvalid(
            cause="the specified partitions should be greater than 0 if partition key is used"
        )
    if num_partitions > MAX_PARTITIONS:
        raise errors.ParameterInvalid(
            cause=f"partition number ({num_partitions}) exceeds max configuration "
            f"({MAX_PARTITIONS})"
        )
    return num_partitions or DEFAULT_NUM_PARTITIONS


def check_isolation_property(properties: Mapping[str, str]) -> None:
    """``partitionkey.isolation``: Elanus builds no per-key index, so it accepts only
    ``false``; ``true`` is refused rather than silently ignored."""
    value = properties.get(ISOLATION_PROPERTY)
    if value is None:
        return
    if value.strip().lower() not in ("true", "false"):
        raise errors.ParameterInvalid(
            cause=f"invalid value for {ISOLATION_PROPERTY}: {value!r}, expected true or false"
        )
    if value.strip().lower() == "true":
        raise errors.Unimplemented(
            cause=f"{ISOLATION_PROPERTY}=true (partition key isolation) is not supported by "
            "Elanus; create the collection without it"
        )


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3's x86 32-bit hash of ``data`` (the reference algorithm, any length)."""
    h = seed & _MASK32
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        h ^= _mix_block(int.from_bytes(data[i : i + 4], "little"))
        h = _rotl(h, 13)
        h = (h * 5 + 0xE6546B64) & _MASK32
    tail = data[whole:]
    if tail:
        h ^= _mix_block(int.from_bytes(tail, "little"))
    return _finalize(h ^ len(data))


def int64_key_hashes(keys: np.ndarray) -> np.ndarray:
    """Milvus's hash of Int64 keys, vectorised: murmur3 of 8 LE bytes, top bit cleared."""
    words = keys.astype("<i8").view("<u4").reshape(-1, 2).astype(np.uint64)
    h = np.zeros(len(words), dtype=np.uint64)
    for block in (words[:, 0], words[:, 1]):
        h ^= _mix_block_np(block)
        h = _rotl_np(h, 13)
        h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & np.uint64(_MASK32)
    h ^= np.uint64(8)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(_MASK32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(_MASK32)
    h ^= h >> np.uint64(16)
    hashed: np.ndarray = h & np.uint64(0x7FFFFFFF)
    return hashed


def varchar_key_hash(key: str) -> int:
    """Milvus's hash of a VarChar key: CRC-32 (IEEE) of its first 100 UTF-8 bytes."""
    return zlib.crc32(key.encode()[:VARCHAR_HASH_PREFIX])


def partition_indexes(keys: pa.Array | pa.ChunkedArray, count: int) -> np.ndarray:
    """For each key, the number of its partition among ``count``."""
    column = keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
    if pa.types.is_integer(column.type):
        hashes = int64_key_hashes(column.to_numpy(zero_copy_only=False).astype(np.int64))
    else:
        hashes = np.array([varchar_key_hash(k) for k in column.to_pylist()], dtype=np.uint64)
    indexes: np.ndarray = (hashes % np.uint64(count)).astype(np.int64)
    return indexes


def row_partitions(info: CollectionInfo, rows: pa.Table) -> np.ndarray:
    """The partition id of each row of a partition-key collection."""
    key = _key_field(info)
    ordered = np.array([p.partition_id for p in info.key_partitions()], dtype=np.int64)
    chosen: np.ndarray = ordered[partition_indexes(rows.column(key.name), len(ordered))]
    return chosen


def refuse_in_key_mode(info: CollectionInfo, what: str) -> None:
    """Milvus refuses managing partitions by hand on a partition-key collection, with a
    bare message (code 65535): ``what`` is the verb ("create partition", ...)."""
    if info.partition_key is not None:
        raise errors.OperationRefused(f"disable {what} if partition key mode is used")


def refuse_manual_partitions(info: CollectionInfo, names: Sequence[str]) -> None:
    """Milvus refuses partition names in a search, query or delete of a partition-key
    collection, with a bare message (code 65535)."""
    if info.partition_key is not None and any(names):
        raise errors.OperationRefused(MANUAL_PARTITION_REFUSED)


def refuse_manual_partition_write(info: CollectionInfo, partition_name: str) -> None:
    """Milvus refuses a partition name in an insert or upsert of a partition-key
    collection as an invalid parameter (code 1100)."""
    if info.partition_key is not None and partition_name:
        raise errors.ParameterInvalid(cause=MANUAL_PARTITION_REFUSED)


def pruned_partitions(
    info: CollectionInfo, partition_ids: tuple[int, ...], parsed: expr.Expr
) -> tuple[int, ...]:
    """The partitions among ``partition_ids`` that rows matching ``parsed`` can be in.

    Only ever a narrowing: when nothing is left (``key in []``) the filter itself
    matches no row, and the ids are kept as given (an empty tuple would mean
    "every loaded partition" downstream anyway).
    """
    key = info.partition_key
    if key is None:
        return partition_ids
    values = _pinned_values(parsed, key)
    if not values:
        return partition_ids
    ordered = info.key_partitions()
    array = pa.array(values, type=pa.int64() if key.data_type == DataType.INT64 else pa.string())
    reached = {ordered[i].partition_id for i in partition_indexes(array, len(ordered)).tolist()}
    kept = tuple(p for p in partition_ids if p in reached)
    return kept or partition_ids


def _pinned_values(node: expr.Expr, key: FieldSchema) -> list[Any] | None:
    """The key values rows matching ``node`` must have, or None when it does not pin them."""
    if isinstance(node, expr.And):
        pinned = [v for v in (_pinned_values(o, key) for o in node.operands) if v is not None]
        if not pinned:
            return None
        common = set(pinned[0]).intersection(*pinned[1:])
        return [v for v in pinned[0] if v in common]
    if isinstance(node, expr.Or):
        union: list[Any] = []
        for branch in node.operands:
            values = _pinned_values(branch, key)
            if values is None:
                return None
            union.extend(values)
        return list(dict.fromkeys(union))
    if isinstance(node, expr.InList) and not node.negated:
        operand, values = node.operand, list(node.values)
    elif isinstance(node, expr.Compare) and node.op == "==":
        if isinstance(node.right, expr.Literal):
            operand, values = node.left, [node.right.value]
        elif isinstance(node.left, expr.Literal):
            operand, values = node.right, [node.left.value]
        else:
            return None
    else:
        return None
    if not (isinstance(operand, expr.FieldRef) and operand.name == key.name):
        return None
    wanted: type = int if key.data_type == DataType.INT64 else str
    if not all(isinstance(v, wanted) and not isinstance(v, bool) for v in values):
        return None
    return list(dict.fromkeys(values))


def _key_field(info: CollectionInfo) -> FieldSchema:
    key = info.partition_key
    if key is None:
        raise ValueError(f"collection {info.name} has no partition key")
    return key


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK32


def _mix_block(k: int) -> int:
    k = (k * _C1) & _MASK32
    k = _rotl(k, 15)
    return (k * _C2) & _MASK32


def _finalize(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK32
    h ^= h >> 16
    return h


def _rotl_np(value: np.ndarray, bits: int) -> np.ndarray:
    mask = np.uint64(_MASK32)
    rotated: np.ndarray = ((value << np.uint64(bits)) | (value >> np.uint64(32 - bits))) & mask
    return rotated


def _mix_block_np(k: np.ndarray) -> np.ndarray:
    mask = np.uint64(_MASK32)
    k = (k * np.uint64(_C1)) & mask
    k = _rotl_np(k, 15)
    mixed: np.ndarray = (k * np.uint64(_C2)) & mask
    return mixed
