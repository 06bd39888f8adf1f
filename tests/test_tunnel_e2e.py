"""The tunnel end to end with in-memory ERP handlers: routing, errors, deadlines, cancel, drops, streaming."""

from __future__ import annotations

import asyncio
import hashlib
import time

import grpc
import pytest

from onlineconnect.testing import running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc


async def test_get_order_through_the_relay() -> None:
    """A generated stub gets an answer that the agent produced, through gateway and tunnel."""
    async with running_relay(FakeHandlers(name="A")) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        resp = await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=relay.shop_auth,
            timeout=5,
        )
        assert resp.order.summary.order_number == "091782005"
        assert resp.order.summary.shop_order_number == "A"


async def test_agent_errors_reach_the_shop_with_their_status() -> None:
    """NOT_FOUND and INVALID_ARGUMENT raised in the agent arrive as such, with the message."""
    async with running_relay(FakeHandlers()) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"),
                metadata=relay.shop_auth,
                timeout=5,
            )
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert e.value.details() == "order not found"
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(orders_pb2.GetOrderRequest(order_number="1"), metadata=relay.shop_auth, timeout=5)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "customer_number" in (e.value.details() or "")


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer wrong"),), (("authorization", "Basic x"),)])
async def test_wrong_shop_key_is_unauthenticated(metadata: tuple[tuple[str, str], ...]) -> None:
    """A missing, unknown or malformed shop key gets UNAUTHENTICATED, and the agent is never asked."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        stub = stock_pb2_grpc.StockServiceStub(relay.shop_channel())
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetStoreStock(stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=metadata, timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert handlers.calls == 0


async def test_no_agent_is_unavailable_at_once() -> None:
    """With no agent connected for the tenant the call fails UNAVAILABLE within 100 ms, not at its deadline."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        # Warm the channel so the measurement covers the gateway's answer, not TCP connection setup.
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="1"),
                metadata=relay.shop_auth,
                timeout=30,
            )
        t0 = time.perf_counter()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
                metadata=relay.shop_auth,
                timeout=30,
            )
        elapsed = time.perf_counter() - t0
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "no agent connected" in (e.value.details() or "")
        assert elapsed < 0.1, f"took {elapsed * 1000:.1f} ms"


async def test_deadline_is_passed_and_cancel_reaches_the_agent() -> None:
    """A call whose deadline passes fails DEADLINE_EXCEEDED at the deadline and the agent's work is cancelled."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        t0 = time.perf_counter()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW"),
                metadata=relay.shop_auth,
                timeout=0.3,
            )
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.perf_counter() - t0 < 1.5
        async with asyncio.timeout(2):
            while handlers.cancelled == 0:
                await asyncio.sleep(0.01)


async def test_shop_cancel_reaches_the_agent() -> None:
    """When the shop cancels a call, the agent stops working on it."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        call = stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW"),
            metadata=relay.shop_auth,
            timeout=10,
        )
        await handlers.started.wait()
        call.cancel()
        async with asyncio.timeout(2):
            while handlers.cancelled == 0:
                await asyncio.sleep(0.01)


async def test_tunnel_drop_fails_in_flight_calls_unavailable() -> None:
    """When the agent goes away mid-request, the waiting call fails UNAVAILABLE at once (not CANCELLED, no hang)."""
    handlers = FakeHandlers()
    handlers.slow_seconds = 30
    async with running_relay(handlers) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        call = stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW"),
            metadata=relay.shop_auth,
            timeout=20,
        )
        await handlers.started.wait()
        t0 = time.perf_counter()
        await relay.stop_agents()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert time.perf_counter() - t0 < 2


async def test_slow_query_does_not_block_fast_ones() -> None:
    """Many fast calls complete while a slow one is in flight on the same tunnel."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        slow = asyncio.ensure_future(
            stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW"),
                metadata=relay.shop_auth,
                timeout=10,
            )
        )
        await handlers.started.wait()
        fast = [
            stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
                metadata=relay.shop_auth,
                timeout=10,
            )
            for _ in range(50)
        ]
        results = await asyncio.gather(*fast)
        assert len(results) == 50
        assert not slow.done()
        await slow


async def test_pdf_streams_through_flow_control() -> None:
    """A multi-megabyte stream arrives whole and in order, with the hash of the first message matching."""
    handlers = FakeHandlers(pdf_size=3 * 1024 * 1024 + 17)
    async with running_relay(handlers) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        parts = []
        first = None
        async for msg in stub.GetInvoicePdf(
            orders_pb2.GetInvoicePdfRequest(customer_number="4711", order_number="1", document_id="INV-1"),
            metadata=relay.shop_auth,
            timeout=20,
        ):
            first = first or msg
            parts.append(msg.data)
        data = b"".join(parts)
        assert data == handlers.pdf
        assert first is not None and first.sha256 == hashlib.sha256(data).hexdigest()
        assert first.size == len(data)


async def test_streaming_error_reaches_the_shop() -> None:
    """An error raised before the first chunk of a stream arrives with its status."""
    async with running_relay(FakeHandlers()) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        with pytest.raises(grpc.aio.AioRpcError) as e:
            async for _ in stub.GetInvoicePdf(
                orders_pb2.GetInvoicePdfRequest(document_id="nope"), metadata=relay.shop_auth, timeout=5
            ):
                pass
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_agent_reconnects_after_gateway_restart() -> None:
    """After the gateway stops and starts again on the same port, the agent's tunnel comes back by itself."""
    from onlineconnect.gateway.server import GatewayServer

    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        port = relay.gateway.port
        await relay.gateway.stop(0)
        new = GatewayServer(
            relay.gateway.config.__class__(**{**relay.gateway.config.__dict__, "listen": f"127.0.0.1:{port}"})
        )
        await new.start()
        relay.gateway = new
        await relay.wait_tunnels(relay.tenant, 1, timeout=10)
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        resp = await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=relay.shop_auth,
            timeout=5,
        )
        assert resp.order.summary.order_number == "091782005"
