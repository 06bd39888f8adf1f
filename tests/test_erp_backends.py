"""The order and stock inquiry on every supported source gives the very answers it gives on the SQLite demo ERP.

One probe runs the whole order and stock surface (every customer's history with every filter and page, every
order of every customer including foreign ones, reorder, every invoice, every SKU with and without a location,
a batch) and records each answer or error. The SQLite demo with the default mapping is the reference (its
answers are checked in detail by ``test_orders_*`` and ``test_stock_*``); every other source must match it:

* the alternative German-style schema of ``tests/altschema`` through its complete custom mapping;
* PostgreSQL (psycopg) and MariaDB (``mysql+pyodbc`` with the MariaDB ODBC driver), each on a fresh database;
* plain ODBC (:class:`OdbcDatabase`) through the SQLite3 ODBC driver and through psqlODBC.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from altschema import MAPPING, build_alt_erp
from google.protobuf import text_format
from google.protobuf.message import Message

from onlineconnect.agent.erp.db import Database, OdbcDatabase, SqlAlchemyDatabase, validate
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.demo.export import export_demo, scratch_database
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.agent.stock.testing import DEMO_NOW, context
from onlineconnect.errors import OnlineConnectError
from onlineconnect.testing import need_service
from onlineconnect.v1 import common_pb2
from onlineconnect.v1 import orders_pb2 as opb
from onlineconnect.v1 import stock_pb2 as spb

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MARIADB_SERVER = "mysql+pyodbc://root@127.0.0.1:3306/mysql?driver=MariaDB+Unicode"


def port_open(port: int) -> bool:
    """True when something listens on 127.0.0.1:``port``."""
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def odbc_driver(name: str) -> bool:
    """True when unixODBC knows the driver ``name``."""
    try:
        import pyodbc
    except ImportError:
        return False
    return name in pyodbc.drivers()


@dataclass(frozen=True)
class DemoFacts:
    """What the demo ERP holds, read straight from its SQLite file: the probe's inputs."""

    customers: list[str]
    orders: list[str]
    documents: list[tuple[str, str, str]]
    skus: list[str]

    @classmethod
    def read(cls, db_path: Path) -> DemoFacts:
        conn = sqlite3.connect(db_path)
        try:
            return cls(
                customers=[r[0] for r in conn.execute("SELECT customer_no FROM customers ORDER BY 1")],
                orders=[r[0] for r in conn.execute("SELECT order_no FROM orders ORDER BY 1")],
                documents=list(
                    conn.execute(
                        "SELECT o.customer_no, o.order_no, d.document_id FROM documents d "
                        "JOIN orders o ON o.order_no = d.order_no ORDER BY 3"
                    )
                ),
                skus=[r[0] for r in conn.execute("SELECT sku FROM article_variants ORDER BY 1")],
            )
        finally:
            conn.close()


# Postcode and last name pairs tried on every order by the guest lookup: the demo's addresses, spelled as customers
# type them, and pairs that match nothing.
GUEST_PAIRS = (
    ("68766", ""),
    ("68 766", "MUSTERMANN"),
    ("10178", "Strauss"),
    ("sw1a-2aa", "MÜLLER"),
    ("70173", "Beispiel"),
    ("80331", "Fremd"),
    ("99999", ""),
)


def probe(db: Database, archive: Path, facts: DemoFacts) -> dict[str, str]:
    """Runs the whole order and stock surface on ``db``; returns every answer (or error) by a readable key."""
    orders = OrderQueries(db, OrderSettings(archive_root=archive))
    stock = StockQueries(db, StockSettings(), clock=lambda: DEMO_NOW)
    out: dict[str, str] = {}

    def ask(key: str, fn: Callable[[Message], object], request: Message) -> object | None:
        try:
            answer = fn(request)
        except OnlineConnectError as exc:
            out[key] = f"{exc.code.name}: {exc.message}"
            return None
        out[key] = text_format.MessageToString(answer, as_utf8=True) if isinstance(answer, Message) else repr(answer)
        return answer

    def list_orders(r: Message) -> object:
        return orders.list_orders(r, context())  # type: ignore[arg-type]

    for customer in [*facts.customers, "9999"]:
        for flt in (opb.ORDER_FILTER_UNSPECIFIED, opb.ORDER_FILTER_OPEN, opb.ORDER_FILTER_HISTORICAL):
            token, page = "", 0
            while True:
                req = opb.ListOrdersRequest(customer_number=customer, page_size=2, filter=flt, page_token=token)
                resp = ask(f"list {customer} filter={flt} page={page}", list_orders, req)
                token = resp.next_page_token if isinstance(resp, opb.ListOrdersResponse) else ""
                if not token:
                    break
                page += 1
        req = opb.ListOrdersRequest(customer_number=customer, from_date="2014-07-01", to_date="2014-11-30")
        ask(f"list {customer} July-November 2014", list_orders, req)
        for number in facts.orders:
            get = opb.GetOrderRequest(customer_number=customer, order_number=number, language=common_pb2.LANGUAGE_EN)
            ask(f"get {customer}/{number}", lambda r: orders.get_order(r, context()), get)  # type: ignore[arg-type]
            reorder = opb.GetReorderItemsRequest(customer_number=customer, order_number=number)
            ask(f"reorder {customer}/{number}", lambda r: orders.get_reorder_items(r, context()), reorder)  # type: ignore[arg-type]
    for customer, number, document in facts.documents:
        req = opb.GetInvoicePdfRequest(customer_number=customer, order_number=number, document_id=document)
        try:
            info = orders.open_invoice(req, context())
            out[f"invoice {document}"] = f"{info.file_name} {info.size} {info.sha256} {info.content_type}"
        except OnlineConnectError as exc:
            out[f"invoice {document}"] = f"{exc.code.name}: {exc.message}"

    def guest(r: Message) -> object:
        return orders.lookup_guest_order(r, context())  # type: ignore[arg-type]

    for number in [*facts.orders, "000000000"]:
        for postcode, last_name in GUEST_PAIRS:
            req = opb.LookupGuestOrderRequest(order_number=number, postcode=postcode, last_name=last_name)
            ask(f"guest {number} {postcode}/{last_name}", guest, req)

    def store_stock(r: Message) -> object:
        return stock.get_store_stock(r, context())  # type: ignore[arg-type]

    hockenheim = spb.Location(postcode="68766", country="DE")
    stuttgart = spb.Location(latitude=48.7758, longitude=9.1829)
    for sku in [*facts.skus, "999999-XX-XX"]:
        ask(f"stock {sku}", store_stock, spb.GetStoreStockRequest(sku=sku))
        ask(f"stock {sku} near 68766", store_stock, spb.GetStoreStockRequest(sku=sku, location=hockenheim))
        near = spb.GetStoreStockRequest(sku=sku, location=stuttgart, radius_km=120, only_available=True)
        ask(f"stock {sku} available within 120 km of Stuttgart", store_stock, near)
    batch = spb.BatchGetStoreStockRequest(skus=[*facts.skus[:40], "999999-XX-XX"], location=hockenheim)
    ask("stock batch", lambda r: stock.batch_get_store_stock(r, context()), batch)  # type: ignore[arg-type]
    return out


@dataclass
class Source:
    """One database source loaded with the demo data."""

    db: Database
    archive: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The SQLite demo ERP file and its invoice archive, built once."""
    folder = tmp_path_factory.mktemp("demo")
    create_demo_erp(folder / "erp.db", folder / "archive")
    return folder / "erp.db", folder / "archive"


@pytest.fixture(scope="module")
def facts(demo: tuple[Path, Path]) -> DemoFacts:
    """Customers, orders, documents and SKUs of the demo ERP."""
    return DemoFacts.read(demo[0])


@pytest.fixture(scope="module")
def reference(demo: tuple[Path, Path], facts: DemoFacts) -> dict[str, str]:
    """The probe's answers on the SQLite demo ERP with the default mapping."""
    db = SqlAlchemyDatabase(f"sqlite:///{demo[0]}", load_mapping())
    try:
        return probe(db, demo[1], facts)
    finally:
        db.close()


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A fresh PostgreSQL database ``oc_test_<random>`` with the demo data, dropped afterwards."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    archive = tmp_path_factory.mktemp("pg") / "archive"
    with scratch_database(PG_SERVER) as url:
        export_demo(url, archive)
        yield url, archive


@pytest.fixture(scope="module")
def mariadb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A fresh MariaDB database ``oc_test_<random>`` with the demo data, dropped afterwards."""
    need_service(port_open(3306), "MariaDB on 127.0.0.1:3306")
    need_service(odbc_driver("MariaDB Unicode"), "the MariaDB ODBC driver (odbc-mariadb)")
    archive = tmp_path_factory.mktemp("maria") / "archive"
    with scratch_database(MARIADB_SERVER) as url:
        export_demo(url, archive)
        yield url, archive


def _pg_odbc(url: str) -> str:
    import sqlalchemy as sa

    u = sa.make_url(url)
    return f"DRIVER={{PostgreSQL Unicode}};Server={u.host};Port={u.port};Database={u.database};Uid={u.username};Pwd=;"


@pytest.fixture(params=["altschema", "postgresql", "mariadb", "odbc-sqlite3", "odbc-postgresql"])
def source(request: pytest.FixtureRequest, demo: tuple[Path, Path], tmp_path: Path) -> Iterator[Source]:
    """The demo data on one source, opened the way the agent opens it."""
    kind: str = request.param
    db: Database
    if kind == "altschema":
        build_alt_erp(demo[0], tmp_path / "alt.db")
        db = SqlAlchemyDatabase(f"sqlite:///{tmp_path / 'alt.db'}", load_mapping(MAPPING, defaults=False))
        archive = demo[1]
    elif kind == "postgresql":
        url, archive = request.getfixturevalue("postgres_url")
        db = SqlAlchemyDatabase(url, load_mapping())
    elif kind == "mariadb":
        url, archive = request.getfixturevalue("mariadb_url")
        db = SqlAlchemyDatabase(url, load_mapping())
    elif kind == "odbc-sqlite3":
        need_service(odbc_driver("SQLite3"), "the SQLite3 ODBC driver (libsqliteodbc)")
        db = OdbcDatabase(f"DRIVER={{SQLite3}};Database={demo[0]};", load_mapping())
        archive = demo[1]
    else:
        need_service(odbc_driver("PostgreSQL Unicode"), "the PostgreSQL ODBC driver (odbc-postgresql)")
        url, archive = request.getfixturevalue("postgres_url")
        db = OdbcDatabase(_pg_odbc(url), load_mapping())
    try:
        yield Source(db, archive)
    finally:
        db.close()


def test_mapping_validates_on_every_source(source: Source) -> None:
    """Every mapped query prepares on the source and returns the columns the agent reads."""
    assert validate(source.db) == []


def test_every_answer_equals_the_demo_reference(source: Source, facts: DemoFacts, reference: dict[str, str]) -> None:
    """Orders, invoices, reorder and stock answers on the source are identical to those on the SQLite demo."""
    answers = probe(source.db, source.archive, facts)
    assert answers.keys() == reference.keys()
    differing = [k for k in reference if answers[k] != reference[k]]
    assert not differing, (
        f"{len(differing)} answers differ, first {differing[0]}:\n{answers[differing[0]]}\n"
        f"--- expected ---\n{reference[differing[0]]}"
    )


def test_reference_covers_every_outcome(reference: dict[str, str]) -> None:
    """The probe sees found orders, foreign orders (NOT_FOUND), invoices, stock and unknown SKUs."""
    values = list(reference.values())
    assert sum(v.startswith("NOT_FOUND") for v in values) > 30
    assert any(k.startswith("get 4711/091782005") and "091782005" in v for k, v in reference.items())
    assert any(k.startswith("invoice") and v.endswith("application/pdf") for k, v in reference.items())
    assert reference["stock 999999-XX-XX"].startswith("NOT_FOUND")
    assert "ORDER_STATUS_DELIVERED" in reference["guest 091782005 68766/"]
    assert reference["guest 091782005 99999/"] == reference["guest 000000000 68766/"] == "NOT_FOUND: order not found"
    assert len(reference) > 200 and sum(k.startswith("stock") and "stores {" in v for k, v in reference.items()) > 60


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def session_db(request: pytest.FixtureRequest, demo: tuple[Path, Path]) -> Iterator[SqlAlchemyDatabase]:
    """The demo data on a SQLAlchemy source, opened as the agent opens it."""
    if request.param == "sqlite":
        url = f"sqlite:///{demo[0]}"
    else:
        url, _ = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mariadb_url")
    db = SqlAlchemyDatabase(url, load_mapping())
    try:
        yield db
    finally:
        db.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE orders SET total_minor = 0",
        "DELETE FROM order_events",
        "INSERT INTO customers (customer_no, name) VALUES ('0815', 'Intruder')",
    ],
)
def test_writes_through_an_agent_session_fail(session_db: SqlAlchemyDatabase, statement: str) -> None:
    """A write sent through one of the agent's sessions is refused by the database itself, whatever the mapping."""
    import sqlalchemy as sa

    with session_db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as info:
            conn.exec_driver_sql(statement)
        conn.rollback()
    assert any(w in str(info.value).lower() for w in ("read-only", "readonly", "read only", "query_only")), info.value
    assert (
        session_db.fetch("orders_header", {"customer_number": "4711", "order_number": "091782005"})[0]["total_minor"]
        == 11445
    )
