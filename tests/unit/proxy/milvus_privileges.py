"""Print, as JSON, the privilege Milvus checks for each request message:
``{"LoadCollectionRequest": ["Collection", "Load"], ...}``, read from the
``common.privilege_ext_obj`` option on pymilvus's shipped descriptors (Milvus's
own proto). A request without the option is checked by no privilege in Milvus.

Run as a script in its own interpreter: pymilvus's generated modules and ours
register the same names in one descriptor pool.
"""

from __future__ import annotations

import json

from pymilvus.grpc_gen import common_pb2, milvus_pb2

PREFIX = "Privilege"


def privileges() -> dict[str, list[str]]:
    found = {}
    for name, message in milvus_pb2.DESCRIPTOR.message_types_by_name.items():
        options = message.GetOptions()
        if not options.HasExtension(common_pb2.privilege_ext_obj):
            continue
        ext = options.Extensions[common_pb2.privilege_ext_obj]
        privilege = common_pb2.ObjectPrivilege.Name(ext.object_privilege)
        assert privilege.startswith(PREFIX), privilege
        found[name] = [common_pb2.ObjectType.Name(ext.object_type), privilege[len(PREFIX) :]]
    return found


if __name__ == "__main__":
    print(json.dumps(privileges()))
