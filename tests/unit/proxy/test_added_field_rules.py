"""The proxy's rules for AddCollectionField: Milvus 2.6's checks, in its order and words."""

from __future__ import annotations

import pytest

from elanus import errors
from elanus.schema import CollectionSchema, DataType, FieldSchema
from proto.public import common_pb2, schema_pb2
from proxy import convert


def collection(extra: int = 0) -> CollectionSchema:
    fields = (
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("v", DataType.FLOAT_VECTOR, type_params={"dim": "4"}),
        *(FieldSchema(f"f{i}", DataType.INT8, nullable=True) for i in range(extra)),
        FieldSchema("$meta", DataType.JSON, is_dynamic=True),
    )
    return CollectionSchema("c", fields, enable_dynamic_field=True).with_field_ids()


def field(name: str = "x", data_type: int = 5, **kwargs: object) -> schema_pb2.FieldSchema:
    params = kwargs.pop("params", {})
    assert isinstance(params, dict)
    pb = schema_pb2.FieldSchema(name=name, data_type=data_type, **kwargs)  # type: ignore[arg-type]
    pb.type_params.extend(common_pb2.KeyValuePair(key=k, value=v) for k, v in params.items())
    return pb


def test_a_nullable_scalar_is_accepted_unnumbered_with_its_params_normalised() -> None:
    added = convert.added_field_from_proto(
        field("tag", 21, nullable=True, params={"max_length": " 12 "}), collection()
    )
    assert added == FieldSchema(
        "tag", DataType.VARCHAR, type_params={"max_length": "12"}, nullable=True
    )
    with_default = convert.added_field_from_proto(
        field("n", 4, nullable=True, default_value=schema_pb2.ValueField(long_data=3)),
        collection(),
    )
    assert with_default.default_value == 3 and with_default.field_id == 0


@pytest.mark.parametrize(
    ("pb", "message"),
    [
        (field(data_type=0, nullable=True), "field data type: None is not supported"),
        (field(data_type=77, nullable=True), "is not supported"),
        (
            field(data_type=101, nullable=True, params={"dim": "4"}),
            "not support to add vector field, field name = x",
        ),
        (field("$meta", 23, nullable=True), "not support to add system field"),
        (field("RowID", nullable=True), "not support to add system field, field name = RowID"),
        (field(nullable=True, is_primary_key=True), "not support to add pk field"),
        (field(), "added field must be nullable, please check it, field name = x"),
        (
            field(default_value=schema_pb2.ValueField(long_data=1)),
            "added field must be nullable",
        ),
        (field(nullable=True, autoID=True), "only primary field can speficy AutoID"),
        (field(nullable=True, is_partition_key=True), "not support to add partition key field"),
        (field("id", nullable=True), "duplicate field name: id"),
    ],
)
def test_refusals_are_invalid_parameter_with_milvus_s_message(
    pb: schema_pb2.FieldSchema, message: str
) -> None:
    with pytest.raises(errors.ParameterInvalid) as caught:
        convert.added_field_from_proto(pb, collection())
    assert caught.value.code == 1100
    assert message in caught.value.reason


def test_field_rules_of_create_collection_apply_too() -> None:
    with pytest.raises(errors.ElanusError, match="max_length"):
        convert.added_field_from_proto(field("s", 21, nullable=True), collection())
    with pytest.raises(errors.ElanusError, match="invalid"):
        convert.added_field_from_proto(field("1x", nullable=True), collection())
    with pytest.raises(errors.ParameterInvalid, match="type not support default_value"):
        convert.added_field_from_proto(
            field("j", 23, nullable=True, default_value=schema_pb2.ValueField(string_data="{}")),
            collection(),
        )


def test_the_limit_is_64_listed_fields_the_dynamic_field_aside() -> None:
    convert.added_field_from_proto(field(nullable=True), collection(extra=61))
    with pytest.raises(errors.ParameterInvalid, match="reached the maximum value 64"):
        convert.added_field_from_proto(field(nullable=True), collection(extra=62))
