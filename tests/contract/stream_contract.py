"""The contract every :class:`~elanus.stream.MessageStream` keeps (embedded log, Kafka).

Use: subclass :class:`StreamContract` in a ``test_*.py`` module and give it a
``stream`` fixture that yields an open stream; subclass :class:`StreamMachine`
and implement ``open_stream``/``discard_store`` for the state machine. The tests
make their own channel names with a random suffix, so one shared broker serves
every test. Raise ``wait_s`` for backends with slower delivery.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from elanus.stream import Consumer, Message, MessageStream
from tests.contract.closing import wait_through_close


def fresh_channel(stream: MessageStream, label: str = "ch") -> str:
    channel = f"contract-{label}-{uuid.uuid4().hex[:12]}"
    stream.create_channel(channel)
    return channel


def drain(consumer: Consumer, count: int, wait_s: float) -> list[Message]:
    """Poll until ``count`` messages arrived or ``wait_s`` passed; returns what came."""
    received: list[Message] = []
    deadline = time.monotonic() + wait_s
    while len(received) < count and time.monotonic() < deadline:
        received.extend(consumer.poll(max_messages=count - len(received), timeout_s=0.05))
    return received


class StreamContract:
    wait_s: float = 5.0  # how long a message that was produced may take to arrive

    def test_truncate_before_keeps_later_positions(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        stream.produce(channel, [f"m{i}".encode() for i in range(10)])
        stream.truncate_before(channel, 6)
        stream.truncate_before(channel, 6)  # idempotent
        assert stream.end_position(channel) == 10
        consumer = stream.consume(channel, 0)  # behind the first retained message
        try:
            got = drain(consumer, 4, self.wait_s)
        finally:
            consumer.close()
        assert [(m.position, m.payload) for m in got] == [
            (i, f"m{i}".encode()) for i in range(6, 10)
        ]
        assert stream.produce(channel, [b"next"]) == [10]

    def test_create_channel_is_idempotent(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        stream.create_channel(channel)
        assert stream.end_position(channel) == 0
        assert stream.produce(channel, [b"x"]) == [0]
        stream.create_channel(channel)
        assert stream.end_position(channel) == 1

    def test_positions_are_dense_from_zero(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        assert stream.produce(channel, [b"a", b"b", b"c"]) == [0, 1, 2]
        assert stream.produce(channel, [b"d"]) == [3]
        assert stream.produce(channel, []) == []
        assert stream.end_position(channel) == 4

    def test_consume_returns_payloads_in_order(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        payloads = [f"m{i}".encode() for i in range(50)]
        stream.produce(channel, payloads[:20])
        stream.produce(channel, payloads[20:])
        consumer = stream.consume(channel)
        try:
            got = drain(consumer, 50, self.wait_s)
        finally:
            consumer.close()
        assert [m.payload for m in got] == payloads
        assert [m.position for m in got] == list(range(50))
        assert {m.channel for m in got} == {channel}

    def test_consume_from_position_is_inclusive(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        stream.produce(channel, [f"m{i}".encode() for i in range(10)])
        consumer = stream.consume(channel, start=7)
        try:
            got = drain(consumer, 3, self.wait_s)
            assert [(m.position, m.payload) for m in got] == [(7, b"m7"), (8, b"m8"), (9, b"m9")]
            assert consumer.poll(timeout_s=0.1) == []
        finally:
            consumer.close()

    def test_consume_from_end_sees_only_new_messages(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        stream.produce(channel, [b"old"])
        consumer = stream.consume(channel, start=stream.end_position(channel))
        try:
            assert consumer.poll(timeout_s=0.1) == []
            stream.produce(channel, [b"new"])
            got = drain(consumer, 1, self.wait_s)
        finally:
            consumer.close()
        assert [(m.position, m.payload) for m in got] == [(1, b"new")]

    def test_payloads_round_trip_exactly(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        payloads = [b"", bytes(range(256)), b"\x00" * 100_000]
        stream.produce(channel, payloads)
        consumer = stream.consume(channel)
        try:
            assert [m.payload for m in drain(consumer, 3, self.wait_s)] == payloads
        finally:
            consumer.close()

    def test_poll_respects_max_messages(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        stream.produce(channel, [b"x"] * 10)
        consumer = stream.consume(channel)
        try:
            first = drain(consumer, 4, self.wait_s)
            rest = drain(consumer, 6, self.wait_s)
        finally:
            consumer.close()
        assert [m.position for m in first] == [0, 1, 2, 3]
        assert [m.position for m in rest] == [4, 5, 6, 7, 8, 9]

    def test_empty_poll_returns_within_its_timeout(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        consumer = stream.consume(channel)
        try:
            started = time.monotonic()
            assert consumer.poll(timeout_s=0.2) == []
            elapsed = time.monotonic() - started
            started = time.monotonic()
            assert consumer.poll(timeout_s=0.0) == []
            elapsed_zero = time.monotonic() - started
        finally:
            consumer.close()
        assert 0.15 <= elapsed < 1.0
        assert elapsed_zero < 0.5

    def test_waiting_poll_wakes_when_a_message_arrives(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        consumer = stream.consume(channel)
        timer = threading.Timer(0.2, stream.produce, args=(channel, [b"late"]))
        try:
            started = time.monotonic()
            timer.start()
            got = consumer.poll(timeout_s=self.wait_s + 5)
            elapsed = time.monotonic() - started
        finally:
            timer.join()
            consumer.close()
        assert [m.payload for m in got] == [b"late"]
        assert elapsed < self.wait_s

    def test_consume_while_producing(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        total, batch = 301, 7  # 43 whole batches
        consumer = stream.consume(channel)

        def produce_all() -> None:
            for start in range(0, total, batch):
                stream.produce(channel, [f"{i}".encode() for i in range(start, start + batch)])

        producer = threading.Thread(target=produce_all)
        producer.start()
        try:
            got = drain(consumer, total, self.wait_s * 2)
            assert consumer.poll(timeout_s=0.1) == []
        finally:
            producer.join()
            consumer.close()
        expected = list(range(total))
        assert [m.position for m in got] == expected
        assert [int(m.payload) for m in got] == expected

    def test_concurrent_producers_keep_batches_whole(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        threads, batches, size = 4, 20, 5
        returned: dict[int, list[int]] = {}

        def produce(thread: int) -> None:
            for b in range(batches):
                payloads = [f"{thread}:{b}:{i}".encode() for i in range(size)]
                positions = stream.produce(channel, payloads)
                returned[thread * batches + b] = positions

        workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        total = threads * batches * size
        assert stream.end_position(channel) == total
        assert sorted(p for ps in returned.values() for p in ps) == list(range(total))
        assert all(ps == list(range(ps[0], ps[0] + size)) for ps in returned.values())
        consumer = stream.consume(channel)
        try:
            got = drain(consumer, total, self.wait_s)
        finally:
            consumer.close()
        by_position = {m.position: m.payload for m in got}
        for key, positions in returned.items():
            thread, b = divmod(key, batches)
            assert [by_position[p] for p in positions] == [
                f"{thread}:{b}:{i}".encode() for i in range(size)
            ]

    def test_consumers_are_independent(self, stream: MessageStream) -> None:
        channel = fresh_channel(stream)
        stream.produce(channel, [b"a", b"b", b"c"])
        consumers = [stream.consume(channel), stream.consume(channel, start=1)]
        results: list[list[bytes]] = [[], []]

        def read(index: int) -> None:
            expected = 4 - index
            results[index] = [m.payload for m in drain(consumers[index], expected, self.wait_s)]

        threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        stream.produce(channel, [b"d"])
        for thread in threads:
            thread.join()
        for consumer in consumers:
            consumer.close()
        assert results == [[b"a", b"b", b"c", b"d"], [b"b", b"c", b"d"]]

    def test_channels_are_independent(self, stream: MessageStream) -> None:
        first, second = fresh_channel(stream, "one"), fresh_channel(stream, "two")
        assert stream.produce(first, [b"1a", b"1b"]) == [0, 1]
        assert stream.produce(second, [b"2a"]) == [0]
        assert (stream.end_position(first), stream.end_position(second)) == (2, 1)
        consumer = stream.consume(second)
        try:
            assert [m.payload for m in drain(consumer, 1, self.wait_s)] == [b"2a"]
            assert consumer.poll(timeout_s=0.1) == []
        finally:
            consumer.close()

    def test_rejects_non_bytes_payloads(self, stream: MessageStream) -> None:
        """A payload that is not bytes fails the whole produce: nothing is appended."""
        channel = fresh_channel(stream)
        with pytest.raises(TypeError):
            stream.produce(channel, [b"ok", "text"])  # type: ignore[list-item]
        assert stream.end_position(channel) == 0

    def test_close_wakes_a_waiting_consumer(self, stream: MessageStream) -> None:
        """A role stopping must not hang on a consumer blocked in poll."""
        consumer = stream.consume(fresh_channel(stream))
        failures = wait_through_close(lambda: consumer.poll(timeout_s=10), stream.close)
        assert len(failures) == 1
        with pytest.raises(RuntimeError):
            stream.produce("any", [b"x"])


class StreamMachine(RuleBasedStateMachine):
    """Random produce / consume / reopen sequences against a list-per-channel model.

    Subclasses implement ``open_stream`` (a new client of the same store each
    call) and ``discard_store``; ``TestX = MySubclass.TestCase`` runs it.
    """

    wait_s: float = 5.0

    def __init__(self) -> None:
        super().__init__()
        suffix = uuid.uuid4().hex[:10]
        self.channels = [f"machine-{suffix}-{i}" for i in range(2)]
        self.model: dict[str, list[bytes]] = {c: [] for c in self.channels}
        self.stream = self.open_stream()
        for name in self.channels:
            self.stream.create_channel(name)
        self.consumers: list[tuple[str, Consumer, int]] = []  # channel, consumer, next position

    def open_stream(self) -> MessageStream:
        raise NotImplementedError

    def discard_store(self) -> None:
        raise NotImplementedError

    @rule(channel=st.integers(0, 1), payloads=st.lists(st.binary(max_size=20), max_size=5))
    def produce(self, channel: int, payloads: list[bytes]) -> None:
        name = self.channels[channel]
        positions = self.stream.produce(name, payloads)
        log = self.model[name]
        assert positions == list(range(len(log), len(log) + len(payloads)))
        log.extend(payloads)

    @precondition(lambda self: len(self.consumers) < 4)
    @rule(channel=st.integers(0, 1), data=st.data())
    def open_consumer(self, channel: int, data: st.DataObject) -> None:
        name = self.channels[channel]
        start = data.draw(st.integers(0, len(self.model[name])), label="start")
        self.consumers.append((name, self.stream.consume(name, start), start))

    @precondition(lambda self: bool(self.consumers))
    @rule(data=st.data())
    def poll(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(self.consumers) - 1), label="consumer")
        name, consumer, position = self.consumers[index]
        log = self.model[name]
        wanted = min(data.draw(st.integers(1, 6), label="max"), len(log) - position)
        got = drain(consumer, wanted, self.wait_s) if wanted > 0 else consumer.poll(timeout_s=0)
        assert [m.position for m in got] == list(range(position, position + len(got)))
        assert [m.payload for m in got] == log[position : position + len(got)]
        assert len(got) == max(wanted, 0)
        self.consumers[index] = (name, consumer, position + len(got))

    @rule()
    def reopen(self) -> None:
        self._close_all()
        self.stream = self.open_stream()

    @invariant()
    def end_positions_match_model(self) -> None:
        for name, log in self.model.items():
            assert self.stream.end_position(name) == len(log)

    def _close_all(self) -> None:
        for _, consumer, _ in self.consumers:
            consumer.close()
        self.consumers = []
        self.stream.close()

    def teardown(self) -> None:
        self._close_all()
        self.discard_store()
