"""The shared relay's bounds: shops that never read, and agents that ignore their window, exhaust nothing.

Shops here are raw HTTP/2 connections advertising a zero receive window (:mod:`stalled_shop`); agents are the
real agent session (with fake handlers) or a hand-made rogue one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import structlog.testing
from google.protobuf.message import Message
from support.rogue_agent import READY, expect_closed, handshake

from onlineconnect import wire
from onlineconnect.calls import BY_METHOD, Call
from onlineconnect.gateway.config import ShopCredential
from onlineconnect.testing import RunningRelay, running_relay, sha
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.testing.stalled_shop import StalledConnection
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc, tunnel_pb2

OTHER_KEY = "second-shop-of-the-same-tenant"
PDF = BY_METHOD["GetInvoicePdf"]
AUTH = "authorization"


def add_shop(relay: RunningRelay, name: str, key: str) -> tuple[tuple[str, str], ...]:
    """Adds a second shop key of the relay's tenant (a reload); returns its metadata."""
    config = relay.gateway.config
    cred = ShopCredential(name=name, tenant=relay.tenant, key_sha256=sha(key), rpcs=frozenset({"*"}))
    relay.gateway.apply_config(dataclasses.replace(config, shops={**config.shops, cred.key_sha256: cred}))
    return ((AUTH, f"Bearer {key}"),)


def metric(relay: RunningRelay, name: str, **labels: str) -> float:
    """One sample of the gateway's metrics (0 if absent)."""
    for family in relay.gateway.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    """Polls ``predicate`` until it is true."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_non_reading_pdf_streams_do_not_lock_out_the_tenant() -> None:
    """64 deadline-less PDF streams of one key on zero-window connections leave the tenant's other shops served,
    show in the metrics while stuck, and all end by the default deadline, giving back every slot."""
    handlers = FakeHandlers(pdf_size=20 * 1024 * 1024)  # far more than the window: the agent waits for credits
    async with running_relay(handlers) as relay:
        other = add_shop(relay, "second-shop", OTHER_KEY)
        port = int(relay.address.rsplit(":", 1)[1])
        request = orders_pb2.GetInvoicePdfRequest(customer_number="4711", order_number="1", document_id="INV-1")
        conns = [StalledConnection(port) for _ in range(4)]
        try:
            sids = [
                (c, c.call(PDF.path, request.SerializeToString(), relay.shop_auth)) for c in conns for _ in range(16)
            ]
            admission = relay.gateway.relay.admission
            cap = relay.gateway.config.tenants[relay.tenant].max_in_flight_per_shop
            await wait_for(lambda: admission.in_flight(relay.tenant) == cap)
            refused = [s for c, s in sids if c.status(s) == str(grpc.StatusCode.RESOURCE_EXHAUSTED.value[0])]
            await wait_for(lambda: sum(c.status(s) is not None for c, s in sids) >= 64 - cap)
            refused = [s for c, s in sids if c.status(s) == str(grpc.StatusCode.RESOURCE_EXHAUSTED.value[0])]
            assert len(refused) == 64 - cap, "one key may hold only its share of the tenant's slots"
            assert metric(relay, "onlineconnect_gateway_requests_in_flight", rpc="GetInvoicePdf") == cap
            assert metric(relay, "onlineconnect_gateway_shop_unread_bytes") > 0

            # The same tenant's other shop is served meanwhile, unary and streaming.
            ch = relay.shop_channel()
            got = await orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=other, timeout=5
            )
            assert got.order.summary.order_number == "091782005"
            stock = await stock_pb2_grpc.StockServiceStub(ch).GetStoreStock(
                stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=other, timeout=5
            )
            assert stock.article.sku == "851888-XS-KI"

            # Every stuck stream ends by the (default) deadline though the shop sent none and never read. (The
            # status cannot reach a shop that never reads: trailers queue behind the unsent data.)
            ended = {"rpc": "GetInvoicePdf", "tenant": relay.tenant, "code": "DEADLINE_EXCEEDED"}
            await wait_for(lambda: metric(relay, "onlineconnect_gateway_requests_total", **ended) == cap, timeout=30)
            await wait_for(lambda: admission.in_flight(relay.tenant) == 0, timeout=5)
            assert metric(relay, "onlineconnect_gateway_requests_in_flight", rpc="GetInvoicePdf") == 0
            assert metric(relay, "onlineconnect_gateway_shop_not_reading_total", tenant=relay.tenant) == cap
        finally:
            for c in conns:
                c.close()


class BigStockHandlers(FakeHandlers):
    """Answers every BatchGetStoreStock with about 100 KB."""

    async def unary(self, call: Call, request: Message, ctx: Any) -> Message:
        if call.method != "BatchGetStoreStock":
            return await super().unary(call, request, ctx)
        entry = stock_pb2.BatchStoreStockEntry(sku="851888-XS-KI")
        entry.stock.article.name = "x" * 100_000
        return stock_pb2.BatchGetStoreStockResponse(entries=[entry])


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default)."""
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def test_unread_answers_are_bounded_by_the_memory_budget() -> None:
    """1,500 ~100 KB answers to zero-window shops stay within the per-key budget; past it calls are refused with
    RESOURCE_EXHAUSTED, and another tenant is served meanwhile."""
    options = {"demo": {"max_in_flight": 5000, "max_in_flight_per_shop": 5000}}  # only the budget is tested
    other_key = os.urandom(16)
    async with running_relay(BigStockHandlers(), tenant_options=options, extra_tenants={"other": other_key}) as r:
        budget = r.gateway.relay.budget
        request = stock_pb2.BatchGetStoreStockRequest(skus=["851888-XS-KI"]).SerializeToString()
        port = int(r.address.rsplit(":", 1)[1])
        path = BY_METHOD["BatchGetStoreStock"].path
        conns = [StalledConnection(port) for _ in range(15)]
        try:
            sids = [(c, c.call(path, request, r.shop_auth)) for c in conns for _ in range(100)]
            peak = 0
            done = 0
            for _ in range(3000):
                done = sum(c.status(s) is not None or s in c.headers for c, s in sids)
                peak = max(peak, budget.held)
                if done == len(sids):
                    break
                await asyncio.sleep(0.02)
            assert done == len(sids), "every call was answered, refused or is being written"
            peak = max(peak, budget.held)
            assert peak <= budget.per_key + 200_000, f"held {peak} bytes, budget {budget.per_key}"
            codes = [c.status(s) for c, s in sids]
            exhausted = codes.count(str(grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]))
            assert exhausted >= 1_300, "past the budget, new answers are refused"

            await r.start_agent(tenant="other", key=other_key)
            ch = r.shop_channel()
            other_auth = ((AUTH, "Bearer test-shop-key-other"),)
            got = await stock_pb2_grpc.StockServiceStub(ch).GetStoreStock(
                stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=other_auth, timeout=5
            )
            assert got.article.sku == "851888-XS-KI"
        finally:
            for c in conns:
                c.close()


async def rogue_stream(relay: RunningRelay, parts: int, part_size: int) -> tuple[grpc.StatusCode, int, bool]:
    """A rogue agent (valid token and key) answers a shop's PDF call with ``parts`` parts ignoring credits.

    Returns:
        The status the gateway ended the tunnel with, the parts the rogue managed to write, and whether the
        gateway still had the tunnel registered afterwards.
    """
    call, sealer, opener = await handshake(relay)
    await call.write(tunnel_pb2.ConnectRequest(sealed=sealer.seal(READY)))
    await relay.wait_tunnels(relay.tenant, 1)
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    shop = stub.GetInvoicePdf(
        orders_pb2.GetInvoicePdfRequest(customer_number="4711", order_number="1", document_id="INV-1"),
        metadata=relay.shop_auth,
        timeout=30,
    )
    shop_task = asyncio.ensure_future(shop.read())  # the shop reads one part, then nothing more
    call_id = 0
    while not call_id:  # the gateway's request for the call
        frame = (await call.read()).sealed
        plain = opener.open(frame)
        for msg in tunnel_pb2.TunnelBundle.FromString(plain).messages:
            if msg.HasField("request"):
                call_id = msg.call_id
    chunk = orders_pb2.GetInvoicePdfResponse(data=os.urandom(part_size)).SerializeToString()
    more = tunnel_pb2.AgentResponse(code=0, final=False).SerializeToString()
    written = 0
    try:
        for _ in range(parts):
            message = wire.response_message(call_id, more, chunk)
            for frame in sealer.seal_all(wire.bundle([message])):
                await call.write(tunnel_pb2.ConnectRequest(sealed=frame))
            written += 1
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        pass
    status = await expect_closed(call)
    shop_task.cancel()
    return status, written, bool(relay.gateway.registry.tunnels(relay.tenant))


@pytest.fixture
async def bare_relay() -> AsyncIterator[RunningRelay]:
    """A gateway without an agent."""
    async with running_relay(FakeHandlers(), start_agent=False) as r:
        yield r


def rejections(logs: list[dict[str, Any]]) -> list[str]:
    """The reasons of the gateway's ``tunnel.rejected`` events."""
    return [str(e["reason"]) for e in logs if e["event"] == "tunnel.rejected"]


async def test_agent_sending_past_its_window_loses_its_tunnel(bare_relay: RunningRelay) -> None:
    """An agent that sends PDF parts beyond the credits it was granted has its tunnel closed as a logged protocol
    violation long before it could fill the gateway's memory."""
    rss_before = rss_bytes()
    with structlog.testing.capture_logs() as logs:
        status, written, registered = await rogue_stream(bare_relay, parts=6400, part_size=60 * 1024)  # 375 MiB
    assert status != grpc.StatusCode.OK
    assert not registered
    assert written < 200, "the gateway closed the tunnel at the first part past the window"
    assert [r for r in rejections(logs) if "beyond its window" in r]
    assert rss_bytes() - rss_before < 96 * 1024 * 1024


async def test_oversized_part_loses_the_tunnel(bare_relay: RunningRelay) -> None:
    """A streamed part larger than the maximum part size ends the tunnel as a logged protocol violation."""
    with structlog.testing.capture_logs() as logs:
        status, _, registered = await rogue_stream(bare_relay, parts=1, part_size=1024 * 1024)
    assert status != grpc.StatusCode.OK
    assert not registered
    assert [r for r in rejections(logs) if "more than the maximum" in r]


async def test_tunnel_moves_to_a_fresh_connection_before_the_maximum_age() -> None:
    """With a short maximum connection age, the agent is asked to reconnect before gRPC closes its connection,
    and shop calls keep being answered across several ages."""
    async with running_relay(FakeHandlers(), max_connection_age=5.0, max_connection_age_grace=3.0) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        request = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
        with structlog.testing.capture_logs() as logs:
            answered = 0
            loop = asyncio.get_running_loop()
            end = loop.time() + 8.0
            while loop.time() < end:
                got = await stub.GetOrder(request, metadata=relay.shop_auth, timeout=5)
                answered += got.order.summary.order_number == "091782005"
                await asyncio.sleep(0.1)
        renewals = [e for e in logs if e["event"] == "tunnel.retiring" and "maximum age" in e["reason"]]
        assert len(renewals) >= 1
        assert all(e["log_level"] == "info" for e in renewals)
        assert answered >= 50
