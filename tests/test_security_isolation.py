"""Isolation: tenants from each other, customers from each other, and a rogue agent from everyone."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from structlog.testing import capture_logs

from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders.testing import demo_queries as order_queries
from onlineconnect.agent.session import HandshakeError, TunnelSession
from onlineconnect.agent.stock.testing import demo_queries as stock_queries
from onlineconnect.envelope import PROTOCOL_VERSION, SessionSecret, new_nonce, session_pair
from onlineconnect.testing import AGENT_TOKEN, SHOP_KEY, RunningRelay, gateway_config, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, tunnel_pb2, tunnel_pb2_grpc

ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")


async def test_shop_key_of_tenant_a_only_reaches_tenant_a() -> None:
    """Each tenant's shop key is answered by its own tenant's agent only; the request cannot name another tenant."""
    a, b = FakeHandlers(name="A"), FakeHandlers(name="B")
    async with running_relay(a, extra_tenants={"b": os.urandom(16)}) as relay:
        key_b = relay.gateway.config.tenants["b"].keys[1]
        await relay.start_agent(handlers=b, tenant="b", key=key_b)
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        for _ in range(5):
            resp_a = await stub.GetOrder(ORDER, metadata=relay.shop_auth, timeout=5)
            resp_b = await stub.GetOrder(ORDER, metadata=(("authorization", f"Bearer {SHOP_KEY}-b"),), timeout=5)
            assert (resp_a.order.summary.shop_order_number, resp_b.order.summary.shop_order_number) == ("A", "B")
        assert a.calls == 5 and b.calls == 5


async def test_agent_token_for_a_cannot_register_for_b_nor_get_its_requests() -> None:
    """A token scoped to tenant A is refused for B (PERMISSION_DENIED); B's shop gets UNAVAILABLE, A sees nothing."""
    from onlineconnect.gateway.server import GatewayServer

    key_a, key_b = os.urandom(16), os.urandom(16)
    config = gateway_config(
        tenants={"a": {1: key_a}, "b": {1: key_b}},
        shops=[("shop-b", "b", "key-b")],
        agents=[("agent-a", "token-a", ["a"])],
    )
    gateway = GatewayServer(config)
    await gateway.start()
    relay = RunningRelay(gateway=gateway, address=f"127.0.0.1:{gateway.port}", tenant="a", key=key_a, handlers=None)
    try:
        handlers = FakeHandlers()
        await relay.start_agent(handlers=handlers, token="token-a", tenant="a", key=key_a)
        session = TunnelSession(tenant="b", agent_id="x", token="token-a", key_id=1, key=key_b, handlers=handlers)
        async with grpc.aio.insecure_channel(relay.address) as ch:
            with pytest.raises(HandshakeError, match="PERMISSION_DENIED"):
                await session.run(ch)
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await orders_pb2_grpc.OrderServiceStub(relay.shop_channel()).GetOrder(
                ORDER, metadata=(("authorization", "Bearer key-b"),), timeout=5
            )
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert handlers.calls == 0
    finally:
        await relay.stop_agents()
        for ch in relay.channels:
            await ch.close()
        await gateway.stop(0)


@pytest.fixture
async def erp_relay(tmp_path: Path) -> AsyncIterator[RunningRelay]:
    """The relay with the real handlers on the demo ERP."""
    (tmp_path / "o").mkdir()
    (tmp_path / "s").mkdir()
    handlers = Handlers(order_queries(tmp_path / "o"), stock_queries(tmp_path / "s"))
    try:
        async with running_relay(handlers) as relay:
            yield relay
    finally:
        handlers.close()


async def test_a_customer_cannot_see_another_customers_orders_invoices_or_returns(erp_relay: RunningRelay) -> None:
    """Every order, document and return of customer 4711 is NOT_FOUND for customer 4712, the same as a missing one."""
    stub = orders_pb2_grpc.OrderServiceStub(erp_relay.shop_channel())
    auth = erp_relay.shop_auth
    mine = await stub.ListOrders(orders_pb2.ListOrdersRequest(customer_number="4711", page_size=50), metadata=auth)
    theirs = await stub.ListOrders(orders_pb2.ListOrdersRequest(customer_number="4712", page_size=50), metadata=auth)
    assert mine.orders and theirs.orders
    assert not {o.order_number for o in mine.orders} & {o.order_number for o in theirs.orders}
    documents = 0
    for summary in mine.orders:
        order = (
            await stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number=summary.order_number), metadata=auth
            )
        ).order
        for rpc, req in (
            (stub.GetOrder, orders_pb2.GetOrderRequest(customer_number="4712", order_number=summary.order_number)),
            (
                stub.GetReorderItems,
                orders_pb2.GetReorderItemsRequest(customer_number="4712", order_number=summary.order_number),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await rpc(req, metadata=auth)
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
            assert e.value.details() == "order not found"
        for doc in order.documents:
            documents += 1
            req = orders_pb2.GetInvoicePdfRequest(
                customer_number="4712", order_number=summary.order_number, document_id=doc.document_id
            )
            with pytest.raises(grpc.aio.AioRpcError) as e:
                async for _ in stub.GetInvoicePdf(req, metadata=auth):
                    pass
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert documents > 0


class RogueAgent:
    """A hand-made agent client that completes the handshake and then misbehaves on purpose."""

    def __init__(self, relay: RunningRelay, channel: grpc.aio.Channel, *, seal_key: bytes | None = None) -> None:
        self.relay = relay
        self.call = tunnel_pb2_grpc.TunnelServiceStub(channel).Connect(
            metadata=(("authorization", f"Bearer {AGENT_TOKEN}"),)
        )
        self.seal_key = seal_key or relay.key

    async def open(self) -> None:
        """Hello, welcome, then a sealed TunnelReady (sealed with ``seal_key``)."""
        nonce = new_nonce()
        hello = tunnel_pb2.AgentHello(
            tenant="demo", agent_id="rogue", key_id=1, agent_nonce=nonce, protocol_version=PROTOCOL_VERSION
        )
        await self.call.write(tunnel_pb2.ConnectRequest(hello=hello))
        welcome = (await self.call.read()).welcome
        secret = SessionSecret(1, self.seal_key, nonce, welcome.gateway_nonce)
        self.sealer, self.opener = session_pair(secret, agent=True)
        ready = tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION))
        await self.send(tunnel_pb2.TunnelBundle(messages=[ready]).SerializeToString())

    async def send(self, plaintext: bytes) -> None:
        """Seals and writes one bundle."""
        await self.call.write(tunnel_pb2.ConnectRequest(sealed=self.sealer.seal(plaintext)))

    async def next_request(self) -> tunnel_pb2.TunnelMessage:
        """Reads until a request arrives."""
        while True:
            frame = await self.call.read()
            for msg in tunnel_pb2.TunnelBundle.FromString(self.opener.open(frame.sealed)).messages:
                if msg.HasField("request"):
                    return msg


async def test_rogue_agent_answering_a_foreign_call_id_is_disconnected_and_logged() -> None:
    """An answer to a call id the gateway never issued closes the tunnel (PERMISSION_DENIED) and logs it."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        async with grpc.aio.insecure_channel(relay.address) as ch:
            rogue = RogueAgent(relay, ch)
            with capture_logs() as logs:
                await rogue.open()
                await relay.wait_tunnels("demo", 1)
                shop = asyncio.ensure_future(
                    orders_pb2_grpc.OrderServiceStub(relay.shop_channel()).GetOrder(
                        ORDER, metadata=relay.shop_auth, timeout=10
                    )
                )
                request = await rogue.next_request()
                forged = tunnel_pb2.TunnelMessage(
                    call_id=request.call_id + 1000, response=tunnel_pb2.AgentResponse(code=0, final=True)
                )
                await rogue.send(tunnel_pb2.TunnelBundle(messages=[forged]).SerializeToString())
                with pytest.raises(grpc.aio.AioRpcError) as e:
                    while True:
                        await rogue.call.read()
                assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
                with pytest.raises(grpc.aio.AioRpcError) as shop_err:
                    await shop
                assert shop_err.value.code() == grpc.StatusCode.UNAVAILABLE
            rejected = [entry for entry in logs if entry["event"] == "tunnel.rejected"]
            assert rejected and rejected[0]["agent"] == "rogue" and "never issued" in rejected[0]["reason"]
            assert relay.gateway.registry.tunnels("demo") == []


async def test_rogue_agent_with_a_wrong_key_never_registers() -> None:
    """An agent with a valid token but the wrong tenant key is rejected at its first sealed frame and logged."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        async with grpc.aio.insecure_channel(relay.address) as ch:
            rogue = RogueAgent(relay, ch, seal_key=os.urandom(16))
            with capture_logs() as logs:
                await rogue.open()
                with pytest.raises(grpc.aio.AioRpcError) as e:
                    while True:
                        await rogue.call.read()
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert any(entry["event"] == "tunnel.rejected" for entry in logs)
            assert relay.gateway.registry.tunnels("demo") == []


async def test_agent_ignoring_drain_is_closed_after_the_grace() -> None:
    """A tunnel being retired whose agent ignores Drain gets no new calls and is closed by the gateway."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        async with grpc.aio.insecure_channel(relay.address) as ch:
            rogue = RogueAgent(relay, ch)
            await rogue.open()
            await relay.wait_tunnels("demo", 1)
            session_id = relay.gateway.registry.tunnels("demo")[0].session_id
            relay.gateway.tunnels.retire(session_id, "test retirement", grace=0.2)
            assert relay.gateway.registry.pick("demo") is None
            drained = False
            with pytest.raises(grpc.aio.AioRpcError) as e:
                while True:
                    frame = await rogue.call.read()
                    bundle = tunnel_pb2.TunnelBundle.FromString(rogue.opener.open(frame.sealed))
                    drained = drained or any(m.HasField("drain") for m in bundle.messages)
            assert drained
            assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "test retirement" in (e.value.details() or "")
            assert relay.gateway.registry.tunnels("demo") == []
