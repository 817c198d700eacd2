"""The distributed message stream: :class:`MessageStream` on Apache Kafka (kafka-python).

A channel is one topic (``topic_prefix + channel``) with one partition and
replication factor 1, so a position is exactly a Kafka offset: dense from 0,
since the idempotent producer writes no transaction markers. Topics keep their
messages until :meth:`KafkaStream.truncate_before` drops them (``retention.ms``
and ``retention.bytes`` are -1), because a checkpoint may point far back.

Where this differs from :class:`~elanus.stream.embedded_log.EmbeddedLog`:

* ``produce`` is durable on return (acks=all, idempotent, ordered retries) but
  not all-or-nothing: if it raises, a prefix of the batch may have been written
  (Kafka is atomic per record batch, and a large call spans several). A batch
  from one call still gets contiguous positions: calls append one at a time.
* Naming a channel creates its topic: ``produce``, ``consume`` and
  ``end_position`` on a channel nobody created make an empty one.
* Failures raise :class:`kafka.errors.KafkaError` (``KafkaTimeoutError`` when
  the broker does not answer within ``timeout_s``); after a failed ``produce``
  the next one starts a new producer.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
import weakref
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.errors import KafkaError, TopicAlreadyExistsError

from elanus.stream import EARLIEST, Consumer, Message, MessageStream, Position

__all__ = ["KafkaStream", "KafkaStreamConsumer"]

_MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one insert message can carry many vectors
_POLL_SLICE_S = 0.25  # how long a waiting poll goes without checking for close()
# kafka-python backs off reconnecting up to 30 s by default: after a broker restart
# every client would then stall for up to that long once the broker is back.
_RECONNECT_BACKOFF_MAX_MS = 1000


class KafkaStream(MessageStream):
    """A :class:`MessageStream` on the Kafka cluster at ``bootstrap`` (``host:port``).

    Thread-safe. Clients start lazily: the admin client on the first channel
    operation, the producer on the first ``produce``, one consumer per ``consume``.
    """

    def __init__(
        self,
        bootstrap: str,
        topic_prefix: str = "",
        *,
        timeout_s: float = 30.0,
        linger_ms: int = 2,
        max_message_bytes: int = _MAX_MESSAGE_BYTES,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.timeout_s = timeout_s
        self.linger_ms = linger_ms
        self.max_message_bytes = max_message_bytes
        self._client_id = f"elanus-{uuid.uuid4().hex[:8]}"
        self._admin: KafkaAdminClient | None = None
        self._producer: KafkaProducer | None = None
        self._admin_lock = threading.Lock()  # the admin client is not meant for threads
        self._producer_lock = threading.Lock()
        self._append_lock = threading.Lock()  # keeps each call's records contiguous
        self._known_topics: set[str] = set()
        self._consumers: weakref.WeakSet[KafkaStreamConsumer] = weakref.WeakSet()
        self._closed = False

    def topic(self, channel: str) -> str:
        return self.topic_prefix + channel

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("KafkaStream is closed")

    # -- channels ------------------------------------------------------------

    def create_channel(self, channel: str) -> None:
        """Make the channel's topic exist (1 partition, kept forever). Idempotent."""
        self._ensure_topic(self.topic(channel))

    def _ensure_topic(self, topic: str) -> str:
        """Create ``topic`` unless this client already knows it; wait until it has a leader."""
        self._check_open()
        if topic in self._known_topics:
            return topic
        config = {
            "retention.ms": "-1",
            "retention.bytes": "-1",
            "max.message.bytes": str(self.max_message_bytes),
        }
        spec = {"num_partitions": 1, "replication_factor": 1, "configs": config}
        timeout_ms = int(self.timeout_s * 1000)
        with self._admin_lock:
            admin = self._admin_client()
            # Made by another client, maybe a moment ago: wait for its leader too.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics({topic: spec}, timeout_ms=timeout_ms)
            admin.wait_for_topics([topic], timeout_ms=timeout_ms)
        self._known_topics.add(topic)
        return topic

    def _admin_client(self) -> KafkaAdminClient:
        """Called with the admin lock held."""
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id=self._client_id + "-admin",
                request_timeout_ms=int(self.timeout_s * 1000),
                reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
            )
        return self._admin

    def _offset(self, topic: str, spec: OffsetSpec) -> Position:
        partition = TopicPartition(topic, 0)
        with self._admin_lock:
            offsets = self._admin_client().list_partition_offsets(
                {partition: spec}, timeout_ms=int(self.timeout_s * 1000)
            )
        result: Position = offsets[partition].offset
        return result

    # -- writing -------------------------------------------------------------

    def produce(self, channel: str, payloads: Sequence[bytes]) -> list[Position]:
        """Append ``payloads`` in order; returns their offsets once every one is acked by all.

        Raises TypeError before sending anything if a payload is not bytes.
        """
        for payload in payloads:
            if not isinstance(payload, (bytes, bytearray, memoryview)):
                raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
        if not payloads:
            return []
        topic = self._ensure_topic(self.topic(channel))
        producer = self._producer_client()
        try:
            with self._append_lock:
                futures = [producer.send(topic, value=bytes(p), partition=0) for p in payloads]
            positions = [future.get(timeout=self.timeout_s).offset for future in futures]
        except Exception:
            self._discard_producer(producer)
            raise
        if positions != list(range(positions[0], positions[0] + len(positions))):
            raise RuntimeError(f"{topic}: offsets of one batch are not contiguous: {positions}")
        return positions

    def _producer_client(self) -> KafkaProducer:
        with self._producer_lock:
            self._check_open()
            if self._producer is None:
                timeout_ms = int(self.timeout_s * 1000)
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    client_id=self._client_id + "-producer",
                    acks="all",
                    enable_idempotence=True,
                    max_in_flight_requests_per_connection=5,  # idempotence keeps order up to 5
                    linger_ms=self.linger_ms,
                    batch_size=1024 * 1024,  # a typical call fits one (atomic) record batch
                    max_request_size=self.max_message_bytes,
                    request_timeout_ms=min(timeout_ms, 10_000),
                    delivery_timeout_ms=max(timeout_ms, 10_000 + self.linger_ms),
                    max_block_ms=timeout_ms,
                    reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
                )
            return self._producer

    def _discard_producer(self, producer: KafkaProducer) -> None:
        """Drop a producer that failed, so the next call starts a fresh idempotent session.

        Records it still holds fail, and their callers raise too.
        """
        with self._producer_lock:
            replaced = self._producer is not producer
            if replaced:
                return  # another thread already replaced it
            self._producer = None
        try:
            producer.close(timeout=0)
        except KafkaError:
            # kafka-python's close() flushes first and, with records still pending (the
            # broker is down), raises before it stops the sender thread, which would
            # then retry them for ever in the background; stop it here.
            producer._sender.force_close()

    def truncate_before(self, channel: str, position: Position) -> int:
        """Drop messages at positions < ``position`` (retention); returns how many went.

        Later positions do not change; a consumer behind the new first position
        continues from it. Never past the end. Idempotent.
        """
        topic = self._ensure_topic(self.topic(channel))
        first = self._offset(topic, OffsetSpec.EARLIEST)
        new_first = min(position, self._offset(topic, OffsetSpec.LATEST))
        if new_first <= first:
            return 0
        with self._admin_lock:
            self._admin_client().delete_records(
                {TopicPartition(topic, 0): new_first}, timeout_ms=int(self.timeout_s * 1000)
            )
        return new_first - first

    # -- reading -------------------------------------------------------------

    def consume(self, channel: str, start: Position = EARLIEST) -> KafkaStreamConsumer:
        """A consumer yielding messages at positions >= ``start`` (inclusive)."""
        if start < 0:
            raise ValueError(f"start position must be >= 0, got {start}")
        topic = self._ensure_topic(self.topic(channel))
        consumer = KafkaStreamConsumer(self, channel, topic, start)
        self._consumers.add(consumer)
        return consumer

    def end_position(self, channel: str) -> Position:
        """The offset the next message will get (the partition's high watermark)."""
        return self._offset(self._ensure_topic(self.topic(channel)), OffsetSpec.LATEST)

    def first_position(self, channel: str) -> Position:
        """The oldest position still kept (0 unless ``truncate_before`` dropped some)."""
        return self._offset(self._ensure_topic(self.topic(channel)), OffsetSpec.EARLIEST)

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Flush and close the producer, the admin client and every consumer. Idempotent.

        A consumer waiting in ``poll`` raises RuntimeError within about 0.25 s.
        """
        with self._producer_lock:
            if self._closed:
                return
            self._closed = True
            producer, self._producer = self._producer, None
        for consumer in list(self._consumers):
            consumer.close()
        if producer is not None:
            producer.close(timeout=self.timeout_s)
        with self._admin_lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None


class KafkaStreamConsumer(Consumer):
    """Reads one channel from a position on: a group-less KafkaConsumer assigned to partition 0.

    Meant for one thread at a time; ``close`` may come from any thread.
    """

    def __init__(self, stream: KafkaStream, channel: str, topic: str, start: Position) -> None:
        self.channel = channel
        self.next_position = start
        self._stream = stream
        self._partition = TopicPartition(topic, 0)
        # Without a group nothing is committed: the caller stores positions itself.
        # "earliest": after truncate_before a consumer behind the first offset goes
        # on from it; one that seeked past the end re-reads and skips up to ``start``.
        self._consumer = KafkaConsumer(
            bootstrap_servers=stream.bootstrap,
            client_id=stream._client_id + "-consumer",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(stream.timeout_s * 1000),
            reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
        )
        self._consumer.assign([self._partition])
        self._consumer.seek(self._partition, start)
        self._lock = threading.Lock()  # held while polling; close() waits for it
        self._closed = False
        self._released = False

    def poll(self, max_messages: int = 1024, timeout_s: float = 0.1) -> list[Message]:
        """Up to ``max_messages`` messages from ``next_position`` on, in position order.

        Returns as soon as some are ready, else ``[]`` after ``timeout_s``. Raises
        RuntimeError once the consumer or its stream is closed.
        """
        if max_messages < 1:
            raise ValueError("max_messages must be >= 1")
        deadline = time.monotonic() + max(timeout_s, 0.0)
        with self._lock:
            while True:
                if self._closed:
                    self._release()
                    raise RuntimeError("consumer is closed")
                remaining = deadline - time.monotonic()
                wait_ms = int(min(max(remaining, 0.0), _POLL_SLICE_S) * 1000)
                fetched = self._consumer.poll(timeout_ms=wait_ms, max_records=max_messages)
                messages = [
                    Message(self.channel, record.offset, record.value)
                    for record in fetched.get(self._partition, [])
                    if record.offset >= self.next_position
                ]
                if messages:
                    self.next_position = messages[-1].position + 1
                    return messages
                if deadline - time.monotonic() <= 0:
                    return []

    def close(self) -> None:
        """Stop the consumer and release its sockets (at once, or when a waiting poll wakes)."""
        self._closed = True
        if self._lock.acquire(blocking=False):
            try:
                self._release()
            finally:
                self._lock.release()

    def _release(self) -> None:
        """Called with the poll lock held."""
        if not self._released:
            self._released = True
            self._consumer.close(autocommit=False)
