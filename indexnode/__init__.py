"""The indexnode: builds FAISS indexes for flushed segments and uploads them."""

from indexnode.node import IndexNode

__all__ = ["IndexNode"]
