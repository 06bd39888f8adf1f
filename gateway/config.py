"""The gateway's configuration file (TOML), validated on load.

Example (``deploy/demo/gateway.toml`` is a complete one)::

    [server]
    listen = "0.0.0.0:50051"
    tls_cert = "/etc/onlineconnect/gateway.crt"
    tls_key = "/etc/onlineconnect/gateway.key"

    [tenants.acme]
    keys = { 1 = "env:OC_ACME_KEY_1" }       # 128-bit Blowfish keys as 32 hex digits, by key id

    [[shops]]
    name = "acme-shop"
    tenant = "acme"
    key_sha256 = "9f86d0…"                    # SHA-256 of the shop's API key; the key itself is never stored
    rpcs = ["*"]

    [[agents]]
    name = "acme-erp"
    token_sha256 = "…"
    tenants = ["acme"]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from onlineconnect.calls import BY_METHOD
from onlineconnect.config import Section, is_loopback, load_toml, mask, parse_hex_key, split_host_port


@dataclass(frozen=True)
class ShopCredential:
    """A shop API key: its hash, its tenant and the RPCs it may call (method names or "*")."""

    name: str
    tenant: str
    key_sha256: str
    rpcs: frozenset[str]

    def allows(self, method: str) -> bool:
        """True if this key may call ``method``."""
        return "*" in self.rpcs or method in self.rpcs


@dataclass(frozen=True)
class AgentCredential:
    """An agent token: its hash and the tenants it may serve."""

    name: str
    token_sha256: str
    tenants: frozenset[str]


@dataclass(frozen=True)
class TenantConfig:
    """A tenant (Mandant): its envelope keys by key id and its gateway-side policies."""

    name: str
    keys: dict[int, bytes]
    stock_cache_ttl: float = 0.0
    stock_cache_serve_stale: bool = False
    max_in_flight: int = 64


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
    log_format: str = "console"
    log_level: str = "info"

    def printable(self) -> dict[str, object]:
        """The effective configuration with secrets masked (``--print-config``)."""
        return {
            "server": {
                "listen": self.listen,
                "insecure": self.insecure,
                "tls_cert": str(self.tls_cert or ""),
                "tls_key": str(self.tls_key or ""),
                "client_ca": str(self.client_ca or ""),
                "default_deadline_seconds": self.default_deadline,
                "max_deadline_seconds": self.max_deadline,
            },
            "log": {"format": self.log_format, "level": self.log_level},
            "tenants": {
                t.name: {
                    "keys": {str(k): mask(v.hex()) for k, v in t.keys.items()},
                    "stock_cache_ttl_seconds": t.stock_cache_ttl,
                    "stock_cache_serve_stale": t.stock_cache_serve_stale,
                    "max_in_flight": t.max_in_flight,
                }
                for t in self.tenants.values()
            },
            "shops": [
                {"name": s.name, "tenant": s.tenant, "key_sha256": s.key_sha256[:8] + "…", "rpcs": sorted(s.rpcs)}
                for s in self.shops.values()
            ],
            "agents": [
                {"name": a.name, "token_sha256": a.token_sha256[:8] + "…", "tenants": sorted(a.tenants)}
                for a in self.agents.values()
            ],
        }


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a shop key or agent token, as stored in the config.

    Keys and tokens are 256-bit random strings made by ``onlineconnect keygen``, so a fast hash suffices: there is
    nothing to brute-force, unlike a password.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def _hash_field(sec: Section, name: str) -> str:
    value = sec.str(name).strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise sec.error(name, "expected the 64 hex digits of a SHA-256 (see `onlineconnect keygen`)")
    return str(value)


def parse_gateway_config(root: Section) -> GatewayConfig:
    """Builds a GatewayConfig from a loaded TOML root, raising ConfigError on anything invalid."""
    server = root.table("server", required=True)
    listen = server.str("listen", "127.0.0.1:50051")
    host, _ = split_host_port(listen, lambda what: server.error("listen", what))
    insecure = server.bool("insecure", False)
    tls_cert = server.path("tls_cert", None)
    tls_key = server.path("tls_key", None)
    client_ca = server.path("client_ca", None)
    if insecure and not is_loopback(host) and not server.bool("allow_insecure_non_loopback", False):
        raise server.error(
            "insecure",
            f"plaintext is only allowed on a loopback address, but listen is {listen!r}; configure tls_cert/tls_key",
        )
    if not insecure and (tls_cert is None or tls_key is None):
        raise server.error("tls_cert", "tls_cert and tls_key are required unless insecure = true (loopback only)")
    default_deadline = server.float("default_deadline_seconds", 10.0, min=0.01, max=3600)
    max_deadline = server.float("max_deadline_seconds", 60.0, min=0.01, max=3600)
    server.reject_unknown()

    log = root.table("log")
    log_format = log.str("format", "console")
    if log_format not in {"console", "json"}:
        raise log.error("format", f'expected "console" or "json", got {log_format!r}')
    log_level = log.str("level", "info")
    log.reject_unknown()

    tenants: dict[str, TenantConfig] = {}
    tsec = root.table("tenants", required=True)
    for name, _ in list(tsec.items()):
        t = tsec.table(name)
        ksec = t.table("keys", required=True)
        keys: dict[int, bytes] = {}
        for kid, _value in list(ksec.items()):
            if not kid.isdigit() or not 0 < int(kid) < 2**32:
                raise ksec.error(kid, "key ids must be positive integers")
            keys[int(kid)] = parse_hex_key(ksec.secret(kid), lambda what, k=kid, s=ksec: s.error(k, what))
        if not keys:
            raise t.error("keys", "at least one key is required")
        tenants[name] = TenantConfig(
            name=name,
            keys=keys,
            stock_cache_ttl=t.float("stock_cache_ttl_seconds", 0.0, min=0, max=86400),
            stock_cache_serve_stale=t.bool("stock_cache_serve_stale", False),
            max_in_flight=t.int("max_in_flight", 64, min=1, max=100000),
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
        shops[digest] = ShopCredential(name=name, tenant=tenant, key_sha256=digest, rpcs=rpcs)
        s.reject_unknown()

    agents: dict[str, AgentCredential] = {}
    for a in root.tables("agents"):
        name = a.str("name")
        allowed = frozenset(a.str_list("tenants"))
        unknown = sorted(allowed - set(tenants))
        if unknown:
            raise a.error("tenants", f"unknown tenants {unknown}; known: {sorted(tenants)}")
        digest = _hash_field(a, "token_sha256")
        agents[digest] = AgentCredential(name=name, token_sha256=digest, tenants=allowed)
        a.reject_unknown()
    root.reject_unknown()
    return GatewayConfig(
        source=root.source,
        listen=listen,
        insecure=insecure,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
        default_deadline=default_deadline,
        max_deadline=max_deadline,
        tenants=tenants,
        shops=shops,
        agents=agents,
        log_format=log_format,
        log_level=log_level,
    )


def load_gateway_config(path: Path) -> GatewayConfig:
    """Loads and validates the gateway's TOML file."""
    return parse_gateway_config(load_toml(path))
