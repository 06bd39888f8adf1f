"""The gateway's configuration file (TOML), validated on load.

:class:`GatewayFile` is the file's typed model (one class per table, on :class:`onlineconnect.config.ConfigModel`):
keys, defaults, ranges and the rules between keys; ``--print-config`` prints it. :class:`GatewayConfig` is what the
running gateway reads, built from it once per load.

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
from typing import Annotated, Self

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, model_serializer, model_validator
from pydantic import SerializerFunctionWrapHandler as WrapHandler

from onlineconnect.calls import BY_METHOD
from onlineconnect.config import (
    ConfigModel,
    ConfigPath,
    KeyProblem,
    LogTable,
    Secret,
    SecretUrl,
    is_loopback,
    load_toml,
    parse_hex_key,
    printable,
    split_host_port,
    validate,
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
    keys: dict[int, bytes] = field(repr=False)  # key material never shows in logs
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

    nats: str = field(repr=False)  # may carry credentials; mask_url() for display
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

    # The validated file this configuration was built from (None when built in code): ``--print-config``.
    file: GatewayFile | None = field(default=None, compare=False, repr=False)

    def printable(self) -> dict[str, object]:
        """The effective configuration with secrets masked (``--print-config``), derived from the file's model."""
        if self.file is None:
            raise ValueError("printable() needs a configuration loaded from a file")
        return printable(self.file)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a shop key or agent token, as stored in the config.

    Keys and tokens are 256-bit random strings made by ``onlineconnect keygen``, so a fast hash suffices: there is
    nothing to brute-force, unlike a password.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


# The file's model: one class per table, keys and defaults as written in the TOML file. Defaults that depend on
# another key (``None`` below) are filled in by the table's validator, so ``--print-config`` shows what is in force.


def _host_port(value: str) -> str:
    split_host_port(value)
    return value


def _sha256(value: str) -> str:
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError("expected the 64 hex digits of a SHA-256 (see `onlineconnect keygen`)")
    return value


def _timestamp(value: str) -> str:
    """An RFC 3339 time with zone (``2026-12-01T00:00:00Z``); checked here, converted by :func:`_unix_time`."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f'expected a time like "2026-12-01T00:00:00Z", got {value!r}') from None
    if moment.tzinfo is None:
        raise ValueError(f"the time {value!r} needs a zone, e.g. a trailing Z for UTC")
    return value


def _unix_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _limit_or_false(value: object) -> object:
    if value is False:
        return None
    if not isinstance(value, dict):
        raise ValueError("expected { per_second = …, burst = … } or false (no limit)")
    return value


def _fill(model: ConfigModel, name: str, value: object) -> None:
    """Sets a default that depends on other keys, during validation (the model is frozen afterwards)."""
    object.__setattr__(model, name, value)


def _short_hash(value: str) -> str:
    return value[:8] + "…"


HostPort = Annotated[str, AfterValidator(_host_port)]
# A SHA-256 of a key or token: not secret, but shortened in --print-config.
Sha256 = Annotated[str, AfterValidator(_sha256), PlainSerializer(_short_hash, return_type=str)]
Timestamp = Annotated[str, AfterValidator(_timestamp)]


class RateLimitTable(ConfigModel):
    """``{ per_second = 5, burst = 20 }``; burst defaults to per_second (at least 1)."""

    per_second: float = Field(ge=0.001, le=1e6)
    burst: int | None = Field(default=None, ge=1, le=10**7)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.burst is None:
            _fill(self, "burst", max(1, round(self.per_second)))
        return self

    def limit(self) -> RateLimit:
        """The token bucket this table describes."""
        return RateLimit(per_second=self.per_second, burst=self.burst or 1)


# A rate limit that may be switched off with ``false`` (held as None).
OptionalLimit = Annotated[RateLimitTable | None, BeforeValidator(_limit_or_false)]


def _table(limit: RateLimit) -> RateLimitTable:
    return RateLimitTable(per_second=limit.per_second, burst=limit.burst)


def _limit(table: RateLimitTable | None) -> RateLimit | None:
    return table.limit() if table else None


class ServerTable(ConfigModel):
    """``[server]``: the gRPC listener, TLS, deadlines and bounds per connection."""

    listen: HostPort = "127.0.0.1:50051"
    insecure: bool = False
    allow_insecure_non_loopback: bool = False
    tls_cert: ConfigPath | None = None
    tls_key: ConfigPath | None = None
    client_ca: ConfigPath | None = None
    agent_listen: HostPort | None = None
    default_deadline_seconds: float = Field(default=10.0, ge=0.01, le=3600)
    max_deadline_seconds: float = Field(default=60.0, ge=0.01, le=3600)
    max_concurrent_streams: int = Field(default=100, ge=1, le=10000)
    max_connection_age_seconds: float = Field(default=1800.0, ge=10, le=7 * 86400)
    # Calls end by max_deadline, so a grace a little longer than that lets every call on an old connection finish.
    max_connection_age_grace_seconds: float | None = Field(default=None, ge=1, le=3600)
    max_unread_mib: int = Field(default=64, ge=1, le=64 * 1024)
    max_unread_mib_per_shop: int | None = Field(default=None, ge=1)
    drain_grace_seconds: float = Field(default=10.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        # gRPC either demands a client certificate on a port or never asks for one: with client_ca, agents get a
        # port of their own that demands one (agent_listen); without it, the main port demands it of everyone.
        if self.agent_listen is not None and (self.client_ca is None or self.insecure):
            raise KeyProblem("agent_listen", "needs TLS and client_ca (the CA that signs agent certificates)")
        host, _ = split_host_port(self.listen)
        if self.insecure and not is_loopback(host) and not self.allow_insecure_non_loopback:
            raise KeyProblem(
                "insecure",
                f"plaintext is only allowed on a loopback address, but listen is {self.listen!r}; "
                "configure tls_cert/tls_key",
            )
        if not self.insecure and (self.tls_cert is None or self.tls_key is None):
            raise KeyProblem("tls_cert", "tls_cert and tls_key are required unless insecure = true (loopback only)")
        if self.max_connection_age_grace_seconds is None:
            _fill(self, "max_connection_age_grace_seconds", self.max_deadline_seconds + 5)
        if self.max_unread_mib_per_shop is None:
            _fill(self, "max_unread_mib_per_shop", min(8, self.max_unread_mib))
        elif self.max_unread_mib_per_shop > self.max_unread_mib:
            raise KeyProblem("max_unread_mib_per_shop", f"expected a value <= max_unread_mib ({self.max_unread_mib})")
        return self


class MetricsTable(ConfigModel):
    """``[metrics]``: the Prometheus endpoint (absent: none)."""

    listen: HostPort | None = None


class HttpTable(ConfigModel):
    """``[http]``: the Connect protocol listener; ``insecure`` defaults to ``server.insecure``."""

    listen: HostPort
    insecure: bool | None = None
    allow_insecure_non_loopback: bool = False
    keep_alive_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    read_timeout_seconds: float = Field(default=10.0, ge=0.1, le=3600)


_NATS_URL = re.compile(r"^(nats|tls)://[^\s/]+(:\d+)?/?$")
_SUBJECT_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class ClusterTable(ConfigModel):
    """``[cluster]``: the NATS link between gateway replicas (absent: single-process mode)."""

    nats: SecretUrl
    replica: str | None = Field(default=None, min_length=1, max_length=64)
    subject_prefix: str = "onlineconnect"
    ping_interval_seconds: float = Field(default=1.0, ge=0.1, le=60)
    ping_timeout_seconds: float = Field(default=2.0, ge=0.1, le=60)
    warn_interval_seconds: float = Field(default=30.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        urls = [u.strip() for u in self.nats.get_secret_value().split(",") if u.strip()]
        if not urls or any(not _NATS_URL.match(u) for u in urls):
            raise KeyProblem("nats", 'expected NATS server URLs like "nats://127.0.0.1:4222"')
        if not _SUBJECT_PREFIX.match(self.subject_prefix):
            raise KeyProblem(
                "subject_prefix",
                f"expected dot-separated words of letters, digits, - and _, got {self.subject_prefix!r}",
            )
        if self.replica is None:
            _fill(self, "replica", socket.gethostname()[:64] or "gateway")
        return self


class GuestLookupTable(ConfigModel):
    """``[guest_lookup]``: the guards of OrderService/LookupGuestOrder; every key optional (safe defaults)."""

    max_failures: int = Field(default=5, ge=1, le=1000)
    failure_window_seconds: float = Field(default=900.0, ge=0.001, le=7 * 86400)
    lock_seconds: float = Field(default=900.0, ge=0.001, le=7 * 86400)
    shop_rate_limit: OptionalLimit = _table(DEFAULT_GUEST_SHOP_RATE_LIMIT)
    ip_rate_limit: OptionalLimit = _table(DEFAULT_GUEST_IP_RATE_LIMIT)
    ipv6_prefix_length: int = Field(default=64, ge=1, le=128)
    max_tracked_orders: int = Field(default=100_000, ge=1, le=10**7)
    max_tracked_ips: int = Field(default=100_000, ge=1, le=10**7)


def _inline_key(value: object) -> object:
    return {"key": value} if isinstance(value, str) else value


class TenantKey(ConfigModel):
    """One envelope key: ``"<32 hex digits>"`` inline, or ``{ key = …, retire_after = "…" }`` while rotating."""

    key: Secret
    retire_after: Timestamp | None = None

    @model_serializer(mode="wrap")
    def _short_form(self, handler: WrapHandler) -> object:
        full = handler(self)
        return full["key"] if self.retire_after is None and isinstance(full, dict) else full


class TenantTable(ConfigModel):
    """``[tenants.<name>]``: a tenant's envelope keys by key id and its gateway-side policies."""

    keys: dict[str, Annotated[TenantKey, BeforeValidator(_inline_key)]]
    stock_cache_ttl_seconds: float = Field(default=0.0, ge=0, le=86400)
    stock_cache_serve_stale: bool = False
    max_in_flight: int = Field(default=64, ge=1, le=100000)
    max_in_flight_per_shop: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.keys:
            raise KeyProblem("keys", "at least one key is required")
        for kid, entry in self.keys.items():
            if not kid.isdigit() or not 0 < int(kid) < 2**32:
                raise KeyProblem(("keys", kid), "key ids must be positive integers")
            where: tuple[str, ...] = ("keys", kid) if entry.retire_after is None else ("keys", kid, "key")
            try:
                parse_hex_key(entry.key.get_secret_value())
            except ValueError as exc:
                raise KeyProblem(where, str(exc)) from None
        if self.max_in_flight_per_shop is None:
            _fill(self, "max_in_flight_per_shop", max(1, self.max_in_flight * 3 // 4))
        elif self.max_in_flight_per_shop > self.max_in_flight:
            raise KeyProblem("max_in_flight_per_shop", f"expected a value <= max_in_flight ({self.max_in_flight})")
        return self

    def build(self, name: str) -> TenantConfig:
        """The runtime form: keys as bytes by numeric id, retirement times as UNIX time."""
        return TenantConfig(
            name=name,
            keys={int(k): parse_hex_key(v.key.get_secret_value()) for k, v in self.keys.items()},
            retire_after={int(k): _unix_time(v.retire_after) for k, v in self.keys.items() if v.retire_after},
            stock_cache_ttl=self.stock_cache_ttl_seconds,
            stock_cache_serve_stale=self.stock_cache_serve_stale,
            max_in_flight=self.max_in_flight,
            max_in_flight_per_shop=self.max_in_flight_per_shop or 1,
        )


class ShopTable(ConfigModel):
    """``[[shops]]``: a shop API key (its SHA-256), its tenant, the RPCs it may call and its rate limits."""

    name: str
    tenant: str
    key_sha256: Sha256
    rpcs: list[str] = ["*"]
    rate_limit: OptionalLimit = _table(DEFAULT_SHOP_RATE_LIMIT)
    customer_rate_limit: OptionalLimit = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        bad = sorted(r for r in self.rpcs if r != "*" and r not in BY_METHOD)
        if bad:
            raise KeyProblem("rpcs", f"unknown RPCs {bad}; known: {sorted(BY_METHOD)} or '*'")
        return self


class AgentTable(ConfigModel):
    """``[[agents]]``: an agent token (its SHA-256), the tenants it may serve, optionally its certificate name."""

    name: str
    token_sha256: Sha256
    tenants: list[str]
    client_cert_name: str | None = None


class OperatorTable(ConfigModel):
    """``[[operators]]``: a monitoring token (its SHA-256) that may read every tenant's health."""

    name: str
    token_sha256: Sha256


class GatewayFile(ConfigModel):
    """The gateway's TOML file, validated; :func:`build_gateway_config` turns it into a :class:`GatewayConfig`."""

    server: ServerTable
    log: LogTable = LogTable()
    metrics: MetricsTable = MetricsTable()
    http: HttpTable | None = None
    cluster: ClusterTable | None = None
    guest_lookup: GuestLookupTable = GuestLookupTable()
    tenants: dict[str, TenantTable]
    shops: list[ShopTable] = []
    agents: list[AgentTable] = []
    operators: list[OperatorTable] = []

    @model_validator(mode="after")
    def _complete(self) -> Self:
        server = self.server
        if self.http is not None:
            http = self.http
            if http.insecure is None:
                _fill(http, "insecure", server.insecure)
            host, _ = split_host_port(http.listen)
            if http.insecure and not is_loopback(host) and not http.allow_insecure_non_loopback:
                raise KeyProblem(
                    ("http", "insecure"),
                    f"plaintext is only allowed on a loopback address, but listen is {http.listen!r}; configure "
                    "server.tls_cert/tls_key (the HTTP listener uses the same certificate)",
                )
            if not http.insecure and (server.tls_cert is None or server.tls_key is None):
                raise KeyProblem(
                    ("http", "insecure"), "TLS needs server.tls_cert and server.tls_key; or insecure = true on loopback"
                )
        known = sorted(self.tenants)
        for i, shop in enumerate(self.shops):
            if shop.tenant not in self.tenants:
                raise KeyProblem(("shops", i, "tenant"), f"unknown tenant {shop.tenant!r}; known: {known}")
        for i, agent in enumerate(self.agents):
            unknown = sorted(set(agent.tenants) - set(self.tenants))
            if unknown:
                raise KeyProblem(("agents", i, "tenants"), f"unknown tenants {unknown}; known: {known}")
            if agent.client_cert_name is not None and server.client_ca is None:
                raise KeyProblem(
                    ("agents", i, "client_cert_name"),
                    "needs server.client_ca (the CA that signs agent client certificates)",
                )
        return self


def build_gateway_config(file: GatewayFile, *, source: str) -> GatewayConfig:
    """The runtime configuration of a validated file."""
    server, http, cluster, guest = file.server, file.http, file.cluster, file.guest_lookup
    mib = 1024 * 1024
    return GatewayConfig(
        source=source,
        listen=server.listen,
        insecure=server.insecure,
        tls_cert=server.tls_cert,
        tls_key=server.tls_key,
        client_ca=server.client_ca,
        agent_listen=server.agent_listen,
        default_deadline=server.default_deadline_seconds,
        max_deadline=server.max_deadline_seconds,
        tenants={name: t.build(name) for name, t in file.tenants.items()},
        shops={
            s.key_sha256: ShopCredential(
                name=s.name,
                tenant=s.tenant,
                key_sha256=s.key_sha256,
                rpcs=frozenset(s.rpcs),
                rate_limit=_limit(s.rate_limit),
                customer_rate_limit=_limit(s.customer_rate_limit),
            )
            for s in file.shops
        },
        agents={
            a.token_sha256: AgentCredential(
                name=a.name,
                token_sha256=a.token_sha256,
                tenants=frozenset(a.tenants),
                client_cert_name=a.client_cert_name,
            )
            for a in file.agents
        },
        operators={
            o.token_sha256: OperatorCredential(name=o.name, token_sha256=o.token_sha256) for o in file.operators
        },
        log_format=file.log.format,
        log_level=file.log.level,
        metrics_listen=file.metrics.listen,
        cluster=ClusterConfig(
            nats=cluster.nats.get_secret_value(),
            replica=cluster.replica or "",
            subject_prefix=cluster.subject_prefix,
            ping_interval=cluster.ping_interval_seconds,
            ping_timeout=cluster.ping_timeout_seconds,
            warn_interval=cluster.warn_interval_seconds,
        )
        if cluster
        else None,
        http=HttpConfig(
            listen=http.listen,
            insecure=bool(http.insecure),
            keep_alive=http.keep_alive_seconds,
            read_timeout=http.read_timeout_seconds,
        )
        if http
        else None,
        max_concurrent_streams=server.max_concurrent_streams,
        max_connection_age=server.max_connection_age_seconds,
        max_connection_age_grace=server.max_connection_age_grace_seconds or 1.0,
        shop_buffer_bytes=server.max_unread_mib * mib,
        shop_buffer_bytes_per_key=(server.max_unread_mib_per_shop or 1) * mib,
        drain_grace=server.drain_grace_seconds,
        guest_lookup=GuestLookupConfig(
            max_failures=guest.max_failures,
            failure_window=guest.failure_window_seconds,
            lock_seconds=guest.lock_seconds,
            shop_rate_limit=_limit(guest.shop_rate_limit),
            ip_rate_limit=_limit(guest.ip_rate_limit),
            ipv6_prefix_length=guest.ipv6_prefix_length,
            max_tracked_orders=guest.max_tracked_orders,
            max_tracked_ips=guest.max_tracked_ips,
        ),
        file=file,
    )


def parse_gateway_config(data: object, *, source: str, base_dir: Path | None = None) -> GatewayConfig:
    """Validates a parsed gateway TOML document, raising ConfigError (file: key: expected) on anything invalid."""
    return build_gateway_config(validate(GatewayFile, data, source=source, base_dir=base_dir), source=source)


def load_gateway_config(path: Path) -> GatewayConfig:
    """Loads and validates the gateway's TOML file."""
    return parse_gateway_config(load_toml(path), source=str(path))
