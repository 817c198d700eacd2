"""The one place where protobuf messages become domain values and back.

The proxy's servicers call these functions and nothing else touches the wire
types. Row data inside Elanus is columnar Arrow in the layout of
:func:`elanus.columns.arrow_schema`; the wire carries :class:`FieldData` columns
in Milvus's layout, which pymilvus encodes and decodes as follows (read from
its ``entity_helper``/``prepare``):

* INT8/INT16/INT32 travel as ``int_data``, INT64 as ``long_data``; vectors are
  flattened rows with ``vectors.dim`` set; JSON is one UTF-8 document per row.
* Dynamic keys travel in one JSON column named ``$meta`` with ``is_dynamic``.
* On insert, a nullable column lists only its valid values and ``valid_data``
  says which rows they belong to; in results every row has a value slot.
  pymilvus sends ``valid_data`` for fields with a default value too (null or
  omitted rows), and learns which fields have one from DescribeCollection.
* ARRAY columns are ``array_data``: one ``ScalarField`` per row.
* A result column must have its ``oneof`` set even when empty, and vectors a
  non-zero ``dim``, or pymilvus cannot count its rows.

The work is split by reason to change: ``_schemas`` (collection schemas and
the CreateCollection rules), ``_rows`` (insert/upsert data -> Arrow),
``_results`` (Arrow -> query/search answers) and ``_wire`` (ids, query vectors,
params, statuses). Callers use only the names below.
"""

from __future__ import annotations

from elanus.columns import arrow_schema
from proxy.convert._names import (
    MAX_NAME_LENGTH,
    validate_alias,
    validate_collection_name,
    validate_database_name,
    validate_field_name,
    validate_partition_name,
)
from proxy.convert._results import field_data_from_table, output_columns, resolve_output_fields
from proxy.convert._rows import table_from_field_data, with_primary_keys
from proxy.convert._schemas import (
    MAX_ARRAY_CAPACITY,
    MAX_VARCHAR_LENGTH,
    MAX_VECTOR_DIM,
    NAME_PATTERN,
    added_field_from_proto,
    schema_from_proto,
    schema_to_proto,
    validate_new_schema,
)
from proxy.convert._search import (
    IteratorPage,
    flag,
    grouping_from_params,
    iterator_page_from_params,
    window_from_params,
)
from proxy.convert._wire import (
    ids_from_proto,
    ids_to_proto,
    json_object,
    kv_pairs_to_dict,
    status,
    vectors_from_placeholder_group,
)

__all__ = [
    "IteratorPage",
    "MAX_ARRAY_CAPACITY",
    "MAX_NAME_LENGTH",
    "NAME_PATTERN",
    "MAX_VARCHAR_LENGTH",
    "MAX_VECTOR_DIM",
    "added_field_from_proto",
    "arrow_schema",
    "field_data_from_table",
    "flag",
    "grouping_from_params",
    "ids_from_proto",
    "ids_to_proto",
    "json_object",
    "iterator_page_from_params",
    "kv_pairs_to_dict",
    "output_columns",
    "resolve_output_fields",
    "schema_from_proto",
    "schema_to_proto",
    "status",
    "table_from_field_data",
    "validate_alias",
    "validate_collection_name",
    "validate_database_name",
    "validate_field_name",
    "validate_new_schema",
    "validate_partition_name",
    "vectors_from_placeholder_group",
    "window_from_params",
    "with_primary_keys",
]
