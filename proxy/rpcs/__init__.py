"""The MilvusService RPCs, one module per concern; proxy/routes.py is their table.

Each handler takes ``(ctx, request, call)`` and returns its reply, raising an
ElanusError for anything else: the pipeline (proxy/pipeline.py) does the rest.
"""
