"""The value contract on the alternative schema: each mapping mistake a merchant made is reported by ``check``
(with query, column, value and expectation) and, at run time, answered UNAVAILABLE "ERP data error" with one log
line and no traceback, also by the direct server.

Each case edits one line of the correct custom mapping of ``tests/altschema`` the way the mistake was made.
"""

from __future__ import annotations

import io
from pathlib import Path

import grpc
import pytest
import structlog.testing
from altschema import MAPPING, build_alt_erp

from onlineconnect.agent.check import run_checks
from onlineconnect.agent.direct import direct_handlers
from onlineconnect.agent.erp.db import SqlAlchemyDatabase, validate
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.agent.stock.testing import DEMO_NOW, context
from onlineconnect.errors import Unavailable
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2

ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
# (mistake, line of the correct mapping, the mistaken line, expected report, query and column the run time names)
MISTAKES = {
    "euros-for-cents": (
        "       CAST(ROUND(a.summe_eur * 100) AS INTEGER) AS total_minor,\n"
        "       CASE a.in_bearbeitung WHEN 'J' THEN 1 ELSE 0 END AS processing_started,\n"
        "       CASE a.gesperrt WHEN 'J' THEN 1 ELSE 0 END AS on_hold,\n"
        "       CASE a.storniert WHEN 'J' THEN 1 ELSE 0 END AS cancelled,\n"
        "       a.ausgeliefert_am AS delivered_on\nFROM auftrag a\nWHERE a.belegnr",
        "       CAST(ROUND(a.summe_eur) AS INTEGER) AS total_minor,\n"
        "       CASE a.in_bearbeitung WHEN 'J' THEN 1 ELSE 0 END AS processing_started,\n"
        "       CASE a.gesperrt WHEN 'J' THEN 1 ELSE 0 END AS on_hold,\n"
        "       CASE a.storniert WHEN 'J' THEN 1 ELSE 0 END AS cancelled,\n"
        "       a.ausgeliefert_am AS delivered_on\nFROM auftrag a\nWHERE a.belegnr",
        "[orders_header] order 091782005: total_minor 114 differs from the sum 11445",
        None,
    ),
    "german-date": (
        "SELECT a.belegnr      AS order_number,\n       a.belegdatum   AS order_date,\n"
        "       CASE a.kanal WHEN 'W' THEN 'web' WHEN 'T' THEN 'phone' WHEN 'B' THEN 'letter' WHEN 'F' THEN 'fax'\n"
        "                    WHEN 'L' THEN 'store' WHEN 'E' THEN 'email' ELSE 'marketplace' END AS channel,\n"
        "       a.shop_belegnr AS shop_order_number,\n       a.waehrung     AS currency,\n"
        "       CAST(ROUND(a.summe_eur * 100) AS INTEGER) AS total_minor,\n"
        "       CASE a.in_bearbeitung WHEN 'J' THEN 1 ELSE 0 END AS processing_started,\n"
        "       CASE a.gesperrt WHEN 'J' THEN 1 ELSE 0 END AS on_hold,\n"
        "       CASE a.storniert WHEN 'J' THEN 1 ELSE 0 END AS cancelled,\n"
        "       a.ausgeliefert_am AS delivered_on\nFROM auftrag a\nWHERE a.belegnr",
        "SELECT a.belegnr      AS order_number,\n       strftime('%d.%m.%Y', a.belegdatum) AS order_date,\n"
        "       CASE a.kanal WHEN 'W' THEN 'web' WHEN 'T' THEN 'phone' WHEN 'B' THEN 'letter' WHEN 'F' THEN 'fax'\n"
        "                    WHEN 'L' THEN 'store' WHEN 'E' THEN 'email' ELSE 'marketplace' END AS channel,\n"
        "       a.shop_belegnr AS shop_order_number,\n       a.waehrung     AS currency,\n"
        "       CAST(ROUND(a.summe_eur * 100) AS INTEGER) AS total_minor,\n"
        "       CASE a.in_bearbeitung WHEN 'J' THEN 1 ELSE 0 END AS processing_started,\n"
        "       CASE a.gesperrt WHEN 'J' THEN 1 ELSE 0 END AS on_hold,\n"
        "       CASE a.storniert WHEN 'J' THEN 1 ELSE 0 END AS cancelled,\n"
        "       a.ausgeliefert_am AS delivered_on\nFROM auftrag a\nWHERE a.belegnr",
        "[orders_header] column order_date returned '",
        ("orders_header", "order_date"),
    ),
    "text-quantity": (
        "       p.menge            AS qty_ordered,\n       p.menge_eingeteilt AS qty_allocated,\n"
        "       p.menge_berechnet  AS qty_invoiced,\n       p.menge_versandt   AS qty_shipped,\n"
        "       p.menge_zugestellt AS qty_delivered,\n       p.menge_rueckstand AS qty_backordered,\n"
        "       p.menge_storniert  AS qty_cancelled,\n       p.menge_retoure    AS qty_returned,\n"
        "       CAST(ROUND(p.epreis_eur",
        "       p.menge || '.0 Stk' AS qty_ordered,\n       p.menge_eingeteilt AS qty_allocated,\n"
        "       p.menge_berechnet  AS qty_invoiced,\n       p.menge_versandt   AS qty_shipped,\n"
        "       p.menge_zugestellt AS qty_delivered,\n       p.menge_rueckstand AS qty_backordered,\n"
        "       p.menge_storniert  AS qty_cancelled,\n       p.menge_retoure    AS qty_returned,\n"
        "       CAST(ROUND(p.epreis_eur",
        "[orders_lines] column qty_ordered returned '1.0 Stk'",
        ("orders_lines", "qty_ordered"),
    ),
    "fractional-quantity": (
        "       p.menge            AS qty_ordered,\n       p.menge_eingeteilt AS qty_allocated,\n"
        "       p.menge_berechnet  AS qty_invoiced,\n       p.menge_versandt   AS qty_shipped,\n"
        "       p.menge_zugestellt AS qty_delivered,\n       p.menge_rueckstand AS qty_backordered,\n"
        "       p.menge_storniert  AS qty_cancelled,\n       p.menge_retoure    AS qty_returned,\n"
        "       CAST(ROUND(p.epreis_eur",
        "       p.menge + 0.5      AS qty_ordered,\n       p.menge_eingeteilt AS qty_allocated,\n"
        "       p.menge_berechnet  AS qty_invoiced,\n       p.menge_versandt   AS qty_shipped,\n"
        "       p.menge_zugestellt AS qty_delivered,\n       p.menge_rueckstand AS qty_backordered,\n"
        "       p.menge_storniert  AS qty_cancelled,\n       p.menge_retoure    AS qty_returned,\n"
        "       CAST(ROUND(p.epreis_eur",
        "[orders_lines] column qty_ordered returned 1.5; expected a whole number",
        ("orders_lines", "qty_ordered"),
    ),
    "unknown-flag": (
        "CASE b.nur_ausstellung WHEN 'J' THEN 1 ELSE 0 END AS display_only",
        "CASE b.nur_ausstellung WHEN 'J' THEN 'X' ELSE 'N' END AS display_only",
        "[stock_levels] column display_only returned ",
        ("stock_levels", "display_only"),
    ),
}


@pytest.fixture(scope="module")
def alt_erp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The alternative-schema ERP filled with the demo's rows."""
    folder = tmp_path_factory.mktemp("alt")
    create_demo_erp(folder / "demo.db", folder / "archive")
    build_alt_erp(folder / "demo.db", folder / "alt.db")
    return folder / "alt.db"


def mistaken(folder: Path, mistake: str) -> Path:
    """The correct alternative mapping with ``mistake`` made in it."""
    right, wrong = MISTAKES[mistake][:2]
    text = MAPPING.read_text(encoding="utf-8")
    assert text.count(right) == 1, mistake
    path = folder / f"{mistake}.toml"
    path.write_text(text.replace(right, wrong), encoding="utf-8")
    return path


def open_alt(alt_erp: Path, mapping: Path) -> SqlAlchemyDatabase:
    """The agent's database layer on the alternative ERP with ``mapping``."""
    return SqlAlchemyDatabase(f"sqlite:///{alt_erp}", load_mapping(mapping, defaults=False))


def test_correct_mapping_has_no_findings(alt_erp: Path) -> None:
    """The correct custom mapping, with J/N flags read as flags, passes the value checks."""
    db = open_alt(alt_erp, MAPPING)
    try:
        assert validate(db) == []
    finally:
        db.close()


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_check_reports_the_mistake(mistake: str, alt_erp: Path, tmp_path: Path) -> None:
    """``check`` fails with a line naming the query, the column, the offending value and what was expected."""
    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nid = "t"\ngateway = "127.0.0.1:9"\ninsecure = true\ntoken = "x"\ntenant = "demo"\n'
        f'key = "57ea0dae8fa4ee3ebfc34523b42b3feb"\n[database]\nurl = "sqlite:///{alt_erp}"\n'
        f'mapping = "{mistaken(tmp_path, mistake)}"\n[orders]\narchive_root = "{tmp_path}"\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    assert run_checks(config, out=out) == 1
    report = out.getvalue()
    found = [ln for ln in report.splitlines() if ln.startswith("FAIL  mapped value")]
    assert found and MISTAKES[mistake][2] in found[0], report
    assert "expected" in found[0]


def test_jn_flags_work_in_every_query(alt_erp: Path, tmp_path: Path) -> None:
    """A J/N flag returned as is works in the stock query as in the order queries (no 'non-numeric value')."""
    path = mistaken_flag = tmp_path / "jn.toml"
    text = MAPPING.read_text(encoding="utf-8")
    right = "CASE b.nur_ausstellung WHEN 'J' THEN 1 ELSE 0 END AS display_only"
    path.write_text(text.replace(right, "b.nur_ausstellung AS display_only"), encoding="utf-8")
    db = open_alt(alt_erp, mistaken_flag)
    reference = open_alt(alt_erp, MAPPING)
    try:
        assert validate(db) == []
        req = stock_pb2.GetStoreStockRequest(sku="851888-M-KI")
        answers = [
            StockQueries(d, StockSettings(), clock=lambda: DEMO_NOW).get_store_stock(req, context())
            for d in (db, reference)
        ]
        assert answers[0] == answers[1]
    finally:
        db.close()
        reference.close()


@pytest.mark.parametrize("mistake", [m for m, case in sorted(MISTAKES.items()) if case[3] is not None])
def test_run_time_data_error_is_unavailable_with_one_log_line(mistake: str, alt_erp: Path, tmp_path: Path) -> None:
    """A value outside the contract at run time answers UNAVAILABLE "ERP data error" and logs query, column and
    expected form once, without a traceback."""
    query, column = MISTAKES[mistake][3]  # type: ignore[misc]
    db = open_alt(alt_erp, mistaken(tmp_path, mistake))
    try:
        with structlog.testing.capture_logs() as events, pytest.raises(Unavailable) as info:
            if query.startswith("stock_"):
                StockQueries(db, StockSettings(), clock=lambda: DEMO_NOW).get_store_stock(
                    stock_pb2.GetStoreStockRequest(sku="851888-M-KI"), context()
                )
            else:
                OrderQueries(db, OrderSettings(archive_root=tmp_path)).get_order(ORDER, context())
    finally:
        db.close()
    assert info.value.message == "ERP data error"
    errors = [e for e in events if e["log_level"] in ("error", "critical")]
    assert len(errors) == 1, errors
    assert errors[0]["event"] == "erp.data_error"
    assert (errors[0]["query"], errors[0]["column"]) == (query, column) and errors[0]["expected"]
    assert "exc_info" not in errors[0] and "exception" not in errors[0]


async def test_direct_answers_data_error_as_unavailable(alt_erp: Path, tmp_path: Path) -> None:
    """The direct server answers the same mistake UNAVAILABLE "ERP data error", never the exception's text."""
    db = open_alt(alt_erp, mistaken(tmp_path, "text-quantity"))
    handlers = Handlers(
        OrderQueries(db, OrderSettings(archive_root=tmp_path)), StockQueries(db, StockSettings()), max_concurrency=2
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(direct_handlers(handlers, "demo"))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await orders_pb2_grpc.OrderServiceStub(channel).GetOrder(ORDER, timeout=10)
    finally:
        await server.stop(None)
        handlers.close()
        db.close()
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert info.value.details() == "ERP data error"
