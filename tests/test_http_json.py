"""The HTTP door's JSON writer: the JSON value ``json_format.MessageToJson`` writes, on every demo answer."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from support.http_stack import HttpStack, http_relay

from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo.orders_seed import CUSTOMERS
from onlineconnect.agent.erp.demo.stock_seed import variant_skus
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.calls import BY_METHOD, CALLS
from onlineconnect.gateway.http_json import to_json
from onlineconnect.v1 import orders_pb2, stock_pb2

POSTCODES = ("68766", "10115", "80331")


def reference(message: Message) -> Any:
    """The JSON value ``json_format`` writes with the protos' field names (the door writes it compactly)."""
    text: str = json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None, ensure_ascii=False)
    return json.loads(text)


@pytest.fixture
async def stack(erp: Path) -> AsyncIterator[HttpStack]:
    """Gateway and agent on the demo ERP."""
    db = SqlAlchemyDatabase(f"sqlite:///{erp / 'erp.db'}", load_mapping())
    handlers = Handlers(
        OrderQueries(db, OrderSettings(archive_root=erp / "archive")), StockQueries(db, StockSettings())
    )
    async with http_relay(handlers) as s:
        yield s
    handlers.close()


async def answer(stack: HttpStack, method: str, request: Message) -> Message:
    """One unary call over the gRPC door, decoded."""
    call = BY_METHOD[method]
    rpc = stack.relay.shop_channel().unary_unary(
        call.path, request_serializer=None, response_deserializer=call.response_type.FromString
    )
    result: Message = await rpc(request.SerializeToString(), metadata=stack.relay.shop_auth)
    return result


async def demo_answers(stack: HttpStack) -> list[Message]:
    """Every order answer of every demo customer, and the stock of every demo variant at a few postcodes."""
    out: list[Message] = []
    for customer, _name, _mail in CUSTOMERS:
        listed = await answer(stack, "ListOrders", orders_pb2.ListOrdersRequest(customer_number=customer))
        out.append(listed)
        for summary in listed.orders:  # type: ignore[attr-defined]
            key: dict[str, Any] = {"customer_number": customer, "order_number": summary.order_number}
            out.append(await answer(stack, "GetOrder", orders_pb2.GetOrderRequest(**key)))
            out.append(await answer(stack, "GetReorderItems", orders_pb2.GetReorderItemsRequest(**key)))
    skus = [sku for sku, *_ in variant_skus()]
    for i in range(0, len(skus), 20):
        out.append(
            await answer(stack, "BatchGetStoreStock", stock_pb2.BatchGetStoreStockRequest(skus=skus[i : i + 20]))
        )
    for sku in skus:
        for postcode in POSTCODES:
            where = stock_pb2.Location(postcode=postcode, country="DE")
            out.append(await answer(stack, "GetStoreStock", stock_pb2.GetStoreStockRequest(sku=sku, location=where)))
    return out


async def test_every_demo_answer_is_written_as_json_format_writes_it(stack: HttpStack) -> None:
    """For every answer the demo ERP gives, the planned writer's JSON equals json_format's."""
    answers = await demo_answers(stack)
    assert len({type(a) for a in answers}) == 5
    assert len(answers) > 100
    for message in answers:
        assert json.loads(to_json(message)) == reference(message), type(message).__name__


def filled(message: Message, depth: int = 0) -> Message:
    """``message`` with every field set to a value off its default (repeated fields twice), recursively."""
    for field in message.DESCRIPTOR.fields:
        values = list(samples(field, depth))
        if not values:
            continue
        if field.is_repeated:
            target = getattr(message, field.name)
            for value in values[:2]:
                if field.message_type is not None:
                    target.add().CopyFrom(value)
                else:
                    target.append(value)
        elif field.message_type is not None:
            getattr(message, field.name).CopyFrom(values[0])
        else:
            setattr(message, field.name, values[0])
    return message


def samples(field: Any, depth: int) -> Iterator[Any]:
    """Non-default values for ``field``: strings with umlauts, large integers, odd floats, every enum value."""
    kinds = {
        field.TYPE_STRING: ["Größe „XS“ 🧦", 'quote " and \\ backslash'],
        field.TYPE_BYTES: [b"%PDF-\x00\xff", b"x"],
        field.TYPE_BOOL: [True, True],
        field.TYPE_INT64: [-(2**62), 9],
        field.TYPE_UINT64: [2**63, 1],
        field.TYPE_INT32: [-7, 2**31 - 1],
        field.TYPE_UINT32: [2**32 - 1, 3],
        field.TYPE_DOUBLE: [0.1, math.inf],
        field.TYPE_FLOAT: [0.1, math.nan],
    }
    if field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
        yield from (Timestamp(seconds=1767225600, nanos=5_000_000), Timestamp(seconds=1))
    elif field.message_type is not None:
        if depth < 3 and not field.message_type.GetOptions().map_entry:
            cls = type(_instance(field))
            yield filled(cls(), depth + 1)
            yield filled(cls(), depth + 1)
    elif field.enum_type is not None:
        numbers = [v.number for v in field.enum_type.values if v.number]
        yield from numbers or [0]
    else:
        yield from kinds.get(field.type, [])


def _instance(field: Any) -> Message:
    """An empty message of ``field``'s message type."""
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(field.message_type)()


@pytest.mark.parametrize("message_type", sorted({c.response_type for c in CALLS}, key=lambda t: t.__name__))
def test_every_field_kind_of_every_answer_type_matches_json_format(message_type: type[Message]) -> None:
    """Every field of every answer type, filled with edge values (64-bit, NaN, bytes, enums), writes as json_format."""
    message = filled(message_type())
    assert message.ListFields()
    assert json.loads(to_json(message)) == reference(message)


def test_negative_zero_unknown_enum_numbers_and_unset_presence_fields_match_json_format() -> None:
    """The edges where "set" and "default" part: -0.0 is written, an unknown enum number as a number, an unset
    message field not at all, a set but empty one as {}."""
    stock = stock_pb2.StoreStock(distance_km=-0.0, availability=77)  # type: ignore[arg-type]
    assert json.loads(to_json(stock)) == reference(stock) == {"distance_km": -0.0, "availability": 77}
    stock.store.SetInParent()
    assert json.loads(to_json(stock)) == reference(stock)
    assert json.loads(to_json(stock))["store"] == {}
    assert json.loads(to_json(stock_pb2.StoreStock())) == reference(stock_pb2.StoreStock()) == {}
