"""Read-only by privilege: the agent refuses a database user that can write, on PostgreSQL and MariaDB, through
SQLAlchemy and plain ODBC; a read-only user passes, and the writes the statement guard cannot know fail for it.

The scratch databases hold the write-bait of ``test_erp_readonly`` (a writing function, a sequence, a MariaDB
stored function on an Aria table). The servers' own accounts (postgres, root) stand for a privileged ERP user.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import structlog.testing
from support.erp_users import read_only_user
from test_erp_backends import odbc_driver
from test_erp_readonly import MARIADB_WRITES, PG_WRITES, mapping, mariadb_guard, odbc_string, pg_guard, server_admin  # noqa: F401  (fixtures)

from onlineconnect.agent.app import open_handlers
from onlineconnect.agent.config import load_agent_config
from onlineconnect.agent.erp.db import Database, OdbcDatabase, SqlAlchemyDatabase
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.mapping import MappedQuery, check_query
from onlineconnect.agent.erp.privileges import ensure_read_only, inspect_privileges
from onlineconnect.errors import ConfigError, OnlineConnectError
from onlineconnect.testing import need_service

SOURCES = ["postgresql", "odbc-postgresql", "mariadb", "odbc-mariadb"]
# The bypasses of the old keyword guard: a second statement hidden in a PostgreSQL dollar quote or E'' escape.
HIDDEN_WRITES = {
    "dollar-quote": "SELECT $$'$$ AS n; SELECT setval('oc_guard_seq', 4242); -- '",
    "e-escape": "SELECT E'\\'' AS n; UPDATE oc_guard SET v = 4242; -- '",
}


def guard_url(source: str, request: pytest.FixtureRequest) -> str:
    """The scratch database with the write-bait of ``source``'s server (fixtures of test_erp_readonly)."""
    return str(request.getfixturevalue("pg_guard" if "postgresql" in source else "mariadb_guard"))


def open_as(source: str, url: str, queries: dict[str, str] | None = None) -> Database:
    """The agent's database layer on ``url`` (its user), through SQLAlchemy or plain ODBC."""
    m = mapping(queries or {})
    if source.startswith("odbc-"):
        driver = "PostgreSQL Unicode" if "postgresql" in source else "MariaDB Unicode"
        need_service(odbc_driver(driver), f"the {driver} ODBC driver")
        return OdbcDatabase(odbc_string(driver, url), m, pool_size=1)
    return SqlAlchemyDatabase(url, m, pool_size=1)


@pytest.fixture(scope="module")
def reader(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Returns, per source, the URL of a read-only user of its scratch database."""
    cache: dict[str, str] = {}

    def get(source: str) -> str:
        url = guard_url(source, request)
        if url not in cache:
            cache[url] = read_only_user(url)
        return cache[url]

    return get


@pytest.mark.parametrize("source", SOURCES)
def test_privileged_user_is_refused(source: str, request: pytest.FixtureRequest) -> None:
    """The server's own account is found able to write, and the start-up check refuses it."""
    db = open_as(source, guard_url(source, request))
    try:
        p = inspect_privileges(db)
        assert p.verified and p.writable, p
        with pytest.raises(ConfigError, match="the database user can write"):
            ensure_read_only(db)
    finally:
        db.close()


@pytest.mark.parametrize("source", SOURCES)
def test_read_only_user_passes(source: str, reader: Callable[[str], str]) -> None:
    """A user with SELECT only (and, on PostgreSQL, default_transaction_read_only) is verified read-only."""
    db = open_as(source, reader(source))
    try:
        p = inspect_privileges(db)
        assert p.read_only, p.writable
        ensure_read_only(db)
    finally:
        db.close()


@pytest.mark.parametrize(
    ("source", "name"),
    [(s, n) for s in SOURCES for n in (PG_WRITES if "postgresql" in s else MARIADB_WRITES)],
)
def test_writes_the_guard_cannot_know_fail_for_the_read_only_user(
    source: str, name: str, reader: Callable[[str], str], request: pytest.FixtureRequest
) -> None:
    """Writing functions, setval/nextval and the Aria function fail for the read-only user; nothing changes."""
    url = guard_url(source, request)
    admin = server_admin(url)
    state = ["SELECT id, v FROM oc_guard ORDER BY id"]
    if "mariadb" in source:
        state.append("SELECT id, v FROM oc_guard_aria ORDER BY id")
    before = [admin(q) for q in state]
    writes = PG_WRITES if "postgresql" in source else MARIADB_WRITES
    db = open_as(source, reader(source), {"write": writes[name]})
    try:
        with pytest.raises(OnlineConnectError):
            db.fetch("write", {})
    finally:
        db.close()
    assert [admin(q) for q in state] == before


@pytest.mark.parametrize("name", sorted(HIDDEN_WRITES))
def test_hidden_second_statements_are_refused_by_the_guard(name: str) -> None:
    """The dollar-quote and E'' bypasses of the keyword guard are refused when the mapping is loaded."""
    with pytest.raises(ConfigError, match="holds 2 statements"):
        check_query(MappedQuery(name="orders_header", sql=HIDDEN_WRITES[name], source="<test>"))


def agent_toml(folder: Path, url: str, archive: Path, extra: str = "") -> Path:
    """An agent configuration for ``url`` (the gateway is never dialled)."""
    path = folder / "agent.toml"
    path.write_text(
        '[agent]\nid = "t"\ngateway = "127.0.0.1:9"\ninsecure = true\ntoken = "x"\ntenant = "demo"\n'
        f'key = "57ea0dae8fa4ee3ebfc34523b42b3feb"\n[database]\nurl = "{url}"\n{extra}'
        f'[orders]\narchive_root = "{archive}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def pg_demo_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The PostgreSQL scratch database with the demo ERP loaded (as the server's privileged account)."""
    from onlineconnect.agent.erp.demo.export import export_demo

    url = str(request.getfixturevalue("pg_guard"))
    export_demo(url, tmp_path_factory.mktemp("pgdemo") / "archive")
    return url


def test_agent_start_refuses_a_writable_user(pg_demo_url: str, tmp_path: Path) -> None:
    """The agent does not start on a PostgreSQL user that can write, and says what to do."""
    with pytest.raises(ConfigError, match=r"can write.*allow_writable_user"):
        open_handlers(load_agent_config(agent_toml(tmp_path, pg_demo_url, tmp_path / "archive")))


def test_allow_writable_user_starts_with_a_warning(pg_demo_url: str, tmp_path: Path) -> None:
    """With ``allow_writable_user = true`` the agent starts on a writable user and logs a warning at the start."""
    config = load_agent_config(agent_toml(tmp_path, pg_demo_url, tmp_path / "archive", "allow_writable_user = true\n"))
    with structlog.testing.capture_logs() as events:
        db, handlers = open_handlers(config)
    handlers.close()
    db.close()
    warnings = [e for e in events if e["event"] == "database.writable_user"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning" and "superuser" in warnings[0]["can"]


def test_sqlite_demo_counts_as_read_only(tmp_path: Path) -> None:
    """The SQLite demo file is opened read-only, so the agent starts on it without any setting."""
    create_demo_erp(tmp_path / "erp.db", tmp_path / "archive")
    db, handlers = open_handlers(
        load_agent_config(agent_toml(tmp_path, f"sqlite:///{tmp_path / 'erp.db'}", tmp_path / "archive"))
    )
    handlers.close()
    try:
        assert inspect_privileges(db).read_only
    finally:
        db.close()
