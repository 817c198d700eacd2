"""The harness's own checks: data loading, ground truth, recall, the FAISS
floor and the target verdicts. Run: .venv/bin/python -m pytest bench/tests -q
(no server, no Milvus Lite; a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench import cluster, datasets, report
from bench.systems import FaissFloor, IndexCase


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasets, "CACHE_DIR", tmp_path)


def _safetensors(name: str, dtype: str, array: np.ndarray, raw: bytes) -> bytes:
    header = {
        "__metadata__": {"format": "pt"},
        name: {"dtype": dtype, "shape": list(array.shape), "data_offsets": [0, len(raw)]},
    }
    encoded = json.dumps(header).encode()
    return len(encoded).to_bytes(8, "little") + encoded + raw


@pytest.mark.parametrize("dtype", ["F16", "F32"])
def test_safetensors_matrix_round_trip(dtype: str) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
    stored = array.astype(np.float16 if dtype == "F16" else np.float32)
    blob = _safetensors("embedding.weight", dtype, array, stored.tobytes())
    np.testing.assert_array_equal(datasets.read_safetensors_matrix(blob), array)


def test_safetensors_bf16_is_widened() -> None:
    array = np.array([[1.0, -2.5], [0.15625, 3.0]], dtype=np.float32)
    bf16 = (array.view(np.uint32) >> 16).astype("<u2")
    blob = _safetensors("w", "BF16", array, bf16.tobytes())
    np.testing.assert_array_equal(datasets.read_safetensors_matrix(blob), array)


def test_synthetic_is_seeded_and_tags_have_known_selectivity() -> None:
    first = datasets.synthetic(20_000, 16, nq=20, seed=3)
    again = datasets.synthetic(20_000, 16, nq=20, seed=3)
    np.testing.assert_array_equal(first.base, again.base)
    assert abs(datasets.filter_mask(first.tags, "10%").mean() - 0.10) < 0.01
    assert abs(datasets.filter_mask(first.tags, "1%").mean() - 0.01) < 0.003


@pytest.mark.parametrize("metric", ["L2", "COSINE"])
def test_ground_truth_is_brute_force_within_the_filter(metric: str) -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 8)).astype(np.float32)
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    mask = rng.random(500) < 0.3
    found = datasets.exact_topk(base, queries, metric, mask)
    for query, ids in zip(queries, found, strict=True):
        if metric == "L2":
            scores = -np.linalg.norm(base - query, axis=1)
        else:
            scores = datasets.normalized(base) @ datasets.normalized(query[None])[0]
        scores[~mask] = -np.inf
        assert set(ids) == set(np.argsort(-scores)[: datasets.TOP_K])


def test_recall_counts_true_neighbours_and_ignores_padding() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[1, 2, -1, -1], [8, 7, 6, 5]])
    assert datasets.recall_at_k(found, truth) == pytest.approx(6 / 8)


def test_faiss_floor_finds_neighbours_and_honours_filters() -> None:
    data = datasets.synthetic(5_000, 16, nq=50, seed=5, clusters=16)
    floor = FaissFloor()
    floor.insert(data)
    case = IndexCase("HNSW", {"M": 16, "efConstruction": 64}, "ef", (128,))
    floor.build(case, data)
    found = floor.search(data.queries, case, 128, "")
    assert datasets.recall_at_k(found, data.truth[""]) > 0.9
    filtered = floor.search(data.queries, case, 128, "10%")
    hits = filtered[filtered >= 0]
    assert len(hits) and datasets.filter_mask(data.tags, "10%")[hits].all()
    assert floor.memory()["peak_delta_mib"] >= 0


def _run(system: str, hnsw: list[tuple], insert_s: float | None, build_s: float) -> dict:
    points = [
        {
            "param": param,
            "filter": label,
            "recall": recall,
            "batch_qps": batch,
            "single_qps": single,
            "single_p50_ms": 1000 / single,
            "single_p99_ms": 2000 / single,
            "server_p50_ms": server,
            "index_p50_ms": None,
        }
        for param, label, recall, batch, single, server in hnsw
    ]
    index = {"kind": "HNSW", "build_params": {"M": 16}, "sweep_key": "ef"}
    return {
        "system": system,
        "dataset": "synthetic-1k-8d",
        "rows": 1000,
        "insert_s": insert_s,
        "indexes": [{**index, "build_s": build_s, "load_s": 0.1, "points": points}],
    }


def test_targets_compare_at_the_first_ef_reaching_the_recall_goal() -> None:
    runs = [
        _run(
            "faiss", [(16, "", 0.90, 1000, 10000, None), (32, "", 0.97, 800, 8000, None)], None, 1
        ),
        _run(
            "elanus",
            [
                (16, "", 0.90, 900, 500, 0.9),
                (32, "", 0.97, 500, 400, 1.5),
                (32, "1%", 1.0, 600, 450, 1.2),
            ],
            1.0,
            1.1,
        ),
        _run("milvus-lite", [(16, "", 0.91, 100, 30, None), (32, "", 0.96, 90, 20, None)], 4, 1),
    ]
    verdicts = {t.name.split(" (")[0]: t for t in report.targets(runs)}
    server = verdicts["HNSW single query, server-side"]
    # ef=32 is Elanus's first ef at recall >= 0.95; FAISS p50 there is 0.125 ms.
    assert "ef=32" in server.name and server.met is False  # 1.5 ms > 2 * 0.125 + 1
    assert verdicts["HNSW single query, end-to-end QPS vs Milvus Lite"].met is True  # 400/20
    assert verdicts["HNSW batch nq=100 vs FAISS, same index and params"].met is False  # 500/800
    assert verdicts["insert through pymilvus until flushed, vs Milvus Lite"].met is True  # 4x
    assert verdicts["HNSW index build vs FAISS"].met is True  # 1.1x
    assert verdicts["HNSW filtered 1% vs unfiltered"].met is True


def test_memory_table_lists_roles_in_order_with_their_total_and_infra_apart() -> None:
    run = _run("cluster", [(16, "", 0.9, 100, 10, None)], 1.0, 1.0)
    run["memory"] = {
        "peak_rss_mib": 600.0,
        "peak_rss_mib:querynode-0": 300.0,
        "peak_rss_mib:coordinator-0": 100.0,
        "peak_rss_mib:proxy-0": 200.0,
        "peak_rss_mib:infra:kafka": 400.0,
    }
    lines = report._memory_table([run])
    rows = [line for line in lines if line.startswith("| cluster")]
    assert [row.split(" | ")[1] for row in rows] == [
        "coordinator-0",
        "proxy-0",
        "querynode-0",
        "**all Elanus roles**",
        "kafka (infra)",
    ]
    assert "**600**" in rows[3]


def test_cluster_is_compared_with_standalone_at_standalones_chosen_ef() -> None:
    cluster = _run("cluster", [(16, "", 0.90, 400, 50, None), (32, "", 0.97, 300, 40, None)], 2, 3)
    standalone = _run("elanus", [(16, "", 0.90, 900, 500, 0.9), (32, "", 0.97, 600, 400, 1)], 1, 2)
    rows = {what: (c, s) for what, c, s in report.cluster_ratios([cluster, standalone])}
    assert rows["insert rows/s"] == (500, 1000)
    assert rows["HNSW build s"] == (3, 2)
    assert rows["HNSW ef=32 batch q/s"] == (300, 600)
    assert rows["HNSW ef=32 single p50 ms"] == (1000 / 40, 1000 / 400)


def test_cluster_pids_come_from_the_supervisors_record(tmp_path: Path) -> None:
    state = {
        "processes": [
            {"role": "coordinator", "index": 0, "port": 1, "pid": 11},
            {"role": "proxy", "index": 0, "port": 2, "pid": 12},
            {"role": "proxy", "index": 1, "port": 3, "pid": 0},
        ]
    }
    (tmp_path / "cluster.json").write_text(json.dumps(state))
    assert cluster.role_pids(tmp_path) == {"coordinator-0": 11, "proxy-0": 12}
    line = "kafka  running  pid 4242     rss   420 MiB  127.0.0.1:9092"
    match = cluster._INFRA_LINE.match(line)
    assert match is not None and match.groups() == ("kafka", "4242")
