"""Several agents per tenant on one gateway (active-active), retry on another agent, and the drain of a replica."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onlineconnect.testing.cluster import ORDER, SHOP_AUTH, running_stack
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

SLOW = orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW")


async def test_calls_go_to_the_agent_with_the_fewest_calls_in_flight() -> None:
    """With one slow call on each of two agents busy or not, the next call goes to the agent with fewer in flight."""
    a, b = FakeHandlers(name="A"), FakeHandlers(name="B")
    async with running_stack(None, replicas=1) as stack:
        await stack.add_agent("a", a, [0])
        await stack.add_agent("b", b, [0])
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
        first = asyncio.ensure_future(stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10))
        while a.calls + b.calls == 0:
            await asyncio.sleep(0.01)
        busy, idle = (a, b) if a.calls else (b, a)
        answers = [await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5) for _ in range(5)]
        assert {r.order.summary.shop_order_number for r in answers} == {idle.name}
        assert busy.calls == 1 and idle.calls == 5
        assert (await first).order.summary.shop_order_number == busy.name


async def test_two_slow_calls_are_spread_over_two_agents() -> None:
    """Two concurrent slow calls land on different agents of the tenant."""
    a, b = FakeHandlers(name="A"), FakeHandlers(name="B")
    a.slow_seconds = b.slow_seconds = 0.5
    async with running_stack(None, replicas=1) as stack:
        await stack.add_agent("a", a, [0])
        await stack.add_agent("b", b, [0])
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
        first = asyncio.ensure_future(stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10))
        while a.calls + b.calls == 0:
            await asyncio.sleep(0.01)
        second = await stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10)
        names = {(await first).order.summary.shop_order_number, second.order.summary.shop_order_number}
        assert names == {"A", "B"}


async def test_a_call_in_flight_is_retried_once_on_another_agent_when_its_agent_disappears() -> None:
    """The agent holding a call dies: the shop gets the answer of the tenant's other agent, exactly once, OK."""
    a, b = FakeHandlers(name="A"), FakeHandlers(name="B")
    a.slow_seconds = 30.0  # A would never answer in time: the answer must come from B
    b.slow_seconds = 0.1
    async with running_stack(None, replicas=1) as stack:
        await stack.add_agent("a", a, [0])
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
        call = asyncio.ensure_future(stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10))
        await a.started.wait()
        await stack.add_agent("b", b, [0])
        await stack.kill_agent("a")
        answer = await call
        assert answer.order.summary.shop_order_number == "B"
        assert a.calls == 1 and b.calls == 1


async def test_without_another_agent_a_dropped_call_fails_unavailable_at_once() -> None:
    """The only agent dies with a call in flight: the shop gets UNAVAILABLE, not a hang until the deadline."""
    a = FakeHandlers(name="A")
    a.slow_seconds = 30.0
    async with running_stack(None, replicas=1) as stack:
        await stack.add_agent("a", a, [0])
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
        call = asyncio.ensure_future(stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=20))
        await a.started.wait()
        await stack.kill_agent("a")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "disconnected" in (e.value.details() or "")


async def test_an_agent_with_two_gateway_addresses_keeps_a_tunnel_to_each() -> None:
    """One agent configured with two gateways is connected to both; either answers, and losing one loses nothing."""
    a = FakeHandlers(name="A")
    async with running_stack(None, replicas=2) as stack:
        await stack.add_agent("a", a, [0, 1])
        assert [len(g.registry.tunnels("demo")) for g in stack.gateways] == [1, 1]
        for i in (0, 1):
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(i))
            assert (await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number == "A"
        await stack.gateways[0].stop(0)
        stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
        assert (await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number == "A"


async def test_drain_finishes_calls_in_flight_turns_not_serving_and_sends_agents_away() -> None:
    """Stopping a replica drains it: the call in flight is answered, health says NOT_SERVING, new calls get
    UNAVAILABLE at once, the agent's tunnel to it closes, and the other replica keeps answering."""
    a = FakeHandlers(name="A")
    a.slow_seconds = 0.5
    async with running_stack(None, replicas=2) as stack:
        await stack.add_agent("a", a, [0, 1])
        gw = stack.gateways[0]
        stub0 = orders_pb2_grpc.OrderServiceStub(stack.channel(0))
        stub1 = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
        health = health_pb2_grpc.HealthStub(stack.channel(0))
        in_flight = asyncio.ensure_future(stub0.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10))
        await a.started.wait()
        stopping = asyncio.create_task(gw.stop(5.0))
        while gw.relay.accepting:
            await asyncio.sleep(0.005)
        status = await health.Check(
            health_pb2.HealthCheckRequest(service="onlineconnect.tenant.demo"), metadata=SHOP_AUTH, timeout=5
        )
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub0.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "another replica" in (e.value.details() or "")
        assert (await in_flight).order.summary.shop_order_number == "A"
        await stopping
        assert gw.tunnels.live == {}
        assert (await stub1.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number == "A"
