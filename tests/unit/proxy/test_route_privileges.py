"""Every route of proxy/routes.py carries the privilege Milvus checks for its RPC.

The oracle is Milvus's own proto as pymilvus ships it: the
``common.privilege_ext_obj`` option of each request message (object type and
privilege), which Milvus's privilege interceptor reads before any work. A request
without the option needs no privilege in Milvus (any authenticated user), so its
route is PUBLIC. Walks whatever routes exist, so an RPC added without the right
entry fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from proto.public import milvus_pb2
from proxy.legacy.routes import TABLE as LEGACY_V1_TABLE
from proxy.legacy.v0.routes import TABLE as LEGACY_V0_TABLE
from proxy.pipeline import PUBLIC, Privilege
from proxy.routes import ROUTES

HELPER = Path(__file__).with_name("milvus_privileges.py")


@pytest.fixture(scope="module")
def milvus_privileges() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HELPER)], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0 and "No module named 'pymilvus'" in done.stderr:
        pytest.skip("pymilvus is not installed in this interpreter")
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    assert found, "pymilvus's descriptors carry no privilege options"
    return found


def expected_privilege(request: str, milvus_privileges: dict[str, Any]) -> Privilege | None:
    if request not in milvus_privileges:
        return PUBLIC
    object_type, name = milvus_privileges[request]
    return Privilege(object_type, name)


def test_every_route_needs_the_privilege_milvus_checks(
    milvus_privileges: dict[str, Any],
) -> None:
    service = milvus_pb2.DESCRIPTOR.services_by_name["MilvusService"]
    wrong = []
    for route in ROUTES:
        method = service.methods_by_name.get(route.method)
        assert method is not None, f"{route.method} is routed but not declared"
        expected = expected_privilege(method.input_type.name, milvus_privileges)
        if route.privilege != expected:
            wrong.append(f"{route.method}: routed with {route.privilege}, Milvus checks {expected}")
    assert not wrong, "\n".join(wrong)


def test_the_oracle_knows_the_privileges_of_the_core_rpcs(
    milvus_privileges: dict[str, Any],
) -> None:
    """Guards the oracle itself: a few entries as Milvus's rbac docs name them."""
    assert milvus_privileges["SearchRequest"] == ["Collection", "Search"]
    assert milvus_privileges["InsertRequest"] == ["Collection", "Insert"]
    assert milvus_privileges["CreateCollectionRequest"] == ["Global", "CreateCollection"]
    assert "ShowCollectionsRequest" not in milvus_privileges


@pytest.mark.parametrize("table", [LEGACY_V1_TABLE, LEGACY_V0_TABLE], ids=["v1", "v0"])
def test_legacy_routes_need_privileges_milvus_knows(
    milvus_privileges: dict[str, Any],
    table: Sequence[tuple[str, object, Privilege | None]],
) -> None:
    """A 1.x/0.x RPC is the 2.x one it translates to: its privilege (or PUBLIC)
    must be one Milvus checks for some request, with Milvus's object type."""
    known = {Privilege(object_type, name) for object_type, name in milvus_privileges.values()}
    wrong = [
        f"{method}: {privilege}"
        for method, _, privilege in table
        if privilege is not PUBLIC and privilege not in known
    ]
    assert not wrong, "\n".join(wrong)
