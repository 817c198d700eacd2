"""Object storage: where segment files and index files live (MinIO/S3 or a directory).

Keys are ``/``-separated paths without a leading slash. A ``put`` is atomic:
a reader sees the whole object or nothing, never a torn write.
"""

from __future__ import annotations

from typing import Protocol

# Names that LocalDirStore uses for files being written; never valid in a key.
TEMP_PREFIX = ".elanus-tmp-"


def check_key(key: str) -> None:
    """ValueError unless ``key`` is ``/``-separated and relative, with no empty,
    ``.``, ``..`` or temporary-file components and no NUL: the same rules for every store."""
    if not key or key.startswith("/") or "\0" in key:
        raise ValueError(f"invalid object key {key!r}")
    for part in key.split("/"):
        if part in ("", ".", "..") or part.startswith(TEMP_PREFIX):
            raise ValueError(f"invalid object key {key!r}")


def check_prefix(prefix: str) -> None:
    """Prefixes follow the key rules, except that the last component may be partial or empty."""
    if prefix:
        check_key(prefix + "x" if prefix.endswith("/") else prefix)


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
