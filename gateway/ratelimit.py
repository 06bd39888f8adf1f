"""Admission control in front of the tunnels: token buckets per shop key and per end customer, and a cap on the
requests in flight per tenant.

Rate limits keep one shop (or one scripted customer account) from using up a merchant's ERP; the in-flight cap
protects the ERP itself, whatever the number of shops: a tenant's agent never gets more than
``TenantConfig.max_in_flight`` requests at once from one gateway, and one shop key never more than
``TenantConfig.max_in_flight_per_shop`` of them, so a single misbehaving shop cannot take all of a tenant's slots.
A slot counts work the agent is doing: it is given back when the agent's answer (for a stream: its last part) has
arrived, whether or not the shop has read it yet. A refused call gets ``RESOURCE_EXHAUSTED`` and
the trailing metadata ``retry-after-ms``, the time after which a retry can succeed.

:func:`decode_request` decodes the shop's request once, so malformed bytes (truncated messages, invalid UTF-8 in a
string field) are refused with ``INVALID_ARGUMENT`` instead of travelling to the agent, and the per-customer limit
can read ``customer_number``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from google.protobuf.message import DecodeError, Message

from onlineconnect.calls import Call
from onlineconnect.errors import InvalidArgument, ResourceExhausted

from .config import GatewayConfig, RateLimit, ShopCredential

Clock = Callable[[], float]

MAX_CUSTOMER_BUCKETS = 100_000  # least recently used customers beyond this are forgotten (their bucket refills)


class RateLimited(ResourceExhausted):
    """Expected: a rate limit or in-flight cap refused the call; ``retry_after`` seconds until a retry may pass."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def trailers(self) -> tuple[tuple[str, str], ...]:
        """The retry hint as trailing metadata."""
        return (("retry-after-ms", str(max(1, math.ceil(self.retry_after * 1000)))),)


class TokenBucket:
    """``burst`` tokens, refilled at ``per_second``; each call takes one."""

    __slots__ = ("burst", "per_second", "stamp", "tokens")

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.per_second = limit.per_second
        self.burst = float(limit.burst)
        self.tokens = self.burst
        self.stamp = now

    def take(self, now: float) -> float:
        """Takes a token; returns 0.0 on success, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.per_second


def decode_request(call: Call, request: bytes) -> Message:
    """Decodes a shop's encoded request, or raises InvalidArgument naming the RPC."""
    try:
        return call.request_type.FromString(request)
    except DecodeError:
        raise InvalidArgument(f"the request is not a valid {call.request_type.DESCRIPTOR.name}") from None


class Admission:
    """The gateway's rate limits and in-flight caps; replaced configuration is taken over by :meth:`update`."""

    def __init__(self, config: GatewayConfig, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._shops: dict[tuple[str, RateLimit], TokenBucket] = {}
        self._customers: OrderedDict[tuple[str, RateLimit, str], TokenBucket] = OrderedDict()
        self._in_flight: dict[str, int] = {}
        self._shop_in_flight: dict[tuple[str, str], int] = {}
        self.update(config)

    def update(self, config: GatewayConfig) -> None:
        """Takes over reloaded limits. Buckets of unchanged limits keep their state; others start full."""
        self._caps = {t.name: t.max_in_flight for t in config.tenants.values()}
        self._shop_caps = {t.name: t.max_in_flight_per_shop for t in config.tenants.values()}
        live = {(s.key_sha256, s.rate_limit) for s in config.shops.values()}
        self._shops = {k: b for k, b in self._shops.items() if k in live}
        live_c = {(s.key_sha256, s.customer_rate_limit) for s in config.shops.values()}
        for k in [k for k in self._customers if (k[0], k[1]) not in live_c]:
            del self._customers[k]

    def admit(self, shop: ShopCredential, message: Message) -> None:
        """Checks a shop call against its key's and its customer's rate limits.

        Args:
            shop: The calling key.
            message: The decoded request (see :func:`decode_request`).

        Raises:
            RateLimited: a limit is exhausted.
        """
        now = self._clock()
        if shop.rate_limit is not None:
            key = (shop.key_sha256, shop.rate_limit)
            bucket = self._shops.get(key)
            if bucket is None:
                bucket = self._shops[key] = TokenBucket(shop.rate_limit, now)
            wait = bucket.take(now)
            if wait:
                raise RateLimited(f"rate limit of shop key {shop.name!r} exceeded; retry later", wait)
        if shop.customer_rate_limit is not None:
            customer = getattr(message, "customer_number", "")
            if customer:
                ckey = (shop.key_sha256, shop.customer_rate_limit, customer)
                cbucket = self._customers.get(ckey)
                if cbucket is None:
                    cbucket = self._customers[ckey] = TokenBucket(shop.customer_rate_limit, now)
                    if len(self._customers) > MAX_CUSTOMER_BUCKETS:
                        self._customers.popitem(last=False)
                else:
                    self._customers.move_to_end(ckey)
                wait = cbucket.take(now)
                if wait:
                    # The customer number is personal data: the message names the limit, not the customer.
                    raise RateLimited("rate limit per customer exceeded; retry later", wait)

    def in_flight(self, tenant: str) -> int:
        """Requests of ``tenant`` forwarded and not yet answered."""
        return self._in_flight.get(tenant, 0)

    def acquire(self, tenant: str, shop: str) -> Callable[[], None]:
        """Takes one of the tenant's and one of the shop's in-flight slots; returns the (idempotent) release.

        Raises:
            RateLimited: all ``max_in_flight`` slots of the tenant, or all ``max_in_flight_per_shop`` of the shop,
                are taken.
        """
        used = self._in_flight.get(tenant, 0)
        cap = self._caps.get(tenant, 64)
        if used >= cap:
            raise RateLimited(
                f"tenant {tenant!r} has {cap} requests in flight to its ERP, the configured maximum; retry shortly",
                0.1,
            )
        key = (tenant, shop)
        shop_used = self._shop_in_flight.get(key, 0)
        shop_cap = self._shop_caps.get(tenant, cap)
        if shop_used >= shop_cap:
            raise RateLimited(
                f"shop {shop!r} has {shop_cap} requests in flight to its tenant's ERP, the configured maximum per "
                "shop; retry shortly",
                0.1,
            )
        self._in_flight[tenant] = used + 1
        self._shop_in_flight[key] = shop_used + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._in_flight[tenant] -= 1
            left = self._shop_in_flight[key] - 1
            if left:
                self._shop_in_flight[key] = left
            else:
                del self._shop_in_flight[key]

        return release

    @contextlib.contextmanager
    def slot(self, tenant: str, shop: str) -> Iterator[None]:
        """Holds one of the tenant's and the shop's in-flight slots for the duration of the block (see
        :meth:`acquire`)."""
        release = self.acquire(tenant, shop)
        try:
            yield
        finally:
            release()
