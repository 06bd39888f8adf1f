"""The shop-facing services: OrderService and StockService, answered by forwarding over the tenant's tunnel.

Each RPC of :data:`onlineconnect.calls.CALLS` gets a generic handler working on encoded bytes: the gateway checks
the shop's key, picks the tenant's tunnel and splices the request into the tunnel unchanged; the agent's encoded
answer goes back to the shop unchanged. The tenant comes from the key, never from the request.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import structlog

from onlineconnect.calls import CALLS, Call
from onlineconnect.errors import DeadlineExceeded, InvalidArgument, OnlineConnectError, Unavailable, status_from_int
from onlineconnect.v1 import tunnel_pb2

from .auth import Authenticator
from .config import GatewayConfig, ShopCredential
from .ratelimit import Admission, RateLimited
from .registry import Registry
from .stock_cache import CachePolicy, StockCache, cache_key

if TYPE_CHECKING:  # the cluster link needs nats-py, an optional extra: import it only where it is configured
    from .cluster import ClusterLink

log = structlog.get_logger("onlineconnect.gateway.relay")

RelayResponse = tunnel_pb2.RelayResponse

MAX_SHOP_REQUEST_BYTES = 16 * 1024  # the largest legitimate request (100 SKUs) is far below this

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class AgentError(OnlineConnectError):
    """The agent answered with an error status; it goes to the shop as it is (never cached, never stale-served)."""

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status


_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

Observer = Callable[[Call, str, grpc.StatusCode, float], None]


def request_id_from(metadata: Any) -> str:
    """The caller's ``x-request-id`` if it is well-formed, else a fresh one."""
    for item in metadata or ():
        if item.key == "x-request-id":
            value = item.value if isinstance(item.value, str) else ""
            if _REQUEST_ID.match(value):
                return value
            break
    return uuid.uuid4().hex[:16]


class Relay:
    """Forwards shop calls to agents."""

    def __init__(
        self,
        config: GatewayConfig,
        auth: Authenticator,
        registry: Registry,
        *,
        observe: Observer | None = None,
        cache: StockCache | None = None,
    ) -> None:
        self.config = config
        self.auth = auth
        self.registry = registry
        self.observe = observe
        self.admission = Admission(config)
        self.cluster: ClusterLink | None = None  # set by the server when [cluster] is configured
        self.accepting = True  # False while the replica drains: new shop calls go elsewhere
        self.cache = cache or StockCache(
            policies={
                t.name: CachePolicy(ttl_seconds=t.stock_cache_ttl, serve_stale=t.stock_cache_serve_stale)
                for t in config.tenants.values()
            }
        )

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
            if isinstance(exc, AgentError) and exc.status not in _UNREACHABLE:
                raise
            stale = self.cache.get_stale(tenant, key)
            if stale is None:
                raise
            log.info("cache.stale_served", tenant=tenant, rpc=call.method)
            return stale[0].SerializeToString()
        self.cache.put(tenant, key, call.response_type.FromString(result))  # type: ignore[arg-type]
        return result

    def _deadline(self, context: grpc.aio.ServicerContext) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self.config.default_deadline
        return min(float(remaining), self.config.max_deadline)

    def _route(self, call: Call, request: bytes, context: grpc.aio.ServicerContext) -> ShopCredential:
        shop = self.auth.shop(context.invocation_metadata(), call.method)
        if len(request) > MAX_SHOP_REQUEST_BYTES:
            raise InvalidArgument(f"request of {len(request)} bytes exceeds the limit of {MAX_SHOP_REQUEST_BYTES}")
        self.admission.admit(shop, call, request)
        return shop

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
        elsewhere: Callable[[float], Awaitable[RelayResponse]] | None = None,
    ) -> RelayResponse:
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
        tunnel = self.registry.pick(tenant)
        if tunnel is None:
            raise Unavailable(f"no agent connected for this shop's tenant ({tenant}); the ERP is offline")
        answer: RelayResponse | None = None
        try:
            with self.admission.slot(tenant):
                answer = await tunnel.unary(call, request, deadline=deadline, request_id=request_id, shop=shop)
            if answer.code != grpc.StatusCode.UNAVAILABLE.value[0]:
                return answer
            failure = Unavailable(answer.message)
        except Unavailable as exc:
            failure = exc
        left = end - loop.time()
        other = self.registry.pick(tenant, exclude=tunnel)
        if left <= 0 or (other is None and elsewhere is None):
            if answer is not None:
                return answer
            raise failure
        log.info("call.retried", rpc=call.method, tenant=tenant, request_id=request_id, reason=failure.message)
        if other is None:
            assert elsewhere is not None
            return await elsewhere(left)
        with self.admission.slot(tenant):
            return await other.unary(call, request, deadline=left, request_id=request_id, shop=shop)

    async def local_stream(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AsyncIterator[RelayResponse]:
        """Forwards a streaming call over one of this replica's tunnels; retried once on another agent if the
        first one disappears before the first part arrived (after that, a retry would repeat parts)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        tunnel = self.registry.pick(tenant)
        if tunnel is None:
            raise Unavailable(f"no agent connected for this shop's tenant ({tenant}); the ERP is offline")
        started = False
        while True:
            try:
                with self.admission.slot(tenant):
                    async for part in tunnel.stream(
                        call, request, deadline=end - loop.time(), request_id=request_id, shop=shop
                    ):
                        started = True
                        yield part
                return
            except Unavailable:
                other = None if started else self.registry.pick(tenant, exclude=tunnel)
                if other is None or end - loop.time() <= 0:
                    raise
                started = True  # only one retry
                log.info("call.retried", rpc=call.method, tenant=tenant, request_id=request_id)
                tunnel = other

    async def forward_unary(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> RelayResponse:
        """A shop's unary call: over this replica's tunnels, or through the cluster link to a replica that has one."""
        self._check_accepting()
        opts: dict[str, Any] = {"request_id": request_id, "shop": shop}
        cluster = self.cluster
        if cluster is None:
            return await self.local_unary(call, tenant, request, deadline=deadline, **opts)
        if not self.has_local(tenant):
            return await cluster.unary(call, tenant, request, deadline=deadline, **opts)

        async def elsewhere(left: float) -> RelayResponse:
            assert cluster is not None
            return await cluster.unary(call, tenant, request, deadline=left, **opts)

        return await self.local_unary(call, tenant, request, deadline=deadline, elsewhere=elsewhere, **opts)

    async def forward_stream(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AsyncIterator[RelayResponse]:
        """A shop's streaming call: over this replica's tunnels, or through the cluster link."""
        self._check_accepting()
        opts: dict[str, Any] = {"deadline": deadline, "request_id": request_id, "shop": shop}
        if self.cluster is not None and not self.has_local(tenant):
            parts = self.cluster.stream(call, tenant, request, **opts)
        else:
            parts = self.local_stream(call, tenant, request, **opts)
        async for part in parts:
            yield part

    def _done(self, call: Call, tenant: str, code: grpc.StatusCode, started: float) -> None:
        if self.observe is not None:
            self.observe(call, tenant, code, time.perf_counter() - started)

    async def _fail(
        self,
        context: grpc.aio.ServicerContext,
        call: Call,
        tenant: str,
        rid: str,
        started: float,
        code: grpc.StatusCode,
        message: str,
        exc: OnlineConnectError | None = None,
    ) -> None:
        log.info("call.failed", rpc=call.method, tenant=tenant, request_id=rid, code=code.name, message=message)
        self._done(call, tenant, code, started)
        retry = exc.trailers() if isinstance(exc, RateLimited) else ()
        context.set_trailing_metadata((("x-request-id", rid), *retry))
        await context.abort(code, message)

    def unary_handler(self, call: Call) -> grpc.RpcMethodHandler:
        """The generic unary handler for ``call``."""
        field = call.response_field

        async def handle(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            started = time.perf_counter()
            rid = request_id_from(context.invocation_metadata())
            tenant = ""
            try:
                shop = self._route(call, request, context)
                tenant = shop.tenant

                async def forward() -> bytes:
                    resp = await self.forward_unary(
                        call, tenant, request, deadline=self._deadline(context), request_id=rid, shop=shop.name
                    )
                    if resp.code != 0:
                        raise AgentError(status_from_int(resp.code), resp.message)
                    out: bytes = getattr(resp, field)
                    return out

                if call.cacheable and self.cache.policy(tenant).enabled:
                    result = await self._forward_cached(call, request, tenant, forward)
                else:
                    result = await forward()
            except AgentError as exc:
                await self._fail(context, call, tenant, rid, started, exc.status, exc.message)
                raise AssertionError("unreachable") from None
            except OnlineConnectError as exc:
                await self._fail(context, call, tenant, rid, started, exc.code, exc.message, exc)
                raise AssertionError("unreachable") from None
            self._done(call, tenant, grpc.StatusCode.OK, started)
            context.set_trailing_metadata((("x-request-id", rid),))
            return result

        return grpc.unary_unary_rpc_method_handler(handle)

    def stream_handler(self, call: Call) -> grpc.RpcMethodHandler:
        """The generic server-streaming handler for ``call``."""
        field = call.response_field

        async def handle(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            started = time.perf_counter()
            rid = request_id_from(context.invocation_metadata())
            tenant = ""
            try:
                shop = self._route(call, request, context)
                tenant = shop.tenant
                async for part in self.forward_stream(
                    call, tenant, request, deadline=self._deadline(context), request_id=rid, shop=shop.name
                ):
                    if part.code != 0:
                        await self._fail(context, call, tenant, rid, started, status_from_int(part.code), part.message)
                    chunk: bytes = getattr(part, field)
                    if chunk:
                        yield chunk
            except OnlineConnectError as exc:
                await self._fail(context, call, tenant, rid, started, exc.code, exc.message, exc)
            self._done(call, tenant, grpc.StatusCode.OK, started)
            context.set_trailing_metadata((("x-request-id", rid),))

        return grpc.unary_stream_rpc_method_handler(handle)

    def generic_handlers(self) -> list[grpc.GenericRpcHandler]:
        """One generic handler per service, covering every RPC in the calls table."""
        by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for call in CALLS:
            handler = self.stream_handler(call) if call.streaming else self.unary_handler(call)
            by_service.setdefault(call.service, {})[call.method] = handler
        return [grpc.method_handlers_generic_handler(s, m) for s, m in by_service.items()]
