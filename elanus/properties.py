"""Collection, field and index properties: the keys Elanus honours, and their values.

Milvus keeps properties as string key/values. Elanus accepts a key only where it
does what Milvus does with it, and refuses the rest with ParameterInvalid
naming the key, so a user never believes a setting took effect when it did not:

- ``collection.ttl.seconds``: rows older than the TTL are invisible to reads and
  purged by compaction (:mod:`elanus.expiry`);
- ``collection.autocompaction.enabled``: false keeps the coordinator's automatic
  compaction away from the collection (a manual compaction still runs);
- ``mmap.enabled`` (collection, field or index): accepted and kept, as Milvus
  keeps it, and shown by describe. Elanus holds every loaded segment in memory
  and has no memory-mapped mode, so the value records the user's intent and
  changes no behaviour; reads give the same results either way, as in Milvus;
- ``max_length`` (a VarChar field): the new limit, enforced on later inserts.
"""

from __future__ import annotations

from collections.abc import Mapping

from elanus import errors
from elanus.schema import MAX_VARCHAR_LENGTH, DataType, FieldSchema

TTL_SECONDS = "collection.ttl.seconds"
AUTOCOMPACTION_ENABLED = "collection.autocompaction.enabled"
MMAP_ENABLED = "mmap.enabled"
MAX_LENGTH = "max_length"

COLLECTION_KEYS = (TTL_SECONDS, AUTOCOMPACTION_ENABLED, MMAP_ENABLED)
FIELD_KEYS = (MAX_LENGTH, MMAP_ENABLED)
INDEX_KEYS = (MMAP_ENABLED,)

_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool, as Milvus reads it
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def altered(
    current: Mapping[str, str], properties: Mapping[str, str], delete_keys: tuple[str, ...]
) -> dict[str, str]:
    """``current`` without ``delete_keys``, then with ``properties`` set: how every
    Alter* RPC (database, collection, field, index) changes its key/values."""
    merged = {k: v for k, v in current.items() if k not in delete_keys}
    merged.update(properties)
    return merged


def parse_bool(key: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.ParameterInvalid(
        cause=f"invalid value for property {key}: {value!r}, only true or false is allowed"
    )


def ttl_seconds(properties: Mapping[str, str]) -> int:
    """The collection's TTL in seconds; 0 when it has none."""
    raw = properties.get(TTL_SECONDS)
    return 0 if raw is None else _ttl(raw)


def autocompaction_enabled(properties: Mapping[str, str]) -> bool:
    raw = properties.get(AUTOCOMPACTION_ENABLED)
    return True if raw is None else parse_bool(AUTOCOMPACTION_ENABLED, raw)


def check_collection_values(properties: Mapping[str, str]) -> None:
    """The values of the keys Elanus knows are valid (CreateCollection: others are kept)."""
    for key, value in properties.items():
        if key == TTL_SECONDS:
            _ttl(value)
        elif key in (AUTOCOMPACTION_ENABLED, MMAP_ENABLED):
            parse_bool(key, value)


def check_collection_alter(properties: Mapping[str, str], delete_keys: tuple[str, ...]) -> None:
    """AlterCollection: something to do, only keys Elanus honours, valid values."""
    if not properties and not delete_keys:
        raise errors.ParameterInvalid(cause="no properties or delete keys provided")
    if properties and delete_keys:
        raise errors.ParameterInvalid(
            cause="cannot provide both properties and delete keys at the same time"
        )
    _only(COLLECTION_KEYS, [*properties, *delete_keys], "collection")
    check_collection_values(properties)


def check_field_alter(
    target: FieldSchema, properties: Mapping[str, str], delete_keys: tuple[str, ...]
) -> None:
    """AlterCollectionField: ``max_length`` of a VarChar field, ``mmap.enabled`` of any."""
    if not properties and not delete_keys:
        raise errors.ParameterInvalid(cause="no properties or delete keys provided")
    _only(FIELD_KEYS, [*properties, *delete_keys], "field")
    if MAX_LENGTH in delete_keys:
        raise errors.ParameterInvalid(
            cause=f"{MAX_LENGTH} of field {target.name} cannot be deleted"
        )
    for key, value in properties.items():
        if key == MMAP_ENABLED:
            parse_bool(key, value)
        elif key == MAX_LENGTH:
            if target.data_type != DataType.VARCHAR:
                raise errors.ParameterInvalid(
                    cause=f"{MAX_LENGTH} can only be altered for a VarChar field, "
                    f"field {target.name} is {target.data_type.name}"
                )
            try:
                length = int(value)
            except ValueError:
                length = 0
            if not 0 < length <= MAX_VARCHAR_LENGTH:
                raise errors.ParameterInvalid(
                    cause=f"the maximum length specified for the field({target.name}) should be "
                    f"in (0, {MAX_VARCHAR_LENGTH}], but got {value} instead"
                )


def check_index_alter(properties: Mapping[str, str], delete_keys: tuple[str, ...]) -> None:
    """AlterIndex: ``mmap.enabled`` only."""
    if not properties and not delete_keys:
        raise errors.ParameterInvalid(cause="no index properties or delete keys provided")
    _only(INDEX_KEYS, [*properties, *delete_keys], "index")
    for key, value in properties.items():
        parse_bool(key, value)


def _ttl(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise errors.ParameterInvalid(
            cause=f"collection TTL is not a valid positive integer: {TTL_SECONDS}={value!r}"
        )
    return seconds


def _only(allowed: tuple[str, ...], keys: list[str], owner: str) -> None:
    for key in keys:
        if key not in allowed:
            raise errors.ParameterInvalid(
                cause=f"{owner} property {key!r} is not supported; supported: {', '.join(allowed)}"
            )
