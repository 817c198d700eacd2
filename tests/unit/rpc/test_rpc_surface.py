"""Every interface method is an RPC, every client implements it exactly, every servicer
delegates it: arguments reach the core and its answer reaches the caller, unchanged."""

from __future__ import annotations

import inspect

import pytest
from rpc_fakes import ROLES, Role, interface_methods, method_hints, rpc_name, served, snake
from rpc_samples import same, sample_value

from elanus.rpc import start_server
from proto.internal import roles_pb2 as pb


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_one_rpc_per_interface_method(role: Role) -> None:
    rpcs = set(pb.DESCRIPTOR.services_by_name[role.service].methods_by_name)
    assert {rpc_name(m) for m in interface_methods(role.interface)} == rpcs
    assert {snake(r) for r in rpcs} == set(interface_methods(role.interface))


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_client_signatures_match_the_interface(role: Role) -> None:
    for method in interface_methods(role.interface):
        ours = inspect.signature(getattr(role.client, method))
        theirs = inspect.signature(getattr(role.interface, method))
        assert ours == theirs, f"{role.client.__name__}.{method}{ours} != {theirs}"


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_servicer_implements_every_rpc(role: Role) -> None:
    for rpc in pb.DESCRIPTOR.services_by_name[role.service].methods_by_name:
        assert rpc in vars(role.servicer), f"{role.servicer.__name__} does not serve {rpc}"


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_every_call_carries_its_arguments_and_answer(role: Role) -> None:
    with served(role) as (client, core):
        for seed, method in enumerate(interface_methods(role.interface)):
            hints = method_hints(role.interface, method)
            returns = hints.pop("return")
            # Distinct seeds, so two arguments of one type never look alike.
            args = tuple(
                sample_value(hint, name, 100 * seed + i)
                for i, (name, hint) in enumerate(hints.items())
            )
            expected = None if returns is type(None) else sample_value(returns, method, seed)
            core.returns[method] = expected
            core.calls.clear()

            answer = getattr(client, method)(*args)

            assert len(core.calls) == 1, f"{method}: {core.calls}"
            called, received = core.calls[0]
            assert called == method
            assert same(received, args), f"{method}: sent {args!r}, core got {received!r}"
            assert same(answer, expected), f"{method}: core answered {expected!r}, got {answer!r}"


def test_start_server_refuses_what_is_not_a_role_servicer() -> None:
    with pytest.raises(TypeError, match="not a servicer"):
        start_server([object()], "127.0.0.1", 0)


def test_a_started_server_answers_on_the_port_it_reports() -> None:
    with served(ROLES[3]) as (client, core):
        assert client.address.startswith("127.0.0.1:") and not client.address.endswith(":0")
        client.submit(sample_value(method_hints(ROLES[3].interface, "submit")["task"]))
        assert [name for name, _ in core.calls] == ["submit"]
