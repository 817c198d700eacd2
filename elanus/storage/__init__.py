"""Object storage: where segment files and index files live (MinIO/S3 or a directory).

Keys are ``/``-separated paths without a leading slash. A ``put`` is atomic:
a reader sees the whole object or nothing, never a torn write.
"""

from __future__ import annotations

from typing import Protocol


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raises KeyError if there is none."""

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""

    def delete(self, key: str) -> None:
        """Remove one object; no error if it is absent."""

    def delete_prefix(self, prefix: str) -> int: ...

    def size(self, key: str) -> int: ...
