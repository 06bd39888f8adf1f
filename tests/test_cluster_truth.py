"""What an operator sees of a cluster: tenant health and metrics that hold cluster-wide, and NATS trouble (down at
start, killed, frozen with SIGSTOP) reported loudly as NATS trouble, never as a lost replica.

Each test runs its own nats-server on a free port (onlineconnect/testing/cluster.py), so stopping or freezing it touches
nobody else.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from onlineconnect.gateway.server import CLUSTER_HEALTH, GatewayServer
from onlineconnect.testing.cluster import ORDER, SHOP_AUTH, NatsServer, Stack, nats_server, running_stack
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

FAST = {"ping_interval": 0.2, "ping_timeout": 0.5, "warn_interval": 1.0}  # quick detection keeps tests short
SLOW = orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def metric(gw: GatewayServer, name: str, **labels: str) -> float | None:
    """The value of one sample of ``gw``'s metrics (None if absent)."""
    for family in text_string_to_metric_families(gw.metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def health(stack: Stack, i: int, service: str) -> int:
    """Replica ``i``'s health status of ``service`` (asked with the demo shop key)."""
    stub = health_pb2_grpc.HealthStub(stack.channel(i))
    answer = await stub.Check(health_pb2.HealthCheckRequest(service=service), metadata=SHOP_AUTH, timeout=5)
    return int(answer.status)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Waits until ``check`` holds (polling), failing after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The captured log events called ``name``."""
    return [e for e in logs if e.get("event") == name]


async def test_a_replica_without_a_local_agent_reports_the_tenant_it_serves_through_nats(tmp_path: Path) -> None:
    """Agent on replica A only: B's tenant health is SERVING and its tenant_reachable is 1 while its own
    tunnels_connected stays 0; routed calls are counted on both sides; when the agent goes, B turns NOT_SERVING."""
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url, cluster_options=FAST) as stack:
            a, b = stack.gateways
            await stack.add_agent("a", FakeHandlers(name="A"), [0])
            await stack.wait_subscribed(0)

            async def b_serving() -> bool:
                return await health(stack, 1, "onlineconnect.tenant.demo") == SERVING

            await until(b_serving)
            assert metric(b, "onlineconnect_gateway_tunnels_connected", tenant="demo") == 0
            assert metric(b, "onlineconnect_gateway_tenant_reachable", tenant="demo") == 1
            assert metric(a, "onlineconnect_gateway_tenant_reachable", tenant="demo") == 1
            assert metric(b, "onlineconnect_gateway_cluster_connected") == 1
            assert metric(b, "onlineconnect_gateway_cluster_replicas") == 1

            async def rtt_measured() -> bool:
                rtt = metric(b, "onlineconnect_gateway_cluster_rtt_seconds")
                return rtt is not None and rtt > 0  # NaN until the first ping was answered

            await until(rtt_measured)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            for _ in range(3):
                assert (await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)).order.summary.shop_order_number
            assert metric(b, "onlineconnect_gateway_cluster_calls_routed_out_total") == 3
            assert metric(a, "onlineconnect_gateway_cluster_calls_routed_in_total") == 3
            await stack.kill_agent("a")

            async def b_not_serving() -> bool:
                return await health(stack, 1, "onlineconnect.tenant.demo") == NOT_SERVING

            await until(b_not_serving)
            assert metric(b, "onlineconnect_gateway_tenant_reachable", tenant="demo") == 0
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
            assert metric(b, "onlineconnect_gateway_cluster_call_failures_total", cause="no_replica") == 1


async def test_a_replica_started_while_nats_is_unreachable_warns_at_once_and_periodically(tmp_path: Path) -> None:
    """NATS not running at start: the replica warns naming NATS within a second, repeats the warning every
    warn_interval, reports the link NOT_SERVING and cluster_connected 0; once NATS starts, all turns back."""
    nats = NatsServer(tmp_path)  # not started yet
    with structlog.testing.capture_logs() as logs:
        async with running_stack(nats.url, replicas=1, wait_cluster=False, cluster_options=FAST) as stack:
            gw = stack.gateways[0]
            await asyncio.sleep(2.6)
            warnings = events(logs, "cluster.nats_unreachable")
            assert len(warnings) >= 2, logs
            assert all(w["log_level"] == "warning" and nats.url in w["nats"] for w in warnings)
            assert await health(stack, 0, CLUSTER_HEALTH) == NOT_SERVING
            assert await health(stack, 0, "") == SERVING  # its own tunnels are still served
            assert metric(gw, "onlineconnect_gateway_cluster_connected") == 0
            nats.start()
            try:

                async def link_serving() -> bool:
                    return await health(stack, 0, CLUSTER_HEALTH) == SERVING

                await until(link_serving, timeout=15)
                assert metric(gw, "onlineconnect_gateway_cluster_connected") == 1
            finally:
                nats.kill()
    assert events(logs, "cluster.connected")


async def test_a_killed_nats_is_warned_about_and_its_return_logged(tmp_path: Path) -> None:
    """NATS killed under a linked replica: a warning names NATS at once, the link's health turns NOT_SERVING, and
    when NATS is back the replica logs the recovery with the outage's length."""
    with nats_server(tmp_path) as nats, structlog.testing.capture_logs() as logs:
        async with running_stack(nats.url, replicas=1, cluster_options=FAST) as stack:
            nats.kill()

            async def link_down() -> bool:
                return await health(stack, 0, CLUSTER_HEALTH) == NOT_SERVING

            await until(link_down)
            assert [w for w in events(logs, "cluster.nats_unreachable") if w["log_level"] == "warning"]
            nats.start()

            async def link_up() -> bool:
                return await health(stack, 0, CLUSTER_HEALTH) == SERVING

            await until(link_up, timeout=15)
            recovered = events(logs, "cluster.nats_recovered")
            assert recovered and recovered[0]["down_seconds"] >= 0


async def test_a_frozen_nats_is_reported_as_nats_trouble_never_as_a_lost_replica(tmp_path: Path) -> None:
    """NATS frozen (SIGSTOP) while B waits for A's answer: the call fails UNAVAILABLE naming NATS well before its
    10 s deadline, nothing blames replica A, the failure is counted as nats_stalled, B's link is NOT_SERVING; after
    SIGCONT, routing works again."""
    handlers = FakeHandlers(name="A")
    handlers.slow_seconds = 1.0
    with nats_server(tmp_path) as nats, structlog.testing.capture_logs() as logs:
        async with running_stack(nats.url, cluster_options=FAST) as stack:
            b = stack.gateways[1]
            await stack.add_agent("a", handlers, [0])
            await stack.wait_subscribed(0)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            call = asyncio.ensure_future(stub.GetOrder(SLOW, metadata=SHOP_AUTH, timeout=10))
            await handlers.started.wait()
            nats.signal(signal.SIGSTOP)
            try:
                with pytest.raises(grpc.aio.AioRpcError) as e:
                    await call
                assert e.value.code() == grpc.StatusCode.UNAVAILABLE
                details = e.value.details() or ""
                assert "NATS" in details and "stopped answering" in details, details
                assert "replica serving this call" not in details
                assert not events(logs, "cluster.replica_lost")
                assert metric(b, "onlineconnect_gateway_cluster_call_failures_total", cause="nats_stalled") == 1
                assert metric(b, "onlineconnect_gateway_cluster_call_failures_total", cause="replica_lost") == 0
                assert await health(stack, 1, CLUSTER_HEALTH) == NOT_SERVING
                assert [w for w in events(logs, "cluster.nats_stalled") if w["log_level"] == "warning"]
            finally:
                nats.signal(signal.SIGCONT)

            async def answered() -> bool:
                try:
                    await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
                except grpc.aio.AioRpcError:
                    return False
                return True

            await until(answered, timeout=20)


async def test_a_clean_shutdown_logs_no_cluster_warning(tmp_path: Path) -> None:
    """Stopping a linked replica closes its NATS connection without a warning."""
    with nats_server(tmp_path) as nats, structlog.testing.capture_logs() as logs:
        async with running_stack(nats.url, replicas=1, cluster_options=FAST):
            await asyncio.sleep(0.5)
    cluster = [e for e in logs if str(e.get("event", "")).startswith("cluster.")]
    assert cluster and not [e for e in cluster if e["log_level"] in {"warning", "error"}], cluster
