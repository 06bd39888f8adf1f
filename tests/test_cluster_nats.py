"""Gateway replicas linked through a real NATS server: routing to the replica holding the tenant, queue groups,
streaming across replicas, failover between replicas, and what happens when NATS is down."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import grpc
import pytest

from onlineconnect.testing import need_service
from onlineconnect.testing.cluster import ORDER, SHOP_AUTH, nats_server, port_open, running_stack
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

SLOW = orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW")
PDF = orders_pb2.GetInvoicePdfRequest(customer_number="4711", order_number="091782005", document_id="INV-1")


async def test_a_replica_without_a_tunnel_reaches_the_tenant_through_another_replica(tmp_path: Path) -> None:
    """A call on a replica holding no tunnel of the tenant is answered by the agent on the other replica."""
    a = FakeHandlers(name="A")
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url) as stack:
            await stack.add_agent("a", a, [0])
            await stack.wait_subscribed(0)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            answer = await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
            assert answer.order.summary.shop_order_number == "A"
            assert stack.gateways[1].cluster and stack.gateways[1].cluster.forwarded == 1
            assert stack.gateways[0].cluster and stack.gateways[0].cluster.served == 1
            with pytest.raises(grpc.aio.AioRpcError) as e:  # an agent's error status crosses replicas unchanged
                await stub.GetOrder(
                    orders_pb2.GetOrderRequest(customer_number="4712", order_number="1"), metadata=SHOP_AUTH, timeout=5
                )
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
            assert e.value.details() == "order not found"


async def test_an_invoice_pdf_streams_across_replicas_intact(tmp_path: Path) -> None:
    """GetInvoicePdf through another replica delivers every chunk in order, byte for byte."""
    a = FakeHandlers(name="A", pdf_size=700_000)
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url) as stack:
            await stack.add_agent("a", a, [0])
            await stack.wait_subscribed(0)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            chunks = [c.data async for c in stub.GetInvoicePdf(PDF, metadata=SHOP_AUTH, timeout=10)]
            assert len(chunks) > 2
            assert hashlib.sha256(b"".join(chunks)).hexdigest() == hashlib.sha256(a.pdf).hexdigest()


async def test_replicas_holding_the_same_tenant_share_its_calls(tmp_path: Path) -> None:
    """Two replicas each holding an agent of the tenant both answer calls arriving at a third replica."""
    a, b = FakeHandlers(name="A"), FakeHandlers(name="B")
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url, replicas=3) as stack:
            await stack.add_agent("a", a, [0])
            await stack.add_agent("b", b, [1])
            await stack.wait_subscribed(0)
            await stack.wait_subscribed(1)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(2))
            names = [(await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number]
            for _ in range(39):
                names.append(
                    (await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number
                )
            assert set(names) == {"A", "B"}


async def test_a_replica_unsubscribes_when_its_last_tunnel_of_the_tenant_goes(tmp_path: Path) -> None:
    """When no replica holds the tenant any more, a call gets UNAVAILABLE at once, naming every replica."""
    a = FakeHandlers(name="A")
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url) as stack:
            await stack.add_agent("a", a, [0])
            await stack.wait_subscribed(0)
            await stack.kill_agent("a")
            await stack.wait_subscribed(0, subscribed=False)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "on any gateway replica" in (e.value.details() or "")


async def test_a_call_whose_agent_disappears_is_retried_on_an_agent_of_another_replica(tmp_path: Path) -> None:
    """The only local agent dies with the call in flight: the call is retried once through NATS and answered."""
    a, b = FakeHandlers(name="A"), FakeHandlers(name="B")
    a.slow_seconds = 30.0
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url) as stack:
            await stack.add_agent("a", a, [0])
            await stack.add_agent("b", b, [1])
            await stack.wait_subscribed(1)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
            call = asyncio.ensure_future(stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10))
            await a.started.wait()
            b.slow_seconds = 0.05
            await stack.kill_agent("a")
            assert (await call).order.summary.shop_order_number == "B"


async def test_nats_down_fails_only_calls_that_needed_it_and_the_link_comes_back(tmp_path: Path) -> None:
    """With NATS killed, a replica without a tunnel answers UNAVAILABLE naming NATS while the replica with the
    tunnel keeps answering; once NATS is back, routing between replicas works again."""
    a = FakeHandlers(name="A")
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url) as stack:
            await stack.add_agent("a", a, [0])
            await stack.wait_subscribed(0)
            local = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
            remote = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            nats.kill()
            cluster = stack.gateways[1].cluster
            assert cluster is not None
            while cluster.connected:
                await asyncio.sleep(0.01)
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await remote.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "NATS" in (e.value.details() or "")
            assert (await local.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number == "A"
            nats.start()
            await stack.wait_subscribed(0)
            await stack.wait_subscribed(1, subscribed=False)
            async with asyncio.timeout(20):
                while True:
                    try:
                        answer = await remote.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
                        break
                    except grpc.aio.AioRpcError as exc:
                        assert exc.code() == grpc.StatusCode.UNAVAILABLE
                        await asyncio.sleep(0.2)
            assert answer.order.summary.shop_order_number == "A"


async def test_a_gateway_starts_and_serves_its_own_tunnels_while_nats_is_unreachable() -> None:
    """Single replica configured with a NATS address nobody listens on: it starts, and local calls work."""
    a = FakeHandlers(name="A")
    async with running_stack("nats://127.0.0.1:1", replicas=1, wait_cluster=False) as stack:
        await stack.add_agent("a", a, [0])
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
        assert (await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number == "A"
        await stack.kill_agent("a")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "NATS at nats://127.0.0.1:1" in (e.value.details() or "")


async def test_replicas_link_through_the_shared_nats_service() -> None:
    """The NATS service the deployment runs (127.0.0.1:4222) links two replicas (own subject prefix per run)."""
    need_service(port_open(4222), "NATS on 127.0.0.1:4222 (see .ci/run)")
    a = FakeHandlers(name="A")
    async with running_stack("nats://127.0.0.1:4222", prefix=f"octest{uuid.uuid4().hex[:8]}") as stack:
        await stack.add_agent("a", a, [0])
        await stack.wait_subscribed(0)
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
        assert (await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number == "A"
