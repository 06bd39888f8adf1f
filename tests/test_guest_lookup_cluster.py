"""The guest lookup's lockout across gateway replicas linked through a real NATS server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from test_relay_demo import make_handlers

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.gateway.config import GuestLookupConfig, RateLimit
from onlineconnect.testing.cluster import SHOP_AUTH, Stack, nats_server, running_stack
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

SHEET, POSTCODE = "091782005", "68766"


async def lookup(stack: Stack, replica: int, postcode: str, ip: str) -> tuple[str, str]:
    """LookupGuestOrder of the sheet's order on ``replica``: (code name, details)."""
    stub = orders_pb2_grpc.OrderServiceStub(stack.channel(replica))
    req = orders_pb2.LookupGuestOrderRequest(order_number=SHEET, postcode=postcode)
    try:
        await stub.LookupGuestOrder(req, metadata=(*SHOP_AUTH, ("x-customer-ip", ip)), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, exc.details() or ""
    return "OK", ""


async def test_failures_spread_over_two_replicas_lock_the_order_on_both(tmp_path: Path) -> None:
    """3 wrong postcodes on replica 1 and 2 on replica 2 (from different IPs) lock the order number: the right
    postcode then gets NOT_FOUND "order not found" on either replica."""
    create_demo_erp(tmp_path / "erp" / "erp.db", tmp_path / "erp" / "archive")
    handlers = make_handlers(tmp_path / "erp")
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url) as stack:
            await stack.add_agent("a", handlers, [0, 1])
            await stack.wait_subscribed(0)
            await stack.wait_subscribed(1)
            assert await lookup(stack, 0, POSTCODE, "203.0.113.1") == ("OK", "")
            guards = [g.relay.guest for g in stack.gateways]
            for i, postcode in enumerate(("11111", "22222", "33333")):
                assert (await lookup(stack, 0, postcode, f"203.0.113.{10 + i}"))[0] == "NOT_FOUND"
            async with asyncio.timeout(10):  # the news travels through NATS
                while guards[1].counts.remote_failures < 3:
                    await asyncio.sleep(0.01)
            for i, postcode in enumerate(("44444", "55555")):
                assert (await lookup(stack, 1, postcode, f"198.51.100.{10 + i}"))[0] == "NOT_FOUND"
            assert guards[1].locked("demo", SHEET)
            async with asyncio.timeout(10):
                while not guards[0].locked("demo", SHEET):
                    await asyncio.sleep(0.01)
            for replica in (0, 1):
                assert await lookup(stack, replica, POSTCODE, "192.0.2.1") == ("NOT_FOUND", "order not found")
            assert sum(g.counts.outcomes["locked"] for g in guards) == 2
    handlers.close()


async def test_a_single_replica_counts_only_its_own_failures(tmp_path: Path) -> None:
    """Without NATS each replica counts alone: four failures on each of two unlinked replicas lock neither."""
    create_demo_erp(tmp_path / "erp" / "erp.db", tmp_path / "erp" / "archive")
    handlers = make_handlers(tmp_path / "erp")
    async with running_stack(None) as stack:
        await stack.add_agent("a", handlers, [0, 1])
        for replica in (0, 1):
            for i in range(4):
                assert (await lookup(stack, replica, f"1000{i}", f"203.0.113.{i}"))[0] == "NOT_FOUND"
        assert await lookup(stack, 0, POSTCODE, "192.0.2.1") == ("OK", "")
    handlers.close()


async def test_the_per_ip_limit_holds_for_the_cluster(tmp_path: Path) -> None:
    """An IP's budget of 2 lookups is one budget over both replicas: one lookup on each spends it, and the third is
    refused on either replica, while another IP is still answered. Unlinked, each replica would allow 2."""
    create_demo_erp(tmp_path / "erp" / "erp.db", tmp_path / "erp" / "archive")
    handlers = make_handlers(tmp_path / "erp")
    tight = GuestLookupConfig(ip_rate_limit=RateLimit(per_second=0.001, burst=2))
    with nats_server(tmp_path) as nats:
        async with running_stack(nats.url, guest_lookup=tight) as stack:
            await stack.add_agent("a", handlers, [0, 1])
            await stack.wait_subscribed(0)
            await stack.wait_subscribed(1)
            guards = [g.relay.guest for g in stack.gateways]
            for replica in (0, 1):
                assert await lookup(stack, replica, POSTCODE, "203.0.113.77") == ("OK", "")
                async with asyncio.timeout(10):  # the news travels through NATS
                    while guards[1 - replica].counts.remote_takes < 1:
                        await asyncio.sleep(0.01)
            for replica in (0, 1):
                assert (await lookup(stack, replica, POSTCODE, "203.0.113.77"))[0] == "RESOURCE_EXHAUSTED"
            assert await lookup(stack, 0, POSTCODE, "198.51.100.5") == ("OK", "")
            metrics = stack.gateways[0].metrics.render().decode()
            assert "onlineconnect_gateway_guest_remote_attempts_total 1.0" in metrics
    handlers.close()


def test_attempt_news_carries_no_address() -> None:
    """The news of an admitted attempt names the IP only by its digest; malformed news is dropped."""
    from onlineconnect.gateway.guest_guard import decode_take, encode_take, ip_digest, ip_key

    digest = ip_digest(ip_key("203.0.113.77", 64))
    news = encode_take("demo", "ab" * 32, digest)
    assert b"203.0.113" not in news
    assert decode_take(news) == ("demo", "ab" * 32, digest)
    for bad in (b"", b"{}", b'{"tenant": "demo", "shop": "x", "ip": 5}', b"\xff", b'{"tenant":"","shop":"x","ip":"y"}'):
        assert decode_take(bad) is None


@pytest.mark.parametrize("data", [b"", b"{}", b'{"tenant": 1, "order": "x"}', b"\xff"])
def test_malformed_failure_news_is_ignored(data: bytes) -> None:
    """A malformed failure message from NATS is dropped, never counted."""
    from onlineconnect.gateway.guest_guard import decode_failure, encode_failure

    assert decode_failure(data) is None
    assert decode_failure(encode_failure("demo", "91782005")) == ("demo", "91782005")
