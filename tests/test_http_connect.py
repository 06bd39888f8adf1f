"""The shop services over the Connect protocol on the demo ERP: every RPC answers over HTTP as it does over gRPC."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_json_codec
from connectrpc.errors import ConnectError
from google.protobuf import json_format
from google.protobuf.message import Message
from support.http_stack import HttpStack, http_relay

from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.calls import BY_METHOD
from onlineconnect.v1 import orders_connect, orders_pb2

ORDER = {"customer_number": "4711", "order_number": "091782005"}
REQUESTS: dict[str, dict[str, Any]] = {
    "ListOrders": {"customer_number": "4711"},
    "GetOrder": ORDER,
    "GetReorderItems": ORDER,
    "GetStoreStock": {"sku": "851888-XS-KI", "location": {"postcode": "68766", "country": "DE"}},
    "BatchGetStoreStock": {"skus": ["851888-XS-KI", "851888-M-MA", "NOPE-1"]},
}
INVOICE = {**ORDER, "document_id": "D-1000001"}


@pytest.fixture
async def stack(erp: Path) -> AsyncIterator[HttpStack]:
    """Gateway (gRPC and HTTP) + agent on the demo ERP."""
    db = SqlAlchemyDatabase(f"sqlite:///{erp / 'erp.db'}", load_mapping())
    handlers = Handlers(
        OrderQueries(db, OrderSettings(archive_root=erp / "archive")), StockQueries(db, StockSettings())
    )
    async with http_relay(handlers) as s:
        yield s
    handlers.close()


async def grpc_answer(stack: HttpStack, method: str, body: dict[str, Any]) -> Message:
    """The same call over the gRPC door."""
    call = BY_METHOD[method]
    channel = stack.relay.shop_channel()
    rpc = channel.unary_unary(call.path, request_serializer=None, response_deserializer=call.response_type.FromString)
    request = json_format.ParseDict(body, call.request_type())
    answer: Message = await rpc(request.SerializeToString(), metadata=stack.relay.shop_auth)
    return answer


def timeless(message: Message) -> Message:
    """The message without ``data_as_of`` (the time the agent read the ERP differs from call to call)."""
    for field, value in message.ListFields():
        if field.name == "data_as_of":
            message.ClearField(field.name)
        elif field.message_type is not None:
            for item in value if field.is_repeated else [value]:
                timeless(item)
    return message


def envelope(data: bytes, flags: int = 0) -> bytes:
    """One Connect streaming frame."""
    return struct.pack(">BI", flags, len(data)) + data


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """The Connect streaming frames of a response body."""
    out, i = [], 0
    while i < len(body):
        flags, size = struct.unpack(">BI", body[i : i + 5])
        out.append((flags, body[i + 5 : i + 5 + size]))
        i += 5 + size
    return out


@pytest.mark.parametrize("method", sorted(REQUESTS))
async def test_every_unary_rpc_answers_the_same_over_json_binary_get_and_grpc(stack: HttpStack, method: str) -> None:
    """POST with JSON, POST with binary protobuf and GET with the JSON in the query answer what gRPC answers."""
    call = BY_METHOD[method]
    body = REQUESTS[method]
    expected = timeless(await grpc_answer(stack, method, body))
    path = call.path
    async with stack.client() as http:
        as_json = await http.post(path, json=body, headers=stack.auth)
        binary = await http.post(
            path,
            content=json_format.ParseDict(body, call.request_type()).SerializeToString(),
            headers={**stack.auth, "content-type": "application/proto"},
        )
        got = await http.get(
            path, params={"encoding": "json", "message": json.dumps(body)}, headers={**stack.auth, "Accept": "*/*"}
        )
    for r in (as_json, binary, got):
        assert r.status_code == 200, r.text
    assert as_json.headers["content-type"] == "application/json"
    assert binary.headers["content-type"] == "application/proto"
    assert timeless(json_format.Parse(as_json.text, call.response_type())) == expected
    assert timeless(call.response_type.FromString(binary.content)) == expected
    assert timeless(json_format.Parse(got.text, call.response_type())) == expected


async def test_json_answers_use_the_protos_field_names_and_leave_out_defaults(stack: HttpStack) -> None:
    """JSON answers name fields as the protos do (order_number), write int64 as strings and omit empty fields."""
    async with stack.client() as http:
        r = await http.post(BY_METHOD["GetOrder"].path, json=ORDER, headers=stack.auth)
    order = r.json()["order"]
    assert order["summary"]["order_number"] == "091782005"
    assert "orderNumber" not in r.text
    assert isinstance(order["summary"]["total"]["amount_minor"], str)
    assert order["summary"]["total"]["amount_minor"] == "11445"


async def test_requests_may_use_lower_camel_case_names(stack: HttpStack) -> None:
    """proto3 JSON's lowerCamelCase field names are accepted in requests, as any Connect client may send them."""
    async with stack.client() as http:
        r = await http.post(
            BY_METHOD["GetOrder"].path, json={"customerNumber": "4711", "orderNumber": "091782005"}, headers=stack.auth
        )
    assert r.status_code == 200
    assert r.json()["order"]["summary"]["order_number"] == "091782005"


async def test_invoice_streams_over_connect_in_envelopes(stack: HttpStack) -> None:
    """GetInvoicePdf over Connect streaming: chunks in envelopes, then an end-of-stream frame without error."""
    path = BY_METHOD["GetInvoicePdf"].path
    async with stack.client() as http:
        r = await http.post(
            path,
            content=envelope(json.dumps(INVOICE).encode()),
            headers={**stack.auth, "content-type": "application/connect+json"},
        )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/connect+json"
    parts = frames(r.content)
    assert parts[-1] == (2, b"{}")
    chunks = [json_format.Parse(data, orders_pb2.GetInvoicePdfResponse()) for flags, data in parts[:-1]]
    assert all(flags == 0 for flags, _ in parts[:-1])
    pdf = b"".join(c.data for c in chunks)
    assert chunks[0].size == len(pdf) and pdf.startswith(b"%PDF")
    assert chunks[0].sha256 == hashlib.sha256(pdf).hexdigest()


async def test_invoice_stream_error_ends_the_stream_with_the_error(stack: HttpStack) -> None:
    """A missing document ends the Connect stream with a not_found error in the end-of-stream frame."""
    path = BY_METHOD["GetInvoicePdf"].path
    async with stack.client() as http:
        r = await http.post(
            path,
            content=envelope(json.dumps({**INVOICE, "document_id": "D-9"}).encode()),
            headers={**stack.auth, "content-type": "application/connect+json"},
        )
    (flags, data), *_ = frames(r.content)
    assert flags == 2
    assert json.loads(data)["error"]["code"] == "not_found"


async def test_invoice_downloads_as_a_plain_pdf_with_its_file_name(stack: HttpStack) -> None:
    """The plain download answers application/pdf with Content-Disposition, Content-Length and the whole file."""
    stream = stack.relay.shop_channel().unary_stream(
        BY_METHOD["GetInvoicePdf"].path,
        request_serializer=None,
        response_deserializer=orders_pb2.GetInvoicePdfResponse.FromString,
    )
    request = orders_pb2.GetInvoicePdfRequest(**INVOICE).SerializeToString()
    chunks = [c async for c in stream(request, metadata=stack.relay.shop_auth)]
    async with stack.client() as http:
        r = await http.get("/v1/customers/4711/orders/091782005/invoices/D-1000001.pdf", headers=stack.auth)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="{chunks[0].file_name}"'
    assert r.headers["cache-control"] == "private, no-store"
    assert r.content == b"".join(c.data for c in chunks)
    assert int(r.headers["content-length"]) == len(r.content)


async def test_download_of_a_foreign_invoice_is_a_json_not_found(stack: HttpStack) -> None:
    """Another customer's invoice answers 404 with a Connect error, exactly like a missing one."""
    async with stack.client() as http:
        foreign = await http.get("/v1/customers/4712/orders/091782005/invoices/D-1000001.pdf", headers=stack.auth)
        missing = await http.get("/v1/customers/4711/orders/091782005/invoices/D-404.pdf", headers=stack.auth)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.headers["content-type"] == "application/json"
    assert foreign.json()["code"] == "not_found"


async def test_stock_answers_carry_the_cache_ttl_and_orders_are_not_stored(erp: Path) -> None:
    """Stock answers say max-age from the tenant's cache TTL; order answers say private, no-store."""
    db = SqlAlchemyDatabase(f"sqlite:///{erp / 'erp.db'}", load_mapping())
    handlers = Handlers(
        OrderQueries(db, OrderSettings(archive_root=erp / "archive")), StockQueries(db, StockSettings())
    )
    async with http_relay(handlers, tenant_options={"stock_cache_ttl": 30.0}) as stack, stack.client() as http:
        stock = await http.get(
            BY_METHOD["GetStoreStock"].path,
            params={"encoding": "json", "message": json.dumps(REQUESTS["GetStoreStock"])},
            headers=stack.auth,
        )
        order = await http.post(BY_METHOD["GetOrder"].path, json=ORDER, headers=stack.auth)
    handlers.close()
    assert stock.status_code == 200 and order.status_code == 200
    assert stock.headers["cache-control"] == "max-age=30"
    assert order.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("codec", ["proto", "json"])
async def test_the_generated_connect_client_talks_to_the_gateway(stack: HttpStack, codec: str) -> None:
    """The connectrpc client generated by make generate gets unary, GET, streaming and error answers."""
    options = {"codec": google_protobuf_json_codec()} if codec == "json" else {}
    client = orders_connect.OrderServiceClient(stack.base_url, **options)
    request = orders_pb2.GetOrderRequest(**ORDER)
    posted = await client.get_order(request, headers=stack.auth, timeout_ms=5000)
    fetched = await client.get_order(request, headers=stack.auth, use_get=True)
    pdf = b"".join(
        [
            part.data
            async for part in client.get_invoice_pdf(orders_pb2.GetInvoicePdfRequest(**INVOICE), headers=stack.auth)
        ]
    )
    with pytest.raises(ConnectError) as refused:
        await client.get_order(
            orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"), headers=stack.auth
        )
    assert posted.order.summary.order_number == fetched.order.summary.order_number == "091782005"
    assert pdf.startswith(b"%PDF")
    assert refused.value.code == Code.NOT_FOUND
