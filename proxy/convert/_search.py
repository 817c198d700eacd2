"""Search request params -> range windows, group-by and iterator state.

pymilvus sends every search option as a string key/value: top-level options
(``group_by_field``, ``search_iter_last_bound``, ...) with ``str(value)``, so
booleans arrive as "True"/"False", and index params plus ``radius`` and
``range_filter`` inside the JSON object ``params``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elanus import vectors
from elanus.errors import FieldNotFound, ParameterInvalid
from elanus.requests import Grouping
from elanus.schema import CollectionSchema, DataType

__all__ = [
    "IteratorPage",
    "flag",
    "grouping_from_params",
    "iterator_page_from_params",
    "window_from_params",
]

# Types Milvus can group search results by.
_GROUPABLE = frozenset(
    {
        DataType.BOOL,
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.VARCHAR,
    }
)
MAX_GROUP_SIZE = 1024


@dataclass(frozen=True)
class IteratorPage:
    """One page of a search iterator (v2): who asks and where the last page ended."""

    token: str
    batch_size: int
    last_bound: float | None


def flag(params: Mapping[str, str], key: str) -> bool:
    """A boolean option sent as "True"/"true"/"1"; absent is false."""
    return str(params.get(key, "")).strip().strip('"').lower() in ("true", "1")


def window_from_params(
    metric: str, search_params: Mapping[str, Any], page: IteratorPage | None
) -> vectors.ScoreWindow | None:
    """The score window of a range search and/or an iterator page, or None for plain top-k."""
    radius = _float(search_params, "radius")
    range_filter = _float(search_params, "range_filter")
    if range_filter is not None and radius is None:
        raise ParameterInvalid("range_filter is only valid together with radius")
    try:
        vectors.check_range_params(metric, radius, range_filter)
    except ValueError as e:
        raise ParameterInvalid(str(e)) from None
    after = page.last_bound if page is not None else None
    if radius is None and after is None:
        return None
    return vectors.ScoreWindow(metric, radius=radius, range_filter=range_filter, after=after)


def grouping_from_params(params: Mapping[str, str], schema: CollectionSchema) -> Grouping | None:
    name = params.get("group_by_field", "").strip().strip('"')
    if not name:
        return None
    field = schema.field(name)
    if field is None:
        raise FieldNotFound(f"group_by_field '{name}' does not exist in collection '{schema.name}'")
    if field.data_type not in _GROUPABLE:
        raise ParameterInvalid(
            f"group_by_field '{name}' has type {field.data_type.name}; search results can be "
            "grouped by Bool, Int8, Int16, Int32, Int64 or VarChar fields"
        )
    size_text = params.get("group_size", "").strip()
    try:
        group_size = int(size_text) if size_text else 1
    except ValueError:
        raise ParameterInvalid(f"group_size [{size_text}] is not an integer") from None
    if not 1 <= group_size <= MAX_GROUP_SIZE:
        raise ParameterInvalid(
            f"group_size [{group_size}] is invalid, it should be in range [1, {MAX_GROUP_SIZE}]"
        )
    return Grouping(name, group_size, flag(params, "strict_group_size"))


def iterator_page_from_params(params: Mapping[str, str]) -> IteratorPage | None:
    """The iterator-v2 state of a search, or None for a search that is not a v2 page."""
    if not flag(params, "search_iter_v2"):
        return None
    batch_text = params.get("search_iter_batch_size", "").strip()
    try:
        batch_size = int(batch_text) if batch_text else 0
    except ValueError:
        raise ParameterInvalid(f"search_iter_batch_size [{batch_text}] is not an integer") from None
    bound = _float(params, "search_iter_last_bound")
    token = params.get("search_iter_id", "").strip() or uuid.uuid4().hex
    return IteratorPage(token=token, batch_size=batch_size, last_bound=bound)


def _float(params: Mapping[str, Any], key: str) -> float | None:
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    try:
        return float(str(raw).strip().strip('"')) if not isinstance(raw, int | float) else raw
    except ValueError:
        raise ParameterInvalid(f"{key} [{raw}] is not a number") from None
