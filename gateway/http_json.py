"""proto3 JSON for the HTTP door's answers, written by a plan made once per message type.

``google.protobuf.json_format`` decides, for every field of every answer, what kind of value it holds (message,
enum, 64-bit integer, bytes …) by walking descriptor attributes in Python; for a GetStoreStock answer that is
most of the 0.6 ms it takes. :func:`to_json` makes that decision once per field descriptor and keeps it in a
plan, so that writing an answer is one C ``ListFields()`` call per message and one conversion per set field,
with the same JSON value (``preserving_proto_field_name=True``, fields without presence left out when they hold
their default) — ``tests/test_http_json.py`` checks that on every demo answer. The value is written by orjson's C
encoder, compact and in UTF-8: for the 8 KB stock answer that takes about a tenth of ``json.dumps``' time.
Well-known types other than ``Timestamp``, ``Duration`` and ``FieldMask`` (their
``ToJsonString``) are handed to ``json_format`` itself, as are extensions.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

Convert = Callable[[Any], Any]

_STRING_WKT = {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
_INT64 = {
    FieldDescriptor.CPPTYPE_INT64,
    FieldDescriptor.CPPTYPE_UINT64,
}
_FLOAT = {FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE}

# Per message type: field descriptor -> (JSON name, how to convert the value as ListFields() returns it).
_PLANS: dict[Descriptor, dict[FieldDescriptor, tuple[str, Convert | None]]] = {}
_CONVERTERS: dict[Descriptor, Convert] = {}
_PRINTER = json_format._Printer(preserving_proto_field_name=True)  # type: ignore[attr-defined]


def to_json(message: Message) -> bytes:
    """``message`` as proto3 JSON with the protos' field names: the value ``json_format.MessageToJson`` writes."""
    return orjson.dumps(to_object(message))


def to_object(message: Message) -> Any:
    """``message`` as the JSON value ``json_format`` would build (a dict for a regular message)."""
    return _message_converter(message.DESCRIPTOR)(message)  # type: ignore[arg-type]


def _message_converter(descriptor: Descriptor) -> Convert:
    full_name = descriptor.full_name
    if full_name in _STRING_WKT:
        return _to_json_string
    if full_name.startswith("google.protobuf."):
        printer: Convert = _PRINTER._MessageToJsonObject
        return printer
    convert = _CONVERTERS.get(descriptor)
    if convert is None:
        plan = _PLANS.setdefault(descriptor, {})

        def convert(message: Message) -> dict[str, Any]:
            js: dict[str, Any] = {}
            for field, value in message.ListFields():
                step = plan.get(field)
                if step is None:
                    if field.is_extension:
                        return dict(_PRINTER._MessageToJsonObject(message))
                    step = plan[field] = _field_step(field)
                name, each = step
                js[name] = value if each is None else each(value)
            return js

        convert = _CONVERTERS[descriptor] = convert
    return convert


def _field_step(field: FieldDescriptor) -> tuple[str, Convert | None]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_convert = _value_converter(field.message_type.fields_by_name["value"])

        def convert_map(value: Any) -> dict[str, Any]:
            return {
                (("true" if key else "false") if isinstance(key, bool) else str(key)): (
                    value[key] if value_convert is None else value_convert(value[key])
                )
                for key in value
            }

        return field.name, convert_map
    convert = _value_converter(field)
    if field.is_repeated:
        if convert is None:
            return field.name, list
        each = convert
        return field.name, lambda values: [each(v) for v in values]
    return field.name, convert


def _value_converter(field: FieldDescriptor) -> Convert | None:
    """How one value of ``field`` becomes JSON; None: as it is (strings, bools, 32-bit integers)."""
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_MESSAGE:
        assert field.message_type is not None
        return _message_converter(field.message_type)
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        assert field.enum_type is not None
        names = {v.number: _PRINTER._FieldToJsonObject(field, v.number) for v in field.enum_type.values}

        def convert_enum(value: int) -> Any:
            name = names.get(value)
            return name if name is not None else _PRINTER._FieldToJsonObject(field, value)

        return convert_enum
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        return _base64 if field.type == FieldDescriptor.TYPE_BYTES else None
    if cpp in _INT64:
        return str
    if cpp in _FLOAT:
        return _float if cpp == FieldDescriptor.CPPTYPE_FLOAT else _double
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return bool
    return None


def _to_json_string(message: Any) -> str:
    text: str = message.ToJsonString()
    return text


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("utf-8")


def _special(value: float) -> str | None:
    if math.isinf(value):
        return "-Infinity" if value < 0 else "Infinity"
    if math.isnan(value):
        return "NaN"
    return None


def _float(value: float) -> Any:
    special = _special(value)
    return special if special is not None else type_checkers.ToShortestFloat(value)


def _double(value: float) -> Any:
    special = _special(value)
    return special if special is not None else value
