"""Load, probes and the final read for the fault tests, run as a subprocess.

The test process may import Elanus, whose generated protobuf modules register
the same message names as pymilvus's, so it never imports pymilvus: it runs
this script, which imports nothing of Elanus (the pattern of
tests/cluster/milvus_client.py).

    python loadgen.py setup URI NAME
    python loadgen.py run   NAME JOURNAL --uri U0 --uri U1 --stop-file F [--seconds S]
                            [--delete-batch N]
    python loadgen.py probe NAME --uri U0 --uri U1 --go-file F [--timeout S]
    python loadgen.py read  URI NAME --key-range LO HI ...
    python loadgen.py compact URI NAME

``run`` starts one writer thread per URI. Writer w owns the primary keys
``w * KEY_SPAN + n`` (n increasing, never reused), inserts batches, and
deletes some keys it inserted before and whose insert was acknowledged. Every
operation is appended to the journal as one JSON line, flushed at once:
``{"op": "insert"|"delete", "ok": true|false, "keys": [...], "writer": w,
"t0": sent_wall_s, "t": answered_wall_s, "error": "..."}``. A failed operation
(error or timeout) may still take effect later, so its keys are "unknown" to
the checker.

``probe`` waits for the go file (holding the fault's wall time), then
Strong-queries through each URI until each has answered once and prints the
seconds from the fault to each first answer. ``read`` pages through the key
ranges with Strong queries and prints every primary key found and count(*).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from pymilvus import DataType, MilvusClient

DIM = 8
KEY_SPAN = 1_000_000_000
INSERT_BATCH = 40
DELETE_BATCH = 8
OP_TIMEOUT_S = 10.0
PAUSE_S = 0.15
MAX_OPS_PER_WRITER = 20_000
READ_PAGE_KEYS = 4_000  # keys per ranged query: below Milvus's 16384 row limit
READ_ATTEMPTS = 5
T = TypeVar("T")
COMPACT_TIMEOUT_S = 120.0


def connect(uri: str) -> MilvusClient:
    return MilvusClient(uri=uri, timeout=OP_TIMEOUT_S)


def setup(args: argparse.Namespace) -> dict:
    """A Strong collection with client-chosen Int64 keys, an index, loaded."""
    client = connect(args.uri)
    try:
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
        index = client.prepare_index_params()
        index.add_index("v", index_type="FLAT", metric_type="L2")
        client.create_collection(
            args.name, schema=schema, index_params=index, shards_num=2, consistency_level="Strong"
        )
        client.load_collection(args.name)
    finally:
        client.close()
    return {"created": args.name}


class Journal:
    """Appends one JSON line per operation; flushed and fsynced so a crash loses nothing."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def record(self, entry: dict) -> None:
        line = json.dumps(entry) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def write_loop(
    writer: int,
    uri: str,
    name: str,
    journal: Journal,
    stop: Path,
    deadline: float,
    delete_batch: int = DELETE_BATCH,
) -> None:
    """Insert and delete through one proxy until the stop file appears or the deadline.

    Two inserts of INSERT_BATCH rows, then a delete of ``delete_batch`` keys: with
    ``delete_batch == INSERT_BATCH`` half of the rows written are deleted again.
    """
    rng = random.Random(writer)
    vectors = np.random.default_rng(writer).random((INSERT_BATCH, DIM), dtype=np.float32)
    next_key = writer * KEY_SPAN
    deletable: list[int] = []  # acknowledged inserts, not yet chosen for a delete
    client: MilvusClient | None = None
    for op_number in range(MAX_OPS_PER_WRITER):
        if stop.exists() or time.time() > deadline:
            break
        if op_number % 3 == 2 and len(deletable) >= delete_batch:
            chosen = rng.sample(range(len(deletable)), delete_batch)
            keys = [deletable[i] for i in chosen]
            for i in sorted(chosen, reverse=True):
                deletable.pop(i)
            op = "delete"
        else:
            keys = list(range(next_key, next_key + INSERT_BATCH))
            next_key += INSERT_BATCH
            op = "insert"
        entry: dict = {"op": op, "writer": writer, "keys": keys, "t0": time.time()}
        try:
            if client is None:
                client = connect(uri)
            if op == "insert":
                rows = [{"id": k, "v": vectors[i].tolist()} for i, k in enumerate(keys)]
                client.insert(name, rows, timeout=OP_TIMEOUT_S)
            else:
                client.delete(name, ids=keys, timeout=OP_TIMEOUT_S)
            entry["ok"] = True
            if op == "insert":
                deletable.extend(keys)
        except Exception as error:  # every failure is journalled as unknown
            entry["ok"] = False
            entry["error"] = f"{type(error).__name__}: {error}"[:300]
            if client is not None:
                with contextlib.suppress(Exception):  # a dead channel may refuse to close
                    client.close()
            client = None
            time.sleep(0.5)
        entry["t"] = time.time()
        journal.record(entry)
        time.sleep(PAUSE_S)
    if client is not None:
        client.close()


def run(args: argparse.Namespace) -> dict:
    journal = Journal(Path(args.journal))
    stop = Path(args.stop_file)
    deadline = time.time() + args.seconds
    threads = [
        threading.Thread(
            target=write_loop,
            args=(writer, uri, args.name, journal, stop, deadline, args.delete_batch),
            name=f"writer-{writer}",
        )
        for writer, uri in enumerate(args.uri)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.seconds + 120)
    journal.close()
    return {"stopped": not any(t.is_alive() for t in threads)}


def strong_count(client: MilvusClient, name: str, timeout_s: float) -> int:
    rows = client.query(
        name,
        filter="id >= 0",
        output_fields=["count(*)"],
        consistency_level="Strong",
        timeout=timeout_s,
    )
    return int(rows[0]["count(*)"])


def wait_for_go(go_file: Path, timeout_s: float) -> float:
    """The wall time the test wrote into GO_FILE (the moment of the fault)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if go_file.exists():
            return float(go_file.read_text())
        time.sleep(0.02)
    raise TimeoutError(f"{go_file} did not appear within {timeout_s:.0f}s")


def probe(args: argparse.Namespace) -> dict:
    """Seconds from the fault until each URI answered a Strong count (None: never, in time).

    Started before the fault and told its moment through the go file, so that
    starting Python and importing pymilvus is not counted as recovery time.
    """
    since = wait_for_go(Path(args.go_file), args.timeout)
    answered: dict[str, float | None] = {uri: None for uri in args.uri}
    errors: dict[str, str] = {}
    clients: dict[str, MilvusClient] = {}
    deadline = time.time() + args.timeout
    while time.time() < deadline and any(v is None for v in answered.values()):
        for uri in [u for u, v in answered.items() if v is None]:
            try:
                if uri not in clients:
                    clients[uri] = connect(uri)
                strong_count(clients[uri], args.name, timeout_s=5.0)
                answered[uri] = time.time()
            except Exception as error:  # not serving yet: try again
                errors[uri] = f"{type(error).__name__}: {error}"[:300]
                old = clients.pop(uri, None)
                if old is not None:
                    with contextlib.suppress(Exception):
                        old.close()
        time.sleep(0.2)
    for client in clients.values():
        client.close()
    return {
        "answered": {u: (v - since if v is not None else None) for u, v in answered.items()},
        "errors": {u: e for u, e in errors.items() if answered[u] is None},
    }


def read(args: argparse.Namespace) -> dict:
    """Every primary key in the key ranges (Strong, paged by key range) and count(*)."""
    client = connect(args.uri)
    try:
        found: list[int] = []
        for low, high in args.key_range:
            for start in range(low, high, READ_PAGE_KEYS):
                end = min(start + READ_PAGE_KEYS, high)
                rows = retried(
                    functools.partial(
                        client.query,
                        args.name,
                        filter=f"id >= {start} and id < {end}",
                        output_fields=["id"],
                        limit=16_384,
                        consistency_level="Strong",
                    )
                )
                found.extend(int(row["id"]) for row in rows)
        count = retried(lambda: strong_count(client, args.name, OP_TIMEOUT_S))
    finally:
        client.close()
    return {"keys": found, "count": count}


def compact(args: argparse.Namespace) -> dict:
    """Flush, then a manual compaction, waited for (bounded) until it completes."""
    client = connect(args.uri)
    started = time.monotonic()
    try:
        client.flush(args.name, timeout=COMPACT_TIMEOUT_S)
        job = client.compact(args.name, timeout=COMPACT_TIMEOUT_S)
        state = ""
        while time.monotonic() - started < COMPACT_TIMEOUT_S:
            state = str(client.get_compaction_state(job))
            if state == "Completed":
                break
            time.sleep(0.5)
    finally:
        client.close()
    return {"job": job, "state": state, "seconds": time.monotonic() - started}


def retried(call: Callable[[], T]) -> T:
    """A read, tried again a few times: a reconnecting channel may fail the first."""
    for attempt in range(READ_ATTEMPTS):
        try:
            return call()
        except Exception:
            if attempt == READ_ATTEMPTS - 1:
                raise
            time.sleep(2.0)
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser()
    actions = parser.add_subparsers(dest="action", required=True)
    setup_parser = actions.add_parser("setup")
    setup_parser.add_argument("uri")
    setup_parser.add_argument("name")
    run_parser = actions.add_parser("run")
    run_parser.add_argument("name")
    run_parser.add_argument("journal")
    run_parser.add_argument("--uri", action="append", required=True)
    run_parser.add_argument("--stop-file", required=True)
    run_parser.add_argument("--seconds", type=float, default=600.0)
    run_parser.add_argument("--delete-batch", type=int, default=DELETE_BATCH)
    compact_parser = actions.add_parser("compact")
    compact_parser.add_argument("uri")
    compact_parser.add_argument("name")
    probe_parser = actions.add_parser("probe")
    probe_parser.add_argument("name")
    probe_parser.add_argument("--uri", action="append", required=True)
    probe_parser.add_argument("--go-file", required=True)
    probe_parser.add_argument("--timeout", type=float, default=120.0)
    read_parser = actions.add_parser("read")
    read_parser.add_argument("uri")
    read_parser.add_argument("name")
    read_parser.add_argument("--key-range", nargs=2, type=int, action="append", required=True)
    args = parser.parse_args()
    actions_by_name = {"setup": setup, "run": run, "probe": probe, "read": read, "compact": compact}
    action = actions_by_name[args.action]
    print(json.dumps(action(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
