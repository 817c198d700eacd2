"""The rest of the 1.x surface: RPCs pymilvus 1.1.2 wraps thinly or not at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from milvus import MetricType
from milvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

from .conftest import host_port


@pytest.fixture
def stub(server: Any) -> Iterator[Any]:
    host, port = host_port(server.uri)
    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        yield milvus_pb2_grpc.MilvusServiceStub(channel)
    finally:
        channel.close()


def test_search_by_id(client: Any, stub: Any, new_name: Any) -> None:
    name = new_name("byid")
    assert client.create_collection({"collection_name": name, "dimension": 4}).OK()
    vectors = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.9, 0.1, 0.0, 0.0]]
    assert client.insert(name, vectors, ids=[1, 2, 3])[0].OK()
    request = milvus_pb2.SearchByIDParam(collection_name=name, id_array=[1, 2], topk=2)
    request.extra_params.add(key="params", value=json.dumps({}))
    reply = stub.SearchByID(request)
    assert reply.status.error_code == 0, reply.status
    assert reply.row_num == 2
    assert list(reply.ids) == [1, 3, 2, 3]
    missing = stub.SearchByID(
        milvus_pb2.SearchByIDParam(collection_name=name, id_array=[9], topk=1)
    )
    assert missing.status.error_code == 12  # ILLEGAL_VECTOR_ID


def test_load_release_and_commands(client: Any, new_name: Any) -> None:
    name = new_name("load")
    param = {"collection_name": name, "dimension": 8, "metric_type": MetricType.IP}
    assert client.create_collection(param).OK()
    assert client.insert(name, [[0.5] * 8], ids=[7])[0].OK()
    assert client.release_collection(name).OK()
    status, results = client.search(name, 1, [[0.5] * 8])  # a 1.x read loads it again
    assert status.OK() and results[0][0].id == 7
    assert client.load_collection(name).OK()
    assert client.reload_segments(name, ["1"]).OK()
    status, reply = client.server_status()
    assert status.OK() and reply == "OK"
    status, _ = client.get_config("cache", "cache_size")
    assert not status.OK()


def test_segment_rpcs_refused_clearly(client: Any, stub: Any, new_name: Any) -> None:
    name = new_name("seg")
    assert client.create_collection({"collection_name": name, "dimension": 4}).OK()
    status, ids = client.list_id_in_segment(name, "1")
    assert not status.OK() and "segment" in status.message
    request = milvus_pb2.SearchInFilesParam(
        file_id_array=["1"], search_param=milvus_pb2.SearchParam(collection_name=name, topk=1)
    )
    reply = stub.SearchInFiles(request)
    assert reply.status.error_code != 0 and "files" in reply.status.reason


def test_hybrid_rpcs_answer_unimplemented_with_a_reason(stub: Any) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.CreateHybridCollection(milvus_pb2.Mapping(collection_name="h"))
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    details = raised.value.details()
    assert details is not None and "hybrid" in details
