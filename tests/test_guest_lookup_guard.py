"""The gateway's guards of the guest order lookup: lockout per order number, limits per shop key and customer IP,
bounded tables; alone (with a hand-moved clock) and through both doors of a real gateway with a real agent."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from support.http_stack import HttpStack, http_relay
from test_relay_demo import make_handlers

from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders.reorder import ORDER_NOT_FOUND
from onlineconnect.calls import Call
from onlineconnect.errors import InvalidArgument, NotFound
from onlineconnect.gateway.config import GuestLookupConfig, RateLimit
from onlineconnect.gateway.guest_guard import NOT_FOUND_MESSAGE, GuestGuard, ip_key, order_key
from onlineconnect.gateway.ratelimit import RateLimited
from onlineconnect.gateway.relay import AgentError
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

SHEET, POSTCODE = "091782005", "68766"
LOOKUP_PATH = "/onlineconnect.v1.OrderService/LookupGuestOrder"
NO_LIMITS = GuestLookupConfig(shop_rate_limit=None, ip_rate_limit=None)


class Clock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Agent:
    """A stand-in for the agent behind the guard: counts the lookups it is asked and answers as told."""

    def __init__(self) -> None:
        self.asked = 0

    def answer(self, found: bool) -> Any:
        async def forward() -> bytes:
            self.asked += 1
            if not found:
                raise AgentError(grpc.StatusCode.NOT_FOUND, ORDER_NOT_FOUND)
            return b"order"

        return forward


async def attempt(
    guard: GuestGuard, agent: Agent, number: str, *, found: bool, ip: str | None = "203.0.113.7", tenant: str = "demo"
) -> str:
    """One guarded lookup; returns "found" or the error's code name."""
    metadata = [("x-customer-ip", ip)] if ip is not None else []
    try:
        await guard.run(tenant, "shop-key-hash", "shop", number, metadata, agent.answer(found))
    except (NotFound, AgentError, RateLimited, InvalidArgument) as exc:
        return exc.code.name
    return "found"


def test_the_lock_answers_the_agents_very_message() -> None:
    """The lock's NOT_FOUND message is the agent's message for an unknown order or a wrong pair."""
    assert NOT_FOUND_MESSAGE == ORDER_NOT_FOUND == "order not found"


async def test_five_failures_lock_the_order_number_then_it_works_again() -> None:
    """After 5 NOT_FOUND answers the right pair gets NOT_FOUND without asking the agent; after the lock it works."""
    clock, agent = Clock(), Agent()
    guard = GuestGuard(NO_LIMITS, clock=clock)
    for _ in range(5):
        assert await attempt(guard, agent, SHEET, found=False) == "NOT_FOUND"
        clock.now += 10
    asked = agent.asked
    assert await attempt(guard, agent, SHEET, found=True) == "NOT_FOUND"
    assert agent.asked == asked  # answered by the lock
    assert guard.locked("demo", SHEET) and guard.counts.locks == 1
    assert await attempt(guard, agent, "091790117", found=True) == "found"  # other orders are not affected
    assert await attempt(guard, agent, SHEET, found=True, tenant="other") == "found"  # nor other tenants
    clock.now += 889  # the lock began with the fifth failure, 10 s ago: 1 s of it left
    assert await attempt(guard, agent, SHEET, found=True) == "NOT_FOUND"
    clock.now += 2
    assert await attempt(guard, agent, SHEET, found=True) == "found"


async def test_failures_older_than_the_window_do_not_count() -> None:
    """Four failures, 15 minutes of quiet, four more: never five within the window, never locked."""
    clock, agent = Clock(), Agent()
    guard = GuestGuard(NO_LIMITS, clock=clock)
    for _ in range(4):
        await attempt(guard, agent, SHEET, found=False)
    clock.now += 901
    for _ in range(4):
        await attempt(guard, agent, SHEET, found=False)
    assert not guard.locked("demo", SHEET)
    assert await attempt(guard, agent, SHEET, found=True) == "found"


async def test_spellings_of_one_order_number_share_one_count() -> None:
    """Blanks, case and leading zeros do not give a guesser fresh attempts."""
    assert order_key(" 091782005") == order_key("91782005") == order_key("0091782005") == order_key("0917 82005")
    assert order_key("A-17") == order_key("a-17") != order_key("A-18")
    clock, agent = Clock(), Agent()
    guard = GuestGuard(NO_LIMITS, clock=clock)
    for spelling in ("091782005", " 91782005", "0091782005", "091782005 ", "00091782005"):
        await attempt(guard, agent, spelling, found=False)
    assert await attempt(guard, agent, SHEET, found=True) == "NOT_FOUND"


async def test_attempts_waiting_for_the_agent_count_against_the_limit() -> None:
    """Five concurrent guesses still with the agent leave no room for a sixth: it is refused without asking."""
    guard, release = GuestGuard(NO_LIMITS), asyncio.Event()
    asked = 0

    async def slow_miss() -> bytes:
        nonlocal asked
        asked += 1
        await release.wait()
        raise AgentError(grpc.StatusCode.NOT_FOUND, ORDER_NOT_FOUND)

    ip = [("x-customer-ip", "198.51.100.1")]
    tasks = [asyncio.create_task(guard.run("demo", "k", "shop", SHEET, ip, slow_miss)) for _ in range(5)]
    while asked < 5:
        await asyncio.sleep(0)
    with pytest.raises(NotFound):
        await guard.run("demo", "k", "shop", SHEET, ip, slow_miss)
    assert asked == 5
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, AgentError) for r in results)
    assert guard.locked("demo", SHEET)


async def test_per_ip_limit_with_ipv6_networks_and_the_shop_bucket() -> None:
    """The IP limit counts per address (IPv6 per /64); calls without x-customer-ip share the shop's bucket."""
    clock, agent = Clock(), Agent()
    cfg = GuestLookupConfig(shop_rate_limit=None, ip_rate_limit=RateLimit(per_second=0.01, burst=3))
    guard = GuestGuard(cfg, clock=clock)
    numbers = iter(str(100 + i) for i in range(100))
    for _ in range(3):
        assert await attempt(guard, agent, next(numbers), found=True, ip="203.0.113.7") == "found"
    assert await attempt(guard, agent, next(numbers), found=True, ip="203.0.113.7") == "RESOURCE_EXHAUSTED"
    assert await attempt(guard, agent, next(numbers), found=True, ip="203.0.113.8") == "found"
    for suffix in ("1", "2", "ffff"):
        await attempt(guard, agent, next(numbers), found=True, ip=f"2001:db8:1:2::{suffix}")
    assert await attempt(guard, agent, next(numbers), found=True, ip="2001:db8:1:2::9") == "RESOURCE_EXHAUSTED"
    assert await attempt(guard, agent, next(numbers), found=True, ip="2001:db8:1:3::1") == "found"
    for _ in range(3):
        await attempt(guard, agent, next(numbers), found=True, ip=None)
    assert await attempt(guard, agent, next(numbers), found=True, ip=None) == "RESOURCE_EXHAUSTED"
    clock.now += 100  # one token back
    assert await attempt(guard, agent, next(numbers), found=True, ip="203.0.113.7") == "found"
    assert await attempt(guard, agent, next(numbers), found=True, ip="not-an-ip") == "INVALID_ARGUMENT"
    assert ip_key("::ffff:203.0.113.7", 64) == "203.0.113.7"


async def test_per_shop_limit() -> None:
    """The shop key's bucket for this RPC refuses lookups beyond it, whatever the IPs."""
    clock, agent = Clock(), Agent()
    guard = GuestGuard(GuestLookupConfig(shop_rate_limit=RateLimit(0.5, 2), ip_rate_limit=None), clock=clock)
    results = [await attempt(guard, agent, str(i), found=True, ip=f"203.0.113.{i}") for i in range(3)]
    assert results == ["found", "found", "RESOURCE_EXHAUSTED"]
    clock.now += 2
    assert await attempt(guard, agent, "9", found=True, ip="203.0.113.9") == "found"


async def test_tables_are_bounded_in_count_and_time() -> None:
    """Order numbers and IPs beyond the caps are forgotten oldest first; expired entries go without a cap."""
    clock, agent = Clock(), Agent()
    cfg = GuestLookupConfig(
        shop_rate_limit=None, ip_rate_limit=RateLimit(1, 5), max_tracked_orders=50, max_tracked_ips=20
    )
    guard = GuestGuard(cfg, clock=clock)
    for i in range(500):
        await attempt(guard, agent, f"A{i}", found=False, ip=f"10.0.{i // 250}.{i % 250}")
    orders, ips = guard.tracked()
    assert orders <= 50 and ips <= 20
    clock.now += cfg.failure_window + cfg.lock_seconds + 1
    await attempt(guard, agent, "B1", found=True, ip="10.9.9.9")
    # Every expired entry and every refilled bucket is gone; only B1 and its IP were touched since.
    assert guard.tracked() == (1, 1)


# ---------------------------------------------------------------------------- through the real gateway and agent


class CountingHandlers:
    """The real agent handlers, counting the guest lookups that reach the agent."""

    def __init__(self, inner: Handlers) -> None:
        self.inner = inner
        self.lookups = 0

    async def unary(self, call: Call, request: Message, ctx: Any) -> Message:
        if call.method == "LookupGuestOrder":
            self.lookups += 1
        return await self.inner.unary(call, request, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


LOCK_SECONDS = 0.5  # small, so the test can wait for the lock to pass


@pytest.fixture
async def stack(erp: Path) -> AsyncIterator[tuple[HttpStack, CountingHandlers]]:
    """Gateway (gRPC and HTTP) + agent on the demo ERP; the guest lock lasts LOCK_SECONDS."""
    handlers = CountingHandlers(make_handlers(erp))
    guest = GuestLookupConfig(lock_seconds=LOCK_SECONDS, ip_rate_limit=RateLimit(per_second=0.001, burst=8))
    async with http_relay(handlers, guest_lookup=guest) as s:
        yield s, handlers
    handlers.inner.close()


async def grpc_lookup(s: HttpStack, number: str, postcode: str, ip: str = "203.0.113.7") -> tuple[str, str, Any]:
    """LookupGuestOrder over gRPC: (code name, details, trailing metadata or the answer)."""
    stub = orders_pb2_grpc.OrderServiceStub(s.relay.shop_channel())
    req = orders_pb2.LookupGuestOrderRequest(order_number=number, postcode=postcode)
    try:
        answer = await stub.LookupGuestOrder(req, metadata=(*s.relay.shop_auth, ("x-customer-ip", ip)), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, exc.details() or "", exc.trailing_metadata()
    return "OK", "", answer


async def http_lookup(s: HttpStack, body: dict[str, str], ip: str = "203.0.113.7") -> Any:
    """LookupGuestOrder over the HTTP/JSON door; returns the httpx response."""
    async with s.client() as http:
        return await http.post(LOOKUP_PATH, json=body, headers={**s.auth, "x-customer-ip": ip})


async def test_happy_path_over_grpc_and_http(stack: tuple[HttpStack, CountingHandlers]) -> None:
    """The sheet's order with its postcode answers through both doors: the same reduced order, private caching."""
    s, _ = stack
    code, _, answer = await grpc_lookup(s, SHEET, "68 766")
    assert code == "OK" and answer.order.summary.order_number == SHEET
    r = await http_lookup(s, {"order_number": SHEET, "postcode": "68766", "last_name": "mustermann"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["order"]["summary"]["order_number"] == SHEET
    assert body["order"]["shipments"][0]["parcel_number"] == "056326500434"
    assert "total" not in body["order"]["summary"] and "documents" not in body["order"]
    assert r.headers["cache-control"] == "private, no-store"


async def test_wrong_postcode_answers_exactly_like_an_unknown_order(stack: tuple[HttpStack, CountingHandlers]) -> None:
    """gRPC status and message, HTTP status and JSON body are identical for a wrong pair and an unknown number."""
    s, _ = stack
    wrong = await grpc_lookup(s, SHEET, "12345")
    unknown = await grpc_lookup(s, "000000077", POSTCODE)
    assert wrong[:2] == unknown[:2] == ("NOT_FOUND", "order not found")
    r_wrong = await http_lookup(s, {"order_number": SHEET, "postcode": "12345"})
    r_unknown = await http_lookup(s, {"order_number": "000000078", "postcode": POSTCODE})
    assert r_wrong.status_code == r_unknown.status_code == 404
    assert r_wrong.content == r_unknown.content == b'{"code": "not_found", "message": "order not found"}'


async def test_lockout_over_both_doors_then_open_again(stack: tuple[HttpStack, CountingHandlers]) -> None:
    """3 wrong postcodes over gRPC and 2 over HTTP lock the order: the right pair then gets NOT_FOUND on both doors
    without reaching the agent, and after the lock time it is found again."""
    s, handlers = stack
    for postcode in ("11111", "22222", "33333"):
        assert (await grpc_lookup(s, SHEET, postcode))[0] == "NOT_FOUND"
    for postcode in ("44444", "55555"):
        assert (await http_lookup(s, {"order_number": SHEET, "postcode": postcode})).status_code == 404
    asked = handlers.lookups
    code, details, _ = await grpc_lookup(s, SHEET, POSTCODE, ip="198.51.100.20")
    assert (code, details) == ("NOT_FOUND", "order not found")
    r = await http_lookup(s, {"order_number": SHEET, "postcode": POSTCODE}, ip="198.51.100.22")
    assert r.status_code == 404 and r.json() == {"code": "not_found", "message": "order not found"}
    assert handlers.lookups == asked  # the lock answered, the agent was not asked
    assert s.gateway.relay.guest.counts.outcomes["locked"] >= 2
    metrics = s.gateway.metrics.render().decode()
    assert 'onlineconnect_gateway_guest_lookups_total{outcome="locked"} 2.0' in metrics
    assert "onlineconnect_gateway_guest_locks_total 1.0" in metrics
    assert "onlineconnect_gateway_guest_locked_orders 1.0" in metrics
    await asyncio.sleep(LOCK_SECONDS + 0.1)
    assert (await grpc_lookup(s, SHEET, POSTCODE, ip="198.51.100.23"))[0] == "OK"


async def test_ip_limit_over_grpc_and_http(stack: tuple[HttpStack, CountingHandlers]) -> None:
    """Beyond the per-IP burst: RESOURCE_EXHAUSTED with retry-after-ms on gRPC, 429 with Retry-After on HTTP;
    another IP is still served; a malformed x-customer-ip is INVALID_ARGUMENT naming the header."""
    s, _ = stack
    ip = "192.0.2.99"
    for i in range(8):
        await grpc_lookup(s, f"0917{i:05d}", POSTCODE, ip=ip)
    code, details, trailers = await grpc_lookup(s, SHEET, POSTCODE, ip=ip)
    assert code == "RESOURCE_EXHAUSTED" and "x-customer-ip" in details
    assert int(dict(trailers)["retry-after-ms"]) > 0
    r = await http_lookup(s, {"order_number": SHEET, "postcode": POSTCODE}, ip=ip)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["code"] == "resource_exhausted"
    assert (await grpc_lookup(s, SHEET, POSTCODE, ip="192.0.2.100"))[0] == "OK"
    code, details, _ = await grpc_lookup(s, SHEET, POSTCODE, ip="999.1.2.3")
    assert code == "INVALID_ARGUMENT" and "x-customer-ip" in details
    r = await http_lookup(s, {"order_number": SHEET, "postcode": POSTCODE}, ip="not an ip")
    assert r.status_code == 400 and "x-customer-ip" in r.json()["message"]


async def test_shop_limit_through_the_gateway(erp: Path) -> None:
    """A shop key's guest lookups beyond its own bucket are refused, whatever the customers' IPs."""
    handlers = make_handlers(erp)
    guest = GuestLookupConfig(shop_rate_limit=RateLimit(per_second=0.001, burst=3))
    async with http_relay(handlers, guest_lookup=guest) as s:
        codes = [(await grpc_lookup(s, SHEET, POSTCODE, ip=f"203.0.113.{i}"))[0] for i in range(4)]
        assert codes == ["OK", "OK", "OK", "RESOURCE_EXHAUSTED"]
        # Other RPCs of the key are not affected by this RPC's bucket.
        stub = orders_pb2_grpc.OrderServiceStub(s.relay.shop_channel())
        got = await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number=SHEET), metadata=s.relay.shop_auth
        )
        assert got.order.summary.order_number == SHEET
    handlers.close()


async def test_bad_request_fields_are_invalid_argument_on_http(stack: tuple[HttpStack, CountingHandlers]) -> None:
    """A lookup without postcode is 400 naming the field, and does not count as a failure."""
    s, _ = stack
    r = await http_lookup(s, {"order_number": SHEET})
    assert r.status_code == 400 and "postcode" in r.json()["message"]
    assert not s.gateway.relay.guest.locked("demo", SHEET)


def test_guest_lookup_config_is_read_and_checked(tmp_path: Path) -> None:
    """[guest_lookup] keys are read with their defaults; a wrong value names file and key."""
    from onlineconnect.errors import ConfigError
    from onlineconnect.gateway.config import load_gateway_config
    from onlineconnect.testing.processes import write_gateway_config

    path = write_gateway_config(tmp_path, 50051)
    base = path.read_text()
    cfg = load_gateway_config(path).guest_lookup
    assert (cfg.max_failures, cfg.failure_window, cfg.lock_seconds) == (5, 900.0, 900.0)
    assert cfg.shop_rate_limit is not None and cfg.ip_rate_limit is not None
    path.write_text(
        base + "[guest_lookup]\nmax_failures = 3\nlock_seconds = 60\nip_rate_limit = false\nmax_tracked_ips = 10\n"
    )
    cfg = load_gateway_config(path).guest_lookup
    assert (cfg.max_failures, cfg.lock_seconds, cfg.ip_rate_limit, cfg.max_tracked_ips) == (3, 60.0, None, 10)
    path.write_text(base + "[guest_lookup]\nmax_failures = 0\n")
    with pytest.raises(ConfigError, match=r"guest_lookup\.max_failures"):
        load_gateway_config(path)
    path.write_text(base + "[guest_lookup]\nlockout = 3\n")
    with pytest.raises(ConfigError, match="lockout"):
        load_gateway_config(path)
    assert dataclasses.replace(cfg) == cfg
