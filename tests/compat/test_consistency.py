"""The four consistency levels, seen from pymilvus (DESIGN.md §3, issue 4).

A writer inserts through one client and, after the ack, a reader reads through
another connection. Strong must always find the row; Session must find the
client's own writes; Bounded must find a row once the graceful time has passed;
Eventually must never wait. Some checks need a server tuned through
``ELANUS_<SECTION>_<KEY>`` variables, so they start their own.

pymilvus keeps the Session timestamp per (server address, database, collection)
in a process-wide cache, not per MilvusClient: "the same client" for Session
means "this process", which is what these tests hold the server to.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pymilvus import MilvusClient, MilvusException

from .helpers import ON_MILVUS_LITE, count_rows, random_vectors
from .server import ElanusServer, free_port

DIM = 8
STRONG_PAIRS = 1000
SESSION_PAIRS = 200
CONSISTENCY_TIMEOUT = 10001  # Milvus's merr code for "waited for serve-time and gave up"
# The default time-tick interval (proxy.time_tick_interval_s).
TICK_INTERVAL_S = 0.1

# A server whose periodic ticks are 60 s apart: serve-time stays behind every
# write unless something forces a tick, which lets the tests observe who waits.
SLOW_TICKS = {
    "ELANUS_PROXY_TIME_TICK_INTERVAL_S": "60",
    "ELANUS_QUERYNODE_CONSISTENCY_WAIT_S": "1.5",
}
SLOW_TICKS_WAIT_S = 1.5
BOUNDED_GRACEFUL_S = 1.0
# A read that waited for serve-time on the slow-tick server would take the whole
# consistency wait (and then fail): answering within it shows it did not wait,
# with room for a loaded machine (a timing margin, not a speed target).
NO_WAIT_BOUND_S = SLOW_TICKS_WAIT_S

pytestmark = pytest.mark.not_on_milvus_lite("starts servers with tuned configuration")


def row(pk: int, seed: int = 0) -> dict:
    return {"id": pk, "vector": random_vectors(1, DIM, seed * 1_000_003 + pk)[0].tolist()}


def ids_of(rows: list[dict]) -> list[int]:
    return sorted(int(r["id"]) for r in rows)


def hybrid_ts(unix_s: float) -> int:
    """A Milvus hybrid timestamp for a wall-clock time: (ms << 18) | logical 0."""
    return int(unix_s * 1000) << 18


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


@pytest.fixture
def reader(server_uri: str) -> Iterator[MilvusClient]:
    """A second connection to the session server, separate from `client`."""
    second = MilvusClient(uri=server_uri, timeout=60)
    try:
        yield second
    finally:
        second.close()


def _start_tuned(base: Path, env: dict[str, str]) -> ElanusServer:
    base.mkdir(parents=True, exist_ok=True)
    server = ElanusServer(
        data_dir=base / "data", port=free_port(), log_path=base / "elanus.log", env=env
    )
    server.start()
    return server


@pytest.fixture(scope="module")
def slow_tick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElanusServer]:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite: no server configuration to tune")
    server = _start_tuned(tmp_path_factory.mktemp("elanus-slow-ticks"), SLOW_TICKS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bounded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElanusServer]:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite: no server configuration to tune")
    env = {"ELANUS_COORDINATOR_GRACEFUL_TIME_S": str(BOUNDED_GRACEFUL_S)}
    server = _start_tuned(tmp_path_factory.mktemp("elanus-bounded"), env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pair_on(request: pytest.FixtureRequest) -> Callable[[ElanusServer], tuple]:
    """Opens (writer, reader) clients on a tuned server; closes them after the test."""

    def open_pair(server: ElanusServer) -> tuple[MilvusClient, MilvusClient]:
        writer = MilvusClient(uri=server.uri, timeout=60)
        second = MilvusClient(uri=server.uri, timeout=60)
        request.addfinalizer(writer.close)
        request.addfinalizer(second.close)
        return writer, second

    return open_pair


# --- Strong


def test_strong_reads_through_another_connection_never_miss_an_acked_write(
    client: MilvusClient, reader: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("strong")
    # A collection default other than Strong: the request's own level must count.
    client.create_collection(name, dimension=DIM, consistency_level="Eventually")
    misses: list[int] = []
    latencies: list[float] = []
    for pk in range(STRONG_PAIRS):
        written = row(pk)
        assert client.insert(name, [written])["insert_count"] == 1
        started = time.perf_counter()
        if pk % 10 == 9:  # the search path as well as the query path
            hits = reader.search(
                name,
                data=[written["vector"]],
                filter=f"id == {pk}",
                limit=1,
                consistency_level="Strong",
            )
            found = [int(hit["id"]) for hit in hits[0]]
        else:
            found = ids_of(
                reader.query(
                    name, filter=f"id == {pk}", output_fields=["id"], consistency_level="Strong"
                )
            )
        latencies.append(time.perf_counter() - started)
        if found != [pk]:
            misses.append(pk)
    assert misses == [], f"{len(misses)} Strong reads missed an acknowledged write: {misses[:20]}"
    assert count_rows(reader, name) == STRONG_PAIRS
    # That Strong forces a tick rather than waiting for the periodic one is
    # proven on the slow-tick server below, where waiting would time out; the
    # cost itself is a figure for bench/, printed here, not asserted.
    print(f"\nStrong read (median of {STRONG_PAIRS}): {statistics.median(latencies) * 1000:.1f} ms")


# --- Session


def test_session_reads_find_the_clients_own_writes(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("session")
    client.create_collection(name, dimension=DIM, consistency_level="Eventually")
    misses = []
    for pk in range(SESSION_PAIRS):
        client.insert(name, [row(pk)])
        found = client.query(
            name, filter=f"id == {pk}", output_fields=["id"], consistency_level="Session"
        )
        if ids_of(found) != [pk]:
            misses.append(pk)
    assert misses == [], f"Session reads missed their own writes: {misses[:20]}"


def test_session_by_collection_default_finds_the_clients_deletes(
    client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    """With no level in the request, the collection's Session default applies to deletes too."""
    name = new_collection_name("session_default")
    client.create_collection(name, dimension=DIM, consistency_level="Session")
    client.insert(name, [row(pk) for pk in range(20)])
    for pk in range(20):
        client.delete(name, ids=[pk])
        remaining = ids_of(client.query(name, filter="id >= 0", output_fields=["id"]))
        assert remaining == list(range(pk + 1, 20)), f"the delete of {pk} is not yet visible"


# --- Bounded


def test_bounded_finds_a_write_once_the_graceful_time_has_passed(
    bounded_server: ElanusServer,
    pair_on: Callable[[ElanusServer], tuple[MilvusClient, MilvusClient]],
) -> None:
    writer, second = pair_on(bounded_server)
    name = "bounded_graceful"
    writer.create_collection(name, dimension=DIM, consistency_level="Bounded")
    for pk in range(5):
        writer.insert(name, [row(pk)])
        acked = time.monotonic()
        started = time.perf_counter()
        # Allowed to miss the row; must not wait for it either.
        second.query(name, filter=f"id == {pk}", output_fields=["id"], consistency_level="Bounded")
        assert time.perf_counter() - started < BOUNDED_GRACEFUL_S
        time.sleep(max(acked + BOUNDED_GRACEFUL_S + 2 * TICK_INTERVAL_S - time.monotonic(), 0))
        explicit = second.query(
            name, filter=f"id == {pk}", output_fields=["id"], consistency_level="Bounded"
        )
        by_default = second.query(name, filter=f"id == {pk}", output_fields=["id"])
        assert ids_of(explicit) == [pk], f"Bounded missed row {pk} after the graceful time"
        assert ids_of(by_default) == [pk], f"the Bounded default missed row {pk}"


# --- Eventually, and who waits when serve-time is behind


def test_eventually_search_right_after_a_big_insert_returns_at_once(
    client: MilvusClient, reader: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("eventually")
    client.create_collection(name, dimension=DIM, consistency_level="Strong")
    vectors = random_vectors(20_000, DIM, seed=5)
    rows = [{"id": i, "vector": vectors[i].tolist()} for i in range(len(vectors))]
    for start in range(0, len(rows), 5000):
        client.insert(name, rows[start : start + 5000])
    started = time.perf_counter()
    hits = reader.search(name, data=[vectors[0].tolist()], limit=3, consistency_level="Eventually")
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"an Eventually search took {elapsed:.2f}s"
    assert all(0 <= int(hit["id"]) < len(rows) for hit in hits[0])


def test_eventually_never_waits_on_a_lagging_channel(
    slow_tick_server: ElanusServer,
    pair_on: Callable[[ElanusServer], tuple[MilvusClient, MilvusClient]],
) -> None:
    """With periodic ticks 60 s apart, serve-time stays behind a fresh write.

    Eventually answers at once. Session and Strong need serve-time to pass a
    timestamp the proxy already knows (the write's, a fresh one), so the proxy
    ticks the channel at once instead of leaving them to wait for the next
    periodic tick: they answer at once too, and find every row.
    """
    writer, second = pair_on(slow_tick_server)
    name = "behind"
    writer.create_collection(name, dimension=DIM, consistency_level="Bounded", shards_num=2)
    for pk in range(10):
        writer.insert(name, [row(pk)])
        started = time.perf_counter()
        second.search(name, data=[row(0)["vector"]], limit=3, consistency_level="Eventually")
        second.query(name, filter="id >= 0", output_fields=["id"], consistency_level="Eventually")
        assert time.perf_counter() - started < NO_WAIT_BOUND_S

        started = time.perf_counter()
        session = writer.query(
            name, filter=f"id == {pk}", output_fields=["id"], consistency_level="Session"
        )
        assert time.perf_counter() - started < NO_WAIT_BOUND_S
        assert ids_of(session) == [pk]
    started = time.perf_counter()
    strong = second.query(name, filter="id >= 0", output_fields=["id"], consistency_level="Strong")
    assert time.perf_counter() - started < NO_WAIT_BOUND_S
    assert ids_of(strong) == list(range(10))


def test_the_collections_default_level_applies_when_the_request_names_none(
    slow_tick_server: ElanusServer,
    pair_on: Callable[[ElanusServer], tuple[MilvusClient, MilvusClient]],
) -> None:
    """pymilvus sends level 0 with use_default_consistency when the caller names none.

    A Strong default must find every acked write through another connection,
    a Session default the client's own writes, and an Eventually default must
    answer at once. (Which guarantee each default yields is pinned exactly in
    tests/unit/time/test_guarantee_ts.py.)
    """
    writer, second = pair_on(slow_tick_server)
    for level in ("Session", "Eventually", "Strong"):
        writer.create_collection(f"default_{level.lower()}", dimension=DIM, consistency_level=level)
    for pk in range(30):
        for level in ("Session", "Eventually", "Strong"):
            writer.insert(f"default_{level.lower()}", [row(pk)])
        assert ids_of(second.query("default_strong", filter=f"id == {pk}")) == [pk]
        assert ids_of(writer.query("default_session", filter=f"id == {pk}")) == [pk]
        started = time.perf_counter()
        second.query("default_eventually", filter=f"id == {pk}")
        assert time.perf_counter() - started < NO_WAIT_BOUND_S


@pytest.mark.parametrize(
    "guarantee",
    [hybrid_ts(time.time() + 3600), 2**64 - 1],
    ids=["an-hour-ahead", "uint64-max"],
)
def test_a_guarantee_from_the_future_fails_with_a_timeout_not_a_hang(
    slow_tick_server: ElanusServer,
    pair_on: Callable[[ElanusServer], tuple[MilvusClient, MilvusClient]],
    guarantee: int,
) -> None:
    writer, second = pair_on(slow_tick_server)
    name = "future"
    if not writer.has_collection(name):
        writer.create_collection(name, dimension=DIM, consistency_level="Bounded", shards_num=2)
        writer.insert(name, [row(pk) for pk in range(3)])
    for call in (
        lambda: second.query(
            name,
            filter="id >= 0",
            consistency_level="Customized",
            guarantee_timestamp=guarantee,
        ),
        lambda: second.search(
            name,
            data=[row(0)["vector"]],
            limit=1,
            consistency_level="Customized",
            guarantee_timestamp=guarantee,
        ),
    ):
        started = time.perf_counter()
        with pytest.raises(MilvusException) as caught:
            call()
        waited = time.perf_counter() - started
        assert caught.value.code == CONSISTENCY_TIMEOUT, caught.value
        assert "guarantee" in caught.value.message
        # Shards wait side by side: one bounded wait, not one per shard.
        assert SLOW_TICKS_WAIT_S * 0.9 <= waited < 2 * SLOW_TICKS_WAIT_S, waited
    # The server is still fine afterwards.
    assert ids_of(second.query(name, filter="id >= 0", consistency_level="Strong")) == [0, 1, 2]


# --- Measurements (printed; run with -s to read them)


def test_measure_bounded_visibility_and_the_cost_of_strong(
    client: MilvusClient, reader: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    """Insert-ack-to-visible for Bounded reads, and Strong vs Eventually search latency."""
    name = new_collection_name("measure")
    client.create_collection(name, dimension=DIM, consistency_level="Bounded")
    client.insert(name, [row(pk, seed=3) for pk in range(1000)])
    visible_after: list[float] = []
    for pk in range(1000, 1050):
        client.insert(name, [row(pk, seed=3)])
        acked = time.perf_counter()
        for _ in range(10_000):
            found = reader.query(
                name, filter=f"id == {pk}", output_fields=["id"], consistency_level="Bounded"
            )
            if found:
                break
        visible_after.append(time.perf_counter() - acked)
        assert found, f"row {pk} not visible to Bounded reads after 10,000 tries"

    query_vector = [row(7, seed=3)["vector"]]
    latency: dict[str, list[float]] = {"Strong": [], "Eventually": []}
    for _ in range(200):
        for level, samples in latency.items():
            started = time.perf_counter()
            reader.search(name, data=query_vector, limit=10, consistency_level=level)
            samples.append(time.perf_counter() - started)

    def ms(value: float) -> str:
        return f"{value * 1000:.2f} ms"

    print(
        f"\nBounded insert-ack to visible (50 rows): median {ms(statistics.median(visible_after))},"
        f" p99 {ms(percentile(visible_after, 0.99))}, max {ms(max(visible_after))}"
    )
    for level, samples in latency.items():
        print(
            f"{level} search (200, 1,050 rows, dim {DIM}): median {ms(statistics.median(samples))},"
            f" p99 {ms(percentile(samples, 0.99))}"
        )
    extra = statistics.median(latency["Strong"]) - statistics.median(latency["Eventually"])
    print(f"Strong over Eventually: {ms(extra)} (median)")
