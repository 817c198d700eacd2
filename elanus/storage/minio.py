"""The distributed object store: :class:`ObjectStore` on MinIO or any S3 (minio-py).

Key ``a/b/c`` is the object ``prefix + "a/b/c"`` in ``bucket``; the prefix lets
several deployments or test runs share a bucket. S3 gives what the interface
asks: a PUT (single or multipart) becomes visible whole or not at all, and is
durable once acknowledged.

Keys follow :class:`~elanus.storage.local_dir.LocalDirStore`'s rules (ValueError
otherwise), so a key that works on one store works on the other. Where this
differs from the local directory:

* A put that makes a key also the "directory" of other keys (``a`` beside
  ``a/b``) is not refused, as the local directory refuses it; but a single-drive
  MinIO then lists only ``a`` (both stay readable). Elanus's layout never does
  this; do not start.
* Reads and writes go over HTTP: an unreachable server raises ConnectionError
  after urllib3's bounded retries.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from elanus.storage import ObjectStore, check_key, check_prefix

__all__ = ["MinioStore"]

_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
_BUCKET_RACE_CODES = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


class MinioStore(ObjectStore):
    """An :class:`ObjectStore` in ``bucket`` at ``endpoint`` (``host:port``); thread-safe.

    Creates the bucket if it is missing. ``prefix`` (normalised to end in ``/``)
    is prepended to every key and never shown to callers.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        prefix: str = "",
        secure: bool = False,
        *,
        timeout_s: float = 60.0,
        max_connections: int = 16,
    ) -> None:
        self.endpoint = endpoint.removeprefix("http://").removeprefix("https://")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        if self.prefix:
            check_prefix(self.prefix)
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout_s, 10.0), read=timeout_s),
            maxsize=max_connections,
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        self._client = Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            http_client=self._http,
        )
        self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        with _translated():
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as error:
                if error.code not in _BUCKET_RACE_CODES:  # another client made it meanwhile
                    raise

    def _name(self, key: str) -> str:
        check_key(key)
        return self.prefix + key

    # -- writes --------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any old object; atomic and durable on return."""
        name = self._name(key)
        payload = bytes(data)
        with _translated():
            self._client.put_object(self.bucket, name, io.BytesIO(payload), len(payload))

    def delete(self, key: str) -> None:
        """Remove the object; no error if it is absent (S3 DELETE is idempotent)."""
        name = self._name(key)
        with _translated():
            self._client.remove_object(self.bucket, name)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix``; returns how many there were."""
        keys = self.list(prefix)
        if not keys:
            return 0
        doomed = (DeleteObject(self.prefix + key) for key in keys)
        with _translated():
            errors = list(self._client.remove_objects(self.bucket, doomed))
        failed = [error for error in errors if error.code not in _MISSING_CODES]
        if failed:
            raise OSError(f"could not delete {len(failed)} objects, first: {failed[0]}")
        return len(keys)

    # -- reads ---------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """The object's bytes; KeyError if there is none."""
        name = self._name(key)
        with _translated(key):
            response = self._client.get_object(self.bucket, name)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except KeyError:
            return False
        return True

    def size(self, key: str) -> int:
        """The object's length in bytes; KeyError if there is none."""
        name = self._name(key)
        with _translated(key):
            stat = self._client.stat_object(self.bucket, name)
        assert stat.size is not None
        return stat.size

    def list(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix`` (every key for ``""``), sorted."""
        check_prefix(prefix)
        start = len(self.prefix)
        with _translated():
            objects = self._client.list_objects(
                self.bucket, prefix=self.prefix + prefix, recursive=True
            )
            keys = [obj.object_name[start:] for obj in objects if obj.object_name]
        return sorted(keys)

    def close(self) -> None:
        """Release pooled connections; the store must not be used afterwards."""
        self._http.clear()


@contextmanager
def _translated(key: str | None = None) -> Iterator[None]:
    """A missing object is KeyError (as for a dict or LocalDirStore); no server, ConnectionError."""
    try:
        yield
    except S3Error as error:
        if key is not None and error.code in _MISSING_CODES:
            raise KeyError(key) from None
        raise
    except urllib3.exceptions.MaxRetryError as error:
        raise ConnectionError(f"object store unreachable: {error.reason}") from error
