"""Hold proto/legacy/v1 (the Milvus 1.x API) against the descriptors pymilvus 1.1.2 ships.

pymilvus 1.1.2 (module ``milvus``) lives in its own venv, ``.venv-pymilvus1``
(tests/run creates it), because it needs protobuf 3.20 and the pure-Python
protobuf implementation; each side is dumped by descriptor_dump.py in its own
interpreter and only the JSON meets here, as in test_wire_compat.py.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_wire_compat import incompatibilities

REPO_ROOT = Path(__file__).resolve().parents[3]
DUMP_SCRIPT = Path(__file__).with_name("descriptor_dump.py")
CLIENT1_PYTHON = Path(
    os.environ.get("ELANUS_PYMILVUS1_PYTHON", REPO_ROOT / ".venv-pymilvus1" / "bin" / "python")
)

OUR_MODULES = ["proto.legacy.v1.status_pb2", "proto.legacy.v1.milvus_pb2"]
PYMILVUS1_MODULES = ["milvus.grpc_gen.status_pb2", "milvus.grpc_gen.milvus_pb2"]
SERVICE = "milvus.grpc.MilvusService"

# The RPCs issue 16 names (1.x without the hybrid collections): each must be declared.
_SERVED_RPC_TEXT = """
    CreateCollection HasCollection DescribeCollection CountCollection ShowCollections
    ShowCollectionInfo DropCollection CreateIndex DescribeIndex DropIndex CreatePartition
    HasPartition ShowPartitions DropPartition Insert GetVectorsByID GetVectorIDs Search
    SearchByID SearchInFiles Cmd DeleteByID PreloadCollection ReleaseCollection
    ReloadSegments Flush Compact
"""
SERVED_RPCS = _SERVED_RPC_TEXT.split()


def _dump(python: Path, modules: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(DUMP_SCRIPT), *modules],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return _dump(Path(sys.executable), OUR_MODULES, {"PYTHONPATH": str(REPO_ROOT)})


@pytest.fixture(scope="module")
def theirs() -> dict[str, Any]:
    if not CLIENT1_PYTHON.exists():
        pytest.skip(f"{CLIENT1_PYTHON} is missing (tests/run creates .venv-pymilvus1)")
    # Run outside the repository's path: pymilvus 1.1.2 only, nothing of ours.
    env = {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python", "PYTHONPATH": ""}
    return _dump(CLIENT1_PYTHON, PYMILVUS1_MODULES, env)


def test_every_declaration_matches_pymilvus1(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert incompatibilities(ours, theirs) == []


def test_everything_pymilvus1_declares_is_declared(
    ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    # We declare the whole 1.x API (the hybrid part only to refuse it clearly).
    assert sorted(theirs["messages"]) == sorted(ours["messages"])
    for name, message in theirs["messages"].items():
        assert sorted(message["fields"]) == sorted(ours["messages"][name]["fields"]), name
    assert theirs["enums"] == ours["enums"]
    assert theirs["services"] == ours["services"]


def test_served_rpcs_are_declared(ours: dict[str, Any]) -> None:
    assert [rpc for rpc in SERVED_RPCS if rpc not in ours["services"][SERVICE]] == []


def test_comparison_catches_drift(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    drifted = copy.deepcopy(ours)
    drifted["messages"]["milvus.grpc.DeleteByIDParam"]["fields"]["partition_tag"]["number"] = 2
    drifted["enums"]["milvus.grpc.ErrorCode"]["ILLEGAL_DIMENSION"] = 6
    drifted["services"][SERVICE]["Search"]["output"] = "milvus.grpc.VectorIds"
    assert len(incompatibilities(drifted, theirs)) == 3
