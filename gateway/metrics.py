"""Prometheus metrics of the gateway, served over plain HTTP at ``/metrics`` (``[metrics] listen``).

Every gateway has its own :class:`prometheus_client.CollectorRegistry`, so several gateways in one process (tests,
embedded use) never share or collide on series. What is measured:

* ``onlineconnect_gateway_requests_total{rpc,tenant,code}`` and ``onlineconnect_gateway_request_seconds{rpc,tenant}``
  — every shop call, from :class:`~onlineconnect.gateway.relay.Relay`'s observer;
* ``onlineconnect_gateway_requests_in_flight{rpc}`` — shop calls being served (a server interceptor);
* ``onlineconnect_gateway_tunnels_connected{tenant}``, ``onlineconnect_gateway_tunnel_calls_in_flight{tenant}`` —
  read from the tunnel registry at scrape time;
* ``onlineconnect_gateway_tunnel_connects_total{tenant}`` (a tenant's reconnects are its connects after the first)
  and ``onlineconnect_gateway_tunnel_bytes_{received,sent}_total{tenant}`` — sealed bytes through the tunnels,
  counting closed tunnels too.

The HTTP endpoint runs on the gateway's event loop (not in a thread), so a scrape reads the registry without
racing the tunnels that change it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from onlineconnect.calls import Call
from onlineconnect.config import split_host_port

from .registry import Registry
from .tunnel import AgentTunnel

log = structlog.get_logger("onlineconnect.gateway.metrics")

# Shop calls are answered in milliseconds from a warm ERP; the upper buckets catch slow queries and deadlines.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _TunnelCollector(Collector):
    """Reads the tunnel registry at scrape time; keeps byte counters monotonic across closed tunnels."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._live: dict[int, AgentTunnel] = {}
        self._closed_in: dict[str, int] = {}
        self._closed_out: dict[str, int] = {}
        self.connects: dict[str, int] = {}

    def changed(self, tunnel: AgentTunnel, added: bool) -> None:
        """Books one opened or closed tunnel; called by the registry on every change (O(1), not a full walk)."""
        key = id(tunnel)
        if added:
            if key not in self._live:
                self._live[key] = tunnel
                self.connects[tunnel.tenant] = self.connects.get(tunnel.tenant, 0) + 1
        elif self._live.pop(key, None) is not None:
            # We still hold the object, so its final byte counts are exact.
            self._closed_in[tunnel.tenant] = self._closed_in.get(tunnel.tenant, 0) + tunnel.link.bytes_in
            self._closed_out[tunnel.tenant] = self._closed_out.get(tunnel.tenant, 0) + tunnel.link.bytes_out

    def collect(self) -> Iterable[Metric]:
        """Yields the tunnel metric families."""
        counts = self.registry.counts()
        by_tenant: dict[str, list[AgentTunnel]] = {}
        for t in self._live.values():
            by_tenant.setdefault(t.tenant, []).append(t)
        tenants = sorted(set(counts) | set(self.connects))
        connected = GaugeMetricFamily(
            "onlineconnect_gateway_tunnels_connected", "Agent tunnels connected, per tenant", labels=["tenant"]
        )
        calls = GaugeMetricFamily(
            "onlineconnect_gateway_tunnel_calls_in_flight",
            "Calls forwarded to the tenant's agents and not yet answered",
            labels=["tenant"],
        )
        connects = CounterMetricFamily(
            "onlineconnect_gateway_tunnel_connects",
            "Agent tunnels that completed the handshake; more than one per agent means reconnects",
            labels=["tenant"],
        )
        received = CounterMetricFamily(
            "onlineconnect_gateway_tunnel_bytes_received", "Sealed bytes received from agents", labels=["tenant"]
        )
        sent = CounterMetricFamily(
            "onlineconnect_gateway_tunnel_bytes_sent", "Sealed bytes sent to agents", labels=["tenant"]
        )
        for tenant in tenants:
            tunnels = by_tenant.get(tenant, [])
            connected.add_metric([tenant], counts.get(tenant, 0))
            calls.add_metric([tenant], sum(t.in_flight for t in tunnels))
            connects.add_metric([tenant], self.connects.get(tenant, 0))
            received.add_metric([tenant], self._closed_in.get(tenant, 0) + sum(t.link.bytes_in for t in tunnels))
            sent.add_metric([tenant], self._closed_out.get(tenant, 0) + sum(t.link.bytes_out for t in tunnels))
        yield from (connected, calls, connects, received, sent)


class _InFlight(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Counts shop calls being served, per RPC (tunnel streams and health checks are left out)."""

    def __init__(self, gauge: Gauge, paths: frozenset[str]) -> None:
        self.gauge = gauge
        self.paths = paths

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        path = handler_call_details.method
        if handler is None or path not in self.paths:
            return handler
        gauge = self.gauge.labels(rpc=path.rsplit("/", 1)[-1])
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                with gauge.track_inprogress():
                    return await inner(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                with gauge.track_inprogress():
                    async for item in inner_stream(request, context):
                        yield item

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


class GatewayMetrics:
    """The gateway's metrics: an observer for the relay, an interceptor for the server and the HTTP endpoint."""

    def __init__(self, registry: Registry, calls: Iterable[Call]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "onlineconnect_gateway_requests",
            "Shop calls answered, by RPC, tenant and gRPC status code",
            ["rpc", "tenant", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "onlineconnect_gateway_request_seconds",
            "Time from a shop call's arrival to its answer, by RPC and tenant",
            ["rpc", "tenant"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "onlineconnect_gateway_requests_in_flight",
            "Shop calls being served right now, by RPC",
            ["rpc"],
            registry=self.registry,
        )
        self.tunnels = _TunnelCollector(registry)
        self.registry.register(self.tunnels)
        self._paths = frozenset(c.path for c in calls)
        self._server: asyncio.Server | None = None
        self.port = 0

    def observe(self, call: Call, tenant: str, code: grpc.StatusCode, seconds: float) -> None:
        """The relay's observer: counts one finished shop call and its latency."""
        tenant = tenant or "-"  # calls refused before the key was known (UNAUTHENTICATED)
        self.requests.labels(rpc=call.method, tenant=tenant, code=code.name).inc()
        self.latency.labels(rpc=call.method, tenant=tenant).observe(seconds)

    def interceptor(self) -> grpc.aio.ServerInterceptor:
        """A server interceptor that keeps ``requests_in_flight`` up to date."""
        return _InFlight(self.in_flight, self._paths)

    def render(self) -> bytes:
        """The current metrics in the Prometheus text format."""
        return generate_latest(self.registry)

    async def start(self, listen: str) -> int:
        """Serves ``GET /metrics`` on ``listen`` (host:port; port 0 picks one); returns the bound port."""
        host, port = split_host_port(listen, ValueError)
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics.started", listen=listen, port=self.port)
        return self.port

    async def stop(self) -> None:
        """Stops the HTTP endpoint."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = head.decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            if method == "GET" and path in {"/metrics", "/"}:
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, self.render()
            else:
                status, ctype, body = "404 Not Found", "text/plain; charset=utf-8", b"metrics are at /metrics\n"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a port scanner or a client that gave up: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
