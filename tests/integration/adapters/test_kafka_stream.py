"""The stream contract on :class:`KafkaStream` against the real broker from ``deploy/local``.

Each test gets its own topic prefix on the shared broker and deletes its topics
afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from elanus.stream import MessageStream
from elanus.stream.kafka import KafkaStream
from tests.contract.stream_contract import StreamContract, StreamMachine, drain, fresh_channel

KAFKA = os.environ.get("ELANUS_TEST_KAFKA", "")

pytestmark = [
    pytest.mark.infra,
    pytest.mark.skipif(not KAFKA, reason="infra not started (run via tests/run)"),
]


def fresh_topic_prefix() -> str:
    return f"elanus-test-{uuid.uuid4().hex[:10]}-"


def delete_topics(topic_prefix: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=KAFKA, client_id="elanus-test-cleanup")
    try:
        doomed = [topic for topic in admin.list_topics() if topic.startswith(topic_prefix)]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()


@pytest.fixture
def stream() -> Iterator[KafkaStream]:
    kafka = KafkaStream(KAFKA, topic_prefix=fresh_topic_prefix())
    yield kafka
    kafka.close()
    delete_topics(kafka.topic_prefix)


class TestKafkaStreamContract(StreamContract):
    wait_s = 5.0


class KafkaStreamMachine(StreamMachine):
    wait_s = 5.0

    def open_stream(self) -> MessageStream:
        if not hasattr(self, "topic_prefix"):
            self.topic_prefix = fresh_topic_prefix()
        return KafkaStream(KAFKA, topic_prefix=self.topic_prefix)

    def discard_store(self) -> None:
        delete_topics(self.topic_prefix)


KafkaStreamMachine.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestKafkaStreamMachine = KafkaStreamMachine.TestCase


def test_acknowledged_messages_survive_a_new_client(stream: KafkaStream) -> None:
    channel = fresh_channel(stream)
    assert stream.produce(channel, [b"a", b"b"]) == [0, 1]
    stream.close()

    reopened = KafkaStream(KAFKA, topic_prefix=stream.topic_prefix)
    try:
        assert reopened.end_position(channel) == 2
        assert reopened.produce(channel, [b"c"]) == [2]
        consumer = reopened.consume(channel)
        assert [m.payload for m in drain(consumer, 3, 5.0)] == [b"a", b"b", b"c"]
    finally:
        reopened.close()


def test_truncate_counts_and_a_consumer_behind_goes_on(stream: KafkaStream) -> None:
    channel = fresh_channel(stream)
    stream.produce(channel, [f"m{i}".encode() for i in range(10)])
    behind = stream.consume(channel)  # opened before the truncation, still at 0
    assert stream.truncate_before(channel, 6) == 6
    assert stream.truncate_before(channel, 6) == 0
    assert stream.truncate_before(channel, 100) == 4  # never past the end
    assert (stream.first_position(channel), stream.end_position(channel)) == (10, 10)
    assert stream.produce(channel, [b"m10"]) == [10]
    assert [m.position for m in drain(stream.consume(channel, start=0), 1, 5.0)] == [10]
    assert [m.position for m in drain(behind, 1, 5.0)] == [10]


def test_large_payload_round_trips(stream: KafkaStream) -> None:
    """Insert messages carry many vectors: well over Kafka's 1 MiB default."""
    channel = fresh_channel(stream)
    big = bytes(range(256)) * (8 * 1024 * 4)  # 8 MiB
    assert stream.produce(channel, [big, b"after"]) == [0, 1]
    consumer = stream.consume(channel)
    try:
        assert [m.payload for m in drain(consumer, 2, 10.0)] == [big, b"after"]
    finally:
        consumer.close()


def test_consumer_opened_past_the_end_waits_for_its_start(stream: KafkaStream) -> None:
    channel = fresh_channel(stream)
    stream.produce(channel, [b"0", b"1"])
    consumer = stream.consume(channel, start=3)
    try:
        assert consumer.poll(timeout_s=0.3) == []
        stream.produce(channel, [b"2", b"3", b"4"])
        got = drain(consumer, 2, 5.0)
    finally:
        consumer.close()
    assert [(m.position, m.payload) for m in got] == [(3, b"3"), (4, b"4")]


def test_a_failed_produce_leaves_the_stream_usable() -> None:
    kafka = KafkaStream(KAFKA, topic_prefix=fresh_topic_prefix(), max_message_bytes=1024 * 1024)
    try:
        channel = fresh_channel(kafka)
        with pytest.raises(KafkaError):
            kafka.produce(channel, [b"x" * (2 * 1024 * 1024)])
        assert kafka.end_position(channel) == 0
        assert kafka.produce(channel, [b"small"]) == [0]
    finally:
        kafka.close()
        delete_topics(kafka.topic_prefix)
