"""The querynode over gRPC: every RPC is one call of the node, converted by the codec."""

from __future__ import annotations

import grpc

from elanus.rpc import answers, codec
from elanus.services import QueryNodeClient
from proto.internal import roles_pb2 as pb
from proto.internal import roles_pb2_grpc as pb_grpc

Context = grpc.ServicerContext


class QueryNodeServicer(pb_grpc.QueryNodeServiceServicer):
    def __init__(self, node: QueryNodeClient) -> None:
        self._node = node

    @answers(pb.Ack)
    def LoadChannel(self, request: pb.LoadChannelRequest, context: Context) -> pb.Ack:
        self._node.load_channel(request.vchannel, tuple(request.partition_ids))
        return pb.Ack()

    @answers(pb.Ack)
    def ReleaseCollection(self, request: pb.ReleaseCollectionRequest, context: Context) -> pb.Ack:
        self._node.release_collection(request.collection_id)
        return pb.Ack()

    @answers(pb.Ack)
    def ReleasePartitions(self, request: pb.ReleasePartitionsRequest, context: Context) -> pb.Ack:
        self._node.release_partitions(request.collection_id, tuple(request.partition_ids))
        return pb.Ack()

    @answers(pb.Ack)
    def SegmentFlushed(self, request: pb.SegmentRequest, context: Context) -> pb.Ack:
        self._node.segment_flushed(codec.segment_from_json(request.segment_json))
        return pb.Ack()

    @answers(pb.Ack)
    def SegmentIndexed(self, request: pb.SegmentIndexedRequest, context: Context) -> pb.Ack:
        self._node.segment_indexed(
            codec.segment_from_json(request.segment_json), codec.index_from_json(request.index_json)
        )
        return pb.Ack()

    @answers(pb.Ack)
    def SegmentDropped(self, request: pb.SegmentRequest, context: Context) -> pb.Ack:
        self._node.segment_dropped(codec.segment_from_json(request.segment_json))
        return pb.Ack()

    @answers(pb.SearchResponse)
    def Search(self, request: pb.SearchRequest, context: Context) -> pb.SearchResponse:
        result = self._node.search(codec.search_request_from_pb(request))
        return pb.SearchResponse(result=codec.search_result_to_pb(result))

    @answers(pb.QueryResponse)
    def Query(self, request: pb.QueryRequest, context: Context) -> pb.QueryResponse:
        result = self._node.query(codec.query_request_from_pb(request))
        return pb.QueryResponse(result=codec.query_result_to_pb(result))
