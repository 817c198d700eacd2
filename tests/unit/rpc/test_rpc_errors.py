"""A remote role fails like a local one; an unreachable or stuck one fails fast and says where."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pyarrow as pa
import pytest
from rpc_fakes import ROLES, FakeCore, Role, interface_methods, method_hints, served
from rpc_samples import sample, sample_value

from elanus import errors
from elanus.requests import QueryRequest, QueryResult
from elanus.rpc import CoordinatorGrpcClient, QueryNodeGrpcClient, start_server, status
from elanus.rpc.server import MAX_MESSAGE_BYTES
from proto.internal import roles_pb2 as pb


def _every_error_class() -> list[type[errors.ElanusError]]:
    """The tree of elanus/errors.py (a role's own subclass, such as the 1.x API's
    Refused, stays inside that role and crosses the wire as its base)."""
    found: list[type[errors.ElanusError]] = []
    pending: list[type[errors.ElanusError]] = [errors.ElanusError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == errors.__name__:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


ERROR_CLASSES = _every_error_class()


def _free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_error_tree_is_all_here() -> None:
    assert errors.ExpressionError in ERROR_CLASSES and errors.InternalError in ERROR_CLASSES
    assert len(ERROR_CLASSES) >= 20


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_each_error_class_comes_back_as_itself(cls: type[errors.ElanusError]) -> None:
    coordinator = ROLES[0]
    with served(coordinator) as (client, core):
        raised = cls(f"detail of {cls.__name__}")
        core.raises = raised
        with pytest.raises(errors.ElanusError) as caught:
            client.describe_collection("default", "docs")
    assert type(caught.value) is cls
    assert caught.value.reason == raised.reason
    assert caught.value.detail == raised.detail
    assert caught.value.code == raised.code


def test_an_errors_cause_comes_back_with_it() -> None:
    """Milvus wraps some errors as "cause: summary[detail]"; the cause crosses the wire."""
    with served(ROLES[0]) as (client, core):
        core.raises = errors.AliasAlreadyExist("database=default][alias=a", cause="a is taken")
        with pytest.raises(errors.AliasAlreadyExist) as caught:
            client.create_alias("default", "a", "docs")
    assert caught.value.cause == "a is taken"
    assert caught.value.reason == "a is taken: alias already exist[database=default][alias=a]"


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_every_rpc_answers_errors(role: Role) -> None:
    """No RPC lets an error through as a transport failure or loses it."""
    with served(role) as (client, core):
        core.raises = errors.PartitionNotFound("partition=7")
        for method in interface_methods(role.interface):
            hints = method_hints(role.interface, method)
            hints.pop("return")
            args = [sample_value(hint, name) for name, hint in hints.items()]
            with pytest.raises(errors.PartitionNotFound, match=r"partition=7"):
                getattr(client, method)(*args)


def test_a_subclass_declared_elsewhere_arrives_as_its_base() -> None:
    class UnknownColumn(errors.ExpressionError):
        pass

    with served(ROLES[2]) as (client, core):
        core.raises = UnknownColumn("column x")
        with pytest.raises(errors.ExpressionError) as caught:
            client.query(sample(QueryRequest))
    assert type(caught.value) is errors.ExpressionError
    assert caught.value.detail == "column x"


def test_a_stray_exception_is_an_internal_error_with_its_type() -> None:
    with served(ROLES[0]) as (client, core):
        core.raises = KeyError("vchannel")
        with pytest.raises(errors.InternalError, match="KeyError"):
            client.channel_snapshot("ch")


def test_an_unknown_kind_is_an_internal_error_with_the_reason() -> None:
    info = pb.ErrorInfo(kind="FromTheFuture", code=1234, detail="d", reason="newer peer[d]")
    error = status.error_from_info(info)
    assert type(error) is errors.InternalError
    assert "FromTheFuture" in error.reason and "newer peer[d]" in error.reason
    # Names in elanus.errors that are not error classes are not trusted either.
    assert type(status.error_from_info(pb.ErrorInfo(kind="annotations"))) is errors.InternalError


def test_a_dead_peer_is_unavailable_within_the_deadline() -> None:
    address = f"127.0.0.1:{_free_port()}"
    client = CoordinatorGrpcClient(address, timeout_s=2.0)
    started = time.monotonic()
    try:
        with pytest.raises(errors.ServiceUnavailable) as caught:
            client.alloc_timestamp()
    finally:
        client.close()
    assert time.monotonic() - started < 2.5
    assert address in caught.value.reason
    assert caught.value.retriable


def test_a_stuck_peer_is_unavailable_at_the_deadline() -> None:
    release = threading.Event()
    with served(ROLES[0], timeout_s=0.3) as (client, core):
        core.hook = lambda: release.wait(5.0)
        started = time.monotonic()
        try:
            with pytest.raises(errors.ServiceUnavailable, match="DEADLINE_EXCEEDED") as caught:
                client.alloc_ids(3)
        finally:
            release.set()
        elapsed = time.monotonic() - started
    assert 0.25 < elapsed < 3.0  # the deadline, plus headroom for a loaded machine
    assert client.address in caught.value.reason


def test_a_closed_client_is_unavailable() -> None:
    with served(ROLES[0]) as (client, core):
        core.returns["alloc_ids"] = 5
        assert client.alloc_ids(1) == 5
        client.close()
        with pytest.raises(errors.ServiceUnavailable, match="closed"):
            client.alloc_ids(1)


def test_unimplemented_on_the_peer_is_unimplemented() -> None:
    """A peer that does not serve the RPC, e.g. from an older release."""
    server = start_server([], "127.0.0.1", 0)
    client = CoordinatorGrpcClient(server.address, timeout_s=2.0)
    try:
        with pytest.raises(errors.Unimplemented, match="AllocTimestamp"):
            client.alloc_timestamp()
    finally:
        client.close()
        server.stop(0)


def test_results_above_grpcs_default_4_mib_limit_pass() -> None:
    rows = pa.table({"pk": np.arange(1_000_000, dtype=np.int64)})  # 8 MB
    assert MAX_MESSAGE_BYTES > rows.nbytes > 4 * 1024 * 1024
    with served(ROLES[2]) as (client, core):
        core.returns["query"] = QueryResult(rows=rows, count=0)
        assert isinstance(client, QueryNodeGrpcClient)
        answer = client.query(sample(QueryRequest))
    assert answer.rows.equals(rows)


def test_a_node_refuses_calls_meant_for_another_node() -> None:
    """A restarted node keeps its address but not its id: a client of the dead node
    reaches the new process and must be told the node it meant is gone."""
    querynode = ROLES[2]
    core = FakeCore()
    server = start_server([querynode.servicer(core)], "127.0.0.1", 0, node_id=10)
    meant_for_dead = QueryNodeGrpcClient(server.address, timeout_s=5.0, node_id=6)
    meant_for_this = QueryNodeGrpcClient(server.address, timeout_s=5.0, node_id=10)
    unaddressed = QueryNodeGrpcClient(server.address, timeout_s=5.0)
    try:
        with pytest.raises(errors.ServiceUnavailable, match="node 6 is not at this address"):
            meant_for_dead.load_channel("v0", [1])
        assert core.calls == []  # refused before the node did anything
        meant_for_this.load_channel("v0", [1])
        unaddressed.load_channel("v1", [1])
        assert [name for name, _ in core.calls] == ["load_channel", "load_channel"]
    finally:
        for client in (meant_for_dead, meant_for_this, unaddressed):
            client.close()
        server.stop(0)
