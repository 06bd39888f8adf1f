"""Errors on the HTTP listener follow the Connect protocol and say what the gRPC door says for the same call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest
from support.http_stack import STOCK_ONLY_KEY, HttpStack, http_relay

from onlineconnect.calls import BY_METHOD
from onlineconnect.gateway.config import RateLimit
from onlineconnect.testing import SHOP_KEY
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2

GET_ORDER = BY_METHOD["GetOrder"].path
ORDER = {"customer_number": "4711", "order_number": "091782005"}


@pytest.fixture
async def stack() -> AsyncIterator[HttpStack]:
    """Gateway (gRPC and HTTP) + agent with the in-memory handlers."""
    async with http_relay(FakeHandlers()) as s:
        yield s


async def over_grpc(stack: HttpStack, body: dict[str, str], key: str | None) -> tuple[grpc.StatusCode, str]:
    """GetOrder over the gRPC door: status code and message."""
    rpc = stack.relay.shop_channel().unary_unary(
        GET_ORDER, request_serializer=None, response_deserializer=orders_pb2.GetOrderResponse.FromString
    )
    metadata = (("authorization", f"Bearer {key}"),) if key else ()
    try:
        await rpc(orders_pb2.GetOrderRequest(**body).SerializeToString(), metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        (None, ORDER, 401, "unauthenticated"),
        ("not-a-key", ORDER, 401, "unauthenticated"),
        (STOCK_ONLY_KEY, ORDER, 403, "permission_denied"),
        (SHOP_KEY, {"customer_number": "4712", "order_number": "091782005"}, 404, "not_found"),
        (SHOP_KEY, {"customer_number": "4711"}, 404, "not_found"),
        (SHOP_KEY, {"order_number": "091782005"}, 400, "invalid_argument"),
    ],
)
async def test_error_status_and_message_match_the_grpc_door(
    stack: HttpStack, key: str | None, body: dict[str, str], status: int, code: str
) -> None:
    """Each refusal has its Connect HTTP status and code, and the same code and message as over gRPC."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    async with stack.client() as http:
        r = await http.post(GET_ORDER, json=body, headers=headers)
    grpc_code, grpc_message = await over_grpc(stack, body, key)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"code": code, "message": grpc_message}
    assert grpc_code.name.lower() == code


async def test_a_foreign_order_answers_exactly_like_a_missing_one(stack: HttpStack) -> None:
    """Another customer's order and a missing order give the same status and the same body."""
    async with stack.client() as http:
        foreign = await http.post(GET_ORDER, json={**ORDER, "customer_number": "4712"}, headers=stack.auth)
        missing = await http.post(GET_ORDER, json={**ORDER, "order_number": "000000000"}, headers=stack.auth)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


async def test_rate_limit_answers_429_with_retry_after() -> None:
    """A key over its rate limit gets 429 resource_exhausted and a Retry-After in whole seconds."""
    async with (
        http_relay(FakeHandlers(), rate_limit=RateLimit(per_second=0.01, burst=1)) as stack,
        stack.client() as http,
    ):
        first = await http.post(GET_ORDER, json=ORDER, headers=stack.auth)
        second = await http.post(GET_ORDER, json=ORDER, headers=stack.auth)
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "resource_exhausted"
    assert int(second.headers["retry-after"]) >= 1


async def test_offline_erp_answers_503_unavailable() -> None:
    """Without a connected agent the call answers 503 unavailable."""
    async with http_relay(FakeHandlers(), start_agent=False) as stack, stack.client() as http:
        r = await http.post(GET_ORDER, json=ORDER, headers=stack.auth)
    assert r.status_code == 503
    assert r.json()["code"] == "unavailable"


async def test_connect_timeout_ms_is_the_deadline_and_reaches_the_agent() -> None:
    """Connect-Timeout-Ms ends a slow call with 504 deadline_exceeded and cancels the agent's work."""
    handlers = FakeHandlers()
    async with http_relay(handlers) as stack, stack.client() as http:
        r = await http.post(
            GET_ORDER,
            json={**ORDER, "order_number": "SLOW"},
            headers={**stack.auth, "connect-timeout-ms": "200"},
        )
        async with asyncio.timeout(5):
            while handlers.cancelled == 0:
                await asyncio.sleep(0.02)
    assert r.status_code == 504
    assert r.json()["code"] == "deadline_exceeded"


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b'{"customer_number": 4711, "order_number": "091782005"}', "customer_number"),
        (b'{"customer_number": "4711", "language": "KLINGON"}', "language"),
        (b'{"customer_number": "4711", "order_number": ["1"]}', "order_number"),
        (b'{"customer_number": "4711", "order_nummer": "1"}', "order_nummer"),
        (b'{"customer_number": "4711", ', "JSON"),
        (b"[]", "JSON object"),
    ],
)
async def test_malformed_json_or_a_wrong_typed_field_is_400_naming_the_field(
    stack: HttpStack, content: bytes, named: str
) -> None:
    """Unparseable JSON, a wrongly typed or an unknown field answer 400 invalid_argument naming the problem."""
    async with stack.client() as http:
        r = await http.post(GET_ORDER, content=content, headers={**stack.auth, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_argument"
    assert named in r.json()["message"]


async def test_oversized_body_is_refused_before_it_is_read(stack: HttpStack) -> None:
    """A body over the relay's request limit answers 400 invalid_argument, as the gRPC door does."""
    big = json.dumps({**ORDER, "order_number": "9" * 20_000}).encode()
    async with stack.client() as http:
        r = await http.post(GET_ORDER, content=big, headers={**stack.auth, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_argument"
    assert "16384" in r.json()["message"]


async def test_unknown_paths_and_grpc_content_types_get_json_errors(stack: HttpStack) -> None:
    """An unknown path answers 404, a gRPC request on this port 415, both with a Connect error body."""
    async with stack.client() as http:
        unknown = await http.post("/onlineconnect.v1.OrderService/DeleteOrder", json={}, headers=stack.auth)
        elsewhere = await http.get("/admin")
        grpc_type = await http.post(GET_ORDER, content=b"", headers={**stack.auth, "content-type": "application/grpc"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unimplemented")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")
    assert grpc_type.status_code == 415


async def test_request_id_is_echoed_or_made(stack: HttpStack) -> None:
    """A well-formed X-Request-Id comes back on answers and errors; a malformed one is replaced by a fresh one."""
    async with stack.client() as http:
        ok = await http.post(GET_ORDER, json=ORDER, headers={**stack.auth, "x-request-id": "shop-req:42"})
        err = await http.post(GET_ORDER, json=ORDER, headers={"x-request-id": "shop-req:43"})
        bad = await http.post(GET_ORDER, json=ORDER, headers={**stack.auth, "x-request-id": "has spaces"})
    assert ok.headers["x-request-id"] == "shop-req:42"
    assert err.headers["x-request-id"] == "shop-req:43"
    assert bad.headers["x-request-id"] not in {"", "has spaces"}


async def test_calls_are_counted_with_the_connect_protocol_label(stack: HttpStack) -> None:
    """The request counter labels HTTP calls protocol="connect", beside the gRPC door's "grpc"."""
    async with stack.client() as http:
        await http.post(GET_ORDER, json=ORDER, headers=stack.auth)
        await http.post(GET_ORDER, json=ORDER)
    await over_grpc(stack, ORDER, SHOP_KEY)
    text = stack.gateway.metrics.render().decode()
    lines = [line for line in text.splitlines() if line.startswith("onlineconnect_gateway_requests_total{")]
    assert any('code="OK"' in line and 'protocol="connect"' in line and "GetOrder" in line for line in lines)
    assert any('code="UNAUTHENTICATED"' in line and 'protocol="connect"' in line for line in lines)
    assert any('code="OK"' in line and 'protocol="grpc"' in line for line in lines)


INVOICE_PDF = BY_METHOD["GetInvoicePdf"].path
INVOICE = {**ORDER, "document_id": "INV-1"}


async def test_get_on_the_streaming_rpc_is_refused_405_allow_post(stack: HttpStack) -> None:
    """GET on the server-streaming GetInvoicePdf answers 405 with Allow: POST and a Connect error, not a stream."""
    params = {"encoding": "json", "message": json.dumps(INVOICE), "connect": "v1"}
    async with stack.client() as http:
        r = await http.get(INVOICE_PDF, params=params, headers=stack.auth)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert r.headers["content-type"] == "application/json"
    assert r.json()["code"] == "unimplemented"
    assert "POST" in r.json()["message"]


async def test_unary_json_on_the_streaming_rpc_names_the_streaming_types(stack: HttpStack) -> None:
    """An application/json POST to GetInvoicePdf answers 415 with Accept-Post naming the Connect streaming types."""
    async with stack.client() as http:
        r = await http.post(INVOICE_PDF, json=INVOICE, headers=stack.auth)
        proto = await http.post(INVOICE_PDF, content=b"", headers={**stack.auth, "content-type": "application/proto"})
    for answer in (r, proto):
        assert answer.status_code == 415
        assert answer.headers["accept-post"] == "application/connect+json, application/connect+proto"
        assert answer.json()["code"] == "unimplemented"


async def test_unary_rpcs_still_name_the_unary_types_on_415(stack: HttpStack) -> None:
    """A streaming content type on the unary GetOrder answers 415 with Accept-Post naming the unary types."""
    async with stack.client() as http:
        r = await http.post(
            GET_ORDER, content=b"{}", headers={**stack.auth, "content-type": "application/connect+json"}
        )
    assert r.status_code == 415
    assert r.headers["accept-post"] == "application/json, application/proto"


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(None, 401, "unauthenticated"), ("not-a-key", 401, "unauthenticated"), (STOCK_ONLY_KEY, 403, "permission_denied")],
)
async def test_a_malformed_body_without_a_valid_key_is_refused_for_the_key(
    stack: HttpStack, key: str | None, status: int, code: str
) -> None:
    """A malformed body without a valid key answers 401 (403 for a key of another scope) before 400, as on gRPC."""
    headers = {"content-type": "application/json"} | ({"authorization": f"Bearer {key}"} if key else {})
    async with stack.client() as http:
        r = await http.post(GET_ORDER, content=b'{"customer_number": ', headers=headers)
        good_key = await http.post(GET_ORDER, content=b'{"customer_number": ', headers={**headers, **stack.auth})
    assert (r.status_code, r.json()["code"]) == (status, code)
    assert (good_key.status_code, good_key.json()["code"]) == (400, "invalid_argument")
    text = stack.gateway.metrics.render().decode()
    grpc_name = code.upper()
    assert any(f'code="{grpc_name}"' in line and 'protocol="connect"' in line for line in text.splitlines())
