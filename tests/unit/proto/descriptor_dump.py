"""Print the descriptors of a set of generated protobuf modules as JSON.

Run as a script in its own interpreter: pymilvus's generated modules and ours
register the same fully-qualified names, and one process's default descriptor
pool refuses the second registration. The test compares two such dumps.

    python descriptor_dump.py pymilvus.grpc_gen.milvus_pb2 [more modules...]
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor


def _dump_enum(enum: EnumDescriptor) -> dict[str, int]:
    return {value.name: value.number for value in enum.values}


def _dump_message(message: Descriptor, messages: dict[str, Any], enums: dict[str, Any]) -> None:
    fields = {}
    for fd in message.fields:
        type_name = ""
        if fd.message_type is not None:
            type_name = fd.message_type.full_name
        elif fd.enum_type is not None:
            type_name = fd.enum_type.full_name
        fields[fd.name] = {
            "number": fd.number,
            "type": fd.type,
            # is_repeated is the protobuf>=5 spelling; label is the older one, which
            # the stubs (of .venv's protobuf 7) lack but pymilvus 1.x's venv has.
            "repeated": bool(
                fd.is_repeated if hasattr(fd, "is_repeated") else fd.label == 3  # type: ignore[attr-defined]
            ),
            "type_name": type_name,
            "oneof": fd.containing_oneof.name if fd.containing_oneof is not None else "",
        }
    messages[message.full_name] = {"fields": fields, "map_entry": message.GetOptions().map_entry}
    for nested in message.nested_types:
        _dump_message(nested, messages, enums)
    for enum in message.enum_types:
        enums[enum.full_name] = _dump_enum(enum)


def dump(files: list[FileDescriptor]) -> dict[str, Any]:
    """Messages, enums and services of ``files`` keyed by their full names."""
    messages: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for file in files:
        for message in file.message_types_by_name.values():
            _dump_message(message, messages, enums)
        for enum in file.enum_types_by_name.values():
            enums[enum.full_name] = _dump_enum(enum)
        for service in file.services_by_name.values():
            services[service.full_name] = {
                method.name: {
                    "input": method.input_type.full_name,
                    "output": method.output_type.full_name,
                    "client_streaming": getattr(method, "client_streaming", False),
                    "server_streaming": getattr(method, "server_streaming", False),
                }
                for method in service.methods
            }
    return {"messages": messages, "enums": enums, "services": services}


def main(module_names: list[str]) -> None:
    files = [importlib.import_module(name).DESCRIPTOR for name in module_names]
    json.dump(dump(files), sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
