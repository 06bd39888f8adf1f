"""Rate limits per shop key and per end customer, and the per-tenant cap on requests in flight to the ERP."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import grpc
import pytest

from onlineconnect.gateway.config import DEFAULT_SHOP_RATE_LIMIT, RateLimit, load_gateway_config
from onlineconnect.gateway.ratelimit import TokenBucket
from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc


def limit_shops(relay: RunningRelay, **limits: RateLimit) -> None:
    """Gives every shop key of the relay the given limits (rate_limit / customer_rate_limit)."""
    cfg = relay.gateway.config
    shops = {h: dataclasses.replace(s, **limits) for h, s in cfg.shops.items()}
    relay.gateway.apply_config(dataclasses.replace(cfg, shops=shops))


async def get_order(relay: RunningRelay, customer: str, order: str = "091782005") -> grpc.aio.AioRpcError | None:
    """One GetOrder; returns the error or None on success."""
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    try:
        await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number=customer, order_number=order),
            metadata=relay.shop_auth,
            timeout=5,
        )
    except grpc.aio.AioRpcError as exc:
        return exc
    return None


def retry_after_ms(err: grpc.aio.AioRpcError) -> int:
    """The retry hint in the trailing metadata."""
    return int(dict(err.trailing_metadata() or ())["retry-after-ms"])


def test_token_bucket_refills_at_its_rate() -> None:
    """A bucket gives its burst at once, then one token per 1/rate seconds, and says how long to wait."""
    bucket = TokenBucket(RateLimit(per_second=2, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) == pytest.approx(0.5)


async def test_shop_key_rate_limit_gives_resource_exhausted_with_retry_hint() -> None:
    """Beyond its burst a shop key gets RESOURCE_EXHAUSTED with retry-after-ms, and the agent is not asked."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        limit_shops(relay, rate_limit=RateLimit(per_second=0.01, burst=2))
        assert await get_order(relay, "4711") is None
        assert await get_order(relay, "4711") is None
        err = await get_order(relay, "4711")
        assert err is not None and err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert 1 <= retry_after_ms(err) <= 100_000
        assert handlers.calls == 2


async def test_customer_rate_limit_is_per_customer() -> None:
    """One customer hitting the limit does not limit another customer of the same shop."""
    async with running_relay(FakeHandlers()) as relay:
        limit_shops(relay, customer_rate_limit=RateLimit(per_second=0.01, burst=1))
        assert await get_order(relay, "4711") is None
        err = await get_order(relay, "4711")
        assert err is not None and err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "4711" not in (err.details() or ""), "the customer number is personal data"
        other = await get_order(relay, "4712")
        assert other is not None and other.code() == grpc.StatusCode.NOT_FOUND  # passed the limit, answered


async def test_in_flight_cap_protects_the_erp() -> None:
    """With max_in_flight = 1, a second call while one is in flight is refused, and passes once it finished."""
    handlers = FakeHandlers()
    handlers.slow_seconds = 0.5
    async with running_relay(handlers, tenant_options={"demo": {"max_in_flight": 1}}) as relay:
        slow = asyncio.create_task(get_order(relay, "4711", "SLOW"))
        await handlers.started.wait()
        err = await get_order(relay, "4711")
        assert err is not None and err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "in flight" in (err.details() or "")
        assert retry_after_ms(err) > 0
        assert await slow is None
        assert relay.gateway.relay.admission.in_flight("demo") == 0
        assert await get_order(relay, "4711") is None


def _shop_limit(tmp_path: Path, line: str) -> RateLimit | None:
    """The rate limit of the one shop in a gateway config whose [[shops]] table has ``line`` added."""
    path = tmp_path / "gateway.toml"
    path.write_text(
        f"""
[server]
listen = "127.0.0.1:0"
insecure = true
[tenants.demo]
keys = {{ 1 = "00112233445566778899aabbccddeeff" }}
[[shops]]
name = "shop"
tenant = "demo"
key_sha256 = "{"ab" * 32}"
{line}
"""
    )
    (shop,) = load_gateway_config(path).shops.values()
    return shop.rate_limit


def test_every_shop_key_has_a_rate_limit_unless_switched_off(tmp_path: Path) -> None:
    """A shop key without ``rate_limit`` gets the default bucket (200/s, bursts of 400); ``false`` switches it off."""
    assert _shop_limit(tmp_path, "") == DEFAULT_SHOP_RATE_LIMIT == RateLimit(per_second=200.0, burst=400)
    assert _shop_limit(tmp_path, "rate_limit = { per_second = 5, burst = 9 }") == RateLimit(per_second=5.0, burst=9)
    assert _shop_limit(tmp_path, "rate_limit = false") is None
