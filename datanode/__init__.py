"""The datanode: follows DML channels and persists what they carry.

Rows are buffered per segment until the segment is sealed and a time tick
proves nothing more can arrive for it; then its file goes to object storage,
the coordinator records it, and only after that does the channel checkpoint
move past its rows. Deletes are persisted as (pk, timestamp) delta logs.
"""

from datanode.node import DataNode

__all__ = ["DataNode"]
