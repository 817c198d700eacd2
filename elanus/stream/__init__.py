"""The message stream: durable, ordered channels that roles publish to and replay from.

A channel is one ordered log (a Kafka topic with one partition, or a table in the
embedded log). Every message gets a :data:`Position`: an integer offset, strictly
increasing within its channel, starting at 0. Positions are what checkpoints
store; a consumer opened at position ``p`` first yields the message *at* ``p``
(inclusive), so a checkpoint is "the first message not yet persisted".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Position = int

EARLIEST: Position = 0


@dataclass(frozen=True)
class Message:
    channel: str
    position: Position
    payload: bytes


class Consumer(Protocol):
    def poll(self, max_messages: int = 1024, timeout_s: float = 0.1) -> list[Message]:
        """Next messages in position order; waits at most ``timeout_s`` when none is ready.

        Returns an empty list on timeout. Never skips or repeats a message within
        one consumer.
        """

    def close(self) -> None: ...


class MessageStream(Protocol):
    def create_channel(self, channel: str) -> None:
        """Make the channel exist. Idempotent."""

    def produce(self, channel: str, payloads: Sequence[bytes]) -> list[Position]:
        """Append payloads in order and return their positions.

        Returns only once every payload is durable (fsynced / acks=all): a caller
        that got positions back may tell its client "success". On failure raises
        and none of the payloads should be assumed written.
        """

    def consume(self, channel: str, start: Position = EARLIEST) -> Consumer:
        """A consumer that yields the messages at positions >= ``start``."""

    def end_position(self, channel: str) -> Position:
        """The position the next produced message will get (0 for an empty channel)."""

    def truncate_before(self, channel: str, position: Position) -> int:
        """Let messages at positions < ``position`` go (retention); returns how many went.

        Later positions do not change; a consumer behind the new first position
        continues from it. Idempotent. Only the coordinator calls this, and only
        below every checkpoint and every consumer's position.
        """

    def close(self) -> None: ...
