"""The indexnode over gRPC: a build task in, queued on the node; the result goes back
to the coordinator through its client, not in this answer."""

from __future__ import annotations

import grpc

from elanus.rpc import answers, codec
from elanus.services import IndexNodeClient
from proto.internal import roles_pb2 as pb
from proto.internal import roles_pb2_grpc as pb_grpc


class IndexNodeServicer(pb_grpc.IndexNodeServiceServicer):
    def __init__(self, node: IndexNodeClient) -> None:
        self._node = node

    @answers(pb.Ack)
    def Submit(self, request: pb.SubmitRequest, context: grpc.ServicerContext) -> pb.Ack:
        self._node.submit(codec.build_task_from_pb(request.task))
        return pb.Ack()
