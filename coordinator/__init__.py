"""The coordinator: TSO and ids, DDL and collection metadata, segments and
flushes, index builds, and which querynode serves which shard. All of its
state lives in the metadata KV, so a restarted coordinator picks up where the
last one stopped."""

from coordinator.core import Coordinator

__all__ = ["Coordinator"]
