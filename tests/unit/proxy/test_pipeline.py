"""The proxy's one request pipeline (issue 13): the steps every RPC runs, and the
route table that says which RPCs Elanus serves and what each needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from elanus import errors
from elanus.config import ProxyConfig
from proto.public import common_pb2, milvus_pb2
from proxy.context import ProxyContext
from proxy.pipeline import PUBLIC, Call, Pipeline, Privilege, Route, staged
from proxy.routes import ROUTES
from proxy.service import milvus_servicer

SERVICE = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]


class OnlyDefault:
    """A coordinator that knows one database, ``default``."""

    def describe_database(self, db_name: str) -> None:
        if db_name != "default":
            raise errors.DatabaseNotFound(f"database={db_name}")


def context() -> ProxyContext:
    # The pipeline itself only asks the coordinator whether a database exists;
    # the handlers below use nothing else of it.
    coordinator = cast(Any, OnlyDefault())
    return ProxyContext(1, ProxyConfig(), coordinator, cast(Any, None), cast(Any, None), "t")


@dataclass
class Recorder:
    """Guard and observer at once: what the pipeline showed them, in order."""

    events: list[tuple[str, Any]] = field(default_factory=list)
    refuse: bool = False

    def admit(self, call: Call, privilege: Privilege | None, request: Any) -> None:
        self.events.append(("admit", (call.method, call.db_name, call.collection_name, privilege)))
        if self.refuse:
            raise errors.ParameterInvalid("refused by the guard")

    def observe(self, method: str, outcome: str, seconds: float) -> None:
        self.events.append(("observe", (method, outcome)))


def pipeline_with(handler: Any, recorder: Recorder | None = None) -> Pipeline:
    route = Route(
        "HasCollection", handler, milvus_pb2.BoolResponse, Privilege("Collection", "Describe")
    )
    return Pipeline(context(), [route], recorder, recorder)


def has(collection: str = "books", db_name: str = "") -> milvus_pb2.HasCollectionRequest:
    return milvus_pb2.HasCollectionRequest(collection_name=collection, db_name=db_name)


def test_a_handler_writes_its_success_path_and_the_pipeline_adds_the_rest() -> None:
    recorder = Recorder()
    seen: list[Call] = []

    def handler(ctx: ProxyContext, request: Any, call: Call) -> milvus_pb2.BoolResponse:
        seen.append(call)
        return milvus_pb2.BoolResponse(value=True)

    reply = pipeline_with(handler, recorder).serve("HasCollection", has(), {})
    assert isinstance(reply, milvus_pb2.BoolResponse)
    assert reply.value is True
    assert seen[0].db_name == "default" and seen[0].collection_name == "books"
    assert recorder.events == [
        ("admit", ("HasCollection", "default", "books", Privilege("Collection", "Describe"))),
        ("observe", ("HasCollection", "ok")),
    ]


def test_an_elanus_error_becomes_its_status_in_the_rpcs_reply_type() -> None:
    recorder = Recorder()

    def handler(ctx: ProxyContext, request: Any, call: Call) -> milvus_pb2.BoolResponse:
        raise errors.CollectionNotFound("collection=books")

    reply = pipeline_with(handler, recorder).serve("HasCollection", has(), {})
    assert isinstance(reply, milvus_pb2.BoolResponse)
    assert reply.status.code == 100
    assert reply.status.reason == "collection not found[collection=books]"
    assert recorder.events[-1] == ("observe", ("HasCollection", "CollectionNotFound"))


def test_a_stray_exception_is_an_internal_error_with_its_reason_not_a_trace() -> None:
    def handler(ctx: ProxyContext, request: Any, call: Call) -> milvus_pb2.BoolResponse:
        raise KeyError("lost")

    reply = pipeline_with(handler).serve("HasCollection", has(), {})
    assert isinstance(reply, milvus_pb2.BoolResponse)
    assert reply.status.code == 65535
    assert "KeyError" in reply.status.reason and "Traceback" not in reply.status.reason


def test_a_status_rpc_whose_handler_returns_nothing_answers_success() -> None:
    route = Route("DropCollection", lambda ctx, request, call: None, None, PUBLIC)
    reply = Pipeline(context(), [route]).serve(
        "DropCollection", milvus_pb2.DropCollectionRequest(), {}
    )
    assert isinstance(reply, common_pb2.Status) and reply.code == 0


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ("", None, "default"),
        ("", "default", "default"),
        ("default", "other", "default"),  # the body wins, as in Milvus
        ("", "other", "other"),
        ("other", "default", "other"),
    ],
)
def test_the_database_comes_from_the_body_then_the_dbname_header(
    body: str, header: str | None, expected: str
) -> None:
    recorder = Recorder()
    ran: list[str] = []

    def handler(ctx: ProxyContext, request: Any, call: Call) -> milvus_pb2.BoolResponse:
        ran.append(call.db_name)
        return milvus_pb2.BoolResponse(value=True)

    metadata = {} if header is None else {"dbname": header}
    reply = pipeline_with(handler, recorder).serve("HasCollection", has(db_name=body), metadata)
    assert isinstance(reply, milvus_pb2.BoolResponse)
    assert recorder.events[0][1][1] == expected
    if expected == "default":
        assert ran == ["default"] and reply.status.code == 0
    else:
        # Only `default` exists here: a call inside another database is refused before it runs.
        assert ran == []
        assert reply.status.code == 800
        assert reply.status.reason == f"database not found[database={expected}]"


def test_a_call_the_guard_refuses_never_reaches_its_handler() -> None:
    recorder = Recorder(refuse=True)
    ran: list[bool] = []

    def handler(ctx: ProxyContext, request: Any, call: Call) -> milvus_pb2.BoolResponse:
        ran.append(True)
        return milvus_pb2.BoolResponse(value=True)

    reply = pipeline_with(handler, recorder).serve("HasCollection", has(), {})
    assert isinstance(reply, milvus_pb2.BoolResponse)
    assert ran == [] and reply.status.code == 1100


class CountingTask:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def plan(self, ctx: ProxyContext, request: Any, call: Call) -> str:
        self.steps.append("plan")
        return request.collection_name

    def execute(self, ctx: ProxyContext, plan: str) -> bool:
        self.steps.append("execute")
        return plan == "books"

    def reply(self, plan: str, result: bool) -> milvus_pb2.BoolResponse:
        self.steps.append("reply")
        return milvus_pb2.BoolResponse(value=result)


def test_a_staged_rpc_runs_plan_execute_reply_in_order_and_times_each() -> None:
    task = CountingTask()
    call = Call("HasCollection")
    reply = staged(task)(context(), has(), call)
    assert isinstance(reply, milvus_pb2.BoolResponse)
    assert reply.value is True
    assert task.steps == ["plan", "execute", "reply"]
    assert set(call.stages) == {"plan_s", "execute_s", "reply_s"}


def test_a_staged_rpc_that_fails_to_plan_executes_nothing() -> None:
    task = CountingTask()

    def failing_plan(ctx: ProxyContext, request: Any, call: Call) -> str:
        raise errors.ParameterInvalid("bad")

    task.plan = failing_plan  # type: ignore[method-assign]
    with pytest.raises(errors.ParameterInvalid):
        staged(task)(context(), has(), Call("HasCollection"))
    assert task.steps == []


# --- the route table


def test_every_route_names_a_declared_rpc_once_and_answers_its_reply_type() -> None:
    methods = [route.method for route in ROUTES]
    assert len(methods) == len(set(methods))
    for route in ROUTES:
        declared = SERVICE.methods_by_name.get(route.method)
        assert declared is not None, f"{route.method} is not a MilvusService RPC"
        reply = common_pb2.Status if route.reply is None else route.reply
        assert reply.DESCRIPTOR.full_name == declared.output_type.full_name, route.method


def test_every_route_states_its_privilege_or_is_public_on_purpose() -> None:
    # Which others are PUBLIC is Milvus's proto's call: test_route_privileges.py.
    public = {route.method for route in ROUTES if route.privilege is PUBLIC}
    assert public >= {
        "Connect",
        "GetVersion",
        "CheckHealth",
        "GetComponentStates",
        "AllocTimestamp",
    }
    for route in ROUTES:
        if route.privilege is not None:
            assert route.privilege.object_type in {"Global", "Collection", "Database", "User"}
            assert route.privilege.name


def test_the_servicer_serves_the_routes_and_answers_unimplemented_for_the_rest() -> None:
    # Every RPC our proto declares is routed today; leave one out to see the
    # honest UNIMPLEMENTED a method without a route answers.
    table = tuple(route for route in ROUTES if route.method != "GetMetrics")
    servicer = milvus_servicer(Pipeline(context(), table))
    unserved = set(SERVICE.methods_by_name) - {route.method for route in table}
    assert unserved == {"GetMetrics"}

    class Aborted(Exception):
        pass

    class Context:
        code: Any = None

        def invocation_metadata(self) -> list[tuple[str, str]]:
            return []

        def abort(self, code: Any, details: str) -> None:
            self.code, self.details = code, details
            raise Aborted

    import grpc

    for method in sorted(unserved):
        grpc_context = Context()
        with pytest.raises(Aborted):
            getattr(servicer, method)(None, grpc_context)
        assert grpc_context.code == grpc.StatusCode.UNIMPLEMENTED
        assert method in grpc_context.details
    # Context stands in for the grpc context the servicer is given (the stub's
    # _ServicerContext exists only in the .pyi), with the two calls it makes.
    reply = servicer.GetVersion(milvus_pb2.GetVersionRequest(), cast(Any, Context()))
    assert isinstance(reply, milvus_pb2.GetVersionResponse)
    assert reply.status.code == 0 and reply.version == "t"


def test_a_route_for_an_rpc_the_service_does_not_declare_is_refused_at_start() -> None:
    bogus = Route("NoSuchRpc", lambda ctx, request, call: None, None, PUBLIC)
    with pytest.raises(ValueError, match="NoSuchRpc"):
        milvus_servicer(Pipeline(context(), [*ROUTES, bogus]))


# --- the Milvus 1.x API on the same pipeline


def test_every_legacy_route_names_a_declared_rpc_and_answers_its_reply_type() -> None:
    from proto.legacy.v1 import milvus_pb2 as v1
    from proto.legacy.v1 import status_pb2
    from proxy.legacy.routes import legacy_routes
    from proxy.legacy.service import LegacyApi

    service = v1.DESCRIPTOR.services_by_name["MilvusService"]
    for route in legacy_routes(LegacyApi(context())):
        declared = service.methods_by_name.get(route.method)
        assert declared is not None, route.method
        reply = status_pb2.Status if route.reply is None else route.reply
        assert reply.DESCRIPTOR.full_name == declared.output_type.full_name, route.method


def test_a_legacy_refusal_is_a_1x_status_and_is_observed_under_its_own_name() -> None:
    from proto.legacy.v1 import milvus_pb2 as v1
    from proto.legacy.v1 import status_pb2
    from proxy.legacy import translate
    from proxy.legacy.routes import MILVUS_V1

    recorder = Recorder()

    def handler(ctx: ProxyContext, request: Any, call: Call) -> v1.BoolReply:
        raise translate.Refused(status_pb2.ILLEGAL_COLLECTION_NAME, "Invalid collection name")

    route = Route("HasCollection", handler, v1.BoolReply, Privilege("Collection", "Describe"))
    pipeline = Pipeline(context(), [route], recorder, recorder, MILVUS_V1)
    reply = pipeline.serve("HasCollection", v1.CollectionName(collection_name="1x"), {})
    assert isinstance(reply, v1.BoolReply)
    assert reply.status.error_code == status_pb2.ILLEGAL_COLLECTION_NAME
    assert reply.status.reason == "Invalid collection name"
    assert recorder.events[0][1][3] == Privilege("Collection", "Describe")
    assert recorder.events[-1] == ("observe", ("v1.HasCollection", "Refused"))
