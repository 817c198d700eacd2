"""Let the real pymilvus encode requests and decode our responses, in its own process.

pymilvus's generated modules cannot share a process with ours (same protobuf
names), so tests run this script with a JSON command on stdin and read JSON
from stdout. Commands:

    {"op": "insert", "describe": <hex DescribeCollectionResponse>, "rows": [...]}
        -> {"request": <hex InsertRequest>}   (pymilvus's row-based insert encoding)
    {"op": "search", "results": <hex SearchResults>}
        -> {"hits": [[{"id":..., "distance":..., "entity": {...}}, ...], ...]}
    {"op": "query", "results": <hex QueryResults>}
        -> {"rows": [{...}, ...]}
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pymilvus.client import entity_helper
from pymilvus.client.abstract import CollectionSchema
from pymilvus.client.prepare import Prepare
from pymilvus.client.search_result import SearchResult
from pymilvus.client.types import HybridExtraList
from pymilvus.client.utils import len_of
from pymilvus.grpc_gen import milvus_pb2


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def insert(command: dict[str, Any]) -> dict[str, Any]:
    response = milvus_pb2.DescribeCollectionResponse.FromString(bytes.fromhex(command["describe"]))
    schema = CollectionSchema(raw=response).dict()
    rows = [
        {
            k: bytes.fromhex(v["bytes"]) if isinstance(v, dict) and "bytes" in v else v
            for k, v in row.items()
        }
        for row in command["rows"]
    ]
    request = Prepare.row_insert_param(
        schema["collection_name"],
        rows,
        "",
        schema["fields"],
        schema.get("struct_array_fields", []),
        enable_dynamic=schema["enable_dynamic_field"],
    )
    return {"request": request.SerializeToString().hex()}


def search(command: dict[str, Any]) -> dict[str, Any]:
    response = milvus_pb2.SearchResults.FromString(bytes.fromhex(command["results"]))
    result = SearchResult(response.results)
    return {
        "hits": [
            [
                {
                    "id": hit["id"],
                    "distance": hit["distance"],
                    "entity": _plain(dict(hit["entity"])),
                }
                for hit in hits
            ]
            for hits in result
        ]
    }


def query(command: dict[str, Any]) -> dict[str, Any]:
    """Decode as pymilvus's query() does after the call returns."""
    response = milvus_pb2.QueryResults.FromString(bytes.fromhex(command["results"]))
    counts = {len_of(fd) for fd in response.fields_data}
    if len(counts) != 1:
        raise SystemExit(f"inconsistent column lengths {counts}")
    count = counts.pop()
    _, dynamic_fields = entity_helper.extract_dynamic_field_from_result(response)
    keys = [fd.field_name for fd in response.fields_data if fd.field_name != "$meta"]
    rows = [dict.fromkeys(keys) for _ in range(count)]
    lazy = [
        fd
        for fd in response.fields_data
        if entity_helper.extract_row_data_from_fields_data_v2(fd, rows)
    ]
    decoded = HybridExtraList(lazy, rows, dynamic_fields=dynamic_fields)
    return {"rows": [_plain(dict(row)) for row in decoded]}


if __name__ == "__main__":
    command = json.load(sys.stdin)
    json.dump(
        {"insert": insert, "search": search, "query": query}[command["op"]](command), sys.stdout
    )
