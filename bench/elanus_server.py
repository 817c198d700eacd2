"""Run ``elanus standalone`` with bench-only instrumentation around search.

Started by the harness with the *project* venv's python (the harness itself
never imports Elanus). Server code is not changed: this script wraps two
methods before the server starts and appends one line per Search or Insert
RPC to ``--timing-file``: the RPC name, the handler's wall time and the part
of it spent inside vector index searches, in seconds. With ``--profile-file P``
it also runs cProfile around every Search and Insert handler (the handler
thread does the whole search when a collection has one shard) and writes
``P.Search`` and ``P.Insert`` when the server stops.

``--source DIR`` runs the Elanus code in DIR (the harness passes a snapshot
of the commit under test) instead of the editable install's working tree.

Usage: python bench/elanus_server.py --timing-file F [--profile-file P] [--source DIR]
           -- standalone ...
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

TIMED_RPCS = ("Search", "Insert")


def instrument(timing_path: str, profilers: dict[str, cProfile.Profile]) -> None:
    """Wrap the TIMED_RPCS handlers and VectorIndex.search to time each request."""
    import dataclasses

    from elanus.vectors.index import VectorIndex
    from proxy import routes

    per_thread = threading.local()
    timing_fd = os.open(timing_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    profile_locks = {name: threading.Lock() for name in profilers}

    original_index_search: Callable[..., Any] = VectorIndex.search

    @functools.wraps(original_index_search)
    def timed_index_search(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_index_search(self, *args, **kwargs)
        finally:
            per_thread.index_s = getattr(per_thread, "index_s", 0.0) + (
                time.perf_counter() - started
            )

    def timed(rpc_name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def handler(ctx: Any, request: Any, call: Any) -> Any:
            per_thread.index_s = 0.0
            profiler = profilers.get(rpc_name)
            # One request at a time per profiler: cProfile is not re-entrant.
            profiling = profiler is not None and profile_locks[rpc_name].acquire(blocking=False)
            started = time.perf_counter()
            try:
                if profiling:
                    return profiler.runcall(original, ctx, request, call)  # type: ignore[union-attr]
                return original(ctx, request, call)
            finally:
                elapsed = time.perf_counter() - started
                if profiling:
                    profile_locks[rpc_name].release()
                line = f"{rpc_name} {elapsed:.7f} {per_thread.index_s:.7f}\n"
                os.write(timing_fd, line.encode())

        return handler

    VectorIndex.search = timed_index_search  # type: ignore[method-assign]
    # The server builds its servicer from routes.ROUTES when it starts, after this.
    routes.ROUTES = tuple(
        dataclasses.replace(route, handler=timed(route.method, route.handler))
        if route.method in TIMED_RPCS
        else route
        for route in routes.ROUTES
    )


def use_source_tree(tree: str) -> None:
    """Import Elanus from ``tree`` (a snapshot of a commit), not the editable install."""
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not getattr(finder, "__module__", "").startswith("__editable__")
    ]
    sys.path.insert(0, tree)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing-file", required=True)
    parser.add_argument("--profile-file", default=None)
    parser.add_argument("--source", default=None, help="Elanus source tree to run")
    parser.add_argument("elanus_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    elanus_args = [a for a in args.elanus_args if a != "--"]
    if args.source:
        use_source_tree(args.source)
    profilers = {name: cProfile.Profile() for name in TIMED_RPCS} if args.profile_file else {}
    instrument(args.timing_file, profilers)
    from elanus import cli

    code = cli.main(elanus_args)
    for name, profiler in profilers.items():
        profiler.dump_stats(f"{args.profile_file}.{name}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
