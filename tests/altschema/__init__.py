"""A second ERP schema (German names, J/N flags, amounts in euros, short codes) and its complete custom mapping.

``build_alt_erp(demo_db, target)`` copies the demo ERP's rows into the schema of ``schema.sql``; ``MAPPING`` is a
mapping file that defines every query the agent runs for that schema, so the agent's answers on it must equal its
answers on the demo ERP with the default mapping.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

HERE = Path(__file__).parent
SCHEMA = HERE / "schema.sql"
MAPPING = HERE / "mapping.toml"

_CHANNEL = (
    "CASE o.channel WHEN 'web' THEN 'W' WHEN 'phone' THEN 'T' WHEN 'letter' THEN 'B' WHEN 'fax' THEN 'F' "
    "WHEN 'store' THEN 'L' WHEN 'email' THEN 'E' ELSE 'M' END"
)
_STATUS = "CASE a.status WHEN 'active' THEN 'A' WHEN 'discontinued' THEN 'D' ELSE 'G' END"


def _jn(column: str) -> str:
    return f"CASE WHEN {column} = 1 THEN 'J' ELSE 'N' END"


# (target table, SELECT over the attached demo database "d" producing its columns in order)
_COPIES = (
    ("kunde", "SELECT customer_no, name, email FROM d.customers"),
    (
        "artikel",
        f"SELECT article_no, name, line_type, {_STATUS}, successor_no, price_minor / 100.0, currency FROM d.articles a",
    ),
    ("artvariante", "SELECT sku, article_no, colour, size, price_minor / 100.0 FROM d.article_variants"),
    (
        "auftrag",
        f"SELECT order_no, customer_no, order_date, {_CHANNEL}, shop_order_no, currency, total_minor / 100.0, "
        f"{_jn('processing_started')}, {_jn('on_hold')}, hold_reason, {_jn('cancelled')}, delivered_on "
        "FROM d.orders o",
    ),
    (
        "auftragspos",
        "SELECT order_no, line_no, article_no, sku, description, line_type, qty_ordered, qty_allocated, "
        "qty_invoiced, qty_shipped, qty_delivered, qty_backordered, qty_cancelled, qty_returned, "
        "unit_price_minor / 100.0, line_total_minor / 100.0, expected_date FROM d.order_lines",
    ),
    (
        "sendung",
        "SELECT shipment_id, order_no, carrier, parcel_no, CASE direction WHEN 'return' THEN 'R' ELSE 'A' END, "
        "shipped_on, delivered_on FROM d.shipments",
    ),
    ("sendungspos", "SELECT shipment_id, line_no, quantity FROM d.shipment_items"),
    (
        "rechnung",
        "SELECT document_id, order_no, CASE doc_type WHEN 'invoice' THEN 'RE' ELSE 'GS' END, doc_no, doc_date, "
        "amount_minor / 100.0, currency, pdf_path FROM d.documents",
    ),
    (
        "retoure",
        "SELECT return_id, order_no, state, resolution, requested_on, reason, replacement_shipment_id FROM d.returns",
    ),
    (
        "retourepos",
        "SELECT return_id, line_no, quantity, replacement_article_no, replacement_sku FROM d.return_lines",
    ),
    ("auftragsprotokoll", "SELECT order_no, seq, at, code FROM d.order_events"),
    (
        "anschrift",
        "SELECT order_no, CASE kind WHEN 'invoice' THEN 'R' ELSE 'L' END, first_name, last_name, street, postcode, "
        "city, country FROM d.order_addresses",
    ),
    (
        "filiale",
        "SELECT store_id, name, street, postcode, city, country, phone, latitude, longitude, sort_order, "
        f"{_jn('pickup_possible')}, {_jn('active')} FROM d.stores",
    ),
    ("filiale_oeffnung", "SELECT store_id, weekday, opens, closes FROM d.store_opening_hours"),
    ("filiale_schliesstag", "SELECT store_id, closed_on, reason FROM d.store_closing_days"),
    ("filialbestand", f"SELECT sku, store_id, on_hand, reserved, {_jn('display_only')} FROM d.store_stock"),
)


def build_alt_erp(demo_db: Path, target: Path) -> None:
    """Creates ``target`` with the alternative schema and fills it with the rows of the demo ERP at ``demo_db``."""
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target)
    try:
        conn.executescript(SCHEMA.read_text(encoding="utf-8"))
        conn.execute("ATTACH DATABASE ? AS d", (str(demo_db),))
        for table, select in _COPIES:
            conn.execute(f"INSERT INTO {table} {select}")
        conn.commit()
    finally:
        conn.close()
