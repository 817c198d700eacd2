"""The committed generated code is exactly what the pinned protoc writes."""

from __future__ import annotations

from proto import generate


def test_generated_code_is_fresh() -> None:
    fresh = generate.fresh_files()
    committed = generate.committed_files()
    assert sorted(fresh) == sorted(committed), "run: python -m proto.generate"
    stale = [str(path) for path in fresh if fresh[path] != committed[path]]
    assert stale == [], "stale generated files; run: python -m proto.generate"


def test_every_proto_is_generated() -> None:
    stems = {path.with_suffix("").as_posix() for path in generate.proto_sources()}
    modules = {
        path.as_posix().removesuffix("_pb2.py")
        for path in generate.committed_files()
        if path.name.endswith("_pb2.py")
    }
    assert stems == modules


def test_generated_modules_import_together() -> None:
    from proto.internal import channel_pb2
    from proto.public import milvus_pb2, milvus_pb2_grpc

    message = channel_pb2.StreamMessage(time_tick=channel_pb2.TimeTickMsg())
    message.time_tick.base.timestamp = 42
    parsed = channel_pb2.StreamMessage.FromString(message.SerializeToString())
    assert parsed.WhichOneof("body") == "time_tick"
    assert parsed.time_tick.base.timestamp == 42
    assert hasattr(milvus_pb2_grpc, "MilvusServiceServicer")
    assert milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"].methods
