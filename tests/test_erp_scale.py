"""The large-ERP generator at a small size (200 customers, 2,000 orders) in PostgreSQL, read by the agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_erp_backends import PG_SERVER, port_open

from onlineconnect.agent.erp.bigseed import seed_large
from onlineconnect.agent.erp.db import SqlAlchemyDatabase, validate
from onlineconnect.agent.erp.demo.export import scratch_database
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.orders.testing import context
from onlineconnect.testing import need_service
from onlineconnect.v1 import orders_pb2 as pb


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlAlchemyDatabase]:
    """A small run of the generator in a fresh PostgreSQL database, opened as the agent opens it."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    with scratch_database(PG_SERVER) as url:
        seed_large(url, customers=200, orders=2000, archive=tmp_path_factory.mktemp("big") / "archive")
        db = SqlAlchemyDatabase(url, load_mapping())
        try:
            yield db
        finally:
            db.close()


def test_generated_rows(big: SqlAlchemyDatabase) -> None:
    """Customers, orders, three lines per order, parcels and invoices for delivered orders, and history exist."""
    with big.engine.connect() as conn:
        count = {
            t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar_one()
            for t in ("customers", "orders", "order_lines", "shipments", "documents", "order_events")
        }
    assert count["customers"] == 200 + 3 and count["orders"] == 2000 + 13
    assert count["order_lines"] == 3 * 2000 + 36
    assert count["shipments"] > 1500 and count["documents"] > 1500 and count["order_events"] > 6000
    assert validate(big) == []


def test_generated_orders_are_answered(big: SqlAlchemyDatabase) -> None:
    """A generated customer's history pages newest first and each listed order opens with its three lines."""
    queries = OrderQueries(big, OrderSettings(archive_root=Path("/nonexistent")))
    seen: list[str] = []
    token = ""
    while True:
        page = queries.list_orders(
            pb.ListOrdersRequest(customer_number="K0000001", page_size=4, page_token=token), context()
        )
        seen += [o.order_date + o.order_number for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 10 and seen == sorted(seen, reverse=True)
    order = queries.get_order(pb.GetOrderRequest(customer_number="K0000001", order_number=seen[0][10:]), context())
    assert len(order.order.lines) == 3
    assert order.order.summary.total.amount_minor == sum(line.line_total.amount_minor for line in order.order.lines)
