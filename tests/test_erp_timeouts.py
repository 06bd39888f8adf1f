"""The per-query timeout is real on every database the agent reads, and driver errors are mapped by code.

A query still running at its deadline is cut off by the database's own means (SQLite's progress handler,
PostgreSQL's ``statement_timeout``, MariaDB's ``max_statement_time``) through SQLAlchemy and plain ODBC, and the
pooled connection goes back without the bound. :mod:`onlineconnect.agent.erp.dberrors` decides by exception type,
SQLSTATE and native error number, never by a message's wording.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pyodbc
import pytest
import sqlalchemy as sa
from test_erp_backends import MARIADB_SERVER, PG_SERVER, odbc_driver, port_open

from onlineconnect.agent.erp.db import Database, OdbcDatabase, SqlAlchemyDatabase
from onlineconnect.agent.erp.dberrors import is_disconnect, is_timeout, map_db_error, native_error
from onlineconnect.agent.erp.mapping import MappedQuery, Mapping
from onlineconnect.errors import DeadlineExceeded, OnlineConnectError, Unavailable
from onlineconnect.testing import need_service

# A SQLite statement that counts to n: about 0.35 µs a step on this machine.
SQLITE_COUNT = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT MAX(i) AS m FROM n"
SLEEP = {"postgresql": "SELECT pg_sleep({s}) AS slept", "mariadb": "SELECT SLEEP({s}) AS slept"}


def mapping(**queries: str) -> Mapping:
    return Mapping(queries={name: MappedQuery(name, sql, "<test>") for name, sql in queries.items()})


def sqlite_db(tmp_path: Path, **queries: str) -> SqlAlchemyDatabase:
    """A one-connection SQLite source, so every query reuses the connection of the one before."""
    sqlite3.connect(tmp_path / "erp.db").close()
    return SqlAlchemyDatabase(f"sqlite:///{tmp_path / 'erp.db'}", mapping(**queries), pool_size=1)


def test_sqlite_query_is_cut_off_at_its_deadline(tmp_path: Path) -> None:
    """A SQLite query that would run for minutes ends with DEADLINE_EXCEEDED at its 0.3 s deadline."""
    db = sqlite_db(tmp_path, long=SQLITE_COUNT.format(n=10**9))
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match=r"long did not finish within the deadline \(0.30 s\)"):
            db.fetch("long", {}, timeout=0.3)
        assert time.monotonic() - started < 2
    finally:
        db.close()


def test_sqlite_connection_returns_to_the_pool_without_the_deadline(tmp_path: Path) -> None:
    """After a query with a short deadline, the same connection runs a longer query that has none."""
    db = sqlite_db(tmp_path, quick="SELECT 1 AS m", long=SQLITE_COUNT.format(n=600_000))
    try:
        assert db.fetch("quick", {}, timeout=0.05) == [{"m": 1}]
        time.sleep(0.1)  # that deadline has passed
        assert db.fetch("long", {}) == [{"m": 600_000}]
    finally:
        db.close()


def open_server(kind: str, dbms: str, queries: dict[str, str]) -> Database:
    """A one-connection source on the PostgreSQL or MariaDB server, through SQLAlchemy or plain ODBC."""
    if dbms == "postgresql":
        need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
        url, driver = PG_SERVER, "PostgreSQL Unicode"
    else:
        need_service(port_open(3306), "MariaDB on 127.0.0.1:3306")
        url, driver = MARIADB_SERVER, "MariaDB Unicode"
    if kind == "sqlalchemy" and dbms == "postgresql":
        return SqlAlchemyDatabase(url, mapping(**queries), pool_size=1)
    need_service(odbc_driver(driver), f"the {driver} ODBC driver")
    if kind == "sqlalchemy":
        return SqlAlchemyDatabase(url, mapping(**queries), pool_size=1)
    u = sa.make_url(url)
    odbc = f"DRIVER={{{driver}}};Server=127.0.0.1;Port={u.port};Database={u.database};Uid={u.username};Pwd=;"
    return OdbcDatabase(odbc, mapping(**queries), pool_size=1)


@pytest.fixture(params=["sqlalchemy", "odbc"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("dbms", ["postgresql", "mariadb"])
def test_server_query_is_cut_off_at_its_deadline_and_the_bound_is_undone(kind: str, dbms: str) -> None:
    """A 5 s sleep with a 0.5 s deadline ends with DEADLINE_EXCEEDED within a second; the connection then runs a
    1.2 s sleep without deadline to its end."""
    db = open_server(kind, dbms, {"long": SLEEP[dbms].format(s=5), "longer": SLEEP[dbms].format(s=1.2)})
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="long did not finish within the deadline"):
            db.fetch("long", {}, timeout=0.5)
        assert time.monotonic() - started < 2
        started = time.monotonic()
        assert len(db.fetch("longer", {})) == 1
        assert time.monotonic() - started >= 1.1
    finally:
        db.close()


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "erp.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
    conn.close()
    yield path


def test_sqlite_errors_by_code(sqlite_file: Path, tmp_path: Path) -> None:
    """A mapping error (no such table) is a failed query; a file that cannot be opened is UNAVAILABLE."""
    db = SqlAlchemyDatabase(f"sqlite:///{sqlite_file}", mapping(missing="SELECT x FROM nowhere", ok="SELECT a FROM t"))
    try:
        with pytest.raises(OnlineConnectError) as info:
            db.fetch("missing", {})
        assert type(info.value) is OnlineConnectError and "missing failed" in info.value.message
    finally:
        db.close()
    gone = SqlAlchemyDatabase(f"sqlite:///{tmp_path / 'no' / 'erp.db'}", mapping(ok="SELECT a FROM t"))
    try:
        with pytest.raises(Unavailable):
            gone.fetch("ok", {})
    finally:
        gone.close()


def test_wording_decides_nothing() -> None:
    """Errors whose message reads like a timeout or a lost connection, without the code for it, are plain
    failures; the same codes with any wording are timeouts or disconnects."""
    syntax = pyodbc.ProgrammingError(
        "42000", "[42000] statement timeout: interrupted, lost connection (1064) (SQLExecDirectW)"
    )
    assert native_error(syntax) == 1064
    assert not is_timeout(syntax) and not is_disconnect(syntax)
    assert type(map_db_error(syntax, "q", 1.0)) is OnlineConnectError
    assert not is_timeout(sqlite3.OperationalError("interrupted"))  # no SQLITE_INTERRUPT code

    mariadb_limit = pyodbc.Error("HY018", "[HY018] [ma-3.1.15]Abfrage unterbrochen (1969) (SQLExecDirectW)")
    assert isinstance(map_db_error(mariadb_limit, "q", 1.0), DeadlineExceeded)
    odbc_timeout = pyodbc.OperationalError("HYT00", "[HYT00] (0) (SQLExecDirectW)")
    assert isinstance(map_db_error(odbc_timeout, "q", 1.0), DeadlineExceeded)
    gone = pyodbc.Error("HY000", "[HY000] [ma-3.1.15]Verbindung verloren (2013) (SQLExecDirectW)")
    assert isinstance(map_db_error(gone, "q", 1.0), Unavailable)
    link = pyodbc.OperationalError("08S01", "[08S01] Kommunikationsfehler (0) (SQLExecDirectW)")
    assert isinstance(map_db_error(link, "q", 1.0), Unavailable)


def test_postgresql_errors_by_sqlstate() -> None:
    """psycopg's errors are mapped by their SQLSTATE: 57014 a timeout, 57P01 a disconnect, 22012 a failure."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    engine = sa.create_engine(PG_SERVER)
    try:
        with engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError) as zero:
                conn.exec_driver_sql("SELECT 1 / 0")
            conn.rollback()
            conn.exec_driver_sql("SET statement_timeout = 50")
            with pytest.raises(sa.exc.DBAPIError) as slow:
                conn.exec_driver_sql("SELECT pg_sleep(1)")
    finally:
        engine.dispose()
    assert type(map_db_error(zero.value, "q", None)) is OnlineConnectError
    assert isinstance(map_db_error(slow.value, "q", None), DeadlineExceeded)
    import psycopg.errors

    assert isinstance(map_db_error(psycopg.errors.AdminShutdown(), "q", None), Unavailable)
