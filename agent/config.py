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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onlineconnect.config import Section, is_loopback, load_toml, mask, parse_hex_key, parse_log, split_host_port

from .orders import OrderSettings
from .stock import StockSettings


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
                "max_concurrency": self.max_concurrency,
                "status_file": str(self.status_file or ""),
                "reconnect_initial_seconds": self.reconnect_initial,
                "reconnect_max_seconds": self.reconnect_max,
                "status_interval_seconds": self.status_interval,
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
    key = parse_hex_key(a.secret("key"), lambda what: a.error("key", what))
    cfg_kwargs: dict[str, Any] = dict(
        source=root.source,
        agent_id=agent_id,
        gateways=gateways,
        insecure=insecure,
        ca_file=a.path("ca_file", None),
        client_cert=a.path("client_cert", None),
        client_key=a.path("client_key", None),
        token=token,
        tenant=a.str("tenant"),
        key_id=a.int("key_id", 1, min=1, max=2**32 - 1),
        key=key,
        max_concurrency=a.int("max_concurrency", 8, min=1, max=256),
        status_file=a.path("status_file", None),
        reconnect_initial=a.float("reconnect_initial_seconds", 0.5, min=0.01, max=60),
        reconnect_max=a.float("reconnect_max_seconds", 2.0, min=0.1, max=3600),
        status_interval=a.float("status_interval_seconds", 10.0, min=0.1, max=3600),
    )
    a.reject_unknown()
    d = root.table("database", required=True)
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
    log_format, log_level = parse_log(root)
    metrics = root.table("metrics")
    metrics_textfile = metrics.path("textfile", None)
    metrics.reject_unknown()
    audit = root.table("audit")
    audit_file = audit.path("file", None)
    audit.reject_unknown()
    orders = OrderSettings.from_table(root.table("orders").raw(), root.source)
    stock = StockSettings.from_table(root.table("stock").raw(), root.source)
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


def load_agent_config(path: Path) -> AgentConfig:
    """Loads and validates the agent's TOML file."""
    return parse_agent_config(load_toml(path))
