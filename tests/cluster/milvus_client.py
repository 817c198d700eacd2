"""A pymilvus client for the cluster tests, run as a subprocess.

pymilvus's generated protobuf modules and Elanus's register the same message
names, so the test process (which may import Elanus) never imports pymilvus:
it runs this script, which imports nothing of Elanus and prints one JSON
object on stdout.

    python milvus_client.py write  URI NAME --rows N --dim D [--flush-first K]
    python milvus_client.py search URI NAME --rows N --dim D --queries Q --top-k K
    python milvus_client.py count  URI NAME
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from pymilvus import DataType, MilvusClient

SEED = 20240


def vectors(rows: int, dim: int) -> np.ndarray:
    return np.random.default_rng(SEED).random((rows, dim), dtype=np.float32)


def write(client: MilvusClient, args: argparse.Namespace) -> dict:
    """Create, index, load; insert rows (the first ``flush_first`` flushed into a segment)."""
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=args.dim)
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(
        args.name, schema=schema, index_params=index, shards_num=2, consistency_level="Strong"
    )
    data = vectors(args.rows, args.dim)
    started = time.monotonic()
    cut = min(args.flush_first, args.rows)
    for lo, hi in ((0, cut), (cut, args.rows)):
        for start in range(lo, hi, 500):
            end = min(start + 500, hi)
            client.insert(args.name, [{"id": i, "v": data[i].tolist()} for i in range(start, end)])
        if hi == cut and cut:
            client.flush(args.name)
    client.load_collection(args.name)
    return {"inserted": args.rows, "seconds": time.monotonic() - started}


def search(client: MilvusClient, args: argparse.Namespace) -> dict:
    """Strong search with the first rows as queries; each must find itself first."""
    data = vectors(args.rows, args.dim)
    started = time.monotonic()
    hits = client.search(
        args.name,
        data=[data[i].tolist() for i in range(args.queries)],
        limit=args.top_k,
        consistency_level="Strong",
        output_fields=["id"],
    )
    return {
        "ids": [[hit["id"] for hit in row] for row in hits],
        "distances": [[round(float(hit["distance"]), 4) for hit in row] for row in hits],
        "seconds": time.monotonic() - started,
    }


def count(client: MilvusClient, args: argparse.Namespace) -> dict:
    rows = client.query(
        args.name, filter="id >= 0", output_fields=["count(*)"], consistency_level="Strong"
    )
    return {"count": rows[0]["count(*)"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["write", "search", "count"])
    parser.add_argument("uri")
    parser.add_argument("name")
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--flush-first", type=int, default=0)
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()
    client = MilvusClient(uri=args.uri, timeout=30)
    try:
        action = {"write": write, "search": search, "count": count}[args.action]
        print(json.dumps(action(client, args)))
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
