"""The gateway's configuration file (TOML), validated on load.

Example (``deploy/demo/gateway.toml`` is a complete one)::

    [server]
    listen = "0.0.0.0:50051"
    tls_cert = "/etc/onlineconnect/gateway.crt"
    tls_key = "/etc/onlineconnect/gateway.key"
    client_ca = "/etc/onlineconnect/agents-ca.crt"   # optional: verify agents' client certificates …
    agent_listen = "0.0.0.0:50052"                   # … on this port, which demands one (mutual TLS)

    [tenants.acme]
    keys = { 1 = "env:OC_ACME_KEY_1" }       # 128-bit Blowfish keys as 32 hex digits, by key id
    # while rotating: keys = { 1 = { key = "env:OC_ACME_KEY_1", retire_after = "2026-12-01T00:00:00Z" },
    #                          2 = "env:OC_ACME_KEY_2" }
    max_in_flight = 64                        # requests forwarded to this tenant's ERP at once
    max_in_flight_per_shop = 48               # … of which one shop key may hold (default: three quarters)

    [[shops]]
    name = "acme-shop"
    tenant = "acme"
    key_sha256 = "9f86d0…"                    # SHA-256 of the shop's API key; the key itself is never stored
    rpcs = ["*"]
    rate_limit = { per_second = 50, burst = 100 }          # whole key; default 200/s, burst 400; false: none
    customer_rate_limit = { per_second = 2, burst = 10 }   # optional, per customer_number

    [[agents]]
    name = "acme-erp"
    token_sha256 = "…"
    tenants = ["acme"]
    client_cert_name = "acme-erp"             # optional (needs server.client_ca): the agent's TLS client
                                              # certificate must carry this name (CN or SAN)

    [[operators]]                             # optional: the relay operator's monitoring, which may read every
    name = "monitoring"                       # tenant's health (onlineconnect.tenant.<name>)
    token_sha256 = "…"                        # SHA-256 of its bearer token (`onlineconnect keygen agent-token`)

    [cluster]                                 # optional: several replicas linked through NATS (docs/scaling.md)
    nats = "nats://127.0.0.1:4222"            # absent table: single-process mode, no NATS needed
    replica = "gw-1"                          # this replica's name in logs (default: the host name)
    ping_interval_seconds = 1.0               # own pings to NATS: round-trip time, presence of other replicas
    ping_timeout_seconds = 2.0                # a ping unanswered this long: NATS is in trouble (warned, named)
    warn_interval_seconds = 30.0              # repeat the warning this often while NATS is unusable

    [guest_lookup]                            # OrderService/LookupGuestOrder against guessing (docs/security.md)
    max_failures = 5                          # NOT_FOUND answers for one order number …
    failure_window_seconds = 900              # … within this time lock that order number …
    lock_seconds = 900                        # … for this long (NOT_FOUND to everyone, the agent is not asked)
    shop_rate_limit = { per_second = 2, burst = 20 }        # per shop key, this RPC only; false: none
    ip_rate_limit = { per_second = 0.0167, burst = 10 }     # per customer IP (x-customer-ip); false: none
    ipv6_prefix_length = 64                   # IPv6 addresses count per network of this size
    max_tracked_orders = 100000               # order numbers with failures remembered (oldest forgotten first)
    max_tracked_ips = 100000                  # customer IPs with a rate-limit bucket (oldest forgotten first)
"""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from onlineconnect.calls import BY_METHOD
from onlineconnect.config import (
    Section,
    is_loopback,
    load_toml,
    mask,
    mask_url,
    parse_hex_key,
    parse_log,
    split_host_port,
)


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``per_second`` requests on average, up to ``burst`` at once."""

    per_second: float
    burst: int


DEFAULT_SHOP_RATE_LIMIT = RateLimit(per_second=200.0, burst=400)
DEFAULT_GUEST_SHOP_RATE_LIMIT = RateLimit(per_second=2.0, burst=20)
DEFAULT_GUEST_IP_RATE_LIMIT = RateLimit(per_second=1 / 60, burst=10)


@dataclass(frozen=True)
class GuestLookupConfig:
    """The guards of the guest order lookup (``[guest_lookup]``); see :mod:`.guest_guard` and docs/security.md.

    Attributes:
        max_failures: NOT_FOUND answers for one (tenant, order number) within ``failure_window`` that lock it.
        failure_window: Seconds a failure counts.
        lock_seconds: Seconds a locked order number answers NOT_FOUND to everyone without asking the agent.
        shop_rate_limit: Token bucket per shop key for this RPC alone; None: no limit.
        ip_rate_limit: Token bucket per customer IP (``x-customer-ip``); None: no limit.
        ipv6_prefix_length: IPv6 addresses are counted per network of this prefix length (one subscriber's).
        max_tracked_orders: Order numbers remembered at most (failures, locks); the least recently touched go first.
        max_tracked_ips: Customer IPs with a bucket at most; the least recently seen go first.
    """

    max_failures: int = 5
    failure_window: float = 900.0
    lock_seconds: float = 900.0
    shop_rate_limit: RateLimit | None = DEFAULT_GUEST_SHOP_RATE_LIMIT
    ip_rate_limit: RateLimit | None = DEFAULT_GUEST_IP_RATE_LIMIT
    ipv6_prefix_length: int = 64
    max_tracked_orders: int = 100_000
    max_tracked_ips: int = 100_000


@dataclass(frozen=True)
class ShopCredential:
    """A shop API key: its hash, its tenant, the RPCs it may call (method names or "*") and its rate limits.

    ``rate_limit`` covers all calls made with the key (on by default: :data:`DEFAULT_SHOP_RATE_LIMIT`, so one
    shop cannot flood the relay unnoticed); ``customer_rate_limit`` each end customer's calls (by the request's
    ``customer_number``) separately. None: no limit.
    """

    name: str
    tenant: str
    key_sha256: str
    rpcs: frozenset[str]
    rate_limit: RateLimit | None = None
    customer_rate_limit: RateLimit | None = None

    def allows(self, method: str) -> bool:
        """True if this key may call ``method``."""
        return "*" in self.rpcs or method in self.rpcs


@dataclass(frozen=True)
class AgentCredential:
    """An agent token: its hash and the tenants it may serve."""

    name: str
    token_sha256: str
    tenants: frozenset[str]
    client_cert_name: str | None = None  # with mutual TLS: a name the agent's client certificate must carry


@dataclass(frozen=True)
class OperatorCredential:
    """A token of the relay operator (monitoring): may read every tenant's health, nothing else."""

    name: str
    token_sha256: str


@dataclass(frozen=True)
class TenantConfig:
    """A tenant (Mandant): its envelope keys by key id and its gateway-side policies.

    ``retire_after`` holds, for keys being rotated out, the UNIX time after which the key is refused and tunnels
    still using it are closed; until then old and new key are both accepted.
    """

    name: str
    keys: dict[int, bytes]
    stock_cache_ttl: float = 0.0
    stock_cache_serve_stale: bool = False
    max_in_flight: int = 64
    retire_after: dict[int, float] = field(default_factory=dict)
    max_in_flight_per_shop: int = 48  # of max_in_flight, what one shop key may hold

    def key(self, key_id: int, now: float) -> bytes | None:
        """The key with ``key_id`` if it is configured and not retired at ``now`` (UNIX time), else None."""
        retire = self.retire_after.get(key_id)
        if retire is not None and now >= retire:
            return None
        return self.keys.get(key_id)


@dataclass(frozen=True)
class ClusterConfig:
    """The link to the other gateway replicas: a NATS server (or cluster) and this replica's name.

    ``nats`` may list several servers separated by commas; credentials in it (``nats://user:pass@host``) are
    masked by ``--print-config``. ``subject_prefix`` separates relay installations sharing one NATS cluster.
    """

    nats: str
    replica: str
    subject_prefix: str = "onlineconnect"
    ping_interval: float = 1.0  # seconds between this replica's pings to NATS (round-trip time, presence)
    ping_timeout: float = 2.0  # a ping unanswered this long means NATS is in trouble (frozen, overloaded)
    warn_interval: float = 30.0  # seconds between repeated warnings while NATS is unusable

    @property
    def servers(self) -> list[str]:
        """The NATS server URLs."""
        return [s.strip() for s in self.nats.split(",") if s.strip()]


@dataclass(frozen=True)
class HttpConfig:
    """The HTTP listener (``[http]``): the shop services over the Connect protocol (JSON and binary), the invoice
    download and the OpenAPI document, on a port of its own.

    TLS uses ``server.tls_cert``/``server.tls_key``; ``insecure`` (default: ``server.insecure``) is refused on
    anything but a loopback address, as on the gRPC port.
    """

    listen: str
    insecure: bool
    keep_alive: float = 5.0  # seconds an idle connection stays open; also the time to send a request's head
    read_timeout: float = 10.0  # seconds a client has to send a request's body


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway needs to run."""

    source: str
    listen: str
    insecure: bool
    tls_cert: Path | None
    tls_key: Path | None
    client_ca: Path | None
    default_deadline: float
    max_deadline: float
    tenants: dict[str, TenantConfig]
    shops: dict[str, ShopCredential] = field(default_factory=dict)  # by key hash
    agents: dict[str, AgentCredential] = field(default_factory=dict)  # by token hash
    operators: dict[str, OperatorCredential] = field(default_factory=dict)  # by token hash
    log_format: str = "console"
    log_level: str = "info"
    metrics_listen: str | None = None  # host:port of the Prometheus endpoint; None: no endpoint
    agent_listen: str | None = None  # second port for agents only, client certificate required (mutual TLS)
    cluster: ClusterConfig | None = None  # None: single-process mode (no NATS)
    http: HttpConfig | None = None  # [http]: the Connect protocol listener; None: gRPC only
    # Bounds per shop connection and on memory (docs/configuration.md, "Limits").
    max_concurrent_streams: int = 100  # calls at once on one HTTP/2 connection
    max_connection_age: float = 1800.0  # seconds before a connection is asked to go away (GOAWAY) …
    max_connection_age_grace: float = 65.0  # … and then closed, with whatever is still in it
    shop_buffer_bytes: int = 64 * 1024 * 1024  # answers written to shops and not yet read, whole gateway
    shop_buffer_bytes_per_key: int = 8 * 1024 * 1024  # … per shop key
    drain_grace: float = 10.0  # seconds a stopping gateway gives its agents to move and its calls to finish
    guest_lookup: GuestLookupConfig = field(default_factory=GuestLookupConfig)

    def printable(self) -> dict[str, object]:
        """The effective configuration with secrets masked (``--print-config``)."""
        return {
            "server": {
                "listen": self.listen,
                "insecure": self.insecure,
                "tls_cert": str(self.tls_cert or ""),
                "tls_key": str(self.tls_key or ""),
                "client_ca": str(self.client_ca or ""),
                "agent_listen": self.agent_listen or "",
                "default_deadline_seconds": self.default_deadline,
                "max_deadline_seconds": self.max_deadline,
                "max_concurrent_streams": self.max_concurrent_streams,
                "max_connection_age_seconds": self.max_connection_age,
                "max_connection_age_grace_seconds": self.max_connection_age_grace,
                "max_unread_mib": self.shop_buffer_bytes // (1024 * 1024),
                "max_unread_mib_per_shop": self.shop_buffer_bytes_per_key // (1024 * 1024),
                "drain_grace_seconds": self.drain_grace,
            },
            "log": {"format": self.log_format, "level": self.log_level},
            "metrics": {"listen": self.metrics_listen or ""},
            "http": {
                "listen": self.http.listen,
                "insecure": self.http.insecure,
                "keep_alive_seconds": self.http.keep_alive,
                "read_timeout_seconds": self.http.read_timeout,
            }
            if self.http
            else {},
            "cluster": {
                "nats": mask_url(self.cluster.nats),
                "replica": self.cluster.replica,
                "subject_prefix": self.cluster.subject_prefix,
                "ping_interval_seconds": self.cluster.ping_interval,
                "ping_timeout_seconds": self.cluster.ping_timeout,
                "warn_interval_seconds": self.cluster.warn_interval,
            }
            if self.cluster
            else {},
            "tenants": {
                t.name: {
                    "keys": {str(k): mask(v.hex()) for k, v in t.keys.items()},
                    "stock_cache_ttl_seconds": t.stock_cache_ttl,
                    "stock_cache_serve_stale": t.stock_cache_serve_stale,
                    "max_in_flight": t.max_in_flight,
                    "max_in_flight_per_shop": t.max_in_flight_per_shop,
                    "retire_after": {str(k): v for k, v in t.retire_after.items()},
                }
                for t in self.tenants.values()
            },
            "shops": [
                {
                    "name": s.name,
                    "tenant": s.tenant,
                    "key_sha256": s.key_sha256[:8] + "…",
                    "rpcs": sorted(s.rpcs),
                    "rate_limit": s.rate_limit.__dict__ if s.rate_limit else None,
                    "customer_rate_limit": s.customer_rate_limit.__dict__ if s.customer_rate_limit else None,
                }
                for s in self.shops.values()
            ],
            "agents": [
                {
                    "name": a.name,
                    "token_sha256": a.token_sha256[:8] + "…",
                    "tenants": sorted(a.tenants),
                    "client_cert_name": a.client_cert_name or "",
                }
                for a in self.agents.values()
            ],
            "operators": [{"name": o.name, "token_sha256": o.token_sha256[:8] + "…"} for o in self.operators.values()],
            "guest_lookup": {
                "max_failures": self.guest_lookup.max_failures,
                "failure_window_seconds": self.guest_lookup.failure_window,
                "lock_seconds": self.guest_lookup.lock_seconds,
                "shop_rate_limit": g.__dict__ if (g := self.guest_lookup.shop_rate_limit) else None,
                "ip_rate_limit": i.__dict__ if (i := self.guest_lookup.ip_rate_limit) else None,
                "ipv6_prefix_length": self.guest_lookup.ipv6_prefix_length,
                "max_tracked_orders": self.guest_lookup.max_tracked_orders,
                "max_tracked_ips": self.guest_lookup.max_tracked_ips,
            },
        }


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a shop key or agent token, as stored in the config.

    Keys and tokens are 256-bit random strings made by ``onlineconnect keygen``, so a fast hash suffices: there is
    nothing to brute-force, unlike a password.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def _cluster(root: Section) -> ClusterConfig | None:
    """The ``[cluster]`` table, or None when it is absent (single-process mode)."""
    if "cluster" not in root.data:
        root.table("cluster")  # mark it read
        return None
    sec = root.table("cluster")
    nats = sec.secret("nats")
    urls = [u.strip() for u in nats.split(",") if u.strip()]
    if not urls or any(not re.match(r"^(nats|tls)://[^\s/]+(:\d+)?/?$", u) for u in urls):
        raise sec.error("nats", f'expected NATS server URLs like "nats://127.0.0.1:4222", got {mask(nats)}')
    replica = sec.str("replica", socket.gethostname())
    prefix = sec.str("subject_prefix", "onlineconnect")
    if not re.match(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$", prefix):
        raise sec.error("subject_prefix", f"expected dot-separated words of letters, digits, - and _, got {prefix!r}")
    if not replica or len(replica) > 64:
        raise sec.error("replica", "expected a name of 1 to 64 characters")
    ping_interval = sec.float("ping_interval_seconds", 1.0, min=0.1, max=60)
    ping_timeout = sec.float("ping_timeout_seconds", 2.0, min=0.1, max=60)
    warn_interval = sec.float("warn_interval_seconds", 30.0, min=1, max=3600)
    sec.reject_unknown()
    return ClusterConfig(
        nats=nats,
        replica=replica,
        subject_prefix=prefix,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        warn_interval=warn_interval,
    )


def _http(root: Section, *, server_insecure: bool, tls: bool) -> HttpConfig | None:
    """The ``[http]`` table, or None when it is absent (no HTTP listener)."""
    if "http" not in root.data:
        root.table("http")  # mark it read
        return None
    sec = root.table("http")
    listen = sec.str("listen")
    host, _ = split_host_port(listen, lambda what: sec.error("listen", what + ' (e.g. "127.0.0.1:8081")'))
    insecure = sec.bool("insecure", server_insecure)
    if insecure and not is_loopback(host) and not sec.bool("allow_insecure_non_loopback", False):
        raise sec.error(
            "insecure",
            f"plaintext is only allowed on a loopback address, but listen is {listen!r}; configure "
            "server.tls_cert/tls_key (the HTTP listener uses the same certificate)",
        )
    if not insecure and not tls:
        raise sec.error("insecure", "TLS needs server.tls_cert and server.tls_key; or insecure = true on loopback")
    keep_alive = sec.float("keep_alive_seconds", 5.0, min=0.1, max=3600)
    read_timeout = sec.float("read_timeout_seconds", 10.0, min=0.1, max=3600)
    sec.reject_unknown()
    return HttpConfig(listen=listen, insecure=insecure, keep_alive=keep_alive, read_timeout=read_timeout)


def _hash_field(sec: Section, name: str) -> str:
    value = sec.str(name).strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise sec.error(name, "expected the 64 hex digits of a SHA-256 (see `onlineconnect keygen`)")
    return str(value)


def _timestamp(sec: Section, name: str) -> float:
    """An RFC 3339 time with zone (``2026-12-01T00:00:00Z``) as UNIX time."""
    text = sec.str(name)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise sec.error(name, f'expected a time like "2026-12-01T00:00:00Z", got {text!r}') from None
    if moment.tzinfo is None:
        raise sec.error(name, f"the time {text!r} needs a zone, e.g. a trailing Z for UTC")
    return moment.timestamp()


def _rate_limit(sec: Section, name: str, default: RateLimit | None = None) -> RateLimit | None:
    """``{ per_second = 5, burst = 20 }`` (burst defaults to per_second, at least 1); ``false``: none; absent:
    ``default``."""
    if name not in sec.data:
        return default
    if sec.data[name] is False:
        sec.bool(name)  # mark it read
        return None
    if not isinstance(sec.data[name], dict):
        raise sec.error(name, "expected { per_second = …, burst = … } or false (no limit)")
    t = sec.table(name)
    per_second = t.float("per_second", min=0.001, max=1e6)
    burst = t.int("burst", max(1, round(per_second)), min=1, max=10**7)
    t.reject_unknown()
    return RateLimit(per_second=per_second, burst=burst)


def _guest_lookup(root: Section) -> GuestLookupConfig:
    """The ``[guest_lookup]`` table; every key optional (safe defaults)."""
    sec = root.table("guest_lookup")
    cfg = GuestLookupConfig(
        max_failures=sec.int("max_failures", 5, min=1, max=1000),
        failure_window=sec.float("failure_window_seconds", 900.0, min=0.001, max=7 * 86400),
        lock_seconds=sec.float("lock_seconds", 900.0, min=0.001, max=7 * 86400),
        shop_rate_limit=_rate_limit(sec, "shop_rate_limit", DEFAULT_GUEST_SHOP_RATE_LIMIT),
        ip_rate_limit=_rate_limit(sec, "ip_rate_limit", DEFAULT_GUEST_IP_RATE_LIMIT),
        ipv6_prefix_length=sec.int("ipv6_prefix_length", 64, min=1, max=128),
        max_tracked_orders=sec.int("max_tracked_orders", 100_000, min=1, max=10**7),
        max_tracked_ips=sec.int("max_tracked_ips", 100_000, min=1, max=10**7),
    )
    sec.reject_unknown()
    return cfg


def parse_gateway_config(root: Section) -> GatewayConfig:
    """Builds a GatewayConfig from a loaded TOML root, raising ConfigError on anything invalid."""
    server = root.table("server", required=True)
    listen = server.str("listen", "127.0.0.1:50051")
    host, _ = split_host_port(listen, lambda what: server.error("listen", what))
    insecure = server.bool("insecure", False)
    tls_cert = server.path("tls_cert", None)
    tls_key = server.path("tls_key", None)
    client_ca = server.path("client_ca", None)
    # gRPC either demands a client certificate on a port or never asks for one: with client_ca, agents get a port
    # of their own that demands one (agent_listen); without agent_listen, the main port demands it of everyone.
    agent_listen = server.str("agent_listen", None)
    if agent_listen is not None:
        split_host_port(agent_listen, lambda what: server.error("agent_listen", what))
        if client_ca is None or insecure:
            raise server.error("agent_listen", "needs TLS and client_ca (the CA that signs agent certificates)")
    if insecure and not is_loopback(host) and not server.bool("allow_insecure_non_loopback", False):
        raise server.error(
            "insecure",
            f"plaintext is only allowed on a loopback address, but listen is {listen!r}; configure tls_cert/tls_key",
        )
    if not insecure and (tls_cert is None or tls_key is None):
        raise server.error("tls_cert", "tls_cert and tls_key are required unless insecure = true (loopback only)")
    default_deadline = server.float("default_deadline_seconds", 10.0, min=0.01, max=3600)
    max_deadline = server.float("max_deadline_seconds", 60.0, min=0.01, max=3600)
    max_streams = server.int("max_concurrent_streams", 100, min=1, max=10000)
    max_age = server.float("max_connection_age_seconds", 1800.0, min=10, max=7 * 86400)
    # Calls end by max_deadline, so a grace a little longer than that lets every call on an old connection finish.
    max_age_grace = server.float("max_connection_age_grace_seconds", max_deadline + 5, min=1, max=3600)
    unread_mib = server.int("max_unread_mib", 64, min=1, max=64 * 1024)
    unread_mib_shop = server.int("max_unread_mib_per_shop", min(8, unread_mib), min=1, max=unread_mib)
    drain_grace = server.float("drain_grace_seconds", 10.0, min=0, max=3600)
    server.reject_unknown()

    log_format, log_level = parse_log(root)

    metrics = root.table("metrics")
    metrics_listen = metrics.str("listen", None)
    if metrics_listen is not None:
        split_host_port(metrics_listen, lambda what: metrics.error("listen", what + ' (e.g. "127.0.0.1:9464")'))
    metrics.reject_unknown()
    cluster = _cluster(root)
    http = _http(root, server_insecure=insecure, tls=tls_cert is not None and tls_key is not None)
    guest_lookup = _guest_lookup(root)

    tenants: dict[str, TenantConfig] = {}
    tsec = root.table("tenants", required=True)
    for name, _ in list(tsec.items()):
        t = tsec.table(name)
        ksec = t.table("keys", required=True)
        keys: dict[int, bytes] = {}
        retire_after: dict[int, float] = {}
        for kid, value in list(ksec.items()):
            if not kid.isdigit() or not 0 < int(kid) < 2**32:
                raise ksec.error(kid, "key ids must be positive integers")
            if isinstance(value, dict):  # { key = "…", retire_after = "2026-12-01T00:00:00Z" }: being rotated out
                ktab = ksec.table(kid)
                keys[int(kid)] = parse_hex_key(ktab.secret("key"), lambda what, s=ktab: s.error("key", what))
                retire_after[int(kid)] = _timestamp(ktab, "retire_after")
                ktab.reject_unknown()
            else:
                keys[int(kid)] = parse_hex_key(ksec.secret(kid), lambda what, k=kid, s=ksec: s.error(k, what))
        if not keys:
            raise t.error("keys", "at least one key is required")
        tenants[name] = TenantConfig(
            name=name,
            keys=keys,
            stock_cache_ttl=t.float("stock_cache_ttl_seconds", 0.0, min=0, max=86400),
            stock_cache_serve_stale=t.bool("stock_cache_serve_stale", False),
            max_in_flight=(cap := t.int("max_in_flight", 64, min=1, max=100000)),
            max_in_flight_per_shop=t.int("max_in_flight_per_shop", max(1, cap * 3 // 4), min=1, max=cap),
            retire_after=retire_after,
        )
        t.reject_unknown()

    shops: dict[str, ShopCredential] = {}
    for s in root.tables("shops"):
        name = s.str("name")
        tenant = s.str("tenant")
        if tenant not in tenants:
            raise s.error("tenant", f"unknown tenant {tenant!r}; known: {sorted(tenants)}")
        rpcs = frozenset(s.str_list("rpcs", ["*"]))
        bad = sorted(r for r in rpcs if r != "*" and r not in BY_METHOD)
        if bad:
            raise s.error("rpcs", f"unknown RPCs {bad}; known: {sorted(BY_METHOD)} or '*'")
        digest = _hash_field(s, "key_sha256")
        shops[digest] = ShopCredential(
            name=name,
            tenant=tenant,
            key_sha256=digest,
            rpcs=rpcs,
            rate_limit=_rate_limit(s, "rate_limit", DEFAULT_SHOP_RATE_LIMIT),
            customer_rate_limit=_rate_limit(s, "customer_rate_limit"),
        )
        s.reject_unknown()

    agents: dict[str, AgentCredential] = {}
    for a in root.tables("agents"):
        name = a.str("name")
        allowed = frozenset(a.str_list("tenants"))
        unknown = sorted(allowed - set(tenants))
        if unknown:
            raise a.error("tenants", f"unknown tenants {unknown}; known: {sorted(tenants)}")
        digest = _hash_field(a, "token_sha256")
        cert_name = a.str("client_cert_name", None)
        if cert_name is not None and client_ca is None:
            raise a.error("client_cert_name", "needs server.client_ca (the CA that signs agent client certificates)")
        agents[digest] = AgentCredential(name=name, token_sha256=digest, tenants=allowed, client_cert_name=cert_name)
        a.reject_unknown()

    operators: dict[str, OperatorCredential] = {}
    for o in root.tables("operators"):
        name = o.str("name")
        digest = _hash_field(o, "token_sha256")
        operators[digest] = OperatorCredential(name=name, token_sha256=digest)
        o.reject_unknown()
    root.reject_unknown()
    return GatewayConfig(
        source=root.source,
        listen=listen,
        insecure=insecure,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
        agent_listen=agent_listen,
        default_deadline=default_deadline,
        max_deadline=max_deadline,
        tenants=tenants,
        shops=shops,
        agents=agents,
        operators=operators,
        log_format=log_format,
        log_level=log_level,
        metrics_listen=metrics_listen,
        cluster=cluster,
        http=http,
        max_concurrent_streams=max_streams,
        max_connection_age=max_age,
        max_connection_age_grace=max_age_grace,
        shop_buffer_bytes=unread_mib * 1024 * 1024,
        shop_buffer_bytes_per_key=unread_mib_shop * 1024 * 1024,
        drain_grace=drain_grace,
        guest_lookup=guest_lookup,
    )


def load_gateway_config(path: Path) -> GatewayConfig:
    """Loads and validates the gateway's TOML file."""
    return parse_gateway_config(load_toml(path))
