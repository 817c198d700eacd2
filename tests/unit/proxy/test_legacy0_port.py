"""The Milvus 0.x API's port: configured by proxy.legacy_port, answered under the wire's name."""

from __future__ import annotations

from typing import Any, NamedTuple

from elanus.cli import build_parser
from elanus.config import load_config
from proto.legacy.v0 import milvus_pb2
from proxy.legacy.v0.routes import TABLE
from proxy.legacy.v0.server import WIRE_SERVICE, wire_handler


class _Details(NamedTuple):
    method: str
    invocation_metadata: tuple[Any, ...] = ()


class _Servicer:
    def __getattr__(self, name: str) -> Any:
        return lambda request, context: None


def test_off_unless_configured() -> None:
    assert load_config(environ={}).proxy.legacy_port == 0
    assert load_config(environ={"ELANUS_PROXY_LEGACY_PORT": "19531"}).proxy.legacy_port == 19531


def test_standalone_takes_legacy_port() -> None:
    args = build_parser().parse_args(["standalone", "--legacy-port", "19531"])
    assert args.legacy_port == 19531
    assert build_parser().parse_args(["standalone"]).legacy_port is None


def test_every_0x_rpc_answers_under_the_1x_service_name() -> None:
    handler = wire_handler(_Servicer())
    declared = [m.name for m in milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"].methods]
    assert sorted(declared) == sorted(method for method, _, _ in TABLE)
    for method in declared:
        found = handler.service(_Details(f"/{WIRE_SERVICE}/{method}"))  # type: ignore[arg-type]
        assert found is not None, method
    assert handler.service(_Details("/milvus.grpc.v0.MilvusService/HasTable")) is None  # type: ignore[arg-type]


def test_requests_parse_as_the_client_sends_them() -> None:
    handler = wire_handler(_Servicer())
    found = handler.service(_Details(f"/{WIRE_SERVICE}/Search"))  # type: ignore[arg-type]
    assert found is not None and found.request_deserializer is not None
    wire = milvus_pb2.SearchParam(table_name="t", topk=3, nprobe=16).SerializeToString()
    parsed = found.request_deserializer(wire)
    assert (parsed.table_name, parsed.topk, parsed.nprobe) == ("t", 3, 16)
