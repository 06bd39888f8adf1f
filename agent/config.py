"""The agent's configuration file (TOML), validated on load.

:class:`AgentFile` is the file's typed model (one class per table, on :class:`onlineconnect.config.ConfigModel`):
keys, defaults, ranges and the rules between keys; ``--print-config`` prints it. :class:`AgentConfig` is what the
running agent reads, built from it once per load.

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
from typing import Annotated, Self

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    computed_field,
    model_validator,
)

from onlineconnect.config import (
    ConfigModel,
    ConfigPath,
    KeyProblem,
    LogTable,
    Secret,
    base_dir,
    is_loopback,
    load_toml,
    parse_hex_key,
    printable,
    secret_field,
    split_host_port,
    validate,
)

from .erp.mapping import agent_parameters
from .orders import OrderSettings
from .proxy import Proxy, ProxyError, no_proxy_from_env, proxy_from_env
from .stock import StockSettings


@dataclass(frozen=True)
class TenantSpec:
    """One tenant (Mandant) of a several-tenant agent (``[[tenants]]``): its key and where its data is."""

    name: str
    key_id: int
    key: bytes = field(repr=False)
    db_url: str | None = field(repr=False)  # may carry a password
    db_odbc: str | None = field(repr=False)
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
    token: str = field(repr=False)  # secrets never show in logs
    tenant: str
    key_id: int
    key: bytes = field(repr=False)
    db_url: str | None = field(repr=False)  # may carry a password
    db_odbc: str | None = field(repr=False)
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
    # The validated file this configuration was built from (None when built in code): ``--print-config``.
    file: AgentFile | None = field(default=None, compare=False, repr=False)

    def printable(self) -> dict[str, object]:
        """The effective configuration with secrets masked (``--print-config``), derived from the file's model."""
        if self.file is None:
            raise ValueError("printable() needs a configuration loaded from a file")
        return printable(self.file)


def proxy_for_gateway(config: AgentConfig, gateway: str) -> Proxy | None:
    """The proxy the agent reaches ``gateway`` through (None: directly), honouring ``no_proxy``."""
    from .proxy import proxy_for

    host, port = split_host_port(gateway, ValueError)
    return proxy_for(host, port, config.proxy, config.no_proxy)


def _mask_db_url(url: SecretStr) -> str:
    import sqlalchemy as sa

    try:
        return sa.make_url(url.get_secret_value()).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "***"  # not a URL SQLAlchemy can read: the agent will say so at connect; show nothing of it


def _mask_odbc(conn: SecretStr) -> str:
    parts = []
    for part in conn.get_secret_value().split(";"):
        k, sep, _v = part.partition("=")
        parts.append(f"{k}=***" if sep and k.strip().upper() in {"PWD", "PASSWORD"} else part)
    return ";".join(parts)


def _mask_proxy(url: SecretStr) -> str:
    try:
        return Proxy.parse(url.get_secret_value().strip()).masked() if url.get_secret_value().strip() else ""
    except ProxyError:
        return "***"


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _param_value(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"a string or an integer, not {type(value).__name__}")
    return value


def _hex_key(key: SecretStr | None, where: str | tuple[str | int, ...]) -> None:
    if key is not None:
        try:
            parse_hex_key(key.get_secret_value())
        except ValueError as exc:
            raise KeyProblem(where, str(exc)) from None


# Connection strings may carry a password: resolved like secrets, printed with the password masked.
DbUrl = Annotated[SecretStr, BeforeValidator(secret_field), PlainSerializer(_mask_db_url, return_type=str)]
OdbcString = Annotated[SecretStr, BeforeValidator(secret_field), PlainSerializer(_mask_odbc, return_type=str)]
ProxyUrl = Annotated[SecretStr, BeforeValidator(secret_field), PlainSerializer(_mask_proxy, return_type=str)]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class AgentTable(ConfigModel):
    """``[agent]``: who the agent is, which gateways it dials and how, and its own timing."""

    id: str
    gateway: Annotated[list[str], BeforeValidator(_one_or_many)]
    insecure: bool = False
    ca_file: ConfigPath | None = None
    client_cert: ConfigPath | None = None
    client_key: ConfigPath | None = None
    token: Secret
    tenant: str | None = None  # the one-tenant form; with [[tenants]] each tenant names its own
    key_id: int | None = Field(default=None, ge=1, le=2**32 - 1)
    key: Secret | None = None
    max_concurrency: int = Field(default=8, ge=1, le=256)
    status_file: ConfigPath | None = None
    reconnect_initial_seconds: float = Field(default=0.5, ge=0.01, le=60)
    reconnect_max_seconds: float = Field(default=2.0, ge=0.1, le=3600)
    status_interval_seconds: float = Field(default=10.0, ge=0.1, le=3600)
    keepalive_seconds: float = Field(default=10.0, ge=0.1, le=3600)
    keepalive_timeout_seconds: float = Field(default=10.0, ge=0.1, le=600)
    # "" dials directly, ignoring the environment; absent: the https_proxy environment.
    proxy: ProxyUrl | None = None
    proxy_password: Secret | None = None
    _proxy: Proxy | None = PrivateAttr(default=None)
    _no_proxy: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.gateway:
            raise KeyProblem("gateway", "at least one gateway address host:port is required")
        for i, g in enumerate(self.gateway):
            try:
                host, _ = split_host_port(g)
            except ValueError as exc:
                raise KeyProblem(("gateway", i) if len(self.gateway) > 1 else "gateway", str(exc)) from None
            if self.insecure and not is_loopback(host):
                raise KeyProblem("insecure", f"plaintext is only allowed to a loopback gateway, not {g!r}; use TLS")
        _hex_key(self.key, "key")
        password = self.proxy_password.get_secret_value() if self.proxy_password else None
        try:
            if self.proxy is None:
                if password is not None:
                    raise KeyProblem(
                        "proxy_password", "set agent.proxy too (the password belongs to a configured proxy)"
                    )
                self._proxy, self._no_proxy = proxy_from_env(), no_proxy_from_env()
            elif self.proxy.get_secret_value().strip():
                self._proxy = Proxy.parse(self.proxy.get_secret_value().strip(), password=password)
                self._no_proxy = no_proxy_from_env()
        except ProxyError as exc:
            raise KeyProblem("proxy", str(exc)) from exc
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def proxy_in_use(self) -> str:
        """The proxy the agent dials through, masked, and where it came from ("" = direct)."""
        return f"{self._proxy.masked()} (from {self._proxy.source})" if self._proxy else ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def no_proxy(self) -> list[str]:
        """Gateway hosts dialled directly (the ``no_proxy`` environment)."""
        return list(self._no_proxy)


class DatabaseTable(ConfigModel):
    """``[database]``: the ERP database (exactly one of ``url`` and ``odbc``) and the mapping file."""

    url: DbUrl | None = None
    odbc: OdbcString | None = None
    mapping: ConfigPath | None = None
    allow_writable_user: bool = False

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> Self:
        if (self.url is None) == (self.odbc is None):
            raise KeyProblem(
                "url", "set exactly one of database.url (SQLAlchemy URL) and database.odbc (ODBC connection string)"
            )
        url = self.url.get_secret_value() if self.url else ""
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///") :]
            if rel and not rel.startswith(":"):
                # Relative to the config file, so the agent finds the database whatever its working directory.
                object.__setattr__(self, "url", SecretStr("sqlite:///" + str((base_dir(info) / rel).resolve())))
        return self


class TenantTable(ConfigModel):
    """``[[tenants]]``: one tenant (Mandant) of a several-tenant agent: its key and where its data is."""

    name: str
    key_id: int = Field(default=1, ge=1, le=2**32 - 1)
    key: Secret
    database: DatabaseTable | None = None  # absent: the shared [database]
    orders: OrderSettings | None = None  # absent: the shared [orders]
    stock: StockSettings | None = None  # absent: the shared [stock]
    # Bound to the same-named parameters of every mapped query: several Mandanten in one database.
    params: dict[str, Annotated[str | int, BeforeValidator(_param_value)]] = {}

    @model_validator(mode="after")
    def _complete(self) -> Self:
        _hex_key(self.key, "key")
        reserved = agent_parameters()
        for name in self.params:
            if not _IDENTIFIER.fullmatch(name):
                raise KeyProblem(
                    ("params", name),
                    "a parameter name is letters, digits and _ (not starting with a digit), as after ':'",
                )
            if name in reserved:
                raise KeyProblem(
                    ("params", name),
                    f"the agent binds :{name} itself; give the tenant's value another name (taken: {sorted(reserved)})",
                )
        return self


class MetricsTable(ConfigModel):
    """``[metrics]``: the Prometheus text file for node_exporter's textfile collector (absent: none)."""

    textfile: ConfigPath | None = None


class AuditTable(ConfigModel):
    """``[audit]``: the hash-chained record of every answer (absent: none)."""

    file: ConfigPath | None = None


class AgentFile(ConfigModel):
    """The agent's TOML file, validated; :func:`build_agent_config` turns it into an :class:`AgentConfig`."""

    agent: AgentTable
    database: DatabaseTable | None = None
    log: LogTable = LogTable()
    metrics: MetricsTable = MetricsTable()
    audit: AuditTable = AuditTable()
    orders: OrderSettings
    stock: StockSettings = StockSettings()
    tenants: list[TenantTable] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        a = self.agent
        if self.tenants is None:
            if a.tenant is None:
                raise KeyProblem(("agent", "tenant"), "missing; a value is required")
            if a.key is None:
                raise KeyProblem(("agent", "key"), "missing; a value is required")
            if a.key_id is None:
                object.__setattr__(a, "key_id", 1)
            if self.database is None:
                raise KeyProblem("database", "missing; a value is required")
            return self
        for single in ("tenant", "key", "key_id"):
            if getattr(a, single) is not None:
                raise KeyProblem(
                    ("agent", single),
                    "not together with [[tenants]]: give each tenant its key in its [[tenants]] table",
                )
        if not self.tenants:
            raise KeyProblem("tenants", "expected at least one [[tenants]] table")
        for i, t in enumerate(self.tenants):
            if t.database is None and self.database is None:
                raise KeyProblem(
                    ("tenants", i, "database"), "missing: give this tenant a database table, or add a shared [database]"
                )
        names = [t.name for t in self.tenants]
        if len(set(names)) != len(names):
            raise KeyProblem("tenants", f"each tenant once, got {names}")
        return self


def _key(secret: SecretStr | None) -> bytes:
    return parse_hex_key(secret.get_secret_value()) if secret else b""


def _database(db: DatabaseTable | None) -> tuple[str | None, str | None, Path | None, bool]:
    if db is None:
        return None, None, None, False
    url = db.url.get_secret_value() if db.url else None
    odbc = db.odbc.get_secret_value() if db.odbc else None
    return url, odbc, db.mapping, db.allow_writable_user


def build_agent_config(file: AgentFile, *, source: str) -> AgentConfig:
    """The runtime configuration of a validated file (the first tenant's values in the one-tenant fields)."""
    a = file.agent
    specs: list[TenantSpec] = []
    for t in file.tenants or ():
        url, odbc, mapping, writable = _database(t.database or file.database)
        specs.append(
            TenantSpec(
                name=t.name,
                key_id=t.key_id,
                key=_key(t.key),
                db_url=url,
                db_odbc=odbc,
                mapping_file=mapping,
                allow_writable_user=writable,
                orders=t.orders or file.orders,
                stock=t.stock or file.stock,
                params=dict(t.params),
            )
        )
    url, odbc, mapping, writable = _database(file.database)
    first = specs[0] if specs else None
    return AgentConfig(
        source=source,
        agent_id=a.id,
        gateways=tuple(a.gateway),
        insecure=a.insecure,
        ca_file=a.ca_file,
        client_cert=a.client_cert,
        client_key=a.client_key,
        token=a.token.get_secret_value(),
        tenant=first.name if first else a.tenant or "",
        key_id=first.key_id if first else a.key_id or 1,
        key=first.key if first else _key(a.key),
        db_url=first.db_url if first else url,
        db_odbc=first.db_odbc if first else odbc,
        mapping_file=first.mapping_file if first else mapping,
        allow_writable_user=first.allow_writable_user if first else writable,
        max_concurrency=a.max_concurrency,
        orders=first.orders if first else file.orders,
        stock=first.stock if first else file.stock,
        status_file=a.status_file,
        log_format=file.log.format,
        log_level=file.log.level,
        reconnect_initial=a.reconnect_initial_seconds,
        reconnect_max=a.reconnect_max_seconds,
        status_interval=a.status_interval_seconds,
        metrics_textfile=file.metrics.textfile,
        audit_file=file.audit.file,
        proxy=a._proxy,
        no_proxy=a._no_proxy,
        keepalive=a.keepalive_seconds,
        keepalive_timeout=a.keepalive_timeout_seconds,
        tenants=tuple(specs),
        mapping_params=first.params if first else {},
        file=file,
    )


def parse_agent_config(data: object, *, source: str, base_dir: Path | None = None) -> AgentConfig:
    """Validates a parsed agent TOML document, raising ConfigError (file: key: expected) on anything invalid."""
    return build_agent_config(validate(AgentFile, data, source=source, base_dir=base_dir), source=source)


def load_agent_config(path: Path) -> AgentConfig:
    """Loads and validates the agent's TOML file."""
    return parse_agent_config(load_toml(path), source=str(path))
