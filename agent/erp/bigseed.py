"""A large demo ERP in PostgreSQL: 100,000 customers and 1,000,000 orders with lines, parcels, invoices and history.

For load and latency measurements (``bench/erp_scale.py``), not for tests: the default size takes a few minutes.
The schema is the demo ERP's (loaded first with :func:`~onlineconnect.agent.erp.demo.export.export_demo`, so the
demo's own customers and orders are there too); the generated rows are made by PostgreSQL itself with
``generate_series`` in a handful of set-based statements, so nothing is shipped row by row::

    python -m onlineconnect.agent.erp.bigseed postgresql+psycopg://postgres@127.0.0.1/erp_big --create

Generated numbers: customers ``K0000001`` …, orders ``A00000001`` … (order *g* belongs to customer
``1 + (g * 7919) mod customers``, so each customer's orders are spread over ten years), three lines per order.
Eight orders in ten are delivered (parcel, invoice, four history events), the rest in processing with a line on
backorder; every fiftieth is cancelled.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from .demo.export import create_database, export_demo

# The demo's product articles (number, description, price in cents); generated lines cycle through them.
_ARTICLES = (
    "(VALUES (0, '6392', 'Ochsenziemer XL', 3995), (1, '6393', 'Rinderhaut-Streifen XL', 1995), "
    "(2, '22030', 'Kleine Belohnung für Ihren Hund', 730), (3, '6410', 'Büffel-Kauknochen 15 cm', 399), "
    "(4, '5120', 'Hundeleine Leder 2 m', 2495), (5, '7002', 'Hundedecke Comfort 100 x 70 cm', 4995)) "
    "AS a(i, article_no, name, price)"
)

# Each statement sees :customers and :orders. Order g: date 2015-01-01 + (g mod 3650) days; delivered when
# g mod 10 < 8; cancelled when g mod 50 = 0.
STEPS: tuple[tuple[str, str], ...] = (
    (
        "customers",
        "INSERT INTO customers (customer_no, name, email) "
        "SELECT 'K' || lpad(g::text, 7, '0'), 'Kunde ' || g, 'kunde' || g || '@example.de' "
        "FROM generate_series(1, :customers) g",
    ),
    (
        "orders",
        "INSERT INTO orders (order_no, customer_no, order_date, channel, shop_order_no, currency, total_minor, "
        "processing_started, on_hold, cancelled, delivered_on) "
        "SELECT 'A' || lpad(g::text, 8, '0'), 'K' || lpad((1 + (g::bigint * 7919) % :customers)::text, 7, '0'), "
        "to_char(date '2015-01-01' + g % 3650, 'YYYY-MM-DD'), "
        "(ARRAY['web','phone','letter','fax','store','email','marketplace'])[1 + g % 7], "
        "CASE WHEN g % 7 = 0 THEN 'S' || g END, 'EUR', 0, 1, 0, (g % 50 = 0)::int, "
        "CASE WHEN g % 10 < 8 AND g % 50 <> 0 THEN to_char(date '2015-01-03' + g % 3650, 'YYYY-MM-DD') END "
        "FROM generate_series(1, :orders) g",
    ),
    (
        "order lines",
        "INSERT INTO order_lines (order_no, line_no, article_no, description, line_type, qty_ordered, qty_allocated, "
        "qty_invoiced, qty_shipped, qty_delivered, qty_backordered, qty_cancelled, qty_returned, unit_price_minor, "
        "line_total_minor, expected_date) "
        "SELECT 'A' || lpad(g::text, 8, '0'), l, a.article_no, a.name, 'product', q, "
        "CASE WHEN d THEN q WHEN l = 3 THEN 0 ELSE q END, CASE WHEN d THEN q ELSE 0 END, "
        "CASE WHEN d THEN q ELSE 0 END, CASE WHEN d THEN q ELSE 0 END, "
        "CASE WHEN NOT d AND l = 3 AND g % 50 <> 0 THEN q ELSE 0 END, CASE WHEN g % 50 = 0 THEN q ELSE 0 END, 0, "
        "a.price, a.price * q, "
        "CASE WHEN NOT d AND l = 3 THEN to_char(date '2015-01-15' + g % 3650, 'YYYY-MM-DD') END "
        "FROM (SELECT g, l, 1 + (g + l) % 3 AS q, (g % 10 < 8 AND g % 50 <> 0) AS d "
        f"      FROM generate_series(1, :orders) g CROSS JOIN generate_series(1, 3) l) x JOIN {_ARTICLES} "
        "ON a.i = (x.g * 3 + x.l) % 6",
    ),
    (
        "order totals",
        "UPDATE orders o SET total_minor = t.total FROM (SELECT order_no, SUM(line_total_minor) AS total "
        "FROM order_lines WHERE order_no LIKE 'A%' GROUP BY order_no) t WHERE o.order_no = t.order_no",
    ),
    (
        "shipments",
        "INSERT INTO shipments (shipment_id, order_no, carrier, parcel_no, direction, shipped_on, delivered_on) "
        "SELECT 'P' || lpad(g::text, 8, '0'), 'A' || lpad(g::text, 8, '0'), "
        "(ARRAY['DHL','DPD','GLS','HERMES','UPS'])[1 + g % 5], lpad((56326500000 + g)::text, 12, '0'), "
        "'outbound', to_char(date '2015-01-02' + g % 3650, 'YYYY-MM-DD'), "
        "to_char(date '2015-01-03' + g % 3650, 'YYYY-MM-DD') "
        "FROM generate_series(1, :orders) g WHERE g % 10 < 8 AND g % 50 <> 0",
    ),
    (
        "shipment items",
        "INSERT INTO shipment_items (shipment_id, line_no, quantity) "
        "SELECT 'P' || substr(order_no, 2), line_no, qty_shipped FROM order_lines "
        "WHERE order_no LIKE 'A%' AND qty_shipped > 0",
    ),
    (
        "invoices",
        "INSERT INTO documents (document_id, order_no, doc_type, doc_no, doc_date, amount_minor, currency, pdf_path) "
        "SELECT 'R' || substr(order_no, 2), order_no, 'invoice', 'RE-' || substr(order_no, 2), delivered_on, "
        "total_minor, 'EUR', NULL FROM orders WHERE order_no LIKE 'A%' AND delivered_on IS NOT NULL",
    ),
    (
        "order events",
        "INSERT INTO order_events (order_no, seq, at, code) "
        "SELECT o.order_no, e.seq, o.order_date || e.at, e.code FROM orders o "
        "JOIN (VALUES (1, 'T08:00:00Z', 'received'), (2, 'T09:00:00Z', 'processing'), "
        "(3, 'T16:00:00Z', 'shipped'), (4, 'T23:00:00Z', 'delivered')) AS e(seq, at, code) "
        "ON e.seq <= CASE WHEN o.delivered_on IS NOT NULL THEN 4 ELSE 2 END WHERE o.order_no LIKE 'A%'",
    ),
)


def seed_large(url: str, *, customers: int = 100_000, orders: int = 1_000_000, archive: Path | None = None) -> None:
    """Loads the demo ERP into the PostgreSQL database at ``url``, then adds the generated customers and orders.

    Args:
        url: SQLAlchemy URL of an existing, empty PostgreSQL database.
        customers: Number of generated customers.
        orders: Number of generated orders (three lines each).
        archive: Folder for the demo's invoice PDFs (a temporary folder if None).
    """
    if sa.make_url(url).get_backend_name() != "postgresql":
        raise ValueError("the large ERP is generated by PostgreSQL (generate_series); give a postgresql URL")
    with tempfile.TemporaryDirectory(prefix="oc-big-") as tmp:
        export_demo(url, archive or Path(tmp) / "archive")
    engine = sa.create_engine(url)
    try:
        for name, sql in STEPS:
            started = time.perf_counter()
            with engine.begin() as conn:
                rows = conn.execute(sa.text(sql), {"customers": customers, "orders": orders}).rowcount
            print(f"{name:16} {rows:>10} rows {time.perf_counter() - started:7.1f} s", file=sys.stderr)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """``python -m onlineconnect.agent.erp.bigseed URL``: generate the large ERP."""
    parser = argparse.ArgumentParser(prog="python -m onlineconnect.agent.erp.bigseed", description=__doc__)
    parser.add_argument("url", help="SQLAlchemy URL of the PostgreSQL database")
    parser.add_argument("--create", action="store_true", help="create the database first")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.create:
        create_database(args.url)
    seed_large(args.url, customers=args.customers, orders=args.orders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
