"""The deletes a shard delegator must still remember, and when it may forget them.

A delete hides rows inserted before it (elanus/deletes.py). The delegator applies
each delete to every segment it holds when the delete arrives; it remembers the
delete for two later arrivals only:

- an insert with a smaller timestamp that arrives after it (messages of two
  proxies interleave on a channel between two ticks), and
- the sealed file of a growing segment whose rows it may hide, if the handoff
  cannot take the growing copy's marks over.

Once a tick at or above the delete's timestamp has been applied, no insert it
could hide can still arrive (a later one is a late write, dropped); once no
growing segment holds a row older than the delete, no handoff needs it. Then it
is forgotten, so the memory stays bounded by what is growing.
"""

from __future__ import annotations

import numpy as np

from elanus.deletes import Deletes


class RecentDeletes:
    def __init__(self) -> None:
        self._parts: list[Deletes] = []
        self.max_ts = 0  # the newest delete remembered (0 when none)

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def add(self, records: Deletes) -> None:
        if len(records):
            self._parts.append(records)
            self.max_ts = max(self.max_ts, records.max_ts)

    def all(self) -> Deletes | None:
        return Deletes.concat(self._parts) if self._parts else None

    def after(self, ts: int) -> Deletes | None:
        """The remembered deletes that can hide a row inserted at ``ts``."""
        if self.max_ts <= ts:
            return None
        later = [p.after(ts) for p in self._parts if p.max_ts > ts]
        return Deletes.concat(later)

    def forget(self, served_ts: int, oldest_growing_ts: int | None) -> None:
        """Drop every delete at or below both the applied tick and the oldest row of a
        growing segment (None: nothing is growing)."""
        horizon = served_ts if oldest_growing_ts is None else min(served_ts, oldest_growing_ts)
        if not self._parts or self._oldest_ts() > horizon:
            return
        kept = [p.after(horizon) for p in self._parts]
        self._parts = [p for p in kept if len(p)]
        self.max_ts = max((p.max_ts for p in self._parts), default=0)

    def _oldest_ts(self) -> int:
        return min(int(np.min(p.timestamps)) for p in self._parts)
