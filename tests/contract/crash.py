"""Run a Python script in a child process and ``kill -9`` it while it works.

The child prints one line per acknowledged operation (flushing each); the
parent collects the whole lines that arrived before the kill. Anything the child
printed was acknowledged to it, so the parent may check it survived.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(
    script: str,
    args: list[str],
    *,
    min_lines: int = 5,
    extra_s: float = 0.15,
    startup_timeout_s: float = 20.0,
) -> list[str]:
    """Start ``python -c script args``, SIGKILL it after ``min_lines`` acks plus a random delay.

    The delay is uniform in ``[0, extra_s]``, so repeated runs kill the child at
    different points of its write path. Raises if the child exits on its own or
    acknowledges nothing within ``startup_timeout_s``.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    enough = threading.Event()

    def collect() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if not line.endswith("\n"):  # cut off by the kill: not a whole acknowledgement
                break
            lines.append(line.strip())
            if len(lines) >= min_lines:
                enough.set()
        enough.set()  # EOF: the child ended by itself (or was killed)

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        enough.wait(startup_timeout_s)
        if child.poll() is not None:
            assert child.stderr is not None
            raise AssertionError(f"child exited early ({child.returncode}): {child.stderr.read()}")
        if len(lines) < min_lines:
            raise AssertionError(f"child acknowledged only {len(lines)} operations")
        time.sleep(random.uniform(0.0, extra_s))
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        reader.join(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    return list(lines)
