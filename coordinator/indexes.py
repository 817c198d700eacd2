"""Index metadata and build tasks.

An index is declared once per vector field; every flushed segment of the
collection then needs one build. What is built is recorded on the segment
(``SegmentInfo.index_files``), so the set of missing builds can always be
recomputed from the KV after a restart: nothing about tasks needs persisting.
"""

from __future__ import annotations

import dataclasses
import logging
import threading

from elanus import errors
from elanus.kv import MetaKV
from elanus.meta import IndexInfo, SegmentInfo, from_json, to_json
from elanus.properties import altered

log = logging.getLogger(__name__)


def index_key(collection_id: int, index_id: int) -> str:
    return f"indexes/{collection_id}/{index_id}"


class IndexCatalog:
    def __init__(self, kv: MetaKV) -> None:
        self._kv = kv
        self._lock = threading.RLock()
        self._indexes: dict[int, IndexInfo] = {}
        self._failures: dict[tuple[int, int], str] = {}  # (index_id, segment_id) -> reason
        self._in_flight: set[tuple[int, int]] = set()
        for item in kv.get_prefix("indexes/"):
            info = from_json(IndexInfo, item.value)
            self._indexes[info.index_id] = info

    def of_collection(self, collection_id: int) -> list[IndexInfo]:
        with self._lock:
            return sorted(
                (i for i in self._indexes.values() if i.collection_id == collection_id),
                key=lambda i: i.index_id,
            )

    def find(
        self, collection_id: int, field_name: str = "", index_name: str = ""
    ) -> list[IndexInfo]:
        return [
            i
            for i in self.of_collection(collection_id)
            if (not field_name or i.field_name == field_name)
            and (not index_name or i.index_name == index_name)
        ]

    def add(self, info: IndexInfo) -> tuple[IndexInfo, bool]:
        """Declare an index; an identical one already there is returned unchanged."""
        with self._lock:
            for existing in self.of_collection(info.collection_id):
                same_target = existing.field_name == info.field_name
                if same_target and _same_definition(existing, info):
                    return existing, False
                if same_target or existing.index_name == info.index_name:
                    raise errors.ParameterInvalid(
                        "at most one distinct index is allowed per field; "
                        f"field {existing.field_name!r} already has index {existing.index_name!r} "
                        f"({existing.index_type}, {existing.metric_type})"
                    )
            self._kv.put(index_key(info.collection_id, info.index_id), to_json(info))
            self._indexes[info.index_id] = info
            return info, True

    def alter(
        self, info: IndexInfo, properties: dict[str, str], delete_keys: tuple[str, ...]
    ) -> IndexInfo:
        """Set and remove properties shown with the user's params (checked by the caller)."""
        with self._lock:
            current = self._indexes.get(info.index_id, info)
            params = altered(current.user_params, properties, delete_keys)
            updated = dataclasses.replace(current, user_params=params)
            self._kv.put(index_key(info.collection_id, info.index_id), to_json(updated))
            self._indexes[info.index_id] = updated
            return updated

    def remove(self, info: IndexInfo) -> None:
        with self._lock:
            self._kv.delete(index_key(info.collection_id, info.index_id))
            self._indexes.pop(info.index_id, None)
            self._failures = {k: v for k, v in self._failures.items() if k[0] != info.index_id}

    def drop_collection(self, collection_id: int) -> None:
        """Every index of the collection, in one KV write (a crash leaves all or none)."""
        with self._lock:
            dropped = {i.index_id for i in self.of_collection(collection_id)}
            self._kv.delete(f"indexes/{collection_id}/", prefix=True)
            self._indexes = {k: v for k, v in self._indexes.items() if k not in dropped}
            self._failures = {k: v for k, v in self._failures.items() if k[0] not in dropped}

    def missing_builds(self, segment: SegmentInfo) -> list[IndexInfo]:
        """Indexes this flushed segment still needs, not already being built or failed."""
        with self._lock:
            return [
                i
                for i in self.of_collection(segment.collection_id)
                if i.index_id not in segment.index_files
                and (i.index_id, segment.segment_id) not in self._in_flight
                and (i.index_id, segment.segment_id) not in self._failures
            ]

    def started(self, index_id: int, segment_id: int) -> None:
        with self._lock:
            self._in_flight.add((index_id, segment_id))

    def finished(self, index_id: int, segment_id: int, failure: str = "") -> None:
        with self._lock:
            self._in_flight.discard((index_id, segment_id))
            if failure:
                self._failures[(index_id, segment_id)] = failure

    def failure(self, index_id: int) -> str:
        with self._lock:
            for (failed_index, _), reason in self._failures.items():
                if failed_index == index_id:
                    return reason
        return ""


def _same_definition(a: IndexInfo, b: IndexInfo) -> bool:
    return (
        a.index_name == b.index_name
        and a.index_type == b.index_type
        and a.metric_type == b.metric_type
        and a.params == b.params
    )
