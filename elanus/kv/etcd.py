"""The distributed metadata KV: :class:`MetaKV` on etcd v3 through python3-etcd3.

Every key lives under a namespace (``prefix``, default ``"elanus/"``) so that
several deployments or test runs can share one etcd; callers never see it.
Revisions are etcd's: one counter for the whole cluster, bumped by every write
that changes something, as in :class:`~elanus.kv.embedded.EmbeddedKV`.

Where this differs from the embedded store:

* Revisions are shared with every other namespace on the same etcd, so a key's
  next revision may jump by more than one. They still only increase.
* etcd refuses a transaction that touches one key twice, so :meth:`EtcdKV.txn`
  first reduces its operations to their net effect (the last operation on a key
  wins; a put after a prefix delete is cut out of the deleted range). The final
  state is the same; watchers see only the net events of that revision (no
  ``delete`` then ``put`` of the same key).
* Lease TTLs are whole seconds (rounded up) and etcd raises them to its minimum
  (about 2 s with the default election timeout); expiry is checked every 500 ms.
* A watch whose history was compacted raises :class:`RevisionCompacted` from
  :meth:`EtcdKV.watch_prefix` or, when compaction races the call, from the first
  :meth:`EtcdWatch.events`.
* An unreachable etcd raises ConnectionError (or TimeoutError after
  ``timeout_s``); a watch resumes by itself after an outage shorter than
  ``watch_resume_s``, from the revision after the last one it delivered.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import etcd3
import grpc
from etcd3 import etcdrpc, transactions
from etcd3.etcdrpc import kv_pb2
from etcd3.exceptions import ConnectionFailedError, ConnectionTimeoutError

from elanus.kv import (
    Compare,
    Delete,
    KeyValue,
    MetaKV,
    Put,
    RevisionCompacted,
    Watch,
    WatchEvent,
)

__all__ = ["EtcdKV", "EtcdWatch", "RevisionCompacted"]

log = logging.getLogger(__name__)

_MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # a large prefix scan must not hit gRPC's 4 MiB default
_WATCH_BATCH = 64  # queued responses one events() call merges
_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


def _range_end(start: bytes) -> bytes:
    """The exclusive end of "every key starting with ``start``" (``b"\\0"``: to the end)."""
    stem = start.rstrip(b"\xff")
    if not stem:
        return b"\0"
    return stem[:-1] + bytes([stem[-1] + 1])


def _in_range(key: bytes, start: bytes, end: bytes) -> bool:
    return start <= key and (end == b"\0" or key < end)


@contextmanager
def _translated(endpoint: str) -> Iterator[None]:
    """Raise etcd's errors as the exceptions :class:`EmbeddedKV` callers already handle."""
    try:
        yield
    except grpc.RpcError as error:
        code, details = error.code(), error.details() or ""
        if code == grpc.StatusCode.NOT_FOUND:
            raise LookupError(details) from None
        if code == grpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
            raise RevisionCompacted(details) from None
        if code in _RETRYABLE:
            raise ConnectionError(f"etcd at {endpoint}: {details}") from error
        raise
    except ConnectionFailedError as error:
        raise ConnectionError(f"etcd at {endpoint} is unavailable") from error
    except ConnectionTimeoutError as error:
        raise TimeoutError(f"etcd at {endpoint} did not answer in time") from error


@dataclass
class _NetEffect:
    """A transaction's operations reduced to what etcd accepts: each key touched once."""

    puts: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)  # key -> (value, lease)
    deletes: list[tuple[bytes, bytes]] = field(default_factory=list)  # [start, end) ranges

    def put(self, key: bytes, value: bytes, lease: int) -> None:
        self.puts.pop(key, None)  # re-insert: dicts keep the order of the final writes
        self.puts[key] = (value, lease)
        ranges: list[tuple[bytes, bytes]] = []
        for start, end in self.deletes:  # cut the key out of every range that covers it
            if not _in_range(key, start, end):
                ranges.append((start, end))
                continue
            if start < key:
                ranges.append((start, key))
            after = key + b"\0"
            if end == b"\0" or after < end:
                ranges.append((after, end))
        self.deletes = ranges

    def delete(self, start: bytes, end: bytes) -> None:
        self.puts = {k: v for k, v in self.puts.items() if not _in_range(k, start, end)}
        self.deletes.append((start, end))


class _WatchCall(Protocol):
    """A response-streaming gRPC call: the responses as they come, and cancel()."""

    def __iter__(self) -> Iterator[etcdrpc.WatchResponse]: ...

    def __next__(self) -> etcdrpc.WatchResponse: ...

    def cancel(self) -> bool: ...


class EtcdKV(MetaKV):
    """A :class:`MetaKV` backed by etcd at ``endpoint`` (``host:port``); thread-safe."""

    def __init__(
        self,
        endpoint: str,
        prefix: str = "elanus/",
        *,
        timeout_s: float = 10.0,
        watch_resume_s: float = 30.0,
    ) -> None:
        self.endpoint = endpoint.removeprefix("http://")
        host, _, port = self.endpoint.rpartition(":")
        self.namespace = prefix.encode()
        self.timeout_s = timeout_s
        self.watch_resume_s = watch_resume_s
        # time_retry=0: the library would otherwise refuse every call for 300 s after
        # one failed one, which turns a brief etcd restart into a five-minute outage.
        options = [
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
            # Reconnect within a second of etcd coming back, not after gRPC's
            # default backoff that grows to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        endpoint_ = etcd3.Endpoint(host, int(port), secure=False, time_retry=0.0, opts=options)
        self._client = etcd3.MultiEndpointEtcd3Client([endpoint_], timeout=timeout_s)
        self._watches: set[EtcdWatch] = set()
        self._lock = threading.Lock()
        self._closed = False

    # -- keys ----------------------------------------------------------------

    def _key(self, key: str) -> bytes:
        return self.namespace + key.encode()

    def _user_key(self, raw: bytes) -> str:
        return raw[len(self.namespace) :].decode()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("EtcdKV is closed")

    # -- reads ---------------------------------------------------------------

    def get(self, key: str) -> KeyValue | None:
        self._check_open()
        with _translated(self.endpoint):
            response = self._client.get_response(self._key(key))
        if not response.kvs:
            return None
        item = response.kvs[0]
        return KeyValue(key, item.value, item.mod_revision)

    def get_prefix(self, prefix: str) -> list[KeyValue]:
        """All keys starting with ``prefix`` (every key of the namespace for ``""``), by key."""
        self._check_open()
        start = self._key(prefix)
        with _translated(self.endpoint):
            response = self._client.get_range_response(
                start, _range_end(start), sort_order="ascend", sort_target="key"
            )
        return [KeyValue(self._user_key(i.key), i.value, i.mod_revision) for i in response.kvs]

    # -- writes --------------------------------------------------------------

    def put(self, key: str, value: bytes, lease: int | None = None) -> int:
        """Write one key; returns the new revision. LookupError if ``lease`` is gone."""
        self._check_open()
        with _translated(self.endpoint):
            response = self._client.put(self._key(key), bytes(value), lease=lease or 0)
        result: int = response.header.revision
        return result

    def delete(self, key: str, prefix: bool = False) -> int:
        """Delete ``key`` (or every key starting with it); returns how many went."""
        self._check_open()
        start = self._key(key)
        end = _range_end(start) if prefix else start + b"\0"
        with _translated(self.endpoint):
            _, responses = self._client.transaction(
                compare=[], success=[transactions.Delete(start, range_end=end)], failure=[]
            )
        result: int = responses[0].response_delete_range.deleted
        return result

    def txn(self, compares: Sequence[Compare], success: Sequence[Put | Delete]) -> bool:
        """If every compare holds, apply the net effect of ``success`` as one revision.

        ``Compare(key, r)`` holds when the key's mod revision is ``r``; ``r == 0``
        means absent (version 0). A put under a missing lease raises LookupError
        and applies nothing.
        """
        self._check_open()
        guards = []
        for compare in compares:
            raw = self._key(compare.key)
            if compare.revision == 0:
                guards.append(transactions.Version(raw) == 0)
            else:
                guards.append(transactions.Mod(raw) == compare.revision)
        effect = _NetEffect()
        for operation in success:
            raw = self._key(operation.key)
            if isinstance(operation, Put):
                effect.put(raw, bytes(operation.value), operation.lease or 0)
            elif operation.prefix:
                effect.delete(raw, _range_end(raw))
            else:
                effect.delete(raw, raw + b"\0")
        operations: list[transactions.Put | transactions.Delete] = [
            transactions.Delete(start, range_end=end) for start, end in effect.deletes
        ]
        operations += [transactions.Put(k, v, lease=lease) for k, (v, lease) in effect.puts.items()]
        with _translated(self.endpoint):
            succeeded, _ = self._client.transaction(compare=guards, success=operations, failure=[])
        return bool(succeeded)

    # -- watches -------------------------------------------------------------

    def watch_prefix(self, prefix: str, start_revision: int | None = None) -> EtcdWatch:
        """Events for keys under ``prefix`` with revision strictly greater than ``start_revision``.

        ``None``: only events after the call returns (the watch exists on the
        server by then). etcd's own start revision is inclusive, hence the +1.
        """
        self._check_open()
        start = self._key(prefix)
        end = _range_end(start)
        if start_revision is not None:
            self._check_not_compacted(start, end, start_revision + 1)
        watch = EtcdWatch(self, start, end, start_revision)
        with self._lock:
            if self._closed:
                watch.cancel()
                self._check_open()
            self._watches.add(watch)
        return watch

    def _check_not_compacted(self, start: bytes, end: bytes, revision: int) -> None:
        """Raise RevisionCompacted now, as the embedded store does, rather than on events()."""
        try:
            with _translated(self.endpoint):
                self._client.get_range_response(start, end, revision=revision, count_only=True)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.OUT_OF_RANGE:  # a future revision is fine
                raise

    def _open_watch_stream(self, requests: Iterator[etcdrpc.WatchRequest]) -> _WatchCall:
        stub = etcdrpc.WatchStub(self._client.channel)
        result: _WatchCall = stub.Watch(requests, metadata=self._client.metadata)
        return result

    def _forget(self, watch: EtcdWatch) -> None:
        with self._lock:
            self._watches.discard(watch)

    # -- leases --------------------------------------------------------------

    def grant_lease(self, ttl_s: float) -> int:
        """A lease of ``ceil(ttl_s)`` seconds (etcd may raise it to its minimum)."""
        if ttl_s <= 0:
            raise ValueError(f"lease TTL must be positive, got {ttl_s}")
        self._check_open()
        with _translated(self.endpoint):
            result: int = self._client.lease(math.ceil(ttl_s)).id
            return result

    def refresh_lease(self, lease: int) -> None:
        """Restart the lease's TTL; LookupError if it expired or never was."""
        self._check_open()
        with _translated(self.endpoint):
            responses = list(self._client.refresh_lease(lease))
        if not responses or responses[0].TTL <= 0:
            raise LookupError(f"lease {lease} not found or expired")

    def revoke_lease(self, lease: int) -> None:
        """Delete the lease and its keys now. No error if it is already gone."""
        self._check_open()
        try:
            with _translated(self.endpoint):
                self._client.revoke_lease(lease)
        except LookupError:
            pass

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Cancel every watch (waiting ones raise RuntimeError) and close the channel."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            watches, self._watches = list(self._watches), set()
        for watch in watches:
            watch._stop(RuntimeError("EtcdKV is closed"))
        self._client.close()


class EtcdWatch(Watch):
    """A pull-style watch: one gRPC watch stream per watch, read by a daemon thread.

    Why not the library's shared Watcher: when its stream ends (an etcd restart,
    a close) its cleanup fails with a NameError before telling any callback, so
    a watch would stall silently. Here a broken stream is reopened from the
    revision after the last delivered one, so events arrive in revision order,
    each exactly once, until ``cancel``.
    """

    def __init__(self, kv: EtcdKV, start: bytes, end: bytes, after: int | None) -> None:
        self._kv = kv
        self._start, self._end = start, end
        self._after = after  # the last revision delivered (exclusive start of the stream)
        self._queue: queue.Queue[list[WatchEvent] | BaseException] = queue.Queue()
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._created = threading.Event()
        self._lock = threading.Lock()
        self._call: _WatchCall | None = None
        self._requests: queue.Queue[etcdrpc.WatchRequest | None] | None = None
        self._connected = False  # the current stream was created by the server
        self._reader = threading.Thread(target=self._run, name="etcd-watch", daemon=True)
        self._reader.start()
        if not self._created.wait(kv.timeout_s):
            self._stop(None)
            raise TimeoutError(f"etcd at {kv.endpoint} did not create the watch in time")
        if self._error is not None:
            self._stop(None)
            raise self._error

    def events(self, timeout_s: float = 0.1) -> list[WatchEvent]:
        """Next events in revision order; ``[]`` after ``timeout_s`` or once cancelled.

        Raises RevisionCompacted, ConnectionError (outage longer than the resume
        window) or RuntimeError (the store closed); the error stays.
        """
        if self._error is None and self._stopped.is_set():
            return []
        if self._error is not None:
            raise self._error
        try:
            item = self._queue.get(timeout=max(timeout_s, 0.0))
        except queue.Empty:
            return []
        if self._stopped.is_set():  # woken by cancel or close
            if self._error is not None:
                raise self._error
            return []
        items = [item]
        while len(items) < _WATCH_BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        received: list[WatchEvent] = []
        for item in items:  # an error is always the last thing the reader queues
            if isinstance(item, BaseException):
                self._error = item
                if received:  # deliver what came before the error; raise next time
                    return received
                raise item
            received.extend(item)
        return received

    def cancel(self) -> None:
        """Stop the watch; later ``events`` calls return ``[]``. Idempotent."""
        self._stop(None)
        self._kv._forget(self)

    def _stop(self, error: BaseException | None) -> None:
        if error is not None and self._error is None:
            self._error = error
        self._stopped.set()
        self._queue.put([])  # wake a waiting events() call
        with self._lock:
            call, requests = self._call, self._requests
        if requests is not None:
            requests.put(None)
        if call is not None:
            call.cancel()

    def _fail(self, error: BaseException) -> None:
        self._queue.put(error)
        if not self._created.is_set():
            self._error = error
            self._created.set()

    # -- the reader thread ---------------------------------------------------

    def _run(self) -> None:
        backoff_s, outage = 0.05, 0.0
        while not self._stopped.is_set():
            self._connected = False
            try:
                self._stream()
                return
            except grpc.RpcError as error:
                if self._stopped.is_set():
                    return
                if self._connected:  # it worked for a while: a fresh outage
                    backoff_s, outage = 0.05, 0.0
                if error.code() not in _RETRYABLE or outage >= self._kv.watch_resume_s:
                    self._fail(ConnectionError(f"etcd watch failed: {error.details()}"))
                    return
                if outage == 0:
                    log.warning("etcd watch stream broke (%s); resuming", error.code())
            except _WatchEnded as ended:
                self._fail(ended.error)
                return
            self._stopped.wait(backoff_s)
            outage += backoff_s
            backoff_s = min(backoff_s * 2, 1.0)

    def _stream(self) -> None:
        """Read one watch stream until it breaks (RpcError) or etcd ends the watch."""
        create = etcdrpc.WatchCreateRequest(key=self._start, range_end=self._end)
        if self._after is not None:
            create.start_revision = self._after + 1
        requests: queue.Queue[etcdrpc.WatchRequest | None] = queue.Queue()
        requests.put(etcdrpc.WatchRequest(create_request=create))
        call = self._kv._open_watch_stream(_until_none(requests))
        with self._lock:
            self._call, self._requests = call, requests
        if self._stopped.is_set():
            call.cancel()
        try:
            self._read(call)
        finally:
            requests.put(None)  # end gRPC's thread that sends this stream's requests

    def _read(self, call: Iterator[etcdrpc.WatchResponse]) -> None:
        for response in call:
            if response.compact_revision:
                raise _WatchEnded(
                    RevisionCompacted(f"history before revision {response.compact_revision}")
                )
            if response.canceled:
                raise _WatchEnded(RuntimeError(f"etcd ended the watch: {response.cancel_reason}"))
            if response.created:
                self._connected = True
                if self._after is None:
                    self._after = response.header.revision
                self._created.set()
            if response.events:
                events = [self._event(event) for event in response.events]
                self._after = events[-1].revision
                self._queue.put(events)
        raise _WatchEnded(ConnectionError("etcd closed the watch stream"))

    def _event(self, event: kv_pb2.Event) -> WatchEvent:
        key = self._kv._user_key(event.kv.key)
        if event.type == kv_pb2.Event.DELETE:
            return WatchEvent("delete", key, b"", event.kv.mod_revision)
        return WatchEvent("put", key, event.kv.value, event.kv.mod_revision)


class _WatchEnded(Exception):
    """The server ended the watch for good; ``error`` is what events() raises."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _until_none(
    requests: queue.Queue[etcdrpc.WatchRequest | None],
) -> Iterator[etcdrpc.WatchRequest]:
    """The request side of a watch stream: stays open until ``None`` is queued."""
    while (request := requests.get()) is not None:
        yield request
