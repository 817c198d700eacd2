"""The composition root: configuration in, running roles out.

This is the one place that picks adapter implementations and wires roles to
each other; roles are imported inside its functions, never at module level,
because elanus is the shared runtime every role imports.

* :mod:`~elanus.launcher.standalone`: ``elanus standalone`` runs every role in
  this process on the embedded adapters, each role handed the others' objects
  as its clients; roles start in dependency order and stop in reverse.
* :mod:`~elanus.launcher.roles`: ``elanus run <role>`` runs one role per
  process on etcd, Kafka and MinIO (never the embedded adapters: they cannot be
  shared between processes). Each role serves its gRPC, announces itself with a
  session in etcd, and reaches the others through gRPC clients.
* :mod:`~elanus.launcher.process`: what both share: the HTTP side port, warm-up,
  the version, running until a signal.
"""

from elanus.launcher.process import (
    StartInterrupted,
    run_until_signalled,
    start_http,
    version,
    warm_up,
)
from elanus.launcher.roles import ROLES, ClusterConfigError, RoleProcess
from elanus.launcher.standalone import NODE_ID, EmbeddedRoles, Standalone

__all__ = [
    "NODE_ID",
    "ROLES",
    "ClusterConfigError",
    "EmbeddedRoles",
    "RoleProcess",
    "Standalone",
    "StartInterrupted",
    "run_until_signalled",
    "start_http",
    "version",
    "warm_up",
]
