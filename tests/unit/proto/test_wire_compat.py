"""Hold every declaration in proto/public against the descriptors pymilvus ships.

pymilvus's generated modules and ours register the same full names
(milvus.proto.common.Status, ...), which one process's descriptor pool refuses,
so each side is dumped by descriptor_dump.py in its own interpreter and only the
JSON meets here. pymilvus is never imported in this process.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DUMP_SCRIPT = Path(__file__).with_name("descriptor_dump.py")

OUR_MODULES = [
    "proto.public.common_pb2",
    "proto.public.schema_pb2",
    "proto.public.milvus_pb2",
]
PYMILVUS_MODULES = [
    "pymilvus.grpc_gen.common_pb2",
    "pymilvus.grpc_gen.schema_pb2",
    "pymilvus.grpc_gen.milvus_pb2",
]
SERVICE = "milvus.proto.milvus.MilvusService"

# What pymilvus calls in its common workflows (MilvusClient quick start, ORM
# Collection/Partition/Index, hello_milvus, utility); each must be declared.
_WORKFLOW_RPC_TEXT = """
    Connect GetVersion CheckHealth CreateCollection DropCollection HasCollection
    DescribeCollection ShowCollections GetCollectionStatistics AlterCollection
    RenameCollection CreatePartition DropPartition HasPartition ShowPartitions
    GetPartitionStatistics LoadCollection ReleaseCollection LoadPartitions
    ReleasePartitions GetLoadingProgress GetLoadState GetReplicas CreateIndex
    DescribeIndex GetIndexState GetIndexBuildProgress DropIndex Insert Delete
    Upsert Flush GetFlushState FlushAll GetFlushAllState Search Query
    AllocTimestamp GetPersistentSegmentInfo GetQuerySegmentInfo ListDatabases
    DescribeDatabase GetComponentStates ManualCompaction GetCompactionState
    ListAliases DescribeAlias CreateAlias DropAlias
"""
WORKFLOW_RPCS = _WORKFLOW_RPC_TEXT.split()

# Enums we declare in full: a value pymilvus knows and we lack is drift.
FULL_ENUMS = [
    "milvus.proto.common.ErrorCode",
    "milvus.proto.common.MsgType",
    "milvus.proto.common.ConsistencyLevel",
    "milvus.proto.common.IndexState",
    "milvus.proto.common.LoadState",
    "milvus.proto.common.SegmentState",
    "milvus.proto.common.PlaceholderType",
    "milvus.proto.common.DslType",
    "milvus.proto.common.StateCode",
    "milvus.proto.schema.DataType",
]


def _dump(modules: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(DUMP_SCRIPT), *modules],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return _dump(OUR_MODULES)


@pytest.fixture(scope="module")
def theirs() -> dict[str, Any]:
    if importlib.util.find_spec("pymilvus") is None:
        pytest.skip("pymilvus is not installed; nothing to compare the protocol with")
    return _dump(PYMILVUS_MODULES)


def incompatibilities(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """Every declaration of ours that pymilvus does not have in the same shape."""
    problems: list[str] = []
    for name, message in ours["messages"].items():
        other = theirs["messages"].get(name)
        if other is None:
            problems.append(f"message {name} does not exist in Milvus")
            continue
        if message["map_entry"] != other["map_entry"]:
            problems.append(f"message {name}: map entry {message['map_entry']}")
        for field_name, field in message["fields"].items():
            other_field = other["fields"].get(field_name)
            if other_field is None:
                problems.append(f"field {name}.{field_name} does not exist in Milvus")
            elif field != other_field:
                problems.append(f"field {name}.{field_name}: ours {field}, Milvus {other_field}")
    for name, values in ours["enums"].items():
        other_values = theirs["enums"].get(name)
        if other_values is None:
            problems.append(f"enum {name} does not exist in Milvus")
            continue
        for value_name, number in values.items():
            if other_values.get(value_name) != number:
                problems.append(
                    f"enum value {name}.{value_name} = {number}, "
                    f"Milvus has {other_values.get(value_name)}"
                )
    for service_name, methods in ours["services"].items():
        other_methods = theirs["services"].get(service_name, {})
        for method_name, method in methods.items():
            if other_methods.get(method_name) != method:
                problems.append(
                    f"rpc {service_name}.{method_name}: ours {method}, "
                    f"Milvus {other_methods.get(method_name)}"
                )
    return problems


def test_every_declaration_matches_milvus(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert incompatibilities(ours, theirs) == []


def test_full_enums_are_complete(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    for name in FULL_ENUMS:
        assert ours["enums"][name] == theirs["enums"][name], name


def test_workflow_rpcs_are_declared(ours: dict[str, Any]) -> None:
    missing = [rpc for rpc in WORKFLOW_RPCS if rpc not in ours["services"][SERVICE]]
    assert missing == []


def test_every_referenced_type_is_declared(ours: dict[str, Any]) -> None:
    declared = set(ours["messages"]) | set(ours["enums"])
    for name, message in ours["messages"].items():
        for field_name, field in message["fields"].items():
            assert not field["type_name"] or field["type_name"] in declared, (name, field_name)


@pytest.mark.parametrize(
    ("message", "field", "attribute", "value"),
    [
        ("milvus.proto.common.Status", "code", "number", 9),
        ("milvus.proto.schema.IDs", "int_id", "type", 9),
        ("milvus.proto.schema.FieldData", "field_name", "repeated", True),
        ("milvus.proto.milvus.SearchResults", "results", "type_name", "milvus.proto.schema.IDs"),
        ("milvus.proto.schema.VectorField", "dim", "oneof", "data"),
    ],
)
def test_comparison_catches_drift(
    ours: dict[str, Any],
    theirs: dict[str, Any],
    message: str,
    field: str,
    attribute: str,
    value: Any,
) -> None:
    drifted = copy.deepcopy(ours)
    drifted["messages"][message]["fields"][field][attribute] = value
    assert incompatibilities(drifted, theirs), f"a changed {attribute} went unnoticed"


def test_comparison_catches_invented_field(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    drifted = copy.deepcopy(ours)
    invented = dict(drifted["messages"]["milvus.proto.common.Status"]["fields"]["code"], number=99)
    drifted["messages"]["milvus.proto.common.Status"]["fields"]["elanus_code"] = invented
    assert incompatibilities(drifted, theirs)


def test_comparison_catches_enum_and_rpc_drift(
    ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    drifted = copy.deepcopy(ours)
    drifted["enums"]["milvus.proto.schema.DataType"]["FloatVector"] = 100
    drifted["services"][SERVICE]["Search"]["output"] = "milvus.proto.milvus.QueryResults"
    assert len(incompatibilities(drifted, theirs)) == 2
