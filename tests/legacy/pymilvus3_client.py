"""The 2.x side of the cross-client tests, run by .venv's Python (pymilvus 3).

pymilvus 1.1.2 and pymilvus 3 cannot share a process (protobuf 3.20 in the pure
Python implementation against a current one), so test_cross_client.py runs this
script as a subprocess: a JSON request on stdin, the JSON answer on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pymilvus import DataType, MilvusClient


def main() -> None:
    request = json.load(sys.stdin)
    client = MilvusClient(uri=request["uri"], timeout=60)
    try:
        json.dump(run(client, request), sys.stdout)
    finally:
        client.close()


def run(client: MilvusClient, request: dict[str, Any]) -> Any:
    name = request["collection"]
    op = request["op"]
    if op == "describe":
        described = client.describe_collection(name)
        return {
            "fields": [(f["name"], int(f["type"])) for f in described["fields"]],
            "properties": described.get("properties", {}),
        }
    if op == "search":
        hits = client.search(
            name,
            data=request["vectors"],
            limit=request["limit"],
            partition_names=request.get("partitions") or None,
            consistency_level="Strong",
        )
        return [[[hit["id"], hit["distance"]] for hit in row] for row in hits]
    if op == "insert":
        pairs = zip(request["ids"], request["vectors"], strict=True)
        rows = [{"id": i, "vector": v} for i, v in pairs]
        client.insert(name, rows)
        return None
    if op == "create":
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=request["dim"])
        for extra in request.get("extra_fields", []):
            schema.add_field(extra, DataType.INT64)
        index = client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="L2")
        client.create_collection(name, schema=schema, index_params=index)
        return None
    raise SystemExit(f"unknown op {op!r}")


if __name__ == "__main__":
    main()
