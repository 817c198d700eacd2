"""Who may do what (issue 15): Milvus's privilege catalog and the one function
that decides whether a user's roles permit a request.

Shared by the proxy, which enforces the decision before any work, and the
coordinator, which validates grants against the same catalog.
"""
