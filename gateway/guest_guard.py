"""Guards of the guest order lookup (``OrderService/LookupGuestOrder``) against guessing postcodes.

A guest lookup needs only an order number (printed on letters and invoices, often sequential) and a postcode (five
digits in Germany), so it invites guessing. The relay chain sends every guest lookup through :meth:`GuestGuard.run`
(once, in :meth:`~.relay.Relay.unary`, so the gRPC and the HTTP/JSON door are guarded alike):

1. **Rate limits of this RPC** (``[guest_lookup] shop_rate_limit`` per shop key and ``ip_rate_limit`` per customer
   IP, which the shop passes in ``x-customer-ip``; IPv6 counted per /64 network): over a limit the call ends
   ``RESOURCE_EXHAUSTED`` with a retry hint, as the other rate limits do. A shop that sends no ``x-customer-ip``
   puts all its customers into one IP bucket; a malformed value is ``INVALID_ARGUMENT``.
2. **Lockout per order number**: ``max_failures`` NOT_FOUND answers from the agent for one (tenant, order number)
   within ``failure_window`` lock that order number for ``lock_seconds``. While locked, every lookup of it answers
   NOT_FOUND "order not found" — the agent's own message for an unknown number or a wrong pair — without asking the
   agent, whatever the postcode, for every shop and IP. Attempts still waiting for the agent count as failures
   until they are answered, so concurrent guesses cannot slip past the limit.
3. **Across replicas**: with ``[cluster]`` every failure is published on ``<prefix>.guest.failure``; each replica
   counts the failures of all, so a guesser spreading attempts over replicas is locked after ``max_failures`` in
   total. (While NATS is down each replica counts only its own: the limit is then per replica.)

Order numbers are compared after removing blanks, case and leading zeros: an ERP whose order number column is
numeric or case-insensitive finds "091782005", " 91782005" and "0091782005" alike, so they must share one count.

Memory is bounded in count and time: entries expire once their failures are older than the window and their lock
is over (an IP's bucket once it has refilled), and at most ``max_tracked_orders`` order numbers and
``max_tracked_ips`` IP networks are held (the least recently touched are dropped first). Nothing the customer typed
besides the order number is logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from onlineconnect.errors import InvalidArgument, NotFound, OnlineConnectError

from .config import GuestLookupConfig, RateLimit
from .ratelimit import RateLimited, TokenBucket

log = structlog.get_logger("onlineconnect.gateway.guest_guard")

METHOD = "LookupGuestOrder"
NOT_FOUND_MESSAGE = "order not found"  # exactly the agent's message for an unknown order or a wrong pair
CUSTOMER_IP_HEADER = "x-customer-ip"
FAILURE_SUBJECT = "guest.failure"  # under the cluster's subject prefix
TAKE_SUBJECT = "guest.take"  # an attempt another replica admitted: it spends the same shop's and IP's tokens here
MAX_SHOP_BUCKETS = 10_000

Clock = Callable[[], float]
OUTCOMES = ("found", "not_found", "locked", "rate_limited", "invalid", "error")

_BLANKS = re.compile(r"\s+")


def order_key(order_number: str) -> str:
    """The order number as the lockout counts it: without blanks, case folded, without leading zeros."""
    key = _BLANKS.sub("", order_number).casefold().lstrip("0")
    return key[:64] or "0"


def ip_key(value: str, ipv6_prefix_length: int) -> str:
    """The customer's IP as the rate limit counts it: an IPv4 address, or the IPv6 network of the given size.

    Raises:
        InvalidArgument: the value is no IP address.
    """
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        raise InvalidArgument(
            f"{CUSTOMER_IP_HEADER} must be the customer's IPv4 or IPv6 address (e.g. 203.0.113.7)"
        ) from None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network((addr, ipv6_prefix_length), strict=False))
    return str(addr)


def ip_digest(key: str) -> str:
    """What the per-IP limit keys its buckets by, here and in the news to other replicas: a digest of the
    :func:`ip_key`, so neither the guard's memory nor the cluster's messages hold customers' addresses."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def customer_ip(metadata: Sequence[tuple[str, Any]]) -> str | None:
    """The ``x-customer-ip`` value of the call, or None when the shop sent none."""
    for key, value in metadata:
        if key == CUSTOMER_IP_HEADER:
            return str(value)
    return None


@dataclass
class _OrderState:
    """Failures and lock of one (tenant, order number)."""

    failures: deque[float] = field(default_factory=deque)
    pending: int = 0
    locked_until: float = 0.0


@dataclass
class GuardCounts:
    """What the guard did, for metrics: lookups by outcome, locks set."""

    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    locks: int = 0
    remote_failures: int = 0
    remote_takes: int = 0


class GuestGuard:
    """Rate limits and lockout of the guest lookup for one gateway replica.

    Args:
        config: The ``[guest_lookup]`` settings.
        clock: Monotonic seconds (replaceable in unit tests).
    """

    def __init__(self, config: GuestLookupConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._orders: OrderedDict[tuple[str, str], _OrderState] = OrderedDict()
        self._ips: OrderedDict[tuple[str, str, RateLimit], TokenBucket] = OrderedDict()
        self._shops: OrderedDict[tuple[str, RateLimit], TokenBucket] = OrderedDict()
        self.counts = GuardCounts()
        self.publish: Callable[[str, str], None] | None = None  # set when the failures are shared (cluster)
        # Set when the rate limits are shared: (tenant, shop key hash, IP digest) of every admitted attempt.
        self.publish_take: Callable[[str, str, str], None] | None = None

    def update(self, config: GuestLookupConfig) -> None:
        """Takes over reloaded settings; failures and locks are kept, buckets of changed limits start full."""
        self.config = config
        self._trim()

    # -- state ------------------------------------------------------------------------------------------------

    def _expired(self, st: _OrderState, now: float) -> bool:
        window_start = now - self.config.failure_window
        while st.failures and st.failures[0] <= window_start:
            st.failures.popleft()
        return not st.failures and st.pending == 0 and st.locked_until <= now

    def _state(self, key: tuple[str, str], now: float) -> _OrderState:
        # Trim first: the entry returned must stay in the table (it is the most recently touched one).
        self._trim(now)
        st = self._orders.get(key)
        if st is None:
            st = self._orders[key] = _OrderState()
            while len(self._orders) > self.config.max_tracked_orders:
                self._orders.popitem(last=False)
        else:
            self._orders.move_to_end(key)
        return st

    def _trim(self, now: float | None = None) -> None:
        """Drops expired entries from the least recently touched end, then whatever exceeds the caps."""
        now = self._clock() if now is None else now
        while self._orders:
            oldest_key = next(iter(self._orders))
            if not self._expired(self._orders[oldest_key], now):
                break
            del self._orders[oldest_key]
        while len(self._orders) > self.config.max_tracked_orders:
            self._orders.popitem(last=False)
        for table in (self._ips, self._shops):
            # A bucket that has refilled is the same as a new one: forget it (least recently used first).
            while table and _refilled(next(iter(table.values())), now):
                table.popitem(last=False)
        while len(self._ips) > self.config.max_tracked_ips:
            self._ips.popitem(last=False)
        while len(self._shops) > MAX_SHOP_BUCKETS:
            self._shops.popitem(last=False)

    def tracked(self) -> tuple[int, int]:
        """(order numbers, IP networks) currently held."""
        return len(self._orders), len(self._ips)

    def locked(self, tenant: str, order_number: str) -> bool:
        """True while ``order_number`` of ``tenant`` is locked."""
        st = self._orders.get((tenant, order_key(order_number)))
        return st is not None and st.locked_until > self._clock()

    def locked_count(self) -> int:
        """Order numbers locked right now."""
        now = self._clock()
        return sum(1 for st in self._orders.values() if st.locked_until > now)

    def _failed(self, tenant: str, key: str, *, remote: bool) -> None:
        now = self._clock()
        st = self._state((tenant, key), now)
        if st.locked_until > now:
            return
        st.failures.append(now)
        while len(st.failures) > self.config.max_failures:
            st.failures.popleft()
        if len(st.failures) >= self.config.max_failures:
            st.locked_until = now + self.config.lock_seconds
            st.failures.clear()
            self.counts.locks += 1
            log.warning(
                "guest.order_locked",
                tenant=tenant,
                order=key,
                failures=self.config.max_failures,
                window_seconds=self.config.failure_window,
                lock_seconds=self.config.lock_seconds,
                last_failure="another replica" if remote else "this replica",
            )

    def remote_failure(self, tenant: str, key: str) -> None:
        """Counts a failure another replica saw (its order key, see :func:`order_key`)."""
        self.counts.remote_failures += 1
        self._failed(tenant, key[:64], remote=True)

    def remote_take(self, tenant: str, shop_key: str, ip: str) -> None:
        """Spends the tokens of an attempt another replica admitted (shop key hash and IP digest as it sent them),
        so the limits hold for the cluster, not per replica; an empty bucket stays empty."""
        cfg = self.config
        now = self._clock()
        self.counts.remote_takes += 1
        if cfg.shop_rate_limit is not None:
            self._take((shop_key, cfg.shop_rate_limit), self._shops, cfg.shop_rate_limit, now)
        if cfg.ip_rate_limit is not None:
            self._take((tenant, ip, cfg.ip_rate_limit), self._ips, cfg.ip_rate_limit, now)
            self._trim(now)

    # -- the guard --------------------------------------------------------------------------------------------

    def _take(self, bucket_key: Any, table: OrderedDict[Any, TokenBucket], limit: RateLimit, now: float) -> float:
        bucket = table.get(bucket_key)
        if bucket is None:
            bucket = table[bucket_key] = TokenBucket(limit, now)
        else:
            table.move_to_end(bucket_key)
        return bucket.take(now)

    def admit(
        self, tenant: str, shop_key: str, shop_name: str, order_number: str, metadata: Sequence[tuple[str, Any]]
    ) -> tuple[str, _OrderState]:
        """Checks the rate limits and the lock; books the attempt as pending and returns the order key it counts
        against with its state (whose ``pending`` the caller gives back when the agent answered).

        Raises:
            InvalidArgument: ``x-customer-ip`` is not an IP address.
            RateLimited: the shop's or the IP's limit for this RPC is exhausted.
            NotFound: the order number is locked (the agent's very message).
        """
        cfg = self.config
        now = self._clock()
        raw_ip = customer_ip(metadata)
        ip = ip_digest(ip_key(raw_ip, cfg.ipv6_prefix_length)) if raw_ip is not None else f"shop:{shop_key}"
        if cfg.shop_rate_limit is not None:
            wait = self._take((shop_key, cfg.shop_rate_limit), self._shops, cfg.shop_rate_limit, now)
            if wait:
                raise RateLimited(f"guest order lookups of shop key {shop_name!r} exceed its limit; retry later", wait)
        if cfg.ip_rate_limit is not None:
            wait = self._take((tenant, ip, cfg.ip_rate_limit), self._ips, cfg.ip_rate_limit, now)
            self._trim(now)
            if wait:
                raise RateLimited(
                    "too many guest order lookups from this customer's IP address (x-customer-ip); retry later", wait
                )
        if self.publish_take is not None and (cfg.shop_rate_limit is not None or cfg.ip_rate_limit is not None):
            self.publish_take(tenant, shop_key, ip)
        key = order_key(order_number)
        st = self._state((tenant, key), now)
        self._expired(st, now)
        # Attempts still with the agent count as failures: concurrent guesses cannot overrun the limit.
        if st.locked_until > now or len(st.failures) + st.pending >= cfg.max_failures:
            raise _Locked(NOT_FOUND_MESSAGE)
        st.pending += 1
        return key, st

    async def run(
        self,
        tenant: str,
        shop_key: str,
        shop_name: str,
        order_number: str,
        metadata: Sequence[tuple[str, Any]],
        forward: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        """Guards one guest lookup: limits and lock first, then ``forward`` to the agent; a NOT_FOUND answer
        counts as a failure of the order number (and is shared with the other replicas).

        Raises:
            OnlineConnectError: the guard's refusal or the agent's answer.
        """
        try:
            key, st = self.admit(tenant, shop_key, shop_name, order_number, metadata)
        except _Locked:
            self.counts.outcomes["locked"] += 1
            raise NotFound(NOT_FOUND_MESSAGE) from None
        except RateLimited:
            self.counts.outcomes["rate_limited"] += 1
            raise
        except InvalidArgument:
            self.counts.outcomes["invalid"] += 1
            raise
        try:
            answer = await forward()
        except OnlineConnectError as exc:
            st.pending -= 1
            if exc.code == grpc.StatusCode.NOT_FOUND:
                self.counts.outcomes["not_found"] += 1
                self._failed(tenant, key, remote=False)
                if self.publish is not None:
                    self.publish(tenant, key)
            elif exc.code == grpc.StatusCode.INVALID_ARGUMENT:
                self.counts.outcomes["invalid"] += 1
            else:
                self.counts.outcomes["error"] += 1
            raise
        except BaseException:
            st.pending -= 1
            raise
        st.pending -= 1
        self.counts.outcomes["found"] += 1
        return answer


def _refilled(bucket: TokenBucket, now: float) -> bool:
    """True when ``bucket`` is full again by ``now``."""
    return bucket.tokens + (now - bucket.stamp) * bucket.per_second >= bucket.burst


class _Locked(Exception):
    """Internal: the order number is locked (answered as NOT_FOUND)."""


# -- sharing failures across replicas ------------------------------------------------------------------------------


def encode_failure(tenant: str, key: str) -> bytes:
    """The NATS message of one failure."""
    return json.dumps({"tenant": tenant, "order": key}, separators=(",", ":")).encode()


def decode_failure(data: bytes) -> tuple[str, str] | None:
    """(tenant, order key) of a failure message, or None if malformed."""
    with contextlib.suppress(ValueError, TypeError, KeyError):
        news = json.loads(data)
        tenant, key = news["tenant"], news["order"]
        if isinstance(tenant, str) and isinstance(key, str) and tenant and key:
            return tenant, key
    return None


def encode_take(tenant: str, shop_key: str, ip: str) -> bytes:
    """The NATS message of one admitted attempt."""
    return json.dumps({"tenant": tenant, "shop": shop_key, "ip": ip}, separators=(",", ":")).encode()


def decode_take(data: bytes) -> tuple[str, str, str] | None:
    """(tenant, shop key hash, IP digest) of an attempt message, or None if malformed."""
    with contextlib.suppress(ValueError, TypeError, KeyError):
        news = json.loads(data)
        fields = (news["tenant"], news["shop"], news["ip"])
        if all(isinstance(f, str) and f and len(f) <= 128 for f in fields):
            return fields[0], fields[1], fields[2]
    return None


class NewsLink(Protocol):
    """The part of the cluster link the guard needs (:class:`~.cluster.ClusterLink`)."""

    def on_broadcast(self, suffix: str, handler: Callable[[bytes], None]) -> None:
        """Registers a handler of the other replicas' news under ``suffix``."""

    def broadcast(self, suffix: str, data: bytes) -> None:
        """Sends news to the other replicas."""


def share_failures(guard: GuestGuard, link: NewsLink) -> None:
    """Shares the guard's failures and the attempts it admitted with the other replicas through ``link``, and
    counts theirs: the lockout and the per-shop and per-IP limits then hold for the cluster as a whole (within
    the time NATS takes to carry the news, a few milliseconds)."""

    def on_failure(data: bytes) -> None:
        news = decode_failure(data)
        if news is None:
            log.debug("guest.failure_news_malformed")
            return
        guard.remote_failure(*news)

    def on_take(data: bytes) -> None:
        news = decode_take(data)
        if news is None:
            log.debug("guest.take_news_malformed")
            return
        guard.remote_take(*news)

    link.on_broadcast(FAILURE_SUBJECT, on_failure)
    link.on_broadcast(TAKE_SUBJECT, on_take)
    guard.publish = lambda tenant, key: link.broadcast(FAILURE_SUBJECT, encode_failure(tenant, key))
    guard.publish_take = lambda tenant, shop, ip: link.broadcast(TAKE_SUBJECT, encode_take(tenant, shop, ip))


class GuestCollector(Collector):
    """The guard's metrics, read at scrape time.

    * ``onlineconnect_gateway_guest_lookups_total{outcome}`` — found, not_found, locked (answered NOT_FOUND by the
      lock without asking the agent), rate_limited, invalid, error;
    * ``onlineconnect_gateway_guest_locks_total`` — order numbers locked after too many failures;
    * ``onlineconnect_gateway_guest_remote_failures_total`` — failures reported by other replicas;
    * ``onlineconnect_gateway_guest_remote_attempts_total`` — attempts other replicas admitted (shared limits);
    * ``onlineconnect_gateway_guest_locked_orders`` and ``onlineconnect_gateway_guest_tracked{table}`` — order
      numbers locked now, and the sizes of the guard's tables (bounded by ``max_tracked_*``).
    """

    def __init__(self, guard: GuestGuard) -> None:
        self.guard = guard

    def collect(self) -> Iterable[Metric]:
        """The metric families."""
        g = self.guard
        lookups = CounterMetricFamily(
            "onlineconnect_gateway_guest_lookups", "Guest order lookups by outcome", labels=["outcome"]
        )
        for outcome, n in g.counts.outcomes.items():
            lookups.add_metric([outcome], n)
        yield lookups
        yield CounterMetricFamily(
            "onlineconnect_gateway_guest_locks",
            "Order numbers locked after too many failed guest lookups",
            g.counts.locks,
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_guest_remote_failures",
            "Failed guest lookups reported by other gateway replicas",
            g.counts.remote_failures,
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_guest_remote_attempts",
            "Guest lookups other gateway replicas admitted, whose tokens this replica spent too",
            g.counts.remote_takes,
        )
        yield GaugeMetricFamily(
            "onlineconnect_gateway_guest_locked_orders", "Order numbers locked right now", g.locked_count()
        )
        tracked = GaugeMetricFamily(
            "onlineconnect_gateway_guest_tracked", "Entries in the guest lookup guard's tables", labels=["table"]
        )
        orders, ips = g.tracked()
        tracked.add_metric(["orders"], orders)
        tracked.add_metric(["ips"], ips)
        yield tracked
