"""The one request pipeline of the proxy: every RPC, whatever wire it came on,
runs the same steps in the same order.

    admit      who is calling, and may they do this (the Guard; issue 15)
    resolve    the database: the request body's ``db_name``, else the client's
               ``dbname`` metadata header, else ``default`` (as Milvus reads it)
    handle     the RPC's own steps: validate and resolve names, take timestamps,
               plan, execute against the nodes, reduce, build the reply; an RPC
               with several stages is a :class:`Task`, run by :func:`staged`
    answer     an ElanusError becomes its Status and a stray exception an
               InternalError Status with the reason logged, here and only here
    observe    every call is counted and timed by method and outcome

A handler therefore writes only its success path and raises for the rest. The
table of handlers is proxy/routes.py; adding an RPC is one module and one line.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message

from elanus import errors
from elanus.meta import DEFAULT_DB
from proto.public import common_pb2
from proxy import convert

if TYPE_CHECKING:
    from proxy.context import ProxyContext

log = logging.getLogger(__name__)

DB_HEADER = "dbname"  # the metadata key pymilvus (2.4+) sends the client's database in


@dataclass(frozen=True)
class Privilege:
    """What Milvus checks before an RPC: a privilege on an object type.

    ``object_type`` is Milvus's: Global, Collection, Database or User. The
    object's name comes from the call (the collection it names, or ``*``).
    """

    object_type: str
    name: str


# An RPC every connected client may call (Connect, GetVersion, CheckHealth, ...).
PUBLIC: Privilege | None = None


def on_global(name: str) -> Privilege:
    return Privilege("Global", name)


def on_collection(name: str) -> Privilege:
    return Privilege("Collection", name)


def on_user(name: str) -> Privilege:
    return Privilege("User", name)


@dataclass
class Call:
    """One request as the pipeline sees it, independent of the wire it came on."""

    method: str
    db_name: str = DEFAULT_DB
    collection_name: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Who is calling, once the Guard has admitted them ("" with authorization off
    # and no credentials sent).
    user: str = ""
    # Seconds spent in each stage of a staged handler, for logs and profiles.
    stages: dict[str, float] = field(default_factory=dict)


class Guard(Protocol):
    """Decides whether a call may run; raises an ElanusError when it may not,
    and sets ``call.user`` to who is calling."""

    def admit(self, call: Call, privilege: Privilege | None, request: Any) -> None: ...


class OpenDoor:
    """Admits every call: authorization disabled, which is Milvus's default. The
    caller is whoever the credentials they sent name, unchecked."""

    def admit(self, call: Call, privilege: Privilege | None, request: Any) -> None:
        call.user = claimed_user(call.metadata)


AUTHORIZATION_HEADER = "authorization"  # base64 of "user:password", as pymilvus sends it


def credentials_of(metadata: Mapping[str, str]) -> tuple[str, str] | None:
    """The (user, password) of the ``authorization`` header; None if absent or malformed."""
    token = metadata.get(AUTHORIZATION_HEADER, "")
    if not token:
        return None
    try:
        raw = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, separator, password = raw.partition(":")
    if not separator:
        return None
    return user, password


def claimed_user(metadata: Mapping[str, str]) -> str:
    credentials = credentials_of(metadata)
    return credentials[0] if credentials else ""


class RequestObserver(Protocol):
    """Sees every call once it is answered (metrics live behind this)."""

    def observe(self, method: str, outcome: str, seconds: float) -> None: ...


class Unobserved:
    def observe(self, method: str, outcome: str, seconds: float) -> None:
        return None


Handler = Callable[["ProxyContext", Any, Call], Message | None]


@dataclass(frozen=True)
class Route:
    """One RPC: its handler, the message it answers with, the privilege it needs.

    ``reply`` None means the RPC answers a bare Status; a handler of such an
    RPC may return None for success.
    """

    method: str
    handler: Handler
    reply: type[Message] | None
    privilege: Privilege | None
    # False for the RPCs that do not act inside a database (GetVersion, the
    # database RPCs themselves): the others are refused for a missing database.
    in_database: bool = True


@dataclass(frozen=True)
class Wire:
    """How one API spells its answers: the Milvus 2.x API, or the 1.x one."""

    name: str
    # Put before the method in metrics, so that 1.x "Search" is not 2.x "Search".
    metric_prefix: str
    # The reply of a Status-only RPC that succeeded.
    success: Callable[[], Message]
    # The reply (of type ``reply``, None for a bare Status) carrying an error.
    failure: Callable[[type[Message] | None, errors.ElanusError], Message]


class Pipeline:
    def __init__(
        self,
        ctx: ProxyContext,
        routes: Sequence[Route],
        guard: Guard | None = None,
        observer: RequestObserver | None = None,
        wire: Wire | None = None,
    ) -> None:
        self.ctx = ctx
        self.routes = {route.method: route for route in routes}
        if len(self.routes) != len(routes):
            raise ValueError("two routes for one method")
        self._guard = guard or OpenDoor()
        self._observer = observer or Unobserved()
        self._wire = wire or MILVUS_V2

    def serve(self, method: str, request: Any, metadata: Mapping[str, str]) -> Message:
        """Run one RPC through every step and return its reply. Raises only the
        refusals answered as a gRPC error (``grpc_code``), for the wire to send."""
        route = self.routes[method]
        started = time.perf_counter()
        call = Call(method, metadata=metadata)
        outcome = "ok"
        try:
            call.db_name = database_of(request, metadata)
            call.collection_name = str(getattr(request, "collection_name", "") or "")
            self._guard.admit(call, route.privilege, request)
            if route.in_database:
                self.ctx.require_database(call.db_name)
            reply = route.handler(self.ctx, request, call)
            if reply is None:
                reply = self._wire.success()
        except errors.ElanusError as exc:
            outcome = type(exc).__name__
            # A refused request is an expected answer, not a fault of the server.
            log.info(
                "request refused",
                extra={
                    "api": self._wire.name,
                    "rpc": method,
                    "collection": call.collection_name,
                    "code": exc.code,
                    "reason": exc.reason,
                },
            )
            if exc.grpc_code:
                self._observer.observe(
                    self._wire.metric_prefix + method, outcome, time.perf_counter() - started
                )
                raise
            reply = self._wire.failure(route.reply, exc)
        except Exception as exc:
            outcome = "InternalError"
            log.exception("request failed", extra={"api": self._wire.name, "rpc": method})
            internal = errors.InternalError(f"{type(exc).__name__}: {exc}")
            reply = self._wire.failure(route.reply, internal)
        elapsed = time.perf_counter() - started
        self._observer.observe(self._wire.metric_prefix + method, outcome, elapsed)
        if call.stages:
            log.debug(
                "request stages",
                extra={"rpc": method, "collection": call.collection_name, **call.stages},
            )
        return reply


def database_of(request: Any, metadata: Mapping[str, str]) -> str:
    """The call's database: the body's ``db_name`` wins over the header, as in Milvus."""
    named = getattr(request, "db_name", "")
    return str(named or metadata.get(DB_HEADER, "") or DEFAULT_DB)


def carrying(
    status_of: Callable[[errors.ElanusError], Message], bare: type[Message]
) -> Callable[[type[Message] | None, errors.ElanusError], Message]:
    """A Wire's ``failure``: the error's Status, bare or in the RPC's reply."""

    def failure(reply: type[Message] | None, exc: errors.ElanusError) -> Message:
        status = status_of(exc)
        if reply is None or reply is bare:
            return status
        return reply(status=status)

    return failure


MILVUS_V2 = Wire("v2", "", convert.status, carrying(convert.status, common_pb2.Status))


def routes_of(
    api: object, table: Sequence[tuple[str, type[Message] | None, Privilege | None]]
) -> tuple[Route, ...]:
    """Routes to the methods of ``api`` named in ``table`` (method, reply, privilege);
    each method takes ``(request, call)`` (the 1.x and 0.x APIs are written so)."""
    return tuple(
        Route(method, _bound_handler(getattr(api, method)), reply, privilege)
        for method, reply, privilege in table
    )


def _bound_handler(method: Callable[[Any, Call], Any]) -> Handler:
    def handle(ctx: ProxyContext, request: Any, call: Call) -> Any:
        return method(request, call)

    return handle


# --- RPCs in stages

Request = TypeVar("Request", contravariant=True)
Plan = TypeVar("Plan")
Result = TypeVar("Result")


class Task(Protocol, Generic[Request, Plan, Result]):
    """An RPC with distinct stages, as Milvus's proxy tasks have (Pre/Execute/Post).

    ``plan`` validates the request, resolves its names against the metadata and
    takes its timestamps; ``execute`` runs the plan against the nodes and
    reduces their answers; ``reply`` builds the wire message. Only ``execute``
    talks to other roles.
    """

    def plan(self, ctx: ProxyContext, request: Request, call: Call) -> Plan: ...

    def execute(self, ctx: ProxyContext, plan: Plan) -> Result: ...

    def reply(self, plan: Plan, result: Result) -> Message: ...


def staged(task: Task[Any, Any, Any]) -> Handler:
    """A Task as a route handler; each stage's time lands in ``call.stages``."""

    def handle(ctx: ProxyContext, request: Any, call: Call) -> Message:
        clock = time.perf_counter
        started = clock()
        plan = task.plan(ctx, request, call)
        planned = clock()
        result = task.execute(ctx, plan)
        executed = clock()
        reply = task.reply(plan, result)
        call.stages.update(
            plan_s=planned - started, execute_s=executed - planned, reply_s=clock() - executed
        )
        return reply

    handle.__name__ = type(task).__name__
    return handle
