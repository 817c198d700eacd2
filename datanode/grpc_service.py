"""The datanode over gRPC: every RPC is one call of the node, converted by the codec."""

from __future__ import annotations

import grpc

from elanus.meta import CompactionPlan, from_json
from elanus.rpc import answers, codec
from elanus.services import DataNodeClient
from proto.internal import roles_pb2 as pb
from proto.internal import roles_pb2_grpc as pb_grpc

Context = grpc.ServicerContext


class DataNodeServicer(pb_grpc.DataNodeServiceServicer):
    def __init__(self, node: DataNodeClient) -> None:
        self._node = node

    @answers(pb.Ack)
    def WatchChannel(self, request: pb.WatchChannelRequest, context: Context) -> pb.Ack:
        self._node.watch_channel(request.vchannel, request.epoch)
        return pb.Ack()

    @answers(pb.Ack)
    def UnwatchChannel(self, request: pb.UnwatchChannelRequest, context: Context) -> pb.Ack:
        self._node.unwatch_channel(request.vchannel)
        return pb.Ack()

    @answers(pb.Ack)
    def SealSegment(self, request: pb.SealSegmentRequest, context: Context) -> pb.Ack:
        self._node.seal_segment(request.vchannel, request.segment_id, request.seal_ts)
        return pb.Ack()

    @answers(pb.Ack)
    def FlushChannel(self, request: pb.FlushChannelRequest, context: Context) -> pb.Ack:
        self._node.flush_channel(request.vchannel, request.flush_ts)
        return pb.Ack()

    @answers(pb.CompactResponse)
    def Compact(self, request: pb.CompactRequest, context: Context) -> pb.CompactResponse:
        result = self._node.compact(from_json(CompactionPlan, request.plan_json))
        return pb.CompactResponse(segment_json=codec.to_json(result))
