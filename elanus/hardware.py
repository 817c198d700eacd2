"""The machine a role runs on, read with the standard library: what Milvus's GetMetrics
reports as a node's ``hardware_infos`` (its field names and units)."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_MEMINFO = Path("/proc/meminfo")
_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class Hardware:
    """Milvus's HardwareMetrics. Memory and disk are bytes; usages of the CPU and of I/O
    wait are percentages. ``cpu_core_usage`` is the one-minute load average over the
    cores (capped at 100); ``io_wait_percentage`` the share of CPU time spent waiting
    for I/O since boot (0 where /proc/stat is not readable)."""

    cpu_core_count: int
    cpu_core_usage: float
    memory: int
    memory_usage: int
    disk: float
    disk_usage: float
    io_wait_percentage: float
    read_ms: int  # when this was read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hardware:
        return cls(**data)


def read_hardware(path: str | Path = ".") -> Hardware:
    """This machine now; the disk is the file system holding ``path`` (the data directory)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        load = 0.0
    memory, available = _memory()
    disk = shutil.disk_usage(_existing(Path(path)))
    return Hardware(
        cpu_core_count=cores,
        cpu_core_usage=round(min(100.0, 100.0 * load / cores), 2),
        memory=memory,
        memory_usage=max(0, memory - available),
        disk=float(disk.total),
        disk_usage=float(disk.used),
        io_wait_percentage=_io_wait(),
        read_ms=int(time.time() * 1000),
    )


def _memory() -> tuple[int, int]:
    """(total, available) bytes: /proc/meminfo where there is one, else sysconf."""
    try:
        fields = {}
        for line in _MEMINFO.read_text().splitlines():
            name, _, rest = line.partition(":")
            fields[name] = int(rest.split()[0]) * 1024
        return fields["MemTotal"], fields.get("MemAvailable", fields.get("MemFree", 0))
    except (OSError, KeyError, ValueError, IndexError):
        page = os.sysconf("SC_PAGE_SIZE")
        total = page * os.sysconf("SC_PHYS_PAGES")
        try:
            available = page * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError):
            available = total
        return total, available


def _io_wait() -> float:
    try:
        first = _STAT.read_text().splitlines()[0].split()
        ticks = [int(v) for v in first[1:]]
    except (OSError, IndexError, ValueError):
        return 0.0
    # user nice system idle iowait ...
    total = sum(ticks)
    return round(100.0 * ticks[4] / total, 2) if total and len(ticks) > 4 else 0.0


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (a data directory not yet made)."""
    for candidate in (path, *path.resolve().parents):
        if candidate.exists():
            return candidate
    return Path("/")


# A role's session carries its start time and its machine as read then (strings only).
SESSION_STARTED_KEY = "started_ms"
SESSION_HARDWARE_KEY = "hardware"
PROCESS_STARTED_MS = int(time.time() * 1000)  # when this process imported the runtime


def session_extra(path: str | Path = ".") -> dict[str, str]:
    return {
        SESSION_STARTED_KEY: str(PROCESS_STARTED_MS),
        SESSION_HARDWARE_KEY: json.dumps(read_hardware(path).to_dict()),
    }


def from_session_extra(extra: dict[str, str]) -> tuple[int, Hardware | None]:
    """(started_ms, hardware) from a session's extra; 0 and None from a role that did
    not write them (an older one)."""
    started = int(extra.get(SESSION_STARTED_KEY, "0") or 0)
    raw = extra.get(SESSION_HARDWARE_KEY)
    return started, Hardware.from_dict(json.loads(raw)) if raw else None
