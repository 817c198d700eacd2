"""Reading the loosely typed parts of requests: key-value params, templates, consistency."""

from __future__ import annotations

import json
from typing import Any

from elanus import errors
from elanus.meta import ConsistencyLevel
from proto.public import schema_pb2
from proxy import convert
from proxy.reads import Consistency


def int_param(params: dict[str, str], key: str, default: int | None, low: int, high: int) -> int:
    """An integer parameter in ``[low, high]``; ``default`` None means it must be given."""
    raw = params.get(key)
    if raw is None or raw == "":
        if default is None:
            raise errors.ParameterMissing(f"{key} is not given")
        return default
    try:
        value = int(str(raw).strip().strip('"'))
    except ValueError:
        raise errors.ParameterInvalid(f"{key} [{raw}] is not an integer") from None
    if not low <= value <= high:
        raise errors.ParameterInvalid(
            f"{key} [{value}] is invalid, it should be in range [{low}, {high}]"
        )
    return value


def consistency(request: Any, params: dict[str, str] | None = None) -> Consistency:
    """The request's consistency; an iterator's later pages read the first page's snapshot."""
    iterating = params is not None and convert.flag(params, "iterator")
    return Consistency(
        level=ConsistencyLevel(request.consistency_level),
        use_default=request.use_default_consistency,
        client_guarantee_ts=request.guarantee_timestamp,
        snapshot_ts=request.guarantee_timestamp if iterating else 0,
    )


def template_values(values: Any) -> dict[str, Any]:
    """Template values of a filter (``{name}`` placeholders) as plain Python values."""
    return {name: _template_value(value) for name, value in values.items()}


def _template_value(value: schema_pb2.TemplateValue) -> Any:
    kind = value.WhichOneof("val")
    if kind == "array_val":
        return _template_array(value.array_val)
    if kind == "bytes_val":
        return json.loads(value.bytes_val)
    if kind is None:
        raise errors.ParameterInvalid("a template value is empty")
    return getattr(value, kind)


def _template_array(array: schema_pb2.TemplateArrayValue) -> list[Any]:
    kind = array.WhichOneof("data")
    if kind is None:
        return []
    if kind == "array_data":
        return [_template_array(a) for a in array.array_data.data]
    if kind == "json_data":
        return [json.loads(v) for v in array.json_data.data]
    return list(getattr(array, kind).data)
