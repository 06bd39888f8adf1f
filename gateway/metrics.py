"""Prometheus metrics of the gateway, served over plain HTTP at ``/metrics`` (``[metrics] listen``).

Every gateway has its own :class:`prometheus_client.CollectorRegistry`, so several gateways in one process (tests,
embedded use) never share or collide on series. What is measured:

* ``onlineconnect_gateway_requests_total{rpc,tenant,code,protocol}`` and
  ``onlineconnect_gateway_request_seconds{rpc,tenant}`` — every shop call through either door (``protocol`` is
  ``grpc`` or ``connect``), from :class:`~onlineconnect.gateway.relay.Relay`'s observer;
* ``onlineconnect_gateway_requests_in_flight{rpc,protocol}`` — shop calls being served;
* ``onlineconnect_gateway_shop_unread_bytes`` — answers handed to shops and not yet read (the memory budget), and
  ``onlineconnect_gateway_shop_not_reading_total{tenant}`` — calls given up because the shop did not read;
* ``onlineconnect_gateway_shop_unread_limit_bytes`` — that budget's size (``[server] max_unread_mib``), so an
  alert compares the two without repeating the configuration;
* ``onlineconnect_gateway_tunnels_connected{tenant}``, ``onlineconnect_gateway_tunnel_calls_in_flight{tenant}`` —
  this replica's own tunnels, read from the tunnel registry at scrape time;
* ``onlineconnect_gateway_tenant_reachable{tenant}`` — 1 when a shop calling this replica can reach an agent of
  the tenant, over a local tunnel or through the cluster link (the "ERP offline" signal; with several replicas
  ``tunnels_connected`` of one replica may well be 0 while the tenant is served);
* with ``[cluster]``: ``onlineconnect_gateway_cluster_connected`` (NATS connected and answering pings),
  ``onlineconnect_gateway_cluster_rtt_seconds``, ``onlineconnect_gateway_cluster_replicas`` (others heard of),
  ``onlineconnect_gateway_cluster_calls_routed_{out,in}_total`` and
  ``onlineconnect_gateway_cluster_call_failures_total{cause}``;
* ``onlineconnect_gateway_stock_cache_{hits,stale_hits,misses,evictions}_total`` and
  ``onlineconnect_gateway_stock_cache_{entries,bytes}`` — the stock cache (:mod:`.stock_cache`), read at scrape
  time: fresh answers served from it, stale ones served while the agent was unreachable, lookups that had to ask
  the agent, answers pushed out by its bounds;
* ``onlineconnect_gateway_tunnel_connects_total{tenant}`` (a tenant's reconnects are its connects after the first)
  and ``onlineconnect_gateway_tunnel_bytes_{received,sent}_total{tenant}`` — sealed bytes through the tunnels,
  counting closed tunnels too.

The HTTP endpoint runs on the gateway's event loop (not in a thread), so a scrape reads the registry without
racing the tunnels that change it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import grpc
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from onlineconnect.calls import Call
from onlineconnect.config import split_host_port

from .registry import Registry
from .stock_cache import StockCache
from .tunnel import AgentTunnel

if TYPE_CHECKING:
    from .cluster import ClusterLink

log = structlog.get_logger("onlineconnect.gateway.metrics")

# Shop calls are answered in milliseconds from a warm ERP; the upper buckets catch slow queries and deadlines.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _TunnelCollector(Collector):
    """Reads the tunnel registry at scrape time; keeps byte counters monotonic across closed tunnels."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.reachable: Callable[[str], bool] | None = None  # the server's cluster-wide view
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
        reachable = GaugeMetricFamily(
            "onlineconnect_gateway_tenant_reachable",
            "1 if a shop calling this replica can reach an agent of the tenant (local tunnel or another replica)",
            labels=["tenant"],
        )
        for tenant in tenants:
            tunnels = by_tenant.get(tenant, [])
            local = counts.get(tenant, 0) > 0
            reachable.add_metric([tenant], int(local or (self.reachable is not None and self.reachable(tenant))))
            connected.add_metric([tenant], counts.get(tenant, 0))
            calls.add_metric([tenant], sum(t.in_flight for t in tunnels))
            connects.add_metric([tenant], self.connects.get(tenant, 0))
            received.add_metric([tenant], self._closed_in.get(tenant, 0) + sum(t.link.bytes_in for t in tunnels))
            sent.add_metric([tenant], self._closed_out.get(tenant, 0) + sum(t.link.bytes_out for t in tunnels))
        yield from (connected, calls, connects, received, sent, reachable)


class _ClusterCollector(Collector):
    """Reads the cluster link's state at scrape time."""

    def __init__(self, link: ClusterLink) -> None:
        self.link = link

    def collect(self) -> Iterable[Metric]:
        """Yields the cluster link's metric families."""
        state = self.link.state
        yield GaugeMetricFamily(
            "onlineconnect_gateway_cluster_connected",
            "1 while the link to the other replicas (NATS) is connected and NATS answers pings",
            value=int(self.link.connected),
        )
        yield GaugeMetricFamily(
            "onlineconnect_gateway_cluster_rtt_seconds",
            "Round-trip time of the last ping to NATS answered",
            value=state.rtt if state.rtt is not None else float("nan"),
        )
        yield GaugeMetricFamily(
            "onlineconnect_gateway_cluster_replicas",
            "Other replicas holding tunnels, as announced through NATS and heard recently",
            value=len(state.peers),
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_cluster_calls_routed_out",
            "Shop calls sent through NATS to a replica holding the tenant",
            value=state.routed_out,
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_cluster_calls_routed_in",
            "Calls of other replicas served over this replica's tunnels",
            value=state.routed_in,
        )
        failures = CounterMetricFamily(
            "onlineconnect_gateway_cluster_call_failures",
            "Calls routed through NATS that failed, by cause (nats_down, nats_stalled, no_replica, replica_lost, "
            "deadline, no_path)",
            labels=["cause"],
        )
        for cause, n in sorted(state.failures.items()):
            failures.add_metric([cause], n)
        yield failures


class _CacheCollector(Collector):
    """Reads the stock cache's counters at scrape time (the cache in force: a reload may replace it)."""

    def __init__(self, cache: Callable[[], StockCache]) -> None:
        self.cache = cache

    def collect(self) -> Iterable[Metric]:
        """Yields the stock cache's metric families."""
        cache = self.cache()
        yield CounterMetricFamily(
            "onlineconnect_gateway_stock_cache_hits", "Stock answers served fresh from the cache", value=cache.hits
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_stock_cache_stale_hits",
            "Stock answers older than the TTL served from the cache (marked stale) while the agent was unreachable",
            value=cache.stale_hits,
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_stock_cache_misses",
            "Stock lookups the cache could not answer fresh (the agent was asked)",
            value=cache.misses,
        )
        yield CounterMetricFamily(
            "onlineconnect_gateway_stock_cache_evictions",
            "Stock answers dropped to keep the cache within its entry and byte bounds",
            value=cache.evictions,
        )
        yield GaugeMetricFamily("onlineconnect_gateway_stock_cache_entries", "Stock answers held", value=len(cache))
        yield GaugeMetricFamily(
            "onlineconnect_gateway_stock_cache_bytes", "Bytes counted for the answers held", value=cache.bytes_used()
        )


class GatewayMetrics:
    """The gateway's metrics: an observer for the relay, an interceptor for the server and the HTTP endpoint."""

    def __init__(self, registry: Registry, calls: Iterable[Call]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "onlineconnect_gateway_requests",
            "Shop calls answered, by RPC, tenant, gRPC status code and door (grpc or connect)",
            ["rpc", "tenant", "code", "protocol"],
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
            "Shop calls being served right now, by RPC and door",
            ["rpc", "protocol"],
            registry=self.registry,
        )
        self.unread = Gauge(
            "onlineconnect_gateway_shop_unread_bytes",
            "Bytes of answers handed to shops and not yet read by them (bounded by [server] max_unread_mib)",
            registry=self.registry,
        )
        self.not_reading = Counter(
            "onlineconnect_gateway_shop_not_reading",
            "Shop calls given up because the shop did not read the answer before the deadline",
            ["tenant"],
            registry=self.registry,
        )
        self.unread_limit = Gauge(
            "onlineconnect_gateway_shop_unread_limit_bytes",
            "The memory budget for answers not yet read by shops ([server] max_unread_mib)",
            registry=self.registry,
        )
        self.tunnels = _TunnelCollector(registry)
        self.registry.register(self.tunnels)
        self._server: asyncio.Server | None = None
        self.port = 0

    def call_started(self, call: Call, protocol: str) -> None:
        """The relay's observer: a shop call arrived."""
        self.in_flight.labels(rpc=call.method, protocol=protocol).inc()

    def call_finished(
        self, call: Call, tenant: str, protocol: str, code: grpc.StatusCode, seconds: float, *, counted: bool
    ) -> None:
        """The relay's observer: counts one finished shop call and its latency."""
        tenant = tenant or "-"  # calls refused before the key was known (UNAUTHENTICATED)
        if counted:
            self.in_flight.labels(rpc=call.method, protocol=protocol).dec()
        self.requests.labels(rpc=call.method, tenant=tenant, code=code.name, protocol=protocol).inc()
        self.latency.labels(rpc=call.method, tenant=tenant).observe(seconds)

    def shop_not_reading(self, tenant: str) -> None:
        """The relay's observer: a call was given up because its shop did not read the answer."""
        self.not_reading.labels(tenant=tenant or "-").inc()

    def watch_budget(self, held: Callable[[], int], limit: Callable[[], int] | None = None) -> None:
        """Reads the memory budget's held bytes (and its size) at scrape time."""
        self.unread.set_function(held)
        if limit is not None:
            self.unread_limit.set_function(limit)

    def watch_reach(self, reachable: Callable[[str], bool]) -> None:
        """Reads whether each tenant is reachable from this replica (locally or through the cluster)."""
        self.tunnels.reachable = reachable

    def watch_cache(self, cache: Callable[[], StockCache]) -> None:
        """Exports the counters of the stock cache that ``cache()`` returns at scrape time."""
        self.registry.register(_CacheCollector(cache))

    def watch_cluster(self, link: ClusterLink) -> None:
        """Exports the cluster link's metrics."""
        self.registry.register(_ClusterCollector(link))

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
