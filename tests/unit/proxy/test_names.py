"""Milvus's naming rules: which names pass, and the exact reason and code of each refusal."""

from __future__ import annotations

import pytest

from elanus.errors import (
    DatabaseInvalidName,
    ElanusError,
    FieldNameInvalid,
    OperationRefused,
    ParameterInvalid,
)
from proxy import convert
from proxy.convert._names import FIELD_NAME_KEYWORDS


def _refusal(check: object, name: str) -> ElanusError:
    assert callable(check)
    with pytest.raises(ElanusError) as caught:
        check(name)
    return caught.value


@pytest.mark.parametrize("name", ["a", "_", "A_1", "x" * 255, "_9"])
def test_good_collection_names_and_aliases_pass(name: str) -> None:
    convert.validate_collection_name(name)
    convert.validate_alias(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "collection name should not be empty: invalid parameter"),
        (
            "1a",
            "Invalid collection name: 1a. the first character of a collection name must be an "
            "underscore or letter: invalid parameter",
        ),
        (
            "a b",
            "Invalid collection name: a b. collection name can only contain numbers, letters "
            "and underscores: invalid parameter",
        ),
        (
            "\u4e2d\u6587",
            "Invalid collection name: \u4e2d\u6587. the first character of a collection name "
            "must be an underscore or letter: invalid parameter",
        ),
    ],
)
def test_bad_collection_names_are_refused_in_milvus_words(name: str, reason: str) -> None:
    error = _refusal(convert.validate_collection_name, name)
    assert isinstance(error, ParameterInvalid)
    assert (error.code, error.reason) == (1100, reason)


def test_length_is_counted_in_bytes_as_milvus_does() -> None:
    # 128 two-byte characters: 256 bytes, one more than allowed (the first check to fail).
    error = _refusal(convert.validate_collection_name, "\u00e9" * 128)
    assert "the length of a collection name must be less than 255 characters" in error.reason
    error = _refusal(convert.validate_alias, "a" * 256)
    assert error.reason.startswith("Invalid collection alias: aaa")
    assert "the length of a collection alias must be less than 255 characters" in error.reason


@pytest.mark.parametrize("name", ["p", "1p", "p-1", "_p", "2024-01"])
def test_partition_names_may_start_with_a_digit_and_hold_hyphens(name: str) -> None:
    convert.validate_partition_name(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (" ", "Invalid partition name: . Partition name should not be empty."),
        (
            "-p",
            "Invalid partition name: -p. The first character of a partition name must be an "
            "underscore or letter.",
        ),
        (
            "p q",
            "Invalid partition name: p q. Partition name can only contain numbers, letters and "
            "underscores.",
        ),
    ],
)
def test_bad_partition_names_are_plain_errors(name: str, reason: str) -> None:
    error = _refusal(convert.validate_partition_name, name)
    assert isinstance(error, OperationRefused)
    assert (error.code, error.reason) == (65535, reason)


@pytest.mark.parametrize("keyword", sorted(FIELD_NAME_KEYWORDS - {"$meta"}))
def test_filter_keywords_are_not_field_names(keyword: str) -> None:
    error = _refusal(convert.validate_field_name, keyword)
    assert isinstance(error, FieldNameInvalid)
    assert error.code == 1701
    assert error.reason == (
        f"Invalid field name: {keyword}. {keyword} is keyword in milvus.: "
        f"field name invalid[field={keyword}]"
    )


def test_keywords_are_case_sensitive_like_milvus() -> None:
    convert.validate_field_name("Like")  # only like, and the listed spellings, are keywords
    convert.validate_field_name("and_more")


def test_meta_is_refused_as_a_field_name() -> None:
    error = _refusal(convert.validate_field_name, "$meta")
    assert "The first character of a field name must be an underscore or letter." in error.reason


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "database name couldn't be empty: invalid database name[database=]"),
        (
            "1db",
            "the first character of a database name must be an underscore or letter: "
            "invalid database name[database=1db]",
        ),
    ],
)
def test_bad_database_names_get_code_802(name: str, reason: str) -> None:
    error = _refusal(convert.validate_database_name, name)
    assert isinstance(error, DatabaseInvalidName)
    assert (error.code, error.reason) == (802, reason)
