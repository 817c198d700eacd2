"""The systems under test behind one small interface: raw FAISS in this
process (the floor), and a pymilvus-driven server (Elanus standalone or
Milvus Lite) in its own process.

Both build the same index with the same parameters and answer the same
queries; :mod:`bench.workload` times them identically.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
from pymilvus import Collection, DataType, MilvusClient, connections

from .datasets import FILTERS, TOP_K, Dataset, filter_mask, normalized
from .servers import ServerHandle, proc_memory_kib

# The ORM's columnar insert is the cheapest client path in pymilvus 3.0 (pinned in
# requirements.txt); its announced removal in 3.1 is not news to repeat per batch.
warnings.filterwarnings("ignore", message=".*ORM-style PyMilvus API.*")

INSERT_BATCH = 10_000
INDEX_WAIT_S = 3600.0


@dataclass(frozen=True)
class IndexCase:
    """One index to build and the search parameter to sweep over it."""

    kind: str  # "HNSW" or "IVF_FLAT"
    build_params: dict[str, int]
    sweep_key: str  # "ef" or "nprobe"
    sweep: tuple[int, ...]


@dataclass
class BuildTimes:
    build_s: float  # create_index until the server reports every row indexed
    load_s: float  # load_collection until loaded (Milvus Lite builds here)


class System(Protocol):
    name: str

    def insert(self, data: Dataset) -> float | None: ...
    def build(self, case: IndexCase, data: Dataset) -> BuildTimes: ...
    def search(
        self, queries: np.ndarray, case: IndexCase, value: int, filter_label: str
    ) -> np.ndarray: ...
    def memory(self) -> dict[str, float]: ...
    def close(self) -> None: ...


@dataclass
class FaissFloor:
    """FAISS in the harness process: the same index types Elanus builds."""

    name: str = "faiss"
    _data: Dataset | None = None
    _index: Any = None
    _selectors: dict[str, Any] = field(default_factory=dict)
    _baseline_kib: int = 0
    _peak_delta_kib: int = 0

    def insert(self, data: Dataset) -> float | None:
        self._data = data
        self._baseline_kib = proc_memory_kib(os.getpid())["VmRSS"]
        self._selectors = {}
        for label in FILTERS:
            bitmap = np.packbits(filter_mask(data.tags, label), bitorder="little")
            selector = faiss.IDSelectorBitmap(data.size, faiss.swig_ptr(bitmap))
            self._selectors[label] = (selector, bitmap)  # the bitmap must outlive the selector
        return None

    def build(self, case: IndexCase, data: Dataset) -> BuildTimes:
        self._index = None
        _reset_peak_rss()
        started = time.perf_counter()
        vectors = normalized(data.base) if data.metric == "COSINE" else data.base
        metric = faiss.METRIC_L2 if data.metric == "L2" else faiss.METRIC_INNER_PRODUCT
        if case.kind == "HNSW":
            index = faiss.IndexHNSWFlat(data.dim, case.build_params["M"], metric)
            index.hnsw.efConstruction = case.build_params["efConstruction"]
        else:
            index = faiss.index_factory(data.dim, f"IVF{case.build_params['nlist']},Flat", metric)
            index.train(vectors)
        index.add(vectors)
        elapsed = time.perf_counter() - started
        self._index = index
        peak = proc_memory_kib(os.getpid())["VmHWM"] - self._baseline_kib
        self._peak_delta_kib = max(self._peak_delta_kib, peak)
        return BuildTimes(build_s=elapsed, load_s=0.0)

    def search(
        self, queries: np.ndarray, case: IndexCase, value: int, filter_label: str
    ) -> np.ndarray:
        assert self._data is not None
        if self._data.metric == "COSINE":
            queries = normalized(queries)
        selector = self._selectors[filter_label][0] if filter_label else None
        if case.kind == "HNSW":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=value)
        else:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=value)
        _, found = self._index.search(queries, TOP_K, params=params)
        return found

    def memory(self) -> dict[str, float]:
        return {"peak_delta_mib": self._peak_delta_kib / 1024}

    def close(self) -> None:
        self._index = None


@dataclass
class MilvusServerSystem:
    """A server reached only through pymilvus, as a user would."""

    name: str
    server: ServerHandle
    client: MilvusClient = field(init=False)
    collection: str = field(default_factory=lambda: f"bench_{uuid.uuid4().hex[:8]}")
    _alias: str = field(default_factory=lambda: f"bench_{uuid.uuid4().hex[:8]}")
    _data: Dataset | None = None
    flush_s: float | None = None  # of the insert phase: from the last insert's ack to flushed

    def __post_init__(self) -> None:
        self.client = MilvusClient(self.server.uri, timeout=600.0)
        connections.connect(alias=self._alias, uri=self.server.uri, timeout=600.0)

    def insert(self, data: Dataset) -> float | None:
        """Rows/s bench: 10k-row columnar inserts, then flush; returns seconds."""
        self._data = data
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=data.dim)
        schema.add_field("tag", DataType.INT64)
        self.client.create_collection(self.collection, schema=schema, consistency_level="Bounded")
        orm = Collection(self.collection, using=self._alias)
        ids = np.arange(data.size, dtype=np.int64)
        started = time.perf_counter()
        for start in range(0, data.size, INSERT_BATCH):
            stop = min(start + INSERT_BATCH, data.size)
            orm.insert([ids[start:stop], data.base[start:stop], data.tags[start:stop]])
        acked = time.perf_counter()
        self.client.flush(self.collection)
        finished = time.perf_counter()
        self.flush_s = finished - acked
        return finished - started

    def build(self, case: IndexCase, data: Dataset) -> BuildTimes:
        if self.client.list_indexes(self.collection):
            self.client.release_collection(self.collection)
            self.client.drop_index(self.collection, "vec")
        params = self.client.prepare_index_params()
        params.add_index(
            field_name="vec",
            index_name="vec",
            index_type=case.kind,
            metric_type=data.metric,
            params=dict(case.build_params),
        )
        started = time.perf_counter()
        self.client.create_index(self.collection, params)
        self._wait_indexed(data.size)
        built = time.perf_counter()
        self.client.load_collection(self.collection)
        loaded = time.perf_counter()
        counted = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        if int(counted[0]["count(*)"]) != data.size:
            raise RuntimeError(f"{self.name}: count(*) = {counted[0]} after load, not {data.size}")
        return BuildTimes(build_s=built - started, load_s=loaded - built)

    def _wait_indexed(self, rows: int) -> None:
        deadline = time.monotonic() + INDEX_WAIT_S
        while time.monotonic() < deadline:
            info = self.client.describe_index(self.collection, "vec")
            state = str(info.get("state", ""))
            if int(info.get("indexed_rows", 0)) >= rows and "Finished" in state:
                return
            if "Failed" in state:
                raise RuntimeError(f"{self.name}: index build failed: {info}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: index not built within {INDEX_WAIT_S}s")

    def search(
        self, queries: np.ndarray, case: IndexCase, value: int, filter_label: str
    ) -> np.ndarray:
        assert self._data is not None
        hits = self.client.search(
            self.collection,
            data=list(queries),
            limit=TOP_K,
            anns_field="vec",
            filter=FILTERS[filter_label] if filter_label else "",
            search_params={"metric_type": self._data.metric, "params": {case.sweep_key: value}},
        )
        found = np.full((len(queries), TOP_K), -1, dtype=np.int64)
        for row, per_query in enumerate(hits):
            ids = [hit["id"] for hit in per_query]
            found[row, : len(ids)] = ids
        return found

    def memory(self) -> dict[str, float]:
        """Peak and current RSS summed over the server's processes, and per process
        ("peak_rss_mib:proxy-0", ...; for the cluster also its "infra:kafka" etc.)."""
        kib = self.server.memory_kib()
        found = {"peak_rss_mib": kib["VmHWM"] / 1024, "rss_mib": kib["VmRSS"] / 1024}
        for name, values in self.server.role_memory_kib().items():
            if "VmHWM" in values:
                found[f"peak_rss_mib:{name}"] = values["VmHWM"] / 1024
        return found

    def close(self) -> None:
        try:
            self.client.drop_collection(self.collection)
        finally:
            self.client.close()
            connections.disconnect(self._alias)


def _reset_peak_rss() -> None:
    """Reset this process's VmHWM to its current RSS (Linux clear_refs "5")."""
    Path("/proc/self/clear_refs").write_text("5")
