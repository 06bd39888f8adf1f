"""How many log lines an operator gets: none above debug for answered calls, and repeated failures (an agent's
errors, a NATS outage) summarised with a count instead of one line per call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog

from onlineconnect.gateway import relay
from onlineconnect.testing import running_relay
from onlineconnect.testing.cluster import ORDER, SHOP_AUTH, nats_server, running_stack
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

MISSING = orders_pb2.GetOrderRequest(customer_number="4712", order_number="1")


def loud(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The captured events an operator sees at the default level (info and above)."""
    return [e for e in logs if e.get("log_level") != "debug"]


async def test_a_thousand_answered_calls_log_nothing_above_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 answered calls: one call.answered line each at debug, not one line at info or above."""
    async with running_relay(FakeHandlers()) as r:
        stub = orders_pb2_grpc.OrderServiceStub(r.shop_channel())
        with structlog.testing.capture_logs() as logs:
            for _ in range(1000):
                await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
    assert len([e for e in logs if e["event"] == "call.answered" and e["log_level"] == "debug"]) == 1000
    assert loud([e for e in logs if e.get("event", "").startswith("call.")]) == []


async def test_repeated_failures_are_summarised_with_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """200 NOT_FOUND answers: per interval the first five are logged one by one and the rest in one
    call.failed_repeated line with their count (one interval on an idle machine: 5 lines and a count of 195);
    every call is still counted in the metrics."""
    monkeypatch.setattr(relay, "FAILED_INTERVAL", 3.0)
    async with running_relay(FakeHandlers()) as r:
        stub = orders_pb2_grpc.OrderServiceStub(r.shop_channel())
        with structlog.testing.capture_logs() as logs:
            for _ in range(200):
                with pytest.raises(grpc.aio.AioRpcError):
                    await stub.GetOrder(MISSING, metadata=SHOP_AUTH, timeout=5)
            await asyncio.sleep(3.3)
        text = r.gateway.metrics.render().decode()
    failed = [e for e in logs if e["event"] == "call.failed"]
    repeated = [e for e in logs if e["event"] == "call.failed_repeated"]
    assert len(failed) + sum(e["count"] for e in repeated) == 200
    assert len(failed) == relay.FAILED_BURST * len(repeated), "five lines per interval, then a count"
    assert 1 <= len(repeated) <= 3 and {e["code"] for e in repeated} == {"NOT_FOUND"}
    assert 'code="NOT_FOUND",protocol="grpc",rpc="GetOrder",tenant="demo"} 200.0' in text


async def test_a_nats_outage_under_load_logs_a_handful_of_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NATS killed while a replica without a local agent takes 200 calls: a few lines (warnings naming NATS, the
    first failures, one summary with the count), not one line per call."""
    monkeypatch.setattr(relay, "FAILED_INTERVAL", 1.0)
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url, cluster_options={"ping_interval": 0.2, "ping_timeout": 0.5}) as stack:
            await stack.add_agent("a", FakeHandlers(name="A"), [0])
            await stack.wait_subscribed(0)
            stub = orders_pb2_grpc.OrderServiceStub(stack.channel(1))
            await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
            with structlog.testing.capture_logs() as logs:
                nats.kill()
                b = stack.gateways[1].cluster
                assert b is not None
                while b.connected:
                    await asyncio.sleep(0.01)
                failures = 0
                for _ in range(200):
                    try:
                        await stub.GetOrder(ORDER, metadata=SHOP_AUTH, timeout=5)
                    except grpc.aio.AioRpcError:
                        failures += 1
                await asyncio.sleep(1.3)
    lines = loud(logs)
    assert failures == 200
    repeated = [e for e in lines if e["event"] == "call.failed_repeated"]
    failed = [e for e in lines if e["event"] == "call.failed"]
    assert len(failed) + sum(e["count"] for e in repeated) == 200
    assert len(lines) <= 20, [e["event"] for e in lines]
    assert [e for e in lines if e["event"].startswith("cluster.nats") and e["log_level"] == "warning"]
