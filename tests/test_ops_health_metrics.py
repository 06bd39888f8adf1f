"""Per-tenant gRPC health and the gateway's Prometheus endpoint, on real gateways and agents."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from support.ops_stack import SHOP_KEY, demo_stack

from onlineconnect.testing import SHOP_KEY as TEST_SHOP_KEY
from onlineconnect.testing import running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parses the Prometheus text format into {(sample name, sorted labels): value}."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def health(channel: grpc.aio.Channel, service: str, key: str = TEST_SHOP_KEY) -> int:
    """The health status of ``service`` on the gateway behind ``channel``, asked with shop key ``key``."""
    resp = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), metadata=(("authorization", f"Bearer {key}"),), timeout=5
    )
    status: int = resp.status
    return status


async def wait_health(channel: grpc.aio.Channel, service: str, want: int) -> None:
    """Waits (up to 10 s) until ``service`` reports ``want`` to the demo tenant's shop key."""
    async with asyncio.timeout(10):
        while await health(channel, service) != want:
            await asyncio.sleep(0.02)


async def test_tenant_health_follows_its_agent_both_ways() -> None:
    """``onlineconnect.tenant.<name>`` is NOT_SERVING without an agent, SERVING with one, NOT_SERVING after it left
    (asked with the tenant's shop key; tests/test_health_auth.py covers who may ask)."""
    async with running_relay(FakeHandlers(), start_agent=False, extra_tenants={"other": bytes(16)}) as relay:
        ch = relay.shop_channel()
        assert await health(ch, "") == SERVING  # the server as a whole takes calls and tunnels
        assert await health(ch, "onlineconnect.tenant.demo") == NOT_SERVING
        await relay.start_agent()
        await wait_health(ch, "onlineconnect.tenant.demo", SERVING)
        other = await health(ch, "onlineconnect.tenant.other", f"{TEST_SHOP_KEY}-other")
        assert other == NOT_SERVING  # another tenant is not affected
        await relay.stop_agents()
        await wait_health(ch, "onlineconnect.tenant.demo", NOT_SERVING)


async def test_health_of_an_unknown_service_is_not_found() -> None:
    """A tenant the gateway does not serve answers NOT_FOUND, so a typo in a probe is noticed (also by an operator
    or a shop, whose key is valid)."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await health(relay.shop_channel(), "onlineconnect.tenant.nobody")
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_tunnel_metrics_count_connects_and_keep_bytes_after_close() -> None:
    """Tunnels, connects and bytes per tenant are reported; bytes of a closed tunnel stay in the counters."""
    async with running_relay(FakeHandlers()) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=relay.shop_auth,
            timeout=5,
        )
        before = samples(relay.gateway.metrics.render().decode())
        demo = (("tenant", "demo"),)
        assert before[("onlineconnect_gateway_tunnels_connected", demo)] == 1
        assert before[("onlineconnect_gateway_tunnel_connects_total", demo)] == 1
        assert before[("onlineconnect_gateway_tunnel_bytes_received_total", demo)] > 0
        await relay.stop_agents()
        async with asyncio.timeout(10):
            while relay.gateway.registry.tunnels("demo"):
                await asyncio.sleep(0.01)
        await relay.start_agent()  # a reconnect
        after = samples(relay.gateway.metrics.render().decode())
        assert after[("onlineconnect_gateway_tunnels_connected", demo)] == 1
        assert after[("onlineconnect_gateway_tunnel_connects_total", demo)] == 2
        for name in (
            "onlineconnect_gateway_tunnel_bytes_received_total",
            "onlineconnect_gateway_tunnel_bytes_sent_total",
        ):
            assert after[(name, demo)] >= before[(name, demo)]


async def test_in_flight_gauge_counts_a_running_call() -> None:
    """While a slow call waits for the agent, requests_in_flight{rpc} and tunnel_calls_in_flight are 1."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        call = stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW"),
            metadata=relay.shop_auth,
            timeout=10,
        )
        await handlers.started.wait()
        now = samples(relay.gateway.metrics.render().decode())
        assert now[("onlineconnect_gateway_requests_in_flight", (("protocol", "grpc"), ("rpc", "GetOrder")))] == 1
        assert now[("onlineconnect_gateway_tunnel_calls_in_flight", (("tenant", "demo"),))] == 1
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call


def scrape(port: int, path: str = "/metrics") -> str:
    """GETs the gateway's metrics endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        body: bytes = resp.read()
        return body.decode()


def test_metrics_endpoint_of_a_running_gateway(tmp_path: Path) -> None:
    """The gateway process started with ``[metrics] listen`` serves requests by RPC and code, latency and tunnels."""
    with demo_stack(tmp_path) as stack, grpc.insecure_channel(stack.address) as ch:
        auth = (("authorization", f"Bearer {SHOP_KEY}"),)
        orders = orders_pb2_grpc.OrderServiceStub(ch)
        orders.GetOrder(orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=auth)
        with pytest.raises(grpc.RpcError):
            orders.GetOrder(orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"), metadata=auth)
        stock_pb2_grpc.StockServiceStub(ch).GetStoreStock(
            stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=auth
        )
        got = samples(scrape(stack.metrics_port))
        grpc_ = ("protocol", "grpc")
        ok = (("code", "OK"), grpc_, ("rpc", "GetOrder"), ("tenant", "demo"))
        assert got[("onlineconnect_gateway_requests_total", ok)] == 1
        assert got[("onlineconnect_gateway_requests_total", (("code", "NOT_FOUND"), *ok[1:]))] == 1
        stock = (("code", "OK"), grpc_, ("rpc", "GetStoreStock"), ("tenant", "demo"))
        assert got[("onlineconnect_gateway_requests_total", stock)] == 1
        assert got[("onlineconnect_gateway_request_seconds_count", (("rpc", "GetOrder"), ("tenant", "demo")))] == 2
        assert got[("onlineconnect_gateway_tunnels_connected", (("tenant", "demo"),))] == 1
        assert got[("onlineconnect_gateway_tunnel_bytes_sent_total", (("tenant", "demo"),))] > 0
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape(stack.metrics_port, "/other")
        assert e.value.code == 404
