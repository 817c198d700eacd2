"""The Milvus 1.x API (pymilvus 1.1.2's ``milvus.grpc.MilvusService``), served by the proxy.

:mod:`proxy.legacy.translate` maps 1.x names and codes onto Elanus's (index types,
metrics, Status codes, the collection layout); :mod:`proxy.legacy.service` is the
servicer, each RPC a translation onto the proxy's own coordinator, writer and
reader. A 1.x collection is an ordinary Elanus collection, so 2.x clients see it.
"""
