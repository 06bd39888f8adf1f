"""The relay chain: every shop call, whichever door it came through, passes the same steps once.

A door (:mod:`.shop_grpc` for gRPC, :mod:`.http_door` for HTTP/JSON over the Connect protocol) turns what
arrived into a :class:`ShopCall` — the RPC's row of :data:`onlineconnect.calls.CALLS`, the encoded request, the
headers, the caller's timeout — and hands it to :meth:`Relay.unary` or :meth:`Relay.stream`. The chain then:

1. gives the call a request id (the caller's ``x-request-id`` if well-formed) and a capped deadline;
2. authenticates the shop key and checks its RPC scope (the tenant comes from the key, never from the request);
3. checks the request's size and decodes it once (malformed bytes: ``INVALID_ARGUMENT``);
4. admits it: rate limits per key and per customer, and the memory budget of unread answers (:mod:`.budget`);
   a guest order lookup also passes its own guards (:mod:`.guest_guard`: limits per shop and customer IP, and
   the lockout of an order number after repeated failures), which see the agent's answer too;
5. answers cacheable stock calls from the tenant's cache, else forwards to one of the tenant's agents over this
   replica's tunnels (one retry on another agent), or to a replica that has one (the cluster link). The
   in-flight caps per tenant and per shop are held while the agent works on the call.

Errors are raised as :class:`~onlineconnect.errors.OnlineConnectError` subclasses; each door maps them once to
its own protocol. The door writes the answer within the call's deadline while holding its bytes in the budget
(:meth:`Relay.hold`) and reports the outcome with :meth:`Relay.finished` (metrics and logs).

Logs: an answered call is one ``call.answered`` line at debug; a failed call is one ``call.failed`` line, but
of the same failure (tenant, code) only the first :data:`FAILED_BURST` per :data:`FAILED_INTERVAL` seconds are
logged one by one — the rest are counted and summarised in one ``call.failed_repeated`` line with the count when
the interval is over, so a 6 s outage under load is a handful of lines, not hundreds. Metrics count every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import grpc
import structlog
from google.protobuf.message import Message

from onlineconnect.calls import Call
from onlineconnect.errors import DeadlineExceeded, InvalidArgument, OnlineConnectError, Unavailable, status_from_int
from onlineconnect.v1 import tunnel_pb2

from . import guest_guard
from .auth import Authenticator
from .budget import ByteBudget
from .config import GatewayConfig, ShopCredential
from .guest_guard import GuestGuard
from .live import LiveConfig
from .ratelimit import Admission, decode_request
from .registry import Registry
from .retry import may_retry
from .stock_cache import CachePolicy, StockCache, cache_key

if TYPE_CHECKING:  # the cluster link needs nats-py, an optional extra: import it only where it is configured
    from .cluster import ClusterLink

log = structlog.get_logger("onlineconnect.gateway.relay")

AgentResponse = tunnel_pb2.AgentResponse  # an agent's answer: status, and the result as the agent encoded it

MAX_SHOP_REQUEST_BYTES = 16 * 1024  # the largest legitimate request (100 SKUs) is far below this

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

ORDER_CACHE_CONTROL = "private, no-store"  # order data concerns one customer: never stored by anyone

FAILED_BURST = 5  # failed calls of one kind (tenant, code) logged one by one per interval …
FAILED_INTERVAL = 10.0  # … seconds; the rest are summarised with their count at the interval's end


class AgentError(OnlineConnectError):
    """The agent answered with an error status; it goes to the shop as it is (never cached, never stale-served)."""

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = status


_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class Observer(Protocol):
    """Receives every finished shop call (the gateway's metrics)."""

    def call_started(self, call: Call, protocol: str) -> None:
        """A shop call arrived."""

    def call_finished(
        self, call: Call, tenant: str, protocol: str, code: grpc.StatusCode, seconds: float, *, counted: bool
    ) -> None:
        """A shop call ended with ``code`` after ``seconds``; ``counted``: :meth:`call_started` was called for it."""

    def shop_not_reading(self, tenant: str) -> None:
        """A call was given up because its shop did not read the answer."""


def request_id_from(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """The caller's ``x-request-id`` if it is well-formed, else a fresh one."""
    for key, value in metadata or ():
        if key == "x-request-id":
            if isinstance(value, str) and _REQUEST_ID.match(value):
                return value
            break
    return uuid.uuid4().hex[:16]


@dataclass
class ShopCall:
    """One shop call as a door hands it to the relay.

    Attributes:
        call: The RPC's row of the calls table.
        payload: The encoded (binary protobuf) request.
        metadata: Headers as (lower-case name, value) pairs: ``authorization``, ``x-request-id`` …
        timeout: Seconds the caller waits (``grpc-timeout`` / ``Connect-Timeout-Ms``); None: none was sent.
        protocol: ``grpc`` or ``connect``: the door, as the metrics' label.
        peer: The caller's address, for logs.
        request_id: Set on construction: the caller's ``x-request-id`` if well-formed, else a fresh one.
        tenant: Set by the relay once the shop key is known.
        shop: Set by the relay: the shop key's credential.
        deadline: Set by the relay: event-loop time by which the call must have ended (default and cap applied).
        cache_control: Set by the relay: the HTTP ``Cache-Control`` the answer may carry.
        request: Set by the relay: the decoded request.
    """

    call: Call
    payload: bytes
    metadata: Sequence[tuple[str, Any]]
    timeout: float | None
    protocol: str
    peer: str = ""
    request_id: str = field(init=False)
    tenant: str = ""
    shop: ShopCredential | None = None
    deadline: float = 0.0
    cache_control: str = ORDER_CACHE_CONTROL
    request: Message | None = None  # set by the relay: the decoded request
    started: float = field(init=False)
    counted: bool = False  # the observer was told it started (the in-flight gauge)
    ended: bool = False

    def __post_init__(self) -> None:
        self.request_id = request_id_from(self.metadata)
        self.started = time.perf_counter()

    @property
    def shop_name(self) -> str:
        """The calling shop key's configured name (empty before authentication)."""
        return self.shop.name if self.shop is not None else ""

    def left(self) -> float:
        """Seconds until the deadline (may be negative)."""
        return self.deadline - asyncio.get_running_loop().time()


class Relay:
    """Forwards shop calls to agents."""

    def __init__(
        self,
        live: LiveConfig,
        auth: Authenticator,
        registry: Registry,
        *,
        observe: Observer | None = None,
        cache: StockCache | None = None,
    ) -> None:
        self._live = live
        config = live.current
        self.auth = auth
        self.registry = registry
        self.observe = observe
        self.admission = Admission(config)
        self.guest = GuestGuard(config.guest_lookup)
        self.budget = ByteBudget(total=config.shop_buffer_bytes, per_key=config.shop_buffer_bytes_per_key)
        self.cluster: ClusterLink | None = None  # see attach_cluster()
        self.accepting = True  # False while the replica drains (stop_accepting): new shop calls go elsewhere
        self._failures: dict[tuple[str, str], _FailureWindow] = {}  # log aggregation (see finished())
        self.cache = cache or StockCache(
            policies={
                t.name: CachePolicy(ttl_seconds=t.stock_cache_ttl, serve_stale=t.stock_cache_serve_stale)
                for t in config.tenants.values()
            }
        )

    @property
    def config(self) -> GatewayConfig:
        """The running configuration (read from the gateway's one holder at every use)."""
        return self._live.current

    def apply(self, config: GatewayConfig) -> None:
        """Takes over what the relay derives from a reloaded ``config``: admission limits, the guest lookup's
        limits, the memory budget and the tenants' stock cache policies (the settings themselves are read from the
        holder)."""
        self.admission.update(config)
        self.guest.update(config.guest_lookup)
        self.budget.update(total=config.shop_buffer_bytes, per_key=config.shop_buffer_bytes_per_key)
        for t in config.tenants.values():
            self.cache.set_policy(
                t.name, CachePolicy(ttl_seconds=t.stock_cache_ttl, serve_stale=t.stock_cache_serve_stale)
            )

    def attach_cluster(self, link: ClusterLink) -> None:
        """Routes calls of tenants held by other replicas through ``link`` (``[cluster]``)."""
        self.cluster = link

    def stop_accepting(self) -> None:
        """The replica drains: from now on new shop calls fail at once with UNAVAILABLE ("call another replica")."""
        self.accepting = False

    async def _forward_cached(self, call: Call, request: bytes, tenant: str, forward: Any) -> bytes:
        """Answers a stock call from the tenant's cache when allowed, else forwards it and stores the answer.

        Order calls never come here: only calls marked cacheable in the calls table do.
        """
        key = cache_key(call.method, call.request_type.FromString(request))  # type: ignore[arg-type]
        hit = self.cache.get(tenant, key)
        if hit is not None:
            return hit[0].SerializeToString()
        try:
            result: bytes = await forward()
        except (Unavailable, DeadlineExceeded, AgentError) as exc:
            if isinstance(exc, AgentError) and exc.code not in _UNREACHABLE:
                raise
            stale = self.cache.get_stale(tenant, key)
            if stale is None:
                raise
            log.info("cache.stale_served", tenant=tenant, rpc=call.method)
            return stale[0].SerializeToString()
        self.cache.put(tenant, key, call.response_type.FromString(result))  # type: ignore[arg-type]
        return result

    # -- paths to an agent: this replica's tunnels (retried once on another agent), else another replica ------

    def has_local(self, tenant: str) -> bool:
        """True if this replica holds a usable tunnel of ``tenant``."""
        return self.registry.pick(tenant) is not None

    def _check_accepting(self) -> None:
        if not self.accepting:
            raise Unavailable("this gateway replica is shutting down; call another replica")

    async def local_unary(
        self,
        call: Call,
        tenant: str,
        request: bytes,
        *,
        deadline: float,
        request_id: str,
        shop: str,
        elsewhere: Callable[[float], Awaitable[AgentResponse]] | None = None,
    ) -> AgentResponse:
        """Forwards a unary call over one of this replica's tunnels of ``tenant`` (fewest in flight).

        When that agent disappears with the call in flight (or answers UNAVAILABLE), the call is retried once on
        another agent of the tenant within what is left of the deadline: every call is a read, so asking twice is
        safe, and the first tunnel forgot the call, so a late answer from it is dropped, never delivered twice.

        Args:
            elsewhere: Where to retry when this replica has no other agent of the tenant (another replica).

        Raises:
            Unavailable: no agent of the tenant is connected here (and no retry path worked).
            DeadlineExceeded: no answer within ``deadline``.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        tunnel = await self.registry.wait_pick(tenant, deadline)
        if tunnel is None:
            raise Unavailable(f"no agent connected for this shop's tenant ({tenant}); the ERP is offline")
        answer: AgentResponse | None = None
        try:
            with self.admission.slot(tenant, shop):
                answer = await tunnel.unary(call, request, deadline=deadline, request_id=request_id, shop=shop)
            if answer.code != grpc.StatusCode.UNAVAILABLE.value[0]:
                return answer
            failure = Unavailable(answer.message)
        except Unavailable as exc:
            failure = exc
        left = end - loop.time()
        other = self.registry.pick(tenant, exclude=tunnel)
        if not may_retry(1, left=left) or (other is None and elsewhere is None):
            if answer is not None:
                return answer
            raise failure
        log.info("call.retried", rpc=call.method, tenant=tenant, request_id=request_id, reason=failure.message)
        if other is None:
            assert elsewhere is not None
            return await elsewhere(left)
        with self.admission.slot(tenant, shop):
            return await other.unary(call, request, deadline=left, request_id=request_id, shop=shop)

    async def local_stream(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AsyncIterator[AgentResponse]:
        """Forwards a streaming call over one of this replica's tunnels; retried once on another agent if the
        first one disappears before the first part arrived (after that, a retry would repeat parts).

        The in-flight slot is given back as soon as the agent has sent its last part (or the call ended), not
        when the shop has read it: a shop that reads slowly, or never, holds no capacity of the tenant's ERP.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        tunnel = await self.registry.wait_pick(tenant, deadline)
        if tunnel is None:
            raise Unavailable(f"no agent connected for this shop's tenant ({tenant}); the ERP is offline")
        started = False
        attempt = 1
        while True:
            release = self.admission.acquire(tenant, shop)
            try:
                async for part in tunnel.stream(
                    call, request, deadline=end - loop.time(), request_id=request_id, shop=shop, on_done=release
                ):
                    started = True
                    yield part
                return
            except Unavailable:
                if not may_retry(attempt, left=end - loop.time(), started=started):
                    raise
                other = self.registry.pick(tenant, exclude=tunnel)
                if other is None:
                    raise
                attempt += 1
                log.info("call.retried", rpc=call.method, tenant=tenant, request_id=request_id)
                tunnel = other
            finally:
                release()

    async def forward_unary(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AgentResponse:
        """A shop's unary call: over this replica's tunnels, or through the cluster link to a replica that has one."""
        self._check_accepting()
        opts: dict[str, Any] = {"request_id": request_id, "shop": shop}
        cluster = self.cluster
        if cluster is None:
            return await self.local_unary(call, tenant, request, deadline=deadline, **opts)
        if not self.has_local(tenant):
            return await cluster.unary(call, tenant, request, deadline=deadline, **opts)

        async def elsewhere(left: float) -> AgentResponse:
            assert cluster is not None
            return await cluster.unary(call, tenant, request, deadline=left, **opts)

        return await self.local_unary(call, tenant, request, deadline=deadline, elsewhere=elsewhere, **opts)

    async def forward_stream(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AsyncIterator[AgentResponse]:
        """A shop's streaming call: over this replica's tunnels, or through the cluster link."""
        self._check_accepting()
        opts: dict[str, Any] = {"deadline": deadline, "request_id": request_id, "shop": shop}
        if self.cluster is not None and not self.has_local(tenant):
            parts = self.cluster.stream(call, tenant, request, **opts)
        else:
            parts = self.local_stream(call, tenant, request, **opts)
        async for part in parts:
            yield part

    # -- the chain both doors call --------------------------------------------------------------------------------

    def authenticate(self, sc: ShopCall) -> ShopCredential:
        """Step 2 alone: the shop key and its scope for ``sc``'s RPC; sets ``sc.shop`` and ``sc.tenant``.

        A door may call it before it decodes the request, so that a call without a valid key is refused as
        unauthenticated whatever its body; :meth:`unary` and :meth:`stream` call it again.

        Raises:
            Unauthenticated: no or unknown key.
            PermissionDenied: the key may not call the RPC.
        """
        shop = self.auth.shop(sc.metadata, sc.call.method)
        sc.shop, sc.tenant = shop, shop.tenant
        return shop

    def _admit(self, sc: ShopCall) -> ShopCredential:
        """Steps 1 to 4: deadline, key and scope, size and shape of the request, rate limits and the memory budget."""
        if self.observe is not None and not sc.counted:
            sc.counted = True
            self.observe.call_started(sc.call, sc.protocol)
        timeout = self.config.default_deadline if sc.timeout is None else sc.timeout
        sc.deadline = asyncio.get_running_loop().time() + max(0.0, min(timeout, self.config.max_deadline))
        shop = self.authenticate(sc)
        if len(sc.payload) > MAX_SHOP_REQUEST_BYTES:
            raise InvalidArgument(f"request of {len(sc.payload)} bytes exceeds the limit of {MAX_SHOP_REQUEST_BYTES}")
        message = sc.request = decode_request(sc.call, sc.payload)
        self.admission.admit(shop, message)
        self.budget.admit(shop.key_sha256, shop.name)
        self._check_accepting()
        if sc.call.cacheable:
            ttl = self.cache.policy(shop.tenant).ttl_seconds
            sc.cache_control = f"max-age={int(ttl)}" if ttl >= 1 else "no-cache"
        return shop

    async def unary(self, sc: ShopCall) -> bytes:
        """Answers a unary shop call: the encoded response message.

        Raises:
            OnlineConnectError: a subclass whose ``code`` is the call's status (rate limits: ``RateLimited``).
        """
        self._admit(sc)

        async def forward() -> bytes:
            left = sc.left()
            if left <= 0:
                raise DeadlineExceeded("the call's deadline passed before it reached the agent")
            resp = await self.forward_unary(
                sc.call, sc.tenant, sc.payload, deadline=left, request_id=sc.request_id, shop=sc.shop_name
            )
            if resp.code != 0:
                raise AgentError(status_from_int(resp.code), resp.message)
            return resp.result

        if sc.call.cacheable and self.cache.policy(sc.tenant).enabled:
            return await self._forward_cached(sc.call, sc.payload, sc.tenant, forward)
        if sc.call.method == guest_guard.METHOD:
            assert sc.shop is not None
            order_number = str(getattr(sc.request, "order_number", ""))
            return await self.guest.run(sc.tenant, sc.shop.key_sha256, sc.shop.name, order_number, sc.metadata, forward)
        return await forward()

    async def stream(self, sc: ShopCall) -> AsyncIterator[bytes]:
        """Answers a streaming shop call: the encoded response messages, in order.

        Raises:
            OnlineConnectError: before the first message or between messages.
        """
        self._admit(sc)
        parts = self.forward_stream(
            sc.call, sc.tenant, sc.payload, deadline=max(0.001, sc.left()), request_id=sc.request_id, shop=sc.shop_name
        )
        try:
            async for part in parts:
                if part.code != 0:
                    raise AgentError(status_from_int(part.code), part.message)
                chunk = part.result
                if chunk:
                    yield chunk
        finally:
            await parts.aclose()  # type: ignore[attr-defined]

    def hold(self, sc: ShopCall, nbytes: int) -> contextlib.AbstractContextManager[None]:
        """Books ``nbytes`` of ``sc``'s answer in the memory budget while the door writes them to the shop."""
        key = sc.shop.key_sha256 if sc.shop is not None else ""
        return self.budget.hold(key, nbytes)

    def abandoned(self, sc: ShopCall, nbytes: int) -> None:
        """The door gave up writing ``nbytes`` to a shop that does not read: they stay booked until the
        connection is surely closed (its maximum age plus grace)."""
        key = sc.shop.key_sha256 if sc.shop is not None else ""
        self.budget.abandon(key, nbytes, self.config.max_connection_age + self.config.max_connection_age_grace)
        if self.observe is not None:
            self.observe.shop_not_reading(sc.tenant)
        log.warning(
            "call.shop_not_reading",
            rpc=sc.call.method,
            tenant=sc.tenant,
            shop=sc.shop_name,
            request_id=sc.request_id,
            protocol=sc.protocol,
            peer=sc.peer,
            unsent_bytes=nbytes,
        )

    def _failure_logged_alone(self, tenant: str, code: grpc.StatusCode, message: str) -> bool:
        """True if this failure gets its own line; else it is counted for the interval's summary line."""
        key = (tenant, code.name)
        window = self._failures.get(key)
        if window is None:
            window = self._failures[key] = _FailureWindow()
            try:
                asyncio.get_running_loop().call_later(FAILED_INTERVAL, self._summarise, key)
            except RuntimeError:  # no event loop (a door's unit test): nothing would end the interval
                del self._failures[key]
                return True
        window.seen += 1
        if window.seen <= FAILED_BURST:
            return True
        window.last_message = message
        return False

    def _summarise(self, key: tuple[str, str]) -> None:
        """Ends a failure interval: one line with the count of failures not logged one by one."""
        window = self._failures.pop(key, None)
        if window is not None and window.seen > FAILED_BURST:
            log.info(
                "call.failed_repeated",
                tenant=key[0],
                code=key[1],
                count=window.seen - FAILED_BURST,
                interval_seconds=FAILED_INTERVAL,
                message=window.last_message,
            )

    def finished(self, sc: ShopCall, code: grpc.StatusCode, message: str = "") -> None:
        """The door reports how ``sc`` ended: metrics, and one log line if it failed. Idempotent."""
        if sc.ended:
            return
        sc.ended = True
        fields = {"rpc": sc.call.method, "tenant": sc.tenant, "request_id": sc.request_id, "protocol": sc.protocol}
        if code == grpc.StatusCode.OK:
            log.debug("call.answered", **fields, ms=round((time.perf_counter() - sc.started) * 1000, 1))
        elif self._failure_logged_alone(sc.tenant, code, message):
            log.info("call.failed", **fields, code=code.name, message=message)
        if self.observe is not None:
            self.observe.call_finished(
                sc.call, sc.tenant, sc.protocol, code, time.perf_counter() - sc.started, counted=sc.counted
            )


@dataclass
class _FailureWindow:
    """Failed calls of one kind within the current log interval."""

    seen: int = 0
    last_message: str = ""
