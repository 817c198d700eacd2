"""Hold proto/legacy/v0 (the Milvus 0.x API) against the descriptors pymilvus 0.2.7 ships.

pymilvus 0.2.7 (module ``milvus``) lives in its own venv, ``.venv-pymilvus0``
(tests/run creates it), like pymilvus 1.1.2 in test_legacy_wire_compat.py. Our
file's package is ``milvus.grpc.v0`` where the client's is ``milvus.grpc`` (so
that it and proto/legacy/v1 share one descriptor pool; package and message
names are not on the wire): the comparison maps our names onto the client's.
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
CLIENT0_PYTHON = Path(
    os.environ.get("ELANUS_PYMILVUS0_PYTHON", REPO_ROOT / ".venv-pymilvus0" / "bin" / "python")
)

OUR_MODULES = ["proto.legacy.v0.status_pb2", "proto.legacy.v0.milvus_pb2"]
PYMILVUS0_MODULES = ["milvus.grpc_gen.status_pb2", "milvus.grpc_gen.milvus_pb2"]
OUR_PACKAGE = "milvus.grpc.v0."
WIRE_PACKAGE = "milvus.grpc."
SERVICE = "milvus.grpc.MilvusService"

_SERVED_RPC_TEXT = """
    CreateTable HasTable DescribeTable CountTable ShowTables DropTable CreateIndex
    DescribeIndex DropIndex CreatePartition ShowPartitions DropPartition Insert Search
    SearchInFiles Cmd DeleteByDate PreloadTable
"""
SERVED_RPCS = _SERVED_RPC_TEXT.split()


def _rename(value: Any) -> Any:
    """``value`` with every milvus.grpc.v0 name spelled as on the wire."""
    if isinstance(value, str) and value.startswith(OUR_PACKAGE):
        return WIRE_PACKAGE + value.removeprefix(OUR_PACKAGE)
    if isinstance(value, dict):
        return {_rename(key): _rename(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rename(item) for item in value]
    return value


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
    dumped: dict[str, Any] = json.loads(result.stdout)
    return dumped


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    dumped: dict[str, Any] = _rename(
        _dump(Path(sys.executable), OUR_MODULES, {"PYTHONPATH": str(REPO_ROOT)})
    )
    return dumped


@pytest.fixture(scope="module")
def theirs() -> dict[str, Any]:
    if not CLIENT0_PYTHON.exists():
        pytest.skip(f"{CLIENT0_PYTHON} is missing (tests/run creates .venv-pymilvus0)")
    env = {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python", "PYTHONPATH": ""}
    return _dump(CLIENT0_PYTHON, PYMILVUS0_MODULES, env)


def test_every_declaration_matches_pymilvus0(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert incompatibilities(ours, theirs) == []


def test_everything_pymilvus0_declares_is_declared(
    ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    assert sorted(theirs["messages"]) == sorted(ours["messages"])
    for name, message in theirs["messages"].items():
        assert sorted(message["fields"]) == sorted(ours["messages"][name]["fields"]), name
    assert theirs["enums"] == ours["enums"]
    assert theirs["services"] == ours["services"]


def test_served_rpcs_are_declared(ours: dict[str, Any]) -> None:
    assert [rpc for rpc in SERVED_RPCS if rpc not in ours["services"][SERVICE]] == []


def test_coexists_with_the_1x_api() -> None:
    # Both generated APIs import into one process (the proxy serves both).
    code = "import proto.legacy.v1.milvus_pb2, proto.legacy.v0.milvus_pb2"
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        check=True,
        timeout=60,
    )


def test_comparison_catches_drift(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    drifted = copy.deepcopy(ours)
    drifted["messages"]["milvus.grpc.SearchParam"]["fields"]["nprobe"]["number"] = 4
    drifted["enums"]["milvus.grpc.ErrorCode"]["ILLEGAL_DIMENSION"] = 6
    drifted["services"][SERVICE]["Search"]["output"] = "milvus.grpc.VectorIds"
    assert len(incompatibilities(drifted, theirs)) == 3
