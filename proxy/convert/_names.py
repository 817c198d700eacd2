"""Milvus's naming rules, with its messages and codes, for every kind of name.

Milvus checks a name byte by byte: ASCII letters, digits and underscores, the
first character a letter or an underscore, at most 255 bytes. The messages are
the ones its proxy gives (clients and Milvus's own tests match on them); what
differs between kinds, Milvus's own, is kept: a partition name may start with a
digit and hold a hyphen, and its refusals carry code 65535; a field name may not
be a keyword of the filter language (code 1701); a database name gets code 802.
"""

from __future__ import annotations

from elanus.errors import (
    DatabaseInvalidName,
    FieldNameInvalid,
    OperationRefused,
    ParameterInvalid,
    fields,
)

__all__ = [
    "FIELD_NAME_KEYWORDS",
    "MAX_NAME_LENGTH",
    "validate_alias",
    "validate_collection_name",
    "validate_database_name",
    "validate_field_name",
    "validate_partition_name",
]

MAX_NAME_LENGTH = 255

# Words of the filter language a field may not be named (Milvus's FieldNameKeywords).
FIELD_NAME_KEYWORDS = frozenset(
    {
        "$meta",
        "like",
        "exists",
        "EXISTS",
        "and",
        "or",
        "not",
        "in",
        "json_contains",
        "JSON_CONTAINS",
        "json_contains_all",
        "JSON_CONTAINS_ALL",
        "json_contains_any",
        "JSON_CONTAINS_ANY",
        "array_contains",
        "ARRAY_CONTAINS",
        "array_contains_all",
        "ARRAY_CONTAINS_ALL",
        "array_contains_any",
        "ARRAY_CONTAINS_ANY",
        "array_length",
        "ARRAY_LENGTH",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "text_match",
        "TEXT_MATCH",
        "phrase_match",
        "PHRASE_MATCH",
        "random_sample",
        "RANDOM_SAMPLE",
    }
)


def _is_letter(byte: int) -> bool:
    return ord("a") <= byte <= ord("z") or ord("A") <= byte <= ord("Z")


def _is_digit(byte: int) -> bool:
    return ord("0") <= byte <= ord("9")


def _starts_well(raw: bytes, *, digit_ok: bool = False) -> bool:
    first = raw[0]
    return first == ord("_") or _is_letter(first) or (digit_ok and _is_digit(first))


def _rest_is_word(raw: bytes, *, extra: bytes = b"") -> bool:
    return all(b == ord("_") or _is_letter(b) or _is_digit(b) or b in extra for b in raw[1:])


def _validate_collection_name_or_alias(name: str, kind: str) -> None:
    """Milvus's validateCollectionNameOrAlias; ``kind`` is "name" or "alias"."""
    if not name:
        raise ParameterInvalid(cause=f"collection {kind} should not be empty")
    raw = name.encode()
    invalid = f"Invalid collection {kind}: {name}."
    if len(raw) > MAX_NAME_LENGTH:
        raise ParameterInvalid(
            cause=f"{invalid} the length of a collection {kind} must be less than "
            f"{MAX_NAME_LENGTH} characters"
        )
    if not _starts_well(raw):
        raise ParameterInvalid(
            cause=f"{invalid} the first character of a collection {kind} must be an "
            "underscore or letter"
        )
    if not _rest_is_word(raw):
        raise ParameterInvalid(
            cause=f"{invalid} collection {kind} can only contain numbers, letters and underscores"
        )


def validate_collection_name(name: str) -> None:
    _validate_collection_name_or_alias(name, "name")


def validate_alias(alias: str) -> None:
    _validate_collection_name_or_alias(alias, "alias")


def validate_partition_name(name: str) -> None:
    """Milvus's strict validatePartitionTag: surrounding blanks are ignored, code 65535."""
    name = name.strip()
    invalid = f"Invalid partition name: {name}."
    if not name:
        raise OperationRefused(f"{invalid} Partition name should not be empty.")
    raw = name.encode()
    if len(raw) > MAX_NAME_LENGTH:
        raise OperationRefused(
            f"{invalid} The length of a partition name must be less than "
            f"{MAX_NAME_LENGTH} characters."
        )
    if not _starts_well(raw, digit_ok=True):
        raise OperationRefused(
            f"{invalid} The first character of a partition name must be an underscore or letter."
        )
    if not _rest_is_word(raw, extra=b"-"):
        raise OperationRefused(
            f"{invalid} Partition name can only contain numbers, letters and underscores."
        )


def validate_field_name(name: str) -> None:
    """Milvus's validateFieldName: code 1701, keywords of the filter language refused."""
    name = name.strip()

    def invalid(why: str) -> FieldNameInvalid:
        return FieldNameInvalid(fields(field=name), cause=why)

    if not name:
        raise invalid("field name should not be empty")
    raw = name.encode()
    prefix = f"Invalid field name: {name}."
    if len(raw) > MAX_NAME_LENGTH:
        raise invalid(
            f"{prefix} The length of a field name must be less than {MAX_NAME_LENGTH} characters."
        )
    if not _starts_well(raw):
        raise invalid(
            f"{prefix} The first character of a field name must be an underscore or letter."
        )
    if not _rest_is_word(raw):
        raise invalid(f"{prefix} Field name can only contain numbers, letters, and underscores.")
    if name in FIELD_NAME_KEYWORDS:
        raise invalid(f"{prefix} {name} is keyword in milvus.")


def validate_database_name(name: str) -> None:
    """Milvus's ValidateDatabaseName: code 802."""

    def invalid(why: str) -> DatabaseInvalidName:
        return DatabaseInvalidName(f"database={name}", cause=why)

    if not name:
        raise invalid("database name couldn't be empty")
    raw = name.encode()
    if len(raw) > MAX_NAME_LENGTH:
        raise invalid(
            f"the length of a database name must be less than {MAX_NAME_LENGTH} characters"
        )
    if not _starts_well(raw):
        raise invalid("the first character of a database name must be an underscore or letter")
    if not _rest_is_word(raw):
        raise invalid("database name can only contain numbers, letters and underscores")
