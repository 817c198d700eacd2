"""A model-based walk of writes, deletes and faults against a real server (issue 12).

An in-memory model holds, per partition, the one live row of each primary key
(the same key may live in several partitions at once). Each step is sent to
the server with the real pymilvus client and applied to the model; after every
step the walk reads every row back with Strong queries per partition and
compares keys, partitions and every field value, count(*) per partition, and
finds a few live rows by a FLAT search scoped to their partition (every row
written has a vector of its own, from its key, partition and a version).

The steps and their meaning (Milvus's, checked against its docs):

- insert into P: new rows in P (keys fresh, deleted before, or live in another
  partition; never a key already live in P);
- upsert into P: every row of the key, in every partition, is replaced by the
  new row in P;
- delete by ids, with ``partition_name=P``: the keys' rows in P only; without:
  in every partition;
- delete by filter, scoped or not: exactly the rows in scope that match the
  filter at the delete, no other row (not the same key's row in another
  partition that does not match);
- flush, compaction (waited for), release + load, and a fault (kill -9 and
  restart of the server, or of one role of a cluster) change nothing.

Used in-process by tests/compat/test_delete_walk.py (standalone) and as a
subprocess by tests/faults/test_delete_walk.py (cluster: that process must not
import pymilvus), which answers the fault requests this script prints:

    python -m tests.compat.delete_walk --uri URI [--seed N] [--steps N]
        [--script walk|repro|repro_other_partition] [--faults datanode,querynode]

A fault request is the stdout line ``WALK-FAULT <kind>``; the walk waits for
the line ``done`` on stdin, then reconnects. The last stdout line is
``WALK-OK <json>``; a failure prints its report on stderr and exits with 1.
Only pymilvus and numpy are imported, so the script runs under any client.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from pymilvus import DataType, MilvusClient

DIM = 8
NUMBERS = range(8)  # values of the INT64 scalar "n"
TAGS = ("red", "green", "blue", "amber")  # values of the VARCHAR "tag"
WALK_PARTITIONS = ("_default", "pa", "pb")
NEVER_INSERTED = 900_000_000  # keys from here on are never written
RPC_TIMEOUT_S = 60.0
COMPACTION_TIMEOUT_S = 90.0
RECOVERY_TIMEOUT_S = 180.0
READ_LIMIT = 16_384  # Milvus's largest query window; the walk keeps far fewer rows
SEARCHES_PER_CHECK = 3
HISTORY_SHOWN = 15


class WalkFailure(AssertionError):
    """What the server showed differs from the model (the message says where)."""


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Row:
    key: int
    partition: str
    n: int
    tag: str
    ver: int  # unique over the whole walk: no two rows written share a vector

    def vector(self) -> list[float]:
        seed = [self.key, zlib.crc32(self.partition.encode()), self.ver]
        return np.random.default_rng(seed).random(DIM, dtype=np.float32).tolist()

    def entity(self) -> dict:
        return {"id": self.key, "n": self.n, "tag": self.tag, "ver": self.ver, "vec": self.vector()}


@dataclass
class Model:
    """Per partition, key -> its live row."""

    partitions: tuple[str, ...]
    live: dict[str, dict[int, Row]] = field(default_factory=dict)
    written: set[int] = field(default_factory=set)  # every key ever written
    next_key: int = 0
    next_ver: int = 0

    def __post_init__(self) -> None:
        self.live = {p: {} for p in self.partitions}

    def new_row(self, key: int, partition: str, rng: random.Random) -> Row:
        self.next_ver += 1
        return Row(key, partition, rng.choice(NUMBERS), rng.choice(TAGS), self.next_ver)

    def fresh_key(self) -> int:
        self.next_key += 1
        return self.next_key

    def put(self, row: Row) -> None:
        assert row.key not in self.live[row.partition], f"two live rows of {row.key} in {row}"
        self.live[row.partition][row.key] = row
        self.written.add(row.key)

    def remove(self, key: int, partitions: Sequence[str]) -> None:
        for partition in partitions:
            self.live[partition].pop(key, None)

    def scope(self, partition: str | None) -> tuple[str, ...]:
        return self.partitions if partition is None else (partition,)

    def live_keys(self) -> list[int]:
        return sorted({key for rows in self.live.values() for key in rows})

    def counts(self) -> dict[str, int]:
        return {p: len(rows) for p, rows in self.live.items()}


# ---------------------------------------------------------------- steps


class Step(Protocol):
    def describe(self) -> str: ...

    def send(self, walk: Walk) -> None: ...

    def apply(self, model: Model) -> None: ...


def _scope_text(partition: str | None) -> str:
    return f"partition {partition}" if partition else "all partitions"


def _partition_kwargs(partition: str | None) -> dict:
    return {"partition_name": partition} if partition else {}


@dataclass(frozen=True)
class Insert:
    partition: str
    rows: tuple[Row, ...]

    def describe(self) -> str:
        return f"insert {[r.key for r in self.rows]} into {self.partition}"

    def send(self, walk: Walk) -> None:
        walk.client.insert(
            walk.collection, [r.entity() for r in self.rows], partition_name=self.partition
        )

    def apply(self, model: Model) -> None:
        for row in self.rows:
            model.put(row)


@dataclass(frozen=True)
class Upsert:
    partition: str
    rows: tuple[Row, ...]

    def describe(self) -> str:
        return f"upsert {[r.key for r in self.rows]} into {self.partition}"

    def send(self, walk: Walk) -> None:
        walk.client.upsert(
            walk.collection, [r.entity() for r in self.rows], partition_name=self.partition
        )

    def apply(self, model: Model) -> None:
        for row in self.rows:
            model.remove(row.key, model.partitions)
            model.put(row)


@dataclass(frozen=True)
class DeleteIds:
    keys: tuple[int, ...]
    partition: str | None

    def describe(self) -> str:
        return f"delete ids {list(self.keys)} in {_scope_text(self.partition)}"

    def send(self, walk: Walk) -> None:
        walk.client.delete(
            walk.collection, ids=list(self.keys), **_partition_kwargs(self.partition)
        )

    def apply(self, model: Model) -> None:
        for key in self.keys:
            model.remove(key, model.scope(self.partition))


@dataclass(frozen=True)
class Filter:
    text: str
    matches: Callable[[Row], bool] = field(compare=False)


@dataclass(frozen=True)
class DeleteWhere:
    where: Filter
    partition: str | None

    def describe(self) -> str:
        return f"delete where {self.where.text!r} in {_scope_text(self.partition)}"

    def send(self, walk: Walk) -> None:
        walk.client.delete(
            walk.collection, filter=self.where.text, **_partition_kwargs(self.partition)
        )

    def apply(self, model: Model) -> None:
        for partition in model.scope(self.partition):
            rows = model.live[partition]
            for key in [k for k, row in rows.items() if self.where.matches(row)]:
                del rows[key]


@dataclass(frozen=True)
class Flush:
    def describe(self) -> str:
        return "flush"

    def send(self, walk: Walk) -> None:
        walk.client.flush(walk.collection)

    def apply(self, model: Model) -> None:
        pass


@dataclass(frozen=True)
class Compact:
    def describe(self) -> str:
        return "compact (waited for)"

    def send(self, walk: Walk) -> None:
        compaction_id = walk.client.compact(walk.collection)
        deadline = time.monotonic() + COMPACTION_TIMEOUT_S
        state = walk.client.get_compaction_state(compaction_id)
        while state != "Completed" and time.monotonic() < deadline:
            time.sleep(0.2)
            state = walk.client.get_compaction_state(compaction_id)
        if state != "Completed":
            raise WalkFailure(f"compaction {compaction_id} still {state} after the timeout")

    def apply(self, model: Model) -> None:
        pass


@dataclass(frozen=True)
class ReleaseLoad:
    def describe(self) -> str:
        return "release + load"

    def send(self, walk: Walk) -> None:
        walk.client.release_collection(walk.collection)
        walk.client.load_collection(walk.collection)

    def apply(self, model: Model) -> None:
        pass


@dataclass(frozen=True)
class Fault:
    kind: str  # "server" (standalone), or the cluster role to kill: "datanode", "querynode"

    def describe(self) -> str:
        return f"kill -9 {self.kind} + restart"

    def send(self, walk: Walk) -> None:
        walk.inject(self.kind)

    def apply(self, model: Model) -> None:
        pass


# ---------------------------------------------------------------- step choice


@dataclass(frozen=True)
class Mix:
    """Which kinds of step a random walk takes (all by default)."""

    scoped_deletes: bool = True  # deletes with partition_name
    shared_keys: bool = True  # inserts of keys that live in another partition
    compaction: bool = True
    release_load: bool = True
    faults: tuple[str, ...] = ()  # one fault of each kind, at random steps


def random_filter(rng: random.Random, model: Model) -> Filter:
    """A filter on the INT64 "n", the VARCHAR "tag", the key, or a mix."""
    a, b = rng.sample(NUMBERS, 2)
    t, u = rng.sample(TAGS, 2)
    choice = rng.randrange(8)
    if choice == 0:
        return Filter(f"n == {a}", lambda r: r.n == a)
    if choice == 1:
        return Filter(f"n in [{a}, {b}]", lambda r: r.n in (a, b))
    if choice == 2:
        return Filter(f"n >= 6 and tag != '{t}'", lambda r: r.n >= 6 and r.tag != t)
    if choice == 3:
        return Filter(f'tag == "{t}"', lambda r: r.tag == t)
    if choice == 4:
        return Filter(f'tag in ["{t}", "{u}"] and n < 4', lambda r: r.tag in (t, u) and r.n < 4)
    if choice == 5:
        return Filter(f'n == {a} or tag == "{t}"', lambda r: r.n == a or r.tag == t)
    live = model.live_keys()
    if choice == 6 and live:
        # Keys that may live in several partitions, only some of whose rows match.
        keys = sorted(rng.sample(live, min(len(live), rng.randint(1, 6))))
        return Filter(f"id in {keys} and n < {a}", lambda r: r.key in keys and r.n < a)
    bound = rng.randint(0, max(model.next_key, 1))
    return Filter(f"id < {bound} and n > {a}", lambda r: r.key < bound and r.n > a)


def random_steps(seed: int, steps: int, model: Model, mix: Mix) -> Iterator[Step]:
    """STEPS steps drawn from the seed and the model's state (which the caller
    updates before asking for the next): the same seed gives the same walk."""
    rng = random.Random(seed)
    fault_at = dict(
        zip(rng.sample(range(steps // 4, steps), len(mix.faults)), mix.faults, strict=True)
    )
    kinds = ["insert"] * 26 + ["upsert"] * 12 + ["delete_ids"] * 14 + ["delete_where"] * 12
    kinds += ["flush"] * 10
    kinds += ["compact"] * 5 if mix.compaction else []
    kinds += ["release_load"] * 2 if mix.release_load else []
    partitions = model.partitions
    for index in range(steps):
        if index in fault_at:
            yield Fault(fault_at[index])
            continue
        kind = rng.choice(kinds)
        scope = rng.choice(partitions) if mix.scoped_deletes and rng.random() < 0.6 else None
        if kind == "insert":
            partition = rng.choice(partitions)
            keys = _insert_keys(rng, model, partition, rng.randint(1, 6), mix.shared_keys)
            yield Insert(partition, tuple(model.new_row(k, partition, rng) for k in keys))
        elif kind == "upsert":
            partition = rng.choice(partitions)
            keys = _upsert_keys(rng, model, rng.randint(1, 4))
            yield Upsert(partition, tuple(model.new_row(k, partition, rng) for k in keys))
        elif kind == "delete_ids":
            yield DeleteIds(_delete_keys(rng, model), scope)
        elif kind == "delete_where":
            yield DeleteWhere(random_filter(rng, model), scope)
        elif kind == "flush":
            yield Flush()
        elif kind == "compact":
            yield Compact()
        else:
            yield ReleaseLoad()


def _insert_keys(
    rng: random.Random, model: Model, partition: str, count: int, shared: bool
) -> list[int]:
    here = model.live[partition]
    elsewhere = [k for k in model.live_keys() if k not in here]
    dead = sorted(k for k in model.written - set(here) if k not in elsewhere)
    keys: list[int] = []
    for _ in range(count):
        roll = rng.random()
        if shared and roll < 0.35 and elsewhere:
            candidates = elsewhere
        elif roll > 0.85 and dead:
            candidates = dead
        else:
            candidates = []
        candidates = [k for k in candidates if k not in keys]
        keys.append(rng.choice(candidates) if candidates else model.fresh_key())
    return keys


def _upsert_keys(rng: random.Random, model: Model, count: int) -> list[int]:
    live = model.live_keys()
    dead = sorted(model.written - set(live))
    keys: list[int] = []
    for _ in range(count):
        roll = rng.random()
        candidates = live if roll < 0.6 else dead if roll < 0.75 else []
        candidates = [k for k in candidates if k not in keys]
        keys.append(rng.choice(candidates) if candidates else model.fresh_key())
    return keys


def _delete_keys(rng: random.Random, model: Model) -> tuple[int, ...]:
    """Keys live in some partition (any, whatever the delete's scope), and
    sometimes keys never inserted."""
    partition = rng.choice(model.partitions)
    live_here = sorted(model.live[partition])
    keys = set(rng.sample(live_here, min(len(live_here), rng.randint(1, 5))))
    if rng.random() < 0.3 or not keys:
        keys.add(NEVER_INSERTED + rng.randrange(1000))
    return tuple(sorted(keys))


# ---------------------------------------------------------------- scripted walks


def reproduction(faults: Sequence[str], other_partition: bool = False) -> list[Step]:
    """Issue 12's reproduction on partitions A and B: ids 0..9 in both, delete
    ids 1, 2, 3 in A, then flush, compaction, release + load and the faults;
    count(*) per partition must stay (7, 10). With OTHER_PARTITION, B holds
    10..19 instead and the delete in A names 11, 12, 13: nothing goes."""
    model = Model(("A", "B"))
    rng = random.Random(12)
    in_b = range(10, 20) if other_partition else range(10)
    deleted = (11, 12, 13) if other_partition else (1, 2, 3)
    steps: list[Step] = [
        Insert("A", tuple(model.new_row(k, "A", rng) for k in range(10))),
        Insert("B", tuple(model.new_row(k, "B", rng) for k in in_b)),
        DeleteIds(deleted, "A"),
        Flush(),
        Compact(),
        ReleaseLoad(),
    ]
    return steps + [Fault(kind) for kind in faults]


SCRIPT_COUNTS = {"repro": {"A": 7, "B": 10}, "repro_other_partition": {"A": 10, "B": 10}}


# ---------------------------------------------------------------- the driver


class Walk:
    """Drives one collection through steps and checks it against the model after each."""

    def __init__(
        self,
        connect: Callable[[], MilvusClient],
        inject: Callable[[str], None],
        label: str,
        collection: str,
        partitions: tuple[str, ...] = WALK_PARTITIONS,
        shards: int = 1,
    ) -> None:
        self.connect = connect
        self._inject = inject
        self.label = label  # names the walk in failures: seed, script, client
        self.collection = collection
        self.model = Model(partitions)
        self.shards = shards
        self.client = connect()
        self.history: deque[str] = deque(maxlen=HISTORY_SHOWN)
        self.checks = 0

    def create(self) -> None:
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("n", DataType.INT64)
        schema.add_field("tag", DataType.VARCHAR, max_length=16)
        schema.add_field("ver", DataType.INT64)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
        index = self.client.prepare_index_params()
        index.add_index(field_name="vec", index_type="FLAT", metric_type="L2")
        self.client.create_collection(
            self.collection,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
            shards_num=self.shards,
        )
        for partition in self.model.partitions:
            if partition != "_default":
                self.client.create_partition(self.collection, partition)
        self.client.load_collection(self.collection)

    def run(self, steps: Iterator[Step] | Sequence[Step]) -> int:
        """Send, apply and check each step; the number of steps taken."""
        taken = 0
        for index, step in enumerate(steps):
            self.history.append(f"step {index}: {step.describe()}")
            try:
                step.send(self)
            except WalkFailure as failure:
                raise WalkFailure(self.report(index, [str(failure)])) from None
            except Exception as error:
                raise WalkFailure(
                    self.report(index, [f"the server refused: {type(error).__name__}: {error}"])
                ) from error
            step.apply(self.model)
            problems = self.differences(random.Random(f"{self.label}:{index}"))
            if problems:
                raise WalkFailure(self.report(index, problems))
            taken += 1
        return taken

    def inject(self, kind: str) -> None:
        """The fault, then a new client and a bounded wait until Strong reads answer."""
        self.client.close()
        self._inject(kind)
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        last_error = ""
        while time.monotonic() < deadline:
            try:
                self.client = self.connect()
                self.client.load_collection(self.collection)  # a no-op if still loaded
                self._count(self.model.partitions[0])
                return
            except Exception as error:  # any failure means "not yet"
                last_error = f"{type(error).__name__}: {error}"
                self.client.close()
                time.sleep(1.0)
        raise WalkFailure(f"no Strong read within {RECOVERY_TIMEOUT_S}s of {kind}: {last_error}")

    def differences(self, rng: random.Random) -> list[str]:
        """Everything in which the server's rows differ from the model's."""
        self.checks += 1
        problems: list[str] = []
        for partition in self.model.partitions:
            problems += self._partition_differences(partition)
        live = [row for rows in self.model.live.values() for row in rows.values()]
        for row in rng.sample(live, min(len(live), SEARCHES_PER_CHECK)):
            problems += self._search_differences(row)
        return problems

    def _partition_differences(self, partition: str) -> list[str]:
        expected = self.model.live[partition]
        assert len(expected) < READ_LIMIT
        found = self.client.query(
            self.collection,
            filter="id >= 0",
            output_fields=["id", "n", "tag", "ver", "vec"],
            partition_names=[partition],
            limit=READ_LIMIT,
            consistency_level="Strong",
        )
        problems = []
        by_key: dict[int, dict] = {}
        for entity in found:
            if entity["id"] in by_key:
                problems.append(f"{partition}: key {entity['id']} returned twice")
            by_key[entity["id"]] = entity
        lost = sorted(set(expected) - set(by_key))
        extra = sorted(set(by_key) - set(expected))
        if lost:
            problems.append(f"{partition}: rows lost: {_rows_text(expected[k] for k in lost)}")
        if extra:
            problems.append(f"{partition}: rows that should not be there: {extra}")
        for key in sorted(set(expected) & set(by_key)):
            problems += _field_differences(expected[key], by_key[key])
        count = self._count(partition)
        if count != len(expected):
            problems.append(f"{partition}: count(*) {count}, the model has {len(expected)}")
        return problems

    def _count(self, partition: str) -> int:
        answer = self.client.query(
            self.collection,
            filter="",
            output_fields=["count(*)"],
            partition_names=[partition],
            consistency_level="Strong",
        )
        return int(answer[0]["count(*)"])

    def _search_differences(self, row: Row) -> list[str]:
        hits = self.client.search(
            self.collection,
            data=[row.vector()],
            limit=1,
            output_fields=["ver"],
            partition_names=[row.partition],
            search_params={"metric_type": "L2"},
            consistency_level="Strong",
        )[0]
        if not hits:
            return [f"search for {_row_text(row)} in {row.partition} found nothing"]
        hit = hits[0]
        ver = hit["entity"]["ver"] if "entity" in hit else hit["ver"]
        if hit["id"] != row.key or ver != row.ver or hit["distance"] > 1e-4:
            return [
                f"search for {_row_text(row)} in {row.partition} found id {hit['id']} "
                f"ver {ver} at distance {hit['distance']}"
            ]
        return []

    def report(self, index: int, problems: list[str]) -> str:
        lines = [f"{self.label}: after step {index} ({self.history[-1]}):"]
        lines += [f"  - {p}" for p in problems[:20]]
        if len(problems) > 20:
            lines.append(f"  ... and {len(problems) - 20} more")
        lines.append(f"model counts: {self.model.counts()}")
        lines.append(f"the last {len(self.history)} steps:")
        lines += [f"  {entry}" for entry in self.history]
        return "\n".join(lines)


def _row_text(row: Row) -> str:
    return f"{row.key}(n={row.n},tag={row.tag},ver={row.ver})"


def _rows_text(rows: Iterator[Row]) -> str:
    return ", ".join(_row_text(r) for r in rows)


def _field_differences(row: Row, entity: dict) -> list[str]:
    wrong = [
        f"{name} {entity[name]!r} (model {want!r})"
        for name, want in (("n", row.n), ("tag", row.tag), ("ver", row.ver))
        if entity[name] != want
    ]
    if not np.allclose(np.asarray(entity["vec"], dtype=np.float32), row.vector(), atol=1e-6):
        wrong.append("vec differs")
    return [f"{row.partition}: key {row.key}: " + ", ".join(wrong)] if wrong else []


def walk_steps(walk: Walk, script: str, seed: int, steps: int, mix: Mix) -> list[Step] | Iterator:
    if script == "walk":
        return random_steps(seed, steps, walk.model, mix)
    return reproduction(mix.faults, other_partition=script == "repro_other_partition")


def check_script_counts(walk: Walk, script: str) -> None:
    """The scripted reproductions end where the issue says (a check of the script)."""
    if script in SCRIPT_COUNTS:
        assert walk.model.counts() == SCRIPT_COUNTS[script], walk.model.counts()


# ---------------------------------------------------------------- the subprocess


def _ask_parent(kind: str) -> None:
    print(f"WALK-FAULT {kind}", flush=True)
    answer = sys.stdin.readline().strip()
    if answer != "done":
        raise WalkFailure(f"the parent did not inject {kind}: {answer!r}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--script", choices=("walk", *SCRIPT_COUNTS), default="walk")
    parser.add_argument("--faults", default="", help="comma-separated roles to kill")
    args = parser.parse_args(argv)
    mix = Mix(faults=tuple(kind for kind in args.faults.split(",") if kind))
    label = f"{args.script} seed={args.seed} steps={args.steps} faults={args.faults or '-'}"
    partitions = WALK_PARTITIONS if args.script == "walk" else ("A", "B")
    walk = Walk(
        lambda: MilvusClient(uri=args.uri, timeout=RPC_TIMEOUT_S),
        _ask_parent,
        label,
        args.name,
        partitions=partitions,
        shards=args.shards,
    )
    started = time.monotonic()
    try:
        walk.create()
        taken = walk.run(walk_steps(walk, args.script, args.seed, args.steps, mix))
        check_script_counts(walk, args.script)
        walk.client.drop_collection(args.name)
    except WalkFailure as failure:
        print(str(failure), file=sys.stderr, flush=True)
        return 1
    finally:
        walk.client.close()
    result = {
        "steps": taken,
        "checks": walk.checks,
        "seconds": round(time.monotonic() - started, 1),
    }
    print("WALK-OK " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
