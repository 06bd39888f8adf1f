"""Nothing can change the ERP through the agent, on any backend, even a statement the SELECT-only guard lets through.

The mapping's parser guard (``sqltext.check_select_only``) is the first line only: ``SELECT
a_function_that_writes()`` passes it. Behind it the database layer runs every
statement in a transaction that is read-only where the database has such a thing and is always rolled back. These
tests give the layer writing statements directly (bypassing the guard, as a mistaken or malicious mapping would)
on SQLite, PostgreSQL and MariaDB through SQLAlchemy, and through plain ODBC with the SQLite3, psqlODBC and MariaDB
drivers, each on schema objects the test creates itself (a scratch database on the servers, dropped afterwards):

* the data, sequences and non-transactional tables are unchanged, seen from another session and from the agent's
  own pooled connection (a transaction left open would show its change there);
* the database refused the write as one in a read-only transaction;
* on PostgreSQL, session state a query changes (``set_config``) is undone: the transaction is rolled back, never
  committed;
* the ODBC drivers ignore the read-only connection attribute (``SQL_ATTR_ACCESS_MODE``), which is why the layer
  does not rely on it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_erp_backends import MARIADB_SERVER, PG_SERVER, odbc_driver, port_open

from onlineconnect.agent.erp.db import Database, OdbcDatabase, SqlAlchemyDatabase
from onlineconnect.agent.erp.demo.export import scratch_database
from onlineconnect.agent.erp.mapping import MappedQuery, Mapping
from onlineconnect.agent.erp.sqltext import check_select_only
from onlineconnect.errors import OnlineConnectError
from onlineconnect.testing import need_service

PG_SCHEMA = [
    "CREATE TABLE oc_guard (id integer PRIMARY KEY, v integer NOT NULL)",
    "INSERT INTO oc_guard VALUES (1, 1), (2, 2)",
    "CREATE SEQUENCE oc_guard_seq",
    "CREATE FUNCTION oc_guard_bump() RETURNS integer LANGUAGE sql VOLATILE "
    "AS 'UPDATE oc_guard SET v = v + 100 RETURNING v'",
]
PG_RESET = [
    "DELETE FROM oc_guard",
    "INSERT INTO oc_guard VALUES (1, 1), (2, 2)",
    "ALTER SEQUENCE oc_guard_seq RESTART",
]
PG_STATE = ["SELECT id, v FROM oc_guard ORDER BY id", "SELECT last_value, is_called FROM oc_guard_seq"]
PG_WRITES = {
    "writing-function": "SELECT oc_guard_bump() AS n",
    "setval": "SELECT setval('oc_guard_seq', 4242) AS n",
    "nextval": "SELECT nextval('oc_guard_seq') AS n",
    "writable-cte": "WITH d AS (DELETE FROM oc_guard RETURNING id) SELECT count(*) AS n FROM d",
}

MARIADB_SCHEMA = [
    "CREATE TABLE oc_guard (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB",
    "INSERT INTO oc_guard VALUES (1, 1), (2, 2)",
    # Aria is not transactional: only the read-only transaction stops a write to it, a rollback would not undo it.
    "CREATE TABLE oc_guard_aria (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=Aria",
    "INSERT INTO oc_guard_aria VALUES (1, 1)",
    "CREATE SEQUENCE oc_guard_seq",
    "CREATE FUNCTION oc_guard_bump() RETURNS INT MODIFIES SQL DATA "
    "BEGIN UPDATE oc_guard SET v = v + 100; RETURN 1; END",
    "CREATE FUNCTION oc_guard_bump_aria() RETURNS INT MODIFIES SQL DATA "
    "BEGIN UPDATE oc_guard_aria SET v = v + 100; RETURN 1; END",
]
MARIADB_RESET = [
    "DELETE FROM oc_guard",
    "INSERT INTO oc_guard VALUES (1, 1), (2, 2)",
    "DELETE FROM oc_guard_aria",
    "INSERT INTO oc_guard_aria VALUES (1, 1)",
    "ALTER SEQUENCE oc_guard_seq RESTART",
]
MARIADB_STATE = [
    "SELECT id, v FROM oc_guard ORDER BY id",
    "SELECT id, v FROM oc_guard_aria ORDER BY id",
    "SELECT next_not_cached_value FROM oc_guard_seq",
]
MARIADB_WRITES = {
    "writing-function": "SELECT oc_guard_bump() AS n",
    "writing-function-aria": "SELECT oc_guard_bump_aria() AS n",
    "nextval": "SELECT NEXTVAL(oc_guard_seq) AS n",
    "setval": "SELECT SETVAL(oc_guard_seq, 4242) AS n",
}

SQLITE_SCHEMA = [
    "CREATE TABLE oc_guard (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
    "INSERT INTO oc_guard VALUES (1, 1), (2, 2)",
]
SQLITE_RESET = ["DELETE FROM oc_guard", "INSERT INTO oc_guard VALUES (1, 1), (2, 2)"]
SQLITE_STATE = ["SELECT id, v FROM oc_guard ORDER BY id"]
# SQLite has no SELECT that writes; these stand for a mapping that got past the SELECT-only guard.
SQLITE_WRITES = {
    "update-returning": "UPDATE oc_guard SET v = v + 100 RETURNING v AS n",
    "update": "UPDATE oc_guard SET v = v + 100",
    "delete-returning": "DELETE FROM oc_guard RETURNING id AS n",
}

READ_ONLY_WORDS = ("read-only", "readonly", "read only")


@dataclass
class Backend:
    """A database holding the guard objects, and how the agent opens it."""

    name: str
    open: Callable[[dict[str, str]], Database]
    state_sql: list[str]
    writes: dict[str, str]
    admin: Callable[[str], list[tuple[Any, ...]]]
    reset_sql: list[str]

    def reset(self) -> None:
        """Puts the guard objects back to their initial state (each test starts from it)."""
        for statement in self.reset_sql:
            self.admin(statement)

    def state(self) -> list[list[tuple[Any, ...]]]:
        """Everything the writes could change, read by the owner in a session of its own."""
        return [self.admin(q) for q in self.state_sql]


def mapping(queries: dict[str, str]) -> Mapping:
    """A mapping made directly, past the loader's SELECT-only guard."""
    return Mapping(queries={n: MappedQuery(name=n, sql=sql, source="<test>") for n, sql in queries.items()})


def server_admin(url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    """Runs one statement as the database owner in autocommit mode; returns its rows."""

    def run(sql: str) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(sql)
                return [tuple(r) for r in result.fetchall()] if result.returns_rows else []
        finally:
            engine.dispose()

    return run


@pytest.fixture(scope="module")
def pg_guard() -> Iterator[str]:
    """A scratch PostgreSQL database with the guard objects; dropped afterwards."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    with scratch_database(PG_SERVER) as url:
        for statement in PG_SCHEMA:
            server_admin(url)(statement)
        yield url


@pytest.fixture(scope="module")
def mariadb_guard() -> Iterator[str]:
    """A scratch MariaDB database with the guard objects; dropped afterwards."""
    need_service(port_open(3306), "MariaDB on 127.0.0.1:3306")
    need_service(odbc_driver("MariaDB Unicode"), "the MariaDB ODBC driver (odbc-mariadb)")
    with scratch_database(MARIADB_SERVER) as url:
        for statement in MARIADB_SCHEMA:
            server_admin(url)(statement)
        yield url


@pytest.fixture(scope="module")
def sqlite_guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the guard table."""
    path = tmp_path_factory.mktemp("guard") / "erp.db"
    conn = sqlite3.connect(path)
    for statement in SQLITE_SCHEMA:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def sqlite_admin(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    """Reads the SQLite file in a connection of its own."""

    def run(sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        try:
            rows = [tuple(r) for r in conn.execute(sql).fetchall()]
            conn.commit()
            return rows
        finally:
            conn.close()

    return run


def odbc_string(driver: str, url: str) -> str:
    """A plain ODBC connection string for the scratch database of ``url``."""
    u = sa.make_url(url)
    return f"DRIVER={{{driver}}};Server=127.0.0.1;Port={u.port or ''};Database={u.database};Uid={u.username};Pwd=;"


WRITES = {
    "sqlite": SQLITE_WRITES,
    "postgresql": PG_WRITES,
    "mariadb": MARIADB_WRITES,
    "odbc-sqlite3": SQLITE_WRITES,
    "odbc-postgresql": PG_WRITES,
    "odbc-mariadb": MARIADB_WRITES,
}
CASES = [pytest.param(kind, name, id=f"{kind}-{name}") for kind, writes in WRITES.items() for name in writes]


def open_backend(kind: str, request: pytest.FixtureRequest) -> Backend:
    """One backend with the guard objects in their initial state, opened by the agent's database layer."""
    backend = _backend(kind, request)
    backend.reset()
    return backend


def _backend(kind: str, request: pytest.FixtureRequest) -> Backend:
    if kind in {"sqlite", "odbc-sqlite3"}:
        path: Path = request.getfixturevalue("sqlite_guard")
        if kind == "sqlite":
            return Backend(
                kind,
                lambda q: SqlAlchemyDatabase(f"sqlite:///{path}", mapping(q), pool_size=1),
                SQLITE_STATE,
                SQLITE_WRITES,
                sqlite_admin(path),
                SQLITE_RESET,
            )
        need_service(odbc_driver("SQLite3"), "the SQLite3 ODBC driver (libsqliteodbc)")
        return Backend(
            kind,
            lambda q: OdbcDatabase(f"DRIVER={{SQLite3}};Database={path};", mapping(q), pool_size=1),
            SQLITE_STATE,
            SQLITE_WRITES,
            sqlite_admin(path),
            SQLITE_RESET,
        )
    if kind in {"postgresql", "odbc-postgresql"}:
        url: str = request.getfixturevalue("pg_guard")
        state, writes, reset = PG_STATE, PG_WRITES, PG_RESET
        driver = "PostgreSQL Unicode"
    else:
        url = request.getfixturevalue("mariadb_guard")
        state, writes, reset = MARIADB_STATE, MARIADB_WRITES, MARIADB_RESET
        driver = "MariaDB Unicode"
    if kind.startswith("odbc-"):
        need_service(odbc_driver(driver), f"the {driver} ODBC driver")
        cs = odbc_string(driver, url)
        return Backend(
            kind, lambda q: OdbcDatabase(cs, mapping(q), pool_size=1), state, writes, server_admin(url), reset
        )
    return Backend(
        kind, lambda q: SqlAlchemyDatabase(url, mapping(q), pool_size=1), state, writes, server_admin(url), reset
    )


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_writing_statement_leaves_the_erp_unchanged(kind: str, name: str, request: pytest.FixtureRequest) -> None:
    """A statement that writes, run through the agent's database layer, changes nothing another session can see."""
    backend = open_backend(kind, request)
    before = backend.state()
    db = backend.open({"write": backend.writes[name], "read": backend.state_sql[0]})
    try:
        with contextlib.suppress(OnlineConnectError):
            db.fetch("write", {})
        after_from_agent = [tuple(r.values()) for r in db.fetch("read", {})]
        after = backend.state()
    finally:
        db.close()
    assert after == before, f"{kind}: {name} changed the ERP"
    # The agent's own (single, pooled) connection sees no change either: no transaction was left open.
    assert after_from_agent == before[0], f"{kind}: {name} left a change pending in the agent's session"
    assert backend.state() == before


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_writing_statement_is_refused_by_a_read_only_transaction(
    kind: str, name: str, request: pytest.FixtureRequest
) -> None:
    """The database itself refuses each writing statement: the agent's transaction (or SQLite file) is read-only."""
    backend = open_backend(kind, request)
    db = backend.open({"write": backend.writes[name]})
    try:
        with pytest.raises(OnlineConnectError) as info:
            db.fetch("write", {})
    finally:
        db.close()
    cause = str(info.value.__cause__).lower()
    assert any(w in cause for w in READ_ONLY_WORDS), f"{kind}: {name} failed otherwise: {cause[:300]}"


def test_parser_guard_passes_writing_functions_it_cannot_know() -> None:
    """The parser guard refuses built-in writes (setval, nextval, writable CTEs) but not the ERP's own writing
    functions, which is why the database layer and the read-only user must stop them."""
    passed = {n for n, sql in (*PG_WRITES.items(), *MARIADB_WRITES.items()) if check_select_only(sql) is None}
    assert passed == {"writing-function", "writing-function-aria"}


@pytest.mark.parametrize("kind", ["postgresql", "odbc-postgresql"])
def test_session_state_set_by_a_query_is_rolled_back(kind: str, request: pytest.FixtureRequest) -> None:
    """A query that switches the session back to read-write does not outlive its transaction: it is rolled back."""
    url: str = request.getfixturevalue("pg_guard")
    queries = {
        "unlock": "SELECT set_config('default_transaction_read_only', 'off', false) AS v",
        "setting": "SELECT current_setting('default_transaction_read_only') AS v",
    }
    db: Database
    if kind == "odbc-postgresql":
        need_service(odbc_driver("PostgreSQL Unicode"), "the PostgreSQL ODBC driver (odbc-postgresql)")
        db = OdbcDatabase(odbc_string("PostgreSQL Unicode", url), mapping(queries), pool_size=1)
    else:
        db = SqlAlchemyDatabase(url, mapping(queries), pool_size=1)
    try:
        assert db.fetch("unlock", {}) == [{"v": "off"}]  # allowed: it writes no data
        assert db.fetch("setting", {}) == [{"v": "on"}]  # same pooled connection, next transaction
    finally:
        db.close()


@pytest.mark.parametrize(
    ("driver", "kind"), [("PostgreSQL Unicode", "pg"), ("MariaDB Unicode", "mariadb"), ("SQLite3", "sqlite")]
)
def test_odbc_drivers_ignore_the_read_only_connection_attribute(
    driver: str, kind: str, request: pytest.FixtureRequest
) -> None:
    """psqlODBC, MariaDB ODBC and SQLite3 ODBC accept writes on a connection opened with ``readonly=True``."""
    need_service(odbc_driver(driver), f"the {driver} ODBC driver")
    import pyodbc

    if kind == "sqlite":
        open_backend("odbc-sqlite3", request)  # guard objects in their initial state
        cs = f"DRIVER={{SQLite3}};Database={request.getfixturevalue('sqlite_guard')};"
    else:
        open_backend(f"odbc-{'postgresql' if kind == 'pg' else 'mariadb'}", request)
        cs = odbc_string(driver, request.getfixturevalue("pg_guard" if kind == "pg" else "mariadb_guard"))
    conn = pyodbc.connect(cs, readonly=True)
    try:
        cur = conn.execute("UPDATE oc_guard SET v = v + 1 WHERE id = 1")
        assert cur.rowcount == 1
    finally:
        conn.rollback()
        conn.close()
