"""What a run ran on: CPU, cores, memory, load, versions and date, so a
result can be read against its machine."""

from __future__ import annotations

import datetime
import os
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .servers import ELANUS_PYTHON, REPO_ROOT


def describe(elanus_sha: str, elanus_source: Path | None) -> dict[str, Any]:
    """The machine and versions; ``elanus_source`` None means the working tree ran."""
    if elanus_source is None:
        changed = _uncommitted_files()
        code = f"working tree at {elanus_sha[:12]} with {changed} uncommitted file(s)"
    else:
        code = f"snapshot of commit {elanus_sha[:12]} (git archive)"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_meminfo_kib("MemTotal") / 1024 / 1024, 1),
        "loadavg": loadavg(),
        "elanus_sha": elanus_sha[:12],
        "elanus_code": code,
        "versions": {
            "faiss-cpu (harness)": _version("faiss-cpu"),
            "faiss-cpu (elanus)": _elanus_faiss_version(),
            "pymilvus": _version("pymilvus"),
            "milvus-lite": _version("milvus-lite"),
            "numpy": _version("numpy"),
            "python": os.sys.version.split()[0],
        },
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _meminfo_kib(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def _uncommitted_files() -> int:
    out = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return len(out.stdout.splitlines())


def git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _elanus_faiss_version() -> str:
    try:
        out = subprocess.run(
            [str(ELANUS_PYTHON), "-c", "import faiss; print(faiss.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
