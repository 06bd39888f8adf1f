"""The agent daemon: database, handlers and one reconnecting tunnel per configured gateway.

Life cycle: :meth:`Agent.open` loads the mapping, opens the database and validates every mapped query (refusing
to start with an error naming file, query and problem); :meth:`Agent.run` keeps the tunnels up until SIGTERM or
SIGINT; then it stops taking requests, lets in-flight ones finish (``grace`` seconds) and returns, so the process
exits 0. The agent never listens on a port: it only dials out.
"""

from __future__ import annotations

import asyncio
import functools
import signal

import structlog

from onlineconnect import __version__
from onlineconnect.errors import ConfigError, Unavailable

from .audit import AuditLog
from .config import AgentConfig, proxy_for_gateway
from .connector import Connector, channel_credentials
from .erp.db import Database, open_database, validate
from .erp.mapping import load_mapping
from .erp.privileges import ensure_read_only
from .handlers import Handlers
from .metrics import AgentMetrics
from .orders import OrderQueries
from .session import TunnelSession
from .status import StatusReporter
from .stock import StockQueries

log = structlog.get_logger("onlineconnect.agent")

VALIDATE_RETRY_SECONDS = 2.0


def open_handlers(
    config: AgentConfig, *, check_mapping: bool = True, metrics: AgentMetrics | None = None
) -> tuple[Database, Handlers]:
    """Opens the ERP database and builds the handlers (with ``metrics``, every query is timed).

    Raises:
        ConfigError: the mapping is invalid or a query does not fit the database.
    """
    mapping = load_mapping(config.mapping_file, params=config.mapping_params)
    db = open_database(
        mapping,
        url=config.db_url,
        odbc=config.db_odbc,
        pool_size=config.max_concurrency,
        params=config.mapping_params,
    )
    if check_mapping:
        check_against_database(db, allow_writable_user=config.allow_writable_user)
    queries_db = metrics.timed(db) if metrics is not None else db
    handlers = Handlers(
        OrderQueries(queries_db, config.orders, tenant_key=config.key),
        StockQueries(queries_db, config.stock),
        max_concurrency=config.max_concurrency,
    )
    return db, handlers


def check_against_database(db: Database, *, allow_writable_user: bool = False) -> None:
    """Validates the mapping and its values against the database and that the database user can only read.

    Raises:
        ConfigError: naming file, query and problem; or what the database user can change.
    """
    problems = validate(db)
    if problems:
        db.close()
        raise ConfigError("the SQL mapping does not fit the database:\n  " + "\n  ".join(problems))
    try:
        ensure_read_only(db, allow_writable_user=allow_writable_user)
    except ConfigError:
        db.close()
        raise


class Agent:
    """A running agent."""

    def __init__(self, config: AgentConfig, *, audit: AuditLog | None = None) -> None:
        self.config = config
        self.audit = audit  # the process's audit log ([audit] file), shared by its Mandanten; None: off
        self.db: Database | None = None
        self.handlers: Handlers | None = None
        self.connectors: list[Connector] = []
        self.validated = False
        self.exit_code = 0
        self.metrics = AgentMetrics() if config.metrics_textfile is not None else None
        self.status = StatusReporter(
            path=config.status_file,
            interval=config.status_interval,
            agent=config.agent_id,
            tenant=config.tenant,
            version=__version__,
            ping=self._ping,
            metrics=self.metrics,
            metrics_file=config.metrics_textfile,
        )

    def open(self) -> None:
        """Opens and validates the database side; raises ConfigError if the mapping does not fit.

        If the database cannot be reached at all, the agent still starts: it connects its tunnels, answers
        UNAVAILABLE ("ERP database unreachable") and validates the mapping as soon as the database is back.
        """
        mapping = load_mapping(self.config.mapping_file, params=self.config.mapping_params)
        probe = open_database(mapping, url=self.config.db_url, odbc=self.config.db_odbc, pool_size=1)
        try:
            probe.ping()
            reachable = True
        except Unavailable:
            reachable = False
        finally:
            probe.close()
        self.validated = reachable
        if not reachable:
            log.warning("database.unreachable_at_start", hint="tunnels come up; the mapping is checked once it is back")
        self.db, self.handlers = open_handlers(self.config, metrics=self.metrics, check_mapping=reachable)

    async def _validate_when_reachable(self, stop: asyncio.Event) -> None:
        """Checks the mapping once the database answers; an invalid mapping stops the agent (exit code 2)."""
        assert self.db is not None
        db = self.db
        while not self.validated:
            await asyncio.sleep(VALIDATE_RETRY_SECONDS)
            try:
                await asyncio.to_thread(db.ping)
            except Unavailable:
                continue
            try:
                await asyncio.to_thread(check_against_database, db, allow_writable_user=self.config.allow_writable_user)
            except ConfigError as exc:
                log.error("mapping.invalid", problem=exc.message)
                self.exit_code = 2
                stop.set()
                return
            self.validated = True
            log.info("mapping.validated")

    def _session(self) -> TunnelSession:
        assert self.handlers is not None
        c = self.config
        return TunnelSession(
            tenant=c.tenant,
            agent_id=c.agent_id,
            token=c.token,
            key_id=c.key_id,
            key=c.key,
            handlers=self.handlers,
            version=__version__,
            audit=self.audit,
        )

    def _on_state(self, gateway: str, state: str, detail: str) -> None:
        self.status.tunnel_state(gateway, state, detail)

    def _ping(self) -> None:
        if self.db is None:
            raise RuntimeError("database not open")
        self.db.ping()

    def write_status(self) -> None:
        """Pings the database and writes the status file now (see :mod:`onlineconnect.agent.status`)."""
        self.status.check_database()
        self.status.write()

    async def run(self, *, grace: float = 10.0, stop: asyncio.Event | None = None) -> None:
        """Keeps the tunnels up until SIGINT/SIGTERM (or ``stop`` is set), then drains and returns."""
        if self.handlers is None:
            self.open()
        c = self.config
        creds = None if c.insecure else channel_credentials(c.ca_file, c.client_cert, c.client_key)
        self.connectors = [
            Connector(
                g,
                self._session,
                credentials=creds,
                initial_backoff=c.reconnect_initial,
                max_backoff=c.reconnect_max,
                on_state=functools.partial(self._on_state, g),
                proxy=proxy_for_gateway(c, g),
                tenant=c.tenant,
                keepalive=(c.keepalive, c.keepalive_timeout),
            )
            for g in c.gateways
        ]
        loop = asyncio.get_running_loop()
        stop = stop or asyncio.Event()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests) or no signals on this platform
        connector_tasks = [
            asyncio.create_task(conn.run(), name=f"connector-{conn.address}") for conn in self.connectors
        ]
        tasks = list(connector_tasks)
        tasks.append(asyncio.create_task(self.status.run(), name="status"))
        if not self.validated:
            tasks.append(asyncio.create_task(self._validate_when_reachable(stop), name="validate-mapping"))
        log.info("agent.started", agent=c.agent_id, tenant=c.tenant, gateways=list(c.gateways), version=__version__)
        try:
            await stop.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            log.info("agent.stopping", grace=grace)
            for conn in self.connectors:
                conn.stop()
            sessions = [conn.session for conn in self.connectors if conn.session is not None]
            await asyncio.gather(*(s.drain(grace) for s in sessions))
            # Each gateway ends its stream once it has read the last answers; only then stop the connectors.
            await asyncio.wait(connector_tasks, timeout=5.0)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.close()
            log.info("agent.stopped")

    def close(self) -> None:
        """Releases the database and worker threads."""
        if self.handlers is not None:
            self.handlers.close()
        if self.db is not None:
            self.db.close()
