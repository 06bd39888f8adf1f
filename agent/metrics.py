"""Optional Prometheus metrics of the agent, written as a text file (``[metrics] textfile``), never served.

The agent never listens on a port — that is a promise to the merchant's IT. So instead of an HTTP endpoint it
rewrites a file in the Prometheus text format every ``status_interval_seconds``; node_exporter's textfile
collector (or windows_exporter's) picks it up. What is measured:

* ``onlineconnect_agent_query_seconds{query}`` — time of each mapped ERP query, by its name in the mapping;
* ``onlineconnect_agent_query_errors_total{query}`` — queries that raised;
* ``onlineconnect_agent_tunnel_up{gateway}`` — 1 while the tunnel to that gateway is connected;
* ``onlineconnect_agent_database_up`` — 1 if the last ping of the ERP database succeeded;
* ``onlineconnect_agent_status_time_seconds`` — when the file was written (alert when it stops moving).
"""

from __future__ import annotations

import time
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, write_to_textfile

from .erp.db import Database, Row

# ERP queries run from a few milliseconds (indexed lookups) to seconds (a cold order history).
QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class AgentMetrics:
    """The agent's metrics registry (one per agent, never the global one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.query_seconds = Histogram(
            "onlineconnect_agent_query_seconds",
            "Time of a mapped ERP query, by query name",
            ["query"],
            buckets=QUERY_BUCKETS,
            registry=self.registry,
        )
        self.query_errors = Counter(
            "onlineconnect_agent_query_errors",
            "Mapped ERP queries that failed, by query name",
            ["query"],
            registry=self.registry,
        )
        self.tunnel_up = Gauge(
            "onlineconnect_agent_tunnel_up",
            "1 while the tunnel to the gateway is connected",
            ["gateway"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "onlineconnect_agent_database_up",
            "1 if the last ping of the ERP database succeeded",
            registry=self.registry,
        )
        self.status_time = Gauge(
            "onlineconnect_agent_status_time_seconds",
            "Unix time the agent last wrote its status",
            registry=self.registry,
        )

    def timed(self, db: Database) -> Database:
        """Wraps ``db`` so that every ``fetch`` is timed by query name."""
        return TimedDatabase(db, self)

    def update(self, tunnels: AbcMapping[str, str], database_up: bool) -> None:
        """Records the tunnel state per gateway and the database state."""
        for gateway, state in tunnels.items():
            self.tunnel_up.labels(gateway=gateway).set(1 if state == "connected" else 0)
        self.database_up.set(1 if database_up else 0)
        self.status_time.set(time.time())

    def write(self, path: Path) -> None:
        """Writes the text file atomically (the collector never sees half a file)."""
        write_to_textfile(str(path), self.registry)


class TimedDatabase:
    """A :class:`~onlineconnect.agent.erp.db.Database` that records each query's time in :class:`AgentMetrics`."""

    def __init__(self, db: Database, metrics: AgentMetrics) -> None:
        self._db = db
        self._metrics = metrics
        self.mapping = db.mapping

    def fetch(self, name: str, params: AbcMapping[str, Any], *, timeout: float | None = None) -> list[Row]:
        """Runs query ``name`` like the wrapped database, timing it."""
        started = time.perf_counter()
        try:
            return self._db.fetch(name, params, timeout=timeout)
        except Exception:
            self._metrics.query_errors.labels(query=name).inc()
            raise
        finally:
            self._metrics.query_seconds.labels(query=name).observe(time.perf_counter() - started)

    def result_columns(self, name: str) -> list[str]:
        """Result columns of query ``name`` (not timed: it runs once at startup)."""
        return self._db.result_columns(name)

    def ping(self) -> None:
        """Raises Unavailable if the database cannot be reached."""
        self._db.ping()

    def close(self) -> None:
        """Releases connections."""
        self._db.close()

    def __getattr__(self, name: str) -> Any:
        # Database implementations carry extras (engine, dialect) some callers read; pass them through.
        return getattr(self._db, name)
