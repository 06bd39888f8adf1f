"""Database sources: where mapped queries run.

Two kinds, one interface (:class:`Database`):

* :class:`SqlAlchemyDatabase` for any SQLAlchemy URL: ``sqlite:///erp.db`` (the embedded default),
  ``postgresql+psycopg://…``, ``mysql+pyodbc://…`` (MariaDB ODBC driver), ``mssql+pyodbc://…``.
* :class:`OdbcDatabase` for any other ODBC source through plain pyodbc, with a DSN or a connection string
  (e.g. Advantage Database Server: ``DRIVER={Advantage StreamlineSQL ODBC};DataDirectory=…;ServerTypes=2``).

Nothing the agent runs can change the ERP, whatever the mapping says. Every statement (mapped queries, the
start-up check, the ping) runs in its own short transaction that is always rolled back, never committed; that
transaction is read-only where the database has such a thing (PostgreSQL ``SET TRANSACTION READ ONLY``,
MariaDB/MySQL ``START TRANSACTION READ ONLY``), and sessions are read-only too (SQLite files are opened
``mode=ro`` with ``PRAGMA query_only``). The per-transaction setting matters: a mapped ``SELECT set_config(…)``
could switch a PostgreSQL session back to read-write, but not a transaction that is already read-only. A
read-only transaction also refuses what a rollback cannot undo (sequences, MariaDB's non-transactional Aria and
MyISAM tables). The ODBC connection attribute ``SQL_ATTR_ACCESS_MODE`` is requested as well, but psqlODBC, the
MariaDB and the SQLite3 ODBC drivers ignore it, so on ODBC the agent recognises the DBMS and issues the same
statements itself. Still the database user should only be allowed to read (``docs/erp-databases.md``): read-only
transactions do not stop every side effect a privileged user can cause.

Reads are kept short, so the agent never holds up the ERP's own writers: rows are fetched completely and the
transaction ends at once. On a SQLite ERP in rollback-journal mode a reader nevertheless blocks every writer for
as long as its query runs; the agent logs ``database.sqlite_rollback_journal`` at start for such a file (WAL
mode lets writers proceed while the agent reads; the demo ERP uses it).

Each query is bounded by its deadline, by the database's own means so the server stops working on it (SQLite's
progress handler, PostgreSQL's ``statement_timeout``, MariaDB's ``max_statement_time``, MySQL's
``max_execution_time``, else ODBC's query timeout), and the connection goes back to the pool without the bound.
Driver errors are mapped into :mod:`onlineconnect.errors` once, by :func:`.dberrors.map_db_error`: a query cut off
becomes ``DeadlineExceeded``, connection failures ``Unavailable("ERP database unreachable")``, anything else
``OnlineConnectError`` naming the query.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from collections.abc import Mapping as AbcMapping
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from onlineconnect.errors import DeadlineExceeded, Unavailable

from . import contract
from .dberrors import UNREACHABLE, is_disconnect, map_db_error
from .mapping import SPECS, Mapping
from .sqltext import SQLGLOT_DIALECT, check_select_only, parameter_names, to_qmark

log = structlog.get_logger(__name__)

Row = dict[str, Any]


class Database(Protocol):
    """Runs the mapping's queries."""

    mapping: Mapping

    def fetch(self, name: str, params: AbcMapping[str, Any], *, timeout: float | None = None) -> list[Row]:
        """Runs query ``name`` with ``params`` and returns its rows as dicts keyed by column name."""
        ...

    def result_columns(self, name: str) -> list[str]:
        """Prepares query ``name`` without fetching rows and returns its result column names."""
        ...

    def ping(self) -> None:
        """Raises Unavailable if the database cannot be reached."""
        ...

    def close(self) -> None:
        """Releases connections."""
        ...


def _merged(params: AbcMapping[str, Any], tenant: AbcMapping[str, Any]) -> AbcMapping[str, Any]:
    """A request's values plus the tenant's mapping parameters (``:mandant``); the tenant's win, so nothing a
    request carries can select another Mandant's rows (the config refuses names the agent binds itself anyway)."""
    return {**params, **tenant} if tenant else params


def _bind(sql: str, params: AbcMapping[str, Any]) -> dict[str, Any]:
    """Picks the values a statement uses; a missing one is None (validation binds NULLs)."""
    return {n: params.get(n) for n in parameter_names(sql)}


_IN_LIST = re.compile(r"\bIN\s*:([A-Za-z_]\w*)", re.IGNORECASE)


def _probe_params(sql: str) -> dict[str, Any]:
    """NULL for every parameter, a one-element list for ``IN :list`` ones: enough to prepare the statement."""
    lists = set(_IN_LIST.findall(sql))
    return {n: [None] if n in lists else None for n in parameter_names(sql)}


def _text(sql: str, params: AbcMapping[str, Any]) -> sa.TextClause:
    """A text clause whose list/tuple parameters expand (``WHERE sku IN :skus``)."""
    lists = frozenset(n for n in parameter_names(sql) if isinstance(params.get(n), list | tuple))
    return _clause(sql, lists)


@functools.lru_cache(maxsize=1024)
def _clause(sql: str, lists: frozenset[str]) -> sa.TextClause:
    # Built once per statement: SQLAlchemy then also reuses its compiled form from the statement cache.
    clause = sa.text(sql)
    return clause.bindparams(*(sa.bindparam(n, expanding=True) for n in sorted(lists))) if lists else clause


# Statements that make a session read-only, by DBMS (SQLAlchemy dialect name or ODBC SQL_DBMS_NAME, lower case).
_READ_ONLY_SESSION = {
    "sqlite": "PRAGMA query_only = ON",
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
    "mariadb": "SET SESSION TRANSACTION READ ONLY",
}
# The first statement of every transaction: makes that transaction read-only whatever the session says.
_READ_ONLY_TRANSACTION = {
    "postgresql": "SET TRANSACTION READ ONLY",
    "mysql": "START TRANSACTION READ ONLY",
    "mariadb": "START TRANSACTION READ ONLY",
}
# A PostgreSQL transaction left open by a frozen or hung agent is ended by the server after this long, so its
# snapshot and table locks never hold up the ERP's maintenance (VACUUM, ALTER TABLE) for long. The agent itself
# never idles inside a transaction.
_PG_IDLE_IN_TRANSACTION = "SET idle_in_transaction_session_timeout = '30s'"


def dbms_kind(name: str) -> str:
    """Normalises a dialect or ODBC DBMS name ("PostgreSQL", "MariaDB", "Microsoft SQL Server") to a key above."""
    low = name.lower()
    for kind in ("postgresql", "mariadb", "mysql", "sqlite"):
        if kind in low:
            return kind
    return low


@dataclasses.dataclass(frozen=True)
class StatementLimit:
    """The statements that bound the next ones to a deadline on one DBMS, and undo the bound (None: it ends with
    the transaction)."""

    arm: str
    disarm: str | None


_STATEMENT_LIMITED = frozenset({"postgresql", "mariadb", "mysql"})


def statement_limit(dbms: str, timeout: float) -> StatementLimit | None:
    """How a server cuts off a statement still running after ``timeout`` seconds, None when it has no such setting.

    PostgreSQL's ``statement_timeout`` set LOCAL ends with the transaction. MariaDB's ``max_statement_time``
    (seconds) and MySQL's ``max_execution_time`` (milliseconds, SELECT only) are session variables, set back to 0
    (no limit) before the connection returns to the pool. ODBC's own query timeout (``SQL_ATTR_QUERY_TIMEOUT``) is
    the fallback for other databases; psqlODBC refuses it and the MariaDB driver ignores it, hence these.
    """
    ms = max(1, int(timeout * 1000))
    if dbms == "postgresql":
        return StatementLimit(f"SET LOCAL statement_timeout = {ms}", None)
    if dbms == "mariadb":
        return StatementLimit(f"SET SESSION max_statement_time = {ms / 1000:.3f}", "SET SESSION max_statement_time = 0")
    if dbms == "mysql":
        return StatementLimit(f"SET SESSION max_execution_time = {ms}", "SET SESSION max_execution_time = 0")
    return None


class SqlAlchemyDatabase:
    """A SQLAlchemy engine running mapped queries in read-only sessions."""

    def __init__(
        self,
        url: str,
        mapping: Mapping,
        *,
        pool_size: int = 8,
        connect_timeout: float = 5.0,
        params: AbcMapping[str, Any] | None = None,
    ) -> None:
        self.mapping = mapping
        self.bound = dict(params or {})  # the tenant's mapping parameters, bound in every query (see _merged)
        self.url = sa.make_url(url)
        self.dialect = self.url.get_backend_name()
        # A server database may have restarted since a pooled connection was last used: ping on checkout. A
        # SQLite file has no connection to lose, and the ping would cost a round trip per query.
        kwargs: dict[str, Any] = {"pool_pre_ping": self.dialect != "sqlite"}
        if self.dialect == "sqlite":
            db = self.url.database or ""
            if db and db != ":memory:" and not db.startswith("file:"):
                # Open the file read-only: the agent can never change the ERP, whatever the mapping says.
                self.url = self.url.set(database=f"file:{db}", query={**self.url.query, "mode": "ro", "uri": "true"})
            kwargs.update(
                poolclass=QueuePool, pool_size=pool_size, max_overflow=0, connect_args={"check_same_thread": False}
            )
        else:
            kwargs.update(pool_size=pool_size, max_overflow=2, pool_timeout=connect_timeout)
            if self.dialect == "postgresql":
                kwargs["connect_args"] = {"connect_timeout": max(1, int(connect_timeout))}
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        self._begin = _READ_ONLY_TRANSACTION.get(self.dialect)
        self._journal_checked = False
        event.listen(self.engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            statement = _READ_ONLY_SESSION.get(self.dialect)
            if statement is not None:
                cur.execute(statement)
            if self.dialect == "postgresql":
                cur.execute(_PG_IDLE_IN_TRANSACTION)
            if self.dialect == "sqlite" and not self._journal_checked:
                self._journal_checked = True
                mode = str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower()
                if mode != "wal":
                    log.warning(
                        "database.sqlite_rollback_journal",
                        journal_mode=mode,
                        hint="while the agent reads, the ERP cannot write; switch the file to WAL if the ERP allows",
                    )
        finally:
            cur.close()
        if self.dialect == "postgresql":
            dbapi_conn.commit()  # the session settings above must outlive this first transaction

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """A pooled connection inside a read-only transaction that is always rolled back, never committed."""
        with self.engine.connect() as conn:
            try:
                if self._begin is not None:
                    conn.exec_driver_sql(self._begin)
                yield conn
            except BaseException:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.rollback()
                raise
            conn.rollback()

    @contextlib.contextmanager
    def _deadline(self, conn: sa.Connection, timeout: float | None) -> Iterator[None]:
        """Bounds the statements run inside to ``timeout`` seconds by the database's own means (see
        :func:`statement_limit`); the connection goes back to the pool without the bound."""
        if timeout is None:
            yield
            return
        raw = conn.connection.dbapi_connection
        if self.dialect == "sqlite" and raw is not None:
            # Checked every few thousand VM steps: a query still running at the deadline is interrupted.
            deadline = time.monotonic() + timeout
            raw.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
            try:
                yield
            finally:
                raw.set_progress_handler(None, 0)
            return
        dbms = "mariadb" if getattr(self.engine.dialect, "is_mariadb", False) else self.dialect
        limit = statement_limit(dbms, timeout)
        if limit is not None:
            conn.exec_driver_sql(limit.arm)
            try:
                yield
            finally:
                if limit.disarm is not None:
                    with contextlib.suppress(sa.exc.SQLAlchemyError):
                        conn.exec_driver_sql(limit.disarm)
            return
        if raw is not None and hasattr(raw, "timeout"):  # pyodbc: SQL_ATTR_QUERY_TIMEOUT in whole seconds
            raw.timeout = max(1, math.ceil(timeout))
            try:
                yield
            finally:
                raw.timeout = 0
            return
        yield

    def fetch(self, name: str, params: AbcMapping[str, Any], *, timeout: float | None = None) -> list[Row]:
        sql = self.mapping.sql(name)
        if timeout is not None and timeout <= 0:
            raise DeadlineExceeded("deadline passed before the ERP query started")
        try:
            with self._transaction() as conn, self._deadline(conn, timeout):
                values = _merged(params, self.bound)
                result = conn.execute(_text(sql, values), _bind(sql, values))
                keys = list(result.keys())
                rows = [dict(zip(keys, r, strict=True)) for r in result.fetchall()]
        except sa.exc.SQLAlchemyError as exc:
            raise map_db_error(exc, name, timeout) from exc
        contract.check_rows(name, rows)
        return rows

    @property
    def sql_dialect(self) -> str | None:
        """The sqlglot dialect of this database (None for one sqlglot does not know)."""
        return SQLGLOT_DIALECT.get(dbms_kind(self.dialect))

    def sample(
        self, sql: str, params: AbcMapping[str, Any], *, limit: int | None = None, timeout: float | None = None
    ) -> list[Row]:
        """Runs ad-hoc SQL (``check``'s samples and privilege queries) read-only; at most ``limit`` rows."""
        values = _merged(params, self.bound)
        with self._transaction() as conn, self._deadline(conn, timeout):
            result = conn.execute(_text(sql, values), _bind(sql, values))
            keys = list(result.keys())
            raw = result.fetchmany(limit) if limit is not None else result.fetchall()
            result.close()
        return [dict(zip(keys, r, strict=True)) for r in raw]

    def result_columns(self, name: str) -> list[str]:
        sql = self.mapping.sql(name)
        params = _probe_params(sql)
        try:
            return self._columns(f"SELECT * FROM ({sql}) oc_check WHERE 1 = 0", params)
        except sa.exc.SQLAlchemyError:
            # Some servers (MS SQL Server) refuse ORDER BY in a derived table: run the query itself with NULLs,
            # which match no order; its own error is the one worth reporting.
            return self._columns(sql, params)

    def _columns(self, sql: str, params: dict[str, Any]) -> list[str]:
        with self._transaction() as conn:
            result = conn.execute(_text(sql, params), params)
            cols = list(result.keys())
            result.close()
        return cols

    def ping(self) -> None:
        try:
            with self._transaction() as conn:
                conn.exec_driver_sql("SELECT 1").fetchall()
        except sa.exc.SQLAlchemyError as exc:
            raise Unavailable(UNREACHABLE) from exc

    def close(self) -> None:
        self.engine.dispose()


class OdbcDatabase:
    """Plain pyodbc with a DSN or connection string, for ODBC sources SQLAlchemy has no dialect for."""

    def __init__(
        self,
        connection_string: str,
        mapping: Mapping,
        *,
        pool_size: int = 8,
        connect_timeout: float = 5.0,
        params: AbcMapping[str, Any] | None = None,
    ) -> None:
        import pyodbc

        self._pyodbc = pyodbc
        self.mapping = mapping
        self.bound = dict(params or {})  # the tenant's mapping parameters, bound in every query (see _merged)
        self.connection_string = connection_string
        self.connect_timeout = connect_timeout
        self._pool: list[Any] = []
        self._lock = threading.Lock()
        self._pool_size = pool_size
        # Some drivers (psqlODBC) refuse pyodbc's query timeout; then a late query is abandoned instead of cancelled.
        self._query_timeout = True
        self.dbms = ""  # the DBMS behind the driver (SQL_DBMS_NAME), known after the first connection

    def _connect(self) -> Any:
        # readonly=True asks for SQL_ATTR_ACCESS_MODE = read-only; psqlODBC, MariaDB and SQLite3 ODBC ignore it, so
        # the statements below (for the DBMS the driver reports) and the rollback are what keep the ERP unchanged.
        conn = self._pyodbc.connect(self.connection_string, timeout=max(1, int(self.connect_timeout)), readonly=True)
        try:
            self.dbms = dbms_kind(str(conn.getinfo(self._pyodbc.SQL_DBMS_NAME)))
            statement = _READ_ONLY_SESSION.get(self.dbms)
            if statement is not None:
                conn.execute(statement)
            if self.dbms == "postgresql":
                conn.execute(_PG_IDLE_IN_TRANSACTION)
            conn.commit()  # ends the set-up transaction; the session settings stay
        except self._pyodbc.Error:
            conn.close()
            raise
        return conn

    def _acquire(self) -> Any:
        with self._lock:
            if self._pool:
                return self._pool.pop()
        return self._connect()

    def _release(self, conn: Any, ok: bool) -> None:
        if ok:
            with self._lock:
                if len(self._pool) < self._pool_size:
                    self._pool.append(conn)
                    return
        try:
            conn.close()
        except Exception:
            pass

    def _run(
        self, sql: str, values: Sequence[Any], timeout: float | None, limit: int | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            conn = self._acquire()
        except self._pyodbc.Error as exc:
            raise Unavailable(UNREACHABLE) from exc
        ok = False
        try:
            result = self._execute(conn, sql, values, timeout, limit)
            ok = True
            return result
        except self._pyodbc.Error as exc:
            # psqlODBC reports some dead connections only as HY000 ("internal SAVEPOINT failed"): when the error
            # is not recognisably a disconnect, one SELECT 1 on the same connection tells.
            if is_disconnect(exc) or not self._alive(conn):
                exc.connection_lost = True  # read by is_disconnect()
                # The server is gone for this connection (a restart, pg_terminate_backend): the others in the pool
                # are most likely dead too. Dropped all at once, so each waiting call reconnects instead of
                # meeting a dead connection first.
                self._discard_pool()
            raise
        finally:
            # Always rolled back, also after an error: a connection that cannot roll back is closed (which rolls
            # back on the server) instead of going back to the pool with its transaction open.
            try:
                conn.rollback()
            except self._pyodbc.Error:
                ok = False
            self._release(conn, ok)

    def _alive(self, conn: Any) -> bool:
        try:
            conn.rollback()
            conn.execute("SELECT 1").fetchall()
        except self._pyodbc.Error:
            return False
        return True

    def _discard_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, []
        for c in pool:
            self._release(c, False)

    def _execute(
        self, conn: Any, sql: str, values: Sequence[Any], timeout: float | None, limit: int | None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        bound = statement_limit(self.dbms, timeout) if timeout is not None else None
        if self.dbms not in _STATEMENT_LIMITED:
            self._set_query_timeout(conn, timeout)
        cur = conn.cursor()
        begin = _READ_ONLY_TRANSACTION.get(self.dbms)
        if begin is not None:
            cur.execute(begin)
        if bound is not None:
            cur.execute(bound.arm)
        try:
            cur.execute(sql, list(values))
            cols = [d[0] for d in cur.description or []]
            if not cur.description:
                rows: list[tuple[Any, ...]] = []
            else:
                fetched = cur.fetchmany(limit) if limit is not None else cur.fetchall()
                rows = [tuple(r) for r in fetched]
        finally:
            if bound is not None and bound.disarm is not None:
                with contextlib.suppress(self._pyodbc.Error):
                    cur.execute(bound.disarm)
            cur.close()
        return cols, rows

    def _set_query_timeout(self, conn: Any, timeout: float | None) -> None:
        # ODBC's own query timeout, for a DBMS without a statement limit of its own (see statement_limit).
        if not self._query_timeout:
            return
        try:
            conn.timeout = 0 if timeout is None else max(1, math.ceil(timeout))  # whole seconds in ODBC
        except self._pyodbc.Error as exc:
            self._query_timeout = False
            log.warning("erp.query_timeout_unsupported", detail=str(exc)[:200])

    def fetch(self, name: str, params: AbcMapping[str, Any], *, timeout: float | None = None) -> list[Row]:
        sql = self.mapping.sql(name)
        if timeout is not None and timeout <= 0:
            raise DeadlineExceeded("deadline passed before the ERP query started")
        qsql, values = to_qmark(sql, _bind(sql, _merged(params, self.bound)))
        try:
            cols, rows = self._run(qsql, values, timeout)
        except self._pyodbc.Error as exc:
            raise map_db_error(exc, name, timeout) from exc
        found = [dict(zip(cols, r, strict=True)) for r in rows]
        contract.check_rows(name, found)
        return found

    @property
    def sql_dialect(self) -> str | None:
        """The sqlglot dialect of the DBMS behind the driver (None when unknown or not yet connected)."""
        return SQLGLOT_DIALECT.get(self.dbms)

    def sample(
        self, sql: str, params: AbcMapping[str, Any], *, limit: int | None = None, timeout: float | None = None
    ) -> list[Row]:
        """Runs ad-hoc SQL (``check``'s samples and privilege queries) read-only; at most ``limit`` rows."""
        qsql, values = to_qmark(sql, _bind(sql, _merged(params, self.bound)))
        cols, rows = self._run(qsql, values, timeout, limit)
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def result_columns(self, name: str) -> list[str]:
        sql = self.mapping.sql(name)
        params = _probe_params(sql)
        try:
            qsql, values = to_qmark(f"SELECT * FROM ({sql}) oc_check WHERE 1 = 0", params)
            cols, _ = self._run(qsql, values, None)
        except self._pyodbc.Error:
            qsql, values = to_qmark(sql, params)  # see SqlAlchemyDatabase.result_columns
            cols, _ = self._run(qsql, values, None)
        return cols

    def ping(self) -> None:
        try:
            conn = self._acquire()
        except self._pyodbc.Error as exc:
            raise Unavailable(UNREACHABLE) from exc
        self._release(conn, True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, []
        for c in pool:
            self._release(c, False)


def validate(db: Database) -> list[str]:
    """Checks the mapping against the database; returns problems (empty when all fine).

    :func:`validate_queries`, then :func:`validate_values`. Each problem names the mapping file, the query and
    what is wrong.
    """
    problems = validate_queries(db)
    if problems:
        return problems
    found, notes = validate_values(db)
    for note in notes:
        log.warning("erp.sample_skipped", note=note)
    return found


def validate_queries(db: Database) -> list[str]:
    """Prepares every mapped query; each must return the columns its spec names and pass the SELECT-only guard in
    the database's own SQL dialect."""
    try:
        db.ping()
    except Unavailable as exc:
        cause = exc.__cause__ or exc
        lines = str(getattr(cause, "orig", cause)).strip().splitlines()
        return [f"{UNREACHABLE}: {lines[0][:300] if lines else type(cause).__name__}"]
    problems: list[str] = []
    dialect = getattr(db, "sql_dialect", None)
    for name, spec in sorted(SPECS.items()):
        q = db.mapping.queries[name]
        why = check_select_only(q.sql, dialect) if dialect is not None else None
        if why is not None:
            problems.append(f"{q.source}: [{name}] {why}")
            continue
        try:
            cols = db.result_columns(name)
        except Exception as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0][:300]
            problems.append(f"{q.source}: [{name}] cannot be prepared: {detail}")
            continue
        lower = {c.lower() for c in cols}
        missing = [c for c in spec.columns if c.lower() not in lower]
        if missing:
            problems.append(f"{q.source}: [{name}] lacks result columns {missing} (it returns {cols})")
    return problems


def validate_values(db: Database) -> tuple[list[str], list[str]]:
    """Samples real rows of every mapped query and checks their values against the contract (:mod:`.contract`).

    Returns:
        (problems, notes): problems name file, query, column, value and expected form; notes name queries that
        could not be sampled. Both empty for a database without ad-hoc SQL (a test fake).
    """
    if not isinstance(db, SqlAlchemyDatabase | OdbcDatabase):
        return [], []
    findings, notes = contract.sample_findings(db, {n: q.sql for n, q in db.mapping.queries.items()})
    problems = []
    for finding in findings:
        name = finding[1 : finding.index("]")]
        q = db.mapping.queries.get(name)
        problems.append(f"{q.source}: {finding}" if q is not None else finding)
    return problems, notes


def open_database(
    mapping: Mapping,
    *,
    url: str | None = None,
    odbc: str | None = None,
    pool_size: int = 8,
    params: AbcMapping[str, Any] | None = None,
) -> Database:
    """Opens the configured source: a SQLAlchemy ``url`` or a plain ODBC connection string ``odbc``.

    Args:
        mapping: The mapped queries.
        url: A SQLAlchemy URL.
        odbc: An ODBC connection string.
        pool_size: Connections kept open.
        params: The tenant's mapping parameters (``[[tenants]] params``), bound in every query that uses them.
    """
    if (url is None) == (odbc is None):
        raise ValueError("exactly one of url and odbc must be given")
    if url is not None:
        return SqlAlchemyDatabase(url, mapping, pool_size=pool_size, params=params)
    assert odbc is not None
    return OdbcDatabase(odbc, mapping, pool_size=pool_size, params=params)
