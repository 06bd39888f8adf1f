"""Protocol properties over an emulated WAN line (``onlineconnect.testing.wan``): round trips per call, nothing
serialised.

The agent reaches an in-process gateway through the link emulator with a large added round-trip time, so the
bounds count round trips and stay far from scheduling noise; the figures per line profile are in
bench/wan_bench.py. Nothing here measures speed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import pytest

from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.testing.wan import Link, Profile
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

RTT = 0.2  # seconds added by the line: far above any scheduling delay on a busy machine
LINE = Profile("test", rtt_ms=RTT * 1000, up_mbit=50, down_mbit=50)
GET = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")


@pytest.fixture
async def relay_over_line() -> AsyncIterator[tuple[RunningRelay, Link, FakeHandlers]]:
    """A gateway whose agent dials it through a line with ``RTT`` of added round-trip time."""
    handlers = FakeHandlers(pdf_size=1)
    async with running_relay(handlers, start_agent=False) as relay:
        async with Link("127.0.0.1", int(relay.address.rsplit(":", 1)[1]), LINE) as link:
            await relay.start_agent(address=f"127.0.0.1:{link.port}")
            yield relay, link, handlers
            await relay.stop_agents()


async def test_a_relayed_call_takes_one_round_trip_over_the_line(
    relay_over_line: tuple[RunningRelay, Link, FakeHandlers],
) -> None:
    """A relayed GetOrder crosses the agent's line once there and once back: at least 1 and under 2 round trips."""
    relay, _link, _handlers = relay_over_line
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    await stub.GetOrder(GET, metadata=relay.shop_auth, timeout=10)  # the channel is up before counting
    took = []
    for _ in range(7):
        t0 = time.perf_counter()
        await stub.GetOrder(GET, metadata=relay.shop_auth, timeout=10)
        took.append(time.perf_counter() - t0)
    round_trips = statistics.median(took) / RTT
    assert 1.0 <= round_trips < 2.0, f"{round_trips:.2f} round trips per call ({took})"


async def test_concurrent_calls_share_the_line_without_waiting_for_each_other(
    relay_over_line: tuple[RunningRelay, Link, FakeHandlers],
) -> None:
    """16 calls of 0.3 s service time at once all finish within about one round trip plus one service time."""
    relay, _link, handlers = relay_over_line
    handlers.slow_seconds = 0.3
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    await stub.GetOrder(GET, metadata=relay.shop_auth, timeout=10)
    slow = orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW")
    t0 = time.perf_counter()
    answers = await asyncio.gather(*(stub.GetOrder(slow, metadata=relay.shop_auth, timeout=20) for _ in range(16)))
    took = time.perf_counter() - t0
    assert len(answers) == 16
    # One after another would take 16 x 0.3 s; the bound leaves one more round trip for a loaded machine.
    assert took < 2 * RTT + handlers.slow_seconds, f"16 concurrent calls took {took:.2f} s"
