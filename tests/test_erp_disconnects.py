"""Disconnects are disconnects on every path: backends terminated under load give UNAVAILABLE, never INTERNAL,
through SQLAlchemy (psycopg) and plain ODBC (psqlODBC, which reports SQLSTATE 57P01), and the calls recover.

Also: ``erp.query_failed`` names the query, the SQLSTATE and the driver's message, never a parameter value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog.testing
from support.erp_users import READER, read_only_user
from test_erp_backends import PG_SERVER, odbc_driver, port_open
from test_erp_readonly import odbc_string

from onlineconnect.agent.erp.db import Database, OdbcDatabase, SqlAlchemyDatabase
from onlineconnect.agent.erp.demo.export import export_demo, scratch_database
from onlineconnect.agent.erp.mapping import MappedQuery, Mapping, load_mapping
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.orders.testing import context
from onlineconnect.errors import OnlineConnectError, Unavailable
from onlineconnect.testing import need_service
from onlineconnect.v1 import orders_pb2

ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")


@pytest.fixture(scope="module")
def pg_reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(admin URL, read-only user URL) of a PostgreSQL database with the demo ERP."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    with scratch_database(PG_SERVER) as url:
        export_demo(url, tmp_path_factory.mktemp("pg") / "archive")
        yield url, read_only_user(url)


def terminate_reader_backends(admin_url: str) -> int:
    """Terminates every session of the read-only user on the database; returns how many."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %(u)s AND datname = %(d)s",
                    {"u": READER, "d": sa.make_url(admin_url).database},
                ).fetchall()
            )
    finally:
        engine.dispose()


def open_source(kind: str, reader_url: str, mapping: Mapping) -> Database:
    """The agent's database layer as the read-only user, through SQLAlchemy or psqlODBC."""
    if kind == "odbc":
        need_service(odbc_driver("PostgreSQL Unicode"), "the PostgreSQL ODBC driver (odbc-postgresql)")
        return OdbcDatabase(odbc_string("PostgreSQL Unicode", reader_url), mapping, pool_size=4)
    return SqlAlchemyDatabase(reader_url, mapping, pool_size=4)


@pytest.mark.parametrize("kind", ["sqlalchemy", "odbc"])
def test_terminated_backends_under_load_answer_unavailable_and_recover(
    kind: str, pg_reader: tuple[str, str], tmp_path: Path
) -> None:
    """pg_terminate_backend of the agent's connections while 4 clients call: only answers or UNAVAILABLE."""
    admin, reader = pg_reader
    db = open_source(kind, reader, load_mapping())
    orders = OrderQueries(db, OrderSettings(archive_root=tmp_path))
    outcomes: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                orders.get_order(ORDER, context())
                outcomes.append("ok")
            except OnlineConnectError as exc:
                outcomes.append(f"{exc.code.name}: {exc.message}")

    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        terminated = 0
        for _ in range(3):
            time.sleep(0.4)
            terminated += terminate_reader_backends(admin)
        time.sleep(0.4)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    try:
        assert terminated >= 4
        bad = {o for o in outcomes if o != "ok" and not o.startswith("UNAVAILABLE")}
        assert not bad, bad
        assert orders.get_order(ORDER, context()).order.summary.total.decimal == "114.45"
    finally:
        db.close()


@pytest.mark.parametrize("kind", ["sqlalchemy", "odbc"])
def test_query_failed_names_query_sqlstate_and_message_not_values(kind: str, pg_reader: tuple[str, str]) -> None:
    """A failing query logs its name, the SQLSTATE and the driver's message with the parameter value masked."""
    _, reader = pg_reader
    sql = "SELECT CAST(:customer_number AS integer) AS n"
    db = open_source(kind, reader, Mapping(queries={"q": MappedQuery("q", sql, "<test>")}))
    try:
        with structlog.testing.capture_logs() as events, pytest.raises(OnlineConnectError) as info:
            db.fetch("q", {"customer_number": "4711-secret"})
    finally:
        db.close()
    assert not isinstance(info.value, Unavailable)
    failed = [e for e in events if e["event"] == "erp.query_failed"]
    assert len(failed) == 1
    assert failed[0]["query"] == "q" and failed[0]["sqlstate"] == "22P02"
    assert "invalid input syntax" in failed[0]["message"]
    assert "4711" not in repr(failed[0])
