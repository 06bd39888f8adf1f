"""The agent's configuration file (TOML), validated on load.

Example (``deploy/demo/agent.toml`` is a complete one)::

    [agent]
    id = "erp-host-1"
    gateway = "relay.example.com:443"
    token = "env:OC_AGENT_TOKEN"
    tenant = "acme"
    key_id = 1
    key = "env:OC_ACME_KEY_1"            # 32 hex digits

    [database]
    url = "postgresql+psycopg://erp_reader@erp-db/erp"   # or: odbc = "DSN=VS4;UID=reader"
    mapping = "mapping.toml"                               # optional overrides of single queries

    [audit]
    file = "/var/log/onlineconnect/audit.jsonl"            # optional: hash-chained record of every answer
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onlineconnect.config import Section, is_loopback, load_toml, mask, parse_hex_key, parse_log, split_host_port

from .erp.mapping import agent_parameters
from .orders import OrderSettings
from .proxy import Proxy, ProxyError, no_proxy_from_env, proxy_from_env
from .stock import StockSettings


@dataclass(frozen=True)
class TenantSpec:
    """One tenant (Mandant) of a several-tenant agent (``[[tenants]]``): its key and where its data is."""

    name: str
    key_id: int
    key: bytes
    db_url: str | None
    db_odbc: str | None
    mapping_file: Path | None
    allow_writable_user: bool
    orders: OrderSettings
    stock: StockSettings
    # Values bound to the same-named parameters of every mapped query (``params = { mandant = "2" }``): several
    # Mandanten in one database, told apart by ``AND mandant = :mandant`` in the mapping.
    params: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent needs to run."""

    source: str
    agent_id: str
    gateways: tuple[str, ...]
    insecure: bool
    ca_file: Path | None
    client_cert: Path | None
    client_key: Path | None
    token: str
    tenant: str
    key_id: int
    key: bytes
    db_url: str | None
    db_odbc: str | None
    mapping_file: Path | None
    max_concurrency: int
    orders: OrderSettings
    stock: StockSettings
    status_file: Path | None = None
    log_format: str = "console"
    log_level: str = "info"
    reconnect_initial: float = 0.5
    reconnect_max: float = 2.0
    status_interval: float = 10.0  # seconds between rewrites of the status file (and the metrics text file)
    metrics_textfile: Path | None = None  # Prometheus text file for node_exporter's textfile collector
    audit_file: Path | None = None  # hash-chained audit log of answered requests (see agent/audit.py)
    proxy: Proxy | None = None  # HTTP proxy (CONNECT) to the gateway: agent.proxy or the https_proxy environment
    no_proxy: tuple[str, ...] = ()  # gateway hosts dialled directly (the no_proxy environment)
    keepalive: float = 10.0  # seconds between keepalive pings on the tunnel (connector.py says why 10)
    keepalive_timeout: float = 10.0  # a ping unanswered for this long ends the tunnel
    tenants: tuple[TenantSpec, ...] = ()  # [[tenants]]; empty in the one-tenant form (agent.tenant, agent.key)
    mapping_params: Mapping[str, str | int] = field(default_factory=dict)  # the tenant's params (TenantSpec.params)

    def tenant_configs(self) -> list[AgentConfig]:
        """One configuration per tenant served, each in the one-tenant form (tenant, key, database, settings)."""
        if not self.tenants:
            return [self]
        return [
            dataclasses.replace(
                self,
                tenant=t.name,
                key_id=t.key_id,
                key=t.key,
                db_url=t.db_url,
                db_odbc=t.db_odbc,
                mapping_file=t.mapping_file,
                allow_writable_user=t.allow_writable_user,
                orders=t.orders,
                stock=t.stock,
                mapping_params=t.params,
                tenants=(),
            )
            for t in self.tenants
        ]

    # Start even though the database user can write (a warning at every start); docs/erp-databases.md.
    allow_writable_user: bool = False

    def printable(self) -> dict[str, Any]:
        """The effective configuration with secrets masked (``--print-config``)."""
        return {
            "agent": {
                "id": self.agent_id,
                "gateways": list(self.gateways),
                "insecure": self.insecure,
                "ca_file": str(self.ca_file or ""),
                "client_cert": str(self.client_cert or ""),
                "client_key": str(self.client_key or ""),
                "token": mask(self.token),
                "tenant": self.tenant,
                "key_id": self.key_id,
                "key": mask(self.key.hex()),
                "tenants": [
                    {
                        "name": t.name,
                        "key_id": t.key_id,
                        "key": mask(t.key.hex()),
                        "database": _mask_url(t.db_url) if t.db_url else _mask_odbc(t.db_odbc or ""),
                        "params": dict(t.params),
                    }
                    for t in self.tenants
                ],
                "max_concurrency": self.max_concurrency,
                "status_file": str(self.status_file or ""),
                "reconnect_initial_seconds": self.reconnect_initial,
                "reconnect_max_seconds": self.reconnect_max,
                "status_interval_seconds": self.status_interval,
                "proxy": f"{self.proxy.masked()} (from {self.proxy.source})" if self.proxy else "",
                "no_proxy": list(self.no_proxy),
                "keepalive_seconds": self.keepalive,
                "keepalive_timeout_seconds": self.keepalive_timeout,
            },
            "database": {
                "url": _mask_url(self.db_url) if self.db_url else "",
                "odbc": _mask_odbc(self.db_odbc) if self.db_odbc else "",
                "mapping": str(self.mapping_file or ""),
            },
            "log": {"format": self.log_format, "level": self.log_level},
            "metrics": {"textfile": str(self.metrics_textfile or "")},
            "audit": {"file": str(self.audit_file or "")},
        }


def _mask_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def _mask_odbc(conn: str) -> str:
    parts = []
    for part in conn.split(";"):
        k, sep, _v = part.partition("=")
        parts.append(f"{k}=***" if sep and k.strip().upper() in {"PWD", "PASSWORD"} else part)
    return ";".join(parts)


def parse_agent_config(root: Section) -> AgentConfig:
    """Builds an AgentConfig from a loaded TOML root, raising ConfigError on anything invalid."""
    a = root.table("agent", required=True)
    agent_id = a.str("id")
    gateway = a.data.get("gateway")
    gateways: tuple[str, ...] = tuple(a.str_list("gateway")) if isinstance(gateway, list) else (a.str("gateway"),)
    if not gateways:
        raise a.error("gateway", "at least one gateway address host:port is required")
    insecure = a.bool("insecure", False)
    for g in gateways:
        host, _ = split_host_port(g, lambda what: a.error("gateway", what))
        if insecure and not is_loopback(host):
            raise a.error("insecure", f"plaintext is only allowed to a loopback gateway, not {g!r}; use TLS")
    token = a.secret("token")
    several = "tenants" in root.data
    if several:
        for single in ("tenant", "key", "key_id"):
            if single in a.data:
                raise a.error(
                    single, "not together with [[tenants]]: give each tenant its key in its [[tenants]] table"
                )
    cfg_kwargs: dict[str, Any] = dict(
        source=root.source,
        agent_id=agent_id,
        gateways=gateways,
        insecure=insecure,
        ca_file=a.path("ca_file", None),
        client_cert=a.path("client_cert", None),
        client_key=a.path("client_key", None),
        token=token,
        max_concurrency=a.int("max_concurrency", 8, min=1, max=256),
        status_file=a.path("status_file", None),
        reconnect_initial=a.float("reconnect_initial_seconds", 0.5, min=0.01, max=60),
        reconnect_max=a.float("reconnect_max_seconds", 2.0, min=0.1, max=3600),
        status_interval=a.float("status_interval_seconds", 10.0, min=0.1, max=3600),
        keepalive=a.float("keepalive_seconds", 10.0, min=0.1, max=3600),
        keepalive_timeout=a.float("keepalive_timeout_seconds", 10.0, min=0.1, max=600),
    )
    if not several:
        cfg_kwargs.update(
            tenant=a.str("tenant"),
            key_id=a.int("key_id", 1, min=1, max=2**32 - 1),
            key=parse_hex_key(a.secret("key"), lambda what: a.error("key", what)),
        )
    cfg_kwargs["proxy"], cfg_kwargs["no_proxy"] = _parse_proxy(a)
    a.reject_unknown()
    shared_db = "database" in root.data or not several
    url, odbc, mapping, allow_writable_user = (
        _parse_database(root.table("database", required=True)) if shared_db else (None, None, None, False)
    )
    log_format, log_level = parse_log(root)
    metrics = root.table("metrics")
    metrics_textfile = metrics.path("textfile", None)
    metrics.reject_unknown()
    audit = root.table("audit")
    audit_file = audit.path("file", None)
    audit.reject_unknown()
    orders_table = root.table("orders").raw()
    stock_table = root.table("stock").raw()
    orders = OrderSettings.from_table(orders_table, root.source)
    stock = StockSettings.from_table(stock_table, root.source)
    if several:
        specs = []
        for t in root.tables("tenants"):
            if "database" in t.data:
                t_db = _parse_database(t.table("database"))
            elif shared_db:
                t_db = (url, odbc, mapping, allow_writable_user)
            else:
                raise t.error("database", "missing: give this tenant a database table, or add a shared [database]")
            specs.append(
                TenantSpec(
                    name=t.str("name"),
                    key_id=t.int("key_id", 1, min=1, max=2**32 - 1),
                    key=parse_hex_key(t.secret("key"), lambda what, t=t: t.error("key", what)),
                    db_url=t_db[0],
                    db_odbc=t_db[1],
                    mapping_file=t_db[2],
                    allow_writable_user=t_db[3],
                    orders=OrderSettings.from_table(t.table("orders").raw(), root.source)
                    if "orders" in t.data
                    else orders,
                    stock=StockSettings.from_table(t.table("stock").raw(), root.source) if "stock" in t.data else stock,
                    params=_parse_params(t.table("params")),
                )
            )
            t.reject_unknown()
        if not specs:
            raise root.error("tenants", "expected at least one [[tenants]] table")
        names = [sp.name for sp in specs]
        if len(set(names)) != len(names):
            raise root.error("tenants", f"each tenant once, got {names}")
        first = specs[0]
        cfg_kwargs.update(
            tenant=first.name, key_id=first.key_id, key=first.key, tenants=tuple(specs), mapping_params=first.params
        )
        url, odbc, mapping, orders, stock = first.db_url, first.db_odbc, first.mapping_file, first.orders, first.stock
        allow_writable_user = first.allow_writable_user
    root.reject_unknown()
    return AgentConfig(
        **cfg_kwargs,
        db_url=url,
        db_odbc=odbc,
        mapping_file=mapping,
        allow_writable_user=allow_writable_user,
        orders=orders,
        stock=stock,
        log_format=log_format,
        log_level=log_level,
        metrics_textfile=metrics_textfile,
        audit_file=audit_file,
    )


def _parse_database(d: Section) -> tuple[str | None, str | None, Path | None, bool]:
    """A ``[database]`` table: (url, odbc, mapping file, allow_writable_user)."""
    url = d.secret("url", None)
    odbc = d.secret("odbc", None)
    if (url is None) == (odbc is None):
        raise d.error(
            "url", "set exactly one of database.url (SQLAlchemy URL) and database.odbc (ODBC connection string)"
        )
    if url is not None and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///") :]
        if rel and not rel.startswith(":"):
            url = "sqlite:///" + str((d.base_dir / rel).resolve())
    mapping = d.path("mapping", None)
    allow_writable_user = d.bool("allow_writable_user", False)
    d.reject_unknown()
    return url, odbc, mapping, allow_writable_user


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _parse_params(p: Section) -> dict[str, str | int]:
    """A tenant's ``params`` table: name → string or integer, bound as ``:name`` in every mapped query using it."""
    reserved = agent_parameters()
    out: dict[str, str | int] = {}
    for name, value in p.raw().items():
        if not _IDENTIFIER.fullmatch(name):
            raise p.error(name, "a parameter name is letters, digits and _ (not starting with a digit), as after ':'")
        if name in reserved:
            raise p.error(
                name,
                f"the agent binds :{name} itself; give the tenant's value another name (taken: {sorted(reserved)})",
            )
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise p.error(name, f"a string or an integer, not {type(value).__name__}")
        out[name] = value
    return out


def proxy_for_gateway(config: AgentConfig, gateway: str) -> Proxy | None:
    """The proxy the agent reaches ``gateway`` through (None: directly), honouring ``no_proxy``."""
    from .proxy import proxy_for

    host, port = split_host_port(gateway, ValueError)
    return proxy_for(host, port, config.proxy, config.no_proxy)


def _parse_proxy(a: Section) -> tuple[Proxy | None, tuple[str, ...]]:
    """``agent.proxy`` (``""`` = direct, ignoring the environment) and ``agent.proxy_password``, else the
    ``https_proxy`` environment; ``no_proxy`` from the environment in both cases."""
    password = a.secret("proxy_password", None)
    url = a.secret("proxy", None)
    try:
        if url is None:
            if password is not None:
                raise a.error("proxy_password", "set agent.proxy too (the password belongs to a configured proxy)")
            return proxy_from_env(), no_proxy_from_env()
        if not url.strip():
            return None, ()
        return Proxy.parse(url.strip(), password=password), no_proxy_from_env()
    except ProxyError as exc:
        raise a.error("proxy", str(exc)) from exc


def load_agent_config(path: Path) -> AgentConfig:
    """Loads and validates the agent's TOML file."""
    return parse_agent_config(load_toml(path))
