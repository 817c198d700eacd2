"""The querynode: serves loaded collections, one shard delegator per virtual channel."""

from querynode.node import QueryNode

__all__ = ["QueryNode"]
