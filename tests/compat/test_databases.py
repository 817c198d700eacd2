"""Which database a call acts in (issue 19): pymilvus sends the client's
database in the ``dbname`` metadata header, not in the request body.

A client bound to a database that does not exist is refused with Milvus's
code, and nothing lands in ``default``. Databases that exist, and what they
hold: test_databases_aliases.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pymilvus import MilvusClient, MilvusException

from .helpers import ON_MILVUS_LITE

DATABASE_NOT_FOUND = 800

pytestmark = pytest.mark.not_on_milvus_lite("Milvus Lite has its own database handling")


def test_a_client_bound_to_a_missing_database_is_refused_and_changes_nothing(
    server_uri: str, client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    if ON_MILVUS_LITE:
        pytest.skip("Milvus Lite")
    name = new_collection_name("nodb")
    with pytest.raises(MilvusException) as refused:
        stranger = MilvusClient(uri=server_uri, db_name="no_such_db", timeout=30)
        try:
            stranger.create_collection(name, dimension=4)
        finally:
            stranger.close()
    assert refused.value.code == DATABASE_NOT_FOUND
    assert "database not found[database=no_such_db]" in refused.value.message
    assert not client.has_collection(name)


def test_the_default_database_named_explicitly_is_the_same_as_none(
    server_uri: str, client: MilvusClient, new_collection_name: Callable[[str], str]
) -> None:
    name = new_collection_name("defaultdb")
    named = MilvusClient(uri=server_uri, db_name="default", timeout=30)
    try:
        named.create_collection(name, dimension=4)
        named.insert(name, [{"id": 1, "vector": [0.0, 1.0, 0.0, 0.0]}])
    finally:
        named.close()
    assert client.has_collection(name)
    found = client.query(name, filter="id == 1", output_fields=["id"], consistency_level="Strong")
    assert found == [{"id": 1}]
