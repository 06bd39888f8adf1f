"""Database driver errors mapped into :mod:`onlineconnect.errors`, once, by what the driver says in codes.

A driver error of a mapped query becomes one of three:

* ``DeadlineExceeded``: the statement was cut off at its deadline (the per-query timeout of :mod:`.db`);
* ``Unavailable("ERP database unreachable")``: the connection is gone or cannot be made; the pooled connection
  must be dropped and the next call reconnects;
* ``OnlineConnectError`` naming the query: anything else; the agent's log gets the SQLSTATE and the driver's
  first line with quoted values masked, never a parameter value.

The decision uses the exception's type, its SQLSTATE and the DBMS's native error number, never the wording of a
message (which changes with driver version and server locale):

======================  =======================================  ============================================
driver                  cut off at the deadline                  connection gone
======================  =======================================  ============================================
psycopg (PostgreSQL)    SQLSTATE 57014 ``query_canceled``        class 08, 57P01-57P03; an OperationalError
                                                                 without SQLSTATE (refused, closed, timed out)
pyodbc, any driver      HYT00 timeout expired, HY008 cancelled   class 08
psqlODBC                57014                                    57P01-57P03
MariaDB / MySQL         native 1969 ``max_statement_time``,      native 2006, 2013, 2055, 1927, 4031
                        3024 ``max_execution_time``, 1317
sqlite3                 ``SQLITE_INTERRUPT``                     ``SQLITE_CANTOPEN``, ``IOERR``, ``NOTADB``,
                                                                 ``BUSY``, ``LOCKED`` (the file is not readable
                                                                 now)
======================  =======================================  ============================================

pyodbc has no attribute for the native error number: it is the ``(number)`` that pyodbc puts before the name of
the ODBC function at the end of every message (``… interrupted (max_statement_time exceeded) (1969)
(SQLExecDirectW)``). pymysql and mysqlclient give it as ``args[0]``.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import sqlalchemy as sa
import structlog

from onlineconnect.errors import DeadlineExceeded, OnlineConnectError, Unavailable

log = structlog.get_logger(__name__)

UNREACHABLE = "ERP database unreachable"

_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")
# pyodbc's message ends in "(native error number) (ODBC function)".
_ODBC_NATIVE = re.compile(r"\((-?\d+)\) \(SQL\w+\)\s*$")

# SQLSTATEs of a statement cut off at its deadline: PostgreSQL's query_canceled (statement_timeout), ODBC's
# timeout expired (SQL_ATTR_QUERY_TIMEOUT) and operation cancelled (SQLCancel).
_TIMEOUT_STATES = frozenset({"57014", "HYT00", "HY008"})
# MariaDB 1969 max_statement_time exceeded, MySQL 3024 max_execution_time exceeded, 1317 query interrupted.
_MYSQL_TIMEOUT = frozenset({1969, 3024, 1317})

# SQLSTATEs that mean the connection is gone: class 08 (connection exception), and PostgreSQL's 57P01
# (admin_shutdown: the server stops or the backend was terminated), 57P02 (crash_shutdown), 57P03 (cannot connect
# now: starting up or in recovery).
_DISCONNECT_STATES = frozenset({"57P01", "57P02", "57P03"})
# MySQL/MariaDB client error numbers for a lost connection (2006 server has gone away, 2013 lost connection during
# query, 2055 lost connection at reading …, 1927 connection was killed, 4031 disconnected for inactivity) and 2002/
# 2003 (cannot connect).
_MYSQL_DISCONNECT = frozenset({2002, 2003, 2006, 2013, 2055, 1927, 4031})
# SQLite: the file cannot be opened or read now (removed, unreadable, replaced, locked past the busy timeout).
_SQLITE_UNAVAILABLE = frozenset(
    {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
)


def _orig(exc: BaseException) -> BaseException:
    """The driver's own exception (SQLAlchemy wraps it as ``orig``)."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a driver error (psycopg, pyodbc, through SQLAlchemy or not); "" when the driver gives none."""
    orig = _orig(exc)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str) and _SQLSTATE.match(state):
        return state
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], str) and _SQLSTATE.match(args[0]):
        return args[0]  # pyodbc: ('08S01', '[unixODBC]… message')
    return ""


def native_error(exc: BaseException) -> int | None:
    """The DBMS's own error number (MariaDB/MySQL through pyodbc, pymysql or mysqlclient), None when not given."""
    args: tuple[Any, ...] = tuple(getattr(_orig(exc), "args", ()))
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):
        return args[0]  # pymysql, mysqlclient: (1969, 'Query execution was interrupted …')
    if len(args) > 1 and isinstance(args[1], str):
        found = _ODBC_NATIVE.search(args[1])
        if found:
            return int(found.group(1))
    return None


def _sqlite_code(exc: BaseException) -> int | None:
    orig = _orig(exc)
    if not isinstance(orig, sqlite3.Error):
        return None
    code = getattr(orig, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None  # extended codes carry the primary one in the low byte


def driver_message(exc: BaseException) -> str:
    """The driver's message, first line, with quoted values masked: it must never carry customer data."""
    orig = _orig(exc)
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    text = args[1] if len(args) > 1 and isinstance(args[1], str) and sqlstate(orig) else str(orig)
    lines = text.strip().splitlines()
    first = lines[0] if lines else type(orig).__name__
    first = re.sub(r"'(?:[^']|'')*'", "'…'", first)
    first = re.sub(r':\s*"[^"]*"', ': "…"', first)  # PostgreSQL: invalid input syntax for type integer: "4711x"
    return first[:300]


def is_timeout(exc: BaseException) -> bool:
    """True when ``exc`` says the statement was cut off at its deadline (or cancelled)."""
    if sqlstate(exc) in _TIMEOUT_STATES or native_error(exc) in _MYSQL_TIMEOUT:
        return True
    return _sqlite_code(exc) == sqlite3.SQLITE_INTERRUPT


def is_disconnect(exc: BaseException) -> bool:
    """True when ``exc`` says the connection to the database is gone (the pooled connection must be dropped)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = _orig(exc)
    if getattr(orig, "connection_lost", False):  # set by OdbcDatabase after a failed liveness probe
        return True
    state = sqlstate(exc)
    if state.startswith("08") or state in _DISCONNECT_STATES:
        return True
    if native_error(exc) in _MYSQL_DISCONNECT:
        return True
    code = _sqlite_code(exc)
    if code is not None:
        return code in _SQLITE_UNAVAILABLE
    # psycopg raises OperationalError without SQLSTATE when it has no server answer to report: connection
    # refused, closed by the server, connect timeout.
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not state


def map_db_error(exc: BaseException, query: str, timeout: float | None) -> OnlineConnectError:
    """Maps a driver or SQLAlchemy error of query ``query`` into the project's exception tree."""
    if is_timeout(exc):
        return DeadlineExceeded(
            f"ERP query {query} did not finish within the deadline ({timeout:.2f} s)"
            if timeout
            else f"ERP query {query} timed out"
        )
    if is_disconnect(exc):
        return Unavailable(UNREACHABLE)
    log.error(
        "erp.query_failed",
        query=query,
        sqlstate=sqlstate(exc) or None,
        message=driver_message(exc),
        error=type(_orig(exc)).__name__,
    )
    return OnlineConnectError(f"ERP query {query} failed; see the agent's log")
