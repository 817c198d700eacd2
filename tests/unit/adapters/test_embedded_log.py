"""The stream contract on :class:`EmbeddedLog`, plus what only a local file can promise."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from elanus.stream import MessageStream
from elanus.stream.embedded_log import EmbeddedLog
from tests.contract.crash import run_and_kill
from tests.contract.stream_contract import StreamContract, StreamMachine, drain, fresh_channel


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[EmbeddedLog]:
    log = EmbeddedLog(tmp_path / "log")
    yield log
    log.close()


class TestEmbeddedLogContract(StreamContract):
    wait_s = 2.0


class EmbeddedLogMachine(StreamMachine):
    wait_s = 2.0

    def open_stream(self) -> MessageStream:
        if not hasattr(self, "directory"):
            self.directory = Path(tempfile.mkdtemp(prefix="elanus-log-"))
        return EmbeddedLog(self.directory)

    def discard_store(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


EmbeddedLogMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEmbeddedLogMachine = EmbeddedLogMachine.TestCase


def test_data_and_positions_survive_reopen(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path)
    channel = fresh_channel(log)
    log.produce(channel, [b"a", b"b"])
    log.close()

    log = EmbeddedLog(tmp_path)
    try:
        assert log.end_position(channel) == 2
        assert log.produce(channel, [b"c"]) == [2]
        consumer = log.consume(channel)
        assert [m.payload for m in drain(consumer, 3, 2.0)] == [b"a", b"b", b"c"]
    finally:
        log.close()


def test_second_instance_on_same_file_is_seen_by_polling(tmp_path: Path) -> None:
    """Another writer (as another process would) wakes no condition; the poll fallback sees it."""
    reader, writer = EmbeddedLog(tmp_path, poll_interval_s=0.02), EmbeddedLog(tmp_path)
    try:
        channel = fresh_channel(reader)
        consumer = reader.consume(channel)
        threading.Timer(0.1, writer.produce, args=(channel, [b"elsewhere"])).start()
        started = time.monotonic()
        got = consumer.poll(timeout_s=2.0)
        assert [m.payload for m in got] == [b"elsewhere"]
        assert time.monotonic() - started < 1.0
        assert writer.produce(channel, [b"next"]) == [1]
        assert reader.produce(channel, [b"then"]) == [2]
    finally:
        reader.close()
        writer.close()


def test_truncate_before_keeps_later_positions(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path)
    try:
        channel = fresh_channel(log)
        log.produce(channel, [f"m{i}".encode() for i in range(10)])
        assert log.truncate_before(channel, 6) == 6
        assert log.truncate_before(channel, 6) == 0
        assert log.truncate_before(channel, 100) == 4  # never past the end
        assert (log.first_position(channel), log.end_position(channel)) == (10, 10)
        assert log.produce(channel, [b"m10"]) == [10]
        assert [m.position for m in drain(log.consume(channel, start=0), 1, 2.0)] == [10]
    finally:
        log.close()


_PRODUCER_SCRIPT = """
import sys, threading, time
from pathlib import Path
from elanus.stream.embedded_log import EmbeddedLog

log = EmbeddedLog(Path(sys.argv[1]))
first_batch = int(sys.argv[2])
print_lock = threading.Lock()

def produce(worker):
    deadline = time.monotonic() + 30
    for batch in range(first_batch + worker, first_batch + 100_000, 2):
        if time.monotonic() > deadline:
            return
        size = 1 + batch % 7
        payloads = [f"{batch}:{i}:{size}:".encode() + b"x" * 3000 for i in range(size)]
        positions = log.produce("crash", payloads)
        with print_lock:
            print(batch, positions[0], size, flush=True)

workers = [threading.Thread(target=produce, args=(w,)) for w in range(2)]
for w in workers:
    w.start()
for w in workers:
    w.join()
"""


@pytest.mark.fault
def test_kill_9_loses_no_acknowledged_batch_and_shows_no_partial_one(tmp_path: Path) -> None:
    acknowledged: dict[int, tuple[int, int]] = {}  # batch -> (first position, size)
    for round_number in range(3):
        lines = run_and_kill(_PRODUCER_SCRIPT, [str(tmp_path), str(round_number * 1_000_000)])
        for line in lines:
            batch, first, size = map(int, line.split())
            acknowledged[batch] = (first, size)

        log = EmbeddedLog(tmp_path)
        try:
            end = log.end_position("crash")
            messages = drain(log.consume("crash"), end, 5.0)
        finally:
            log.close()
        assert [m.position for m in messages] == list(range(end))
        batches: dict[int, list[tuple[int, int, int]]] = {}
        for message in messages:
            raw_batch, raw_index, raw_size, _ = message.payload.split(b":")
            batches.setdefault(int(raw_batch), []).append(
                (message.position, int(raw_index), int(raw_size))
            )
        for batch, rows in batches.items():  # whole batches only, contiguous and in order
            size = rows[0][2]
            assert [index for _, index, _ in rows] == list(range(size)), batch
            assert [p for p, _, _ in rows] == list(range(rows[0][0], rows[0][0] + size)), batch
        for batch, (first, size) in acknowledged.items():
            assert batch in batches, f"acknowledged batch {batch} lost"
            assert batches[batch][0][0] == first and len(batches[batch]) == size
