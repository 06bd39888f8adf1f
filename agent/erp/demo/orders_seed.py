"""Demo orders: the product sheet's order 091782005 and one order for every status a customer can see.

Deterministic: the same rows and the same PDF bytes on every run. Customers and what their orders show:

=========  ==========  ==========================================================================
customer   order       case
=========  ==========  ==========================================================================
4711       091782005   the sheet's order: web, 13.07.2014, 114,45 €, DHL 056326500434, delivered, invoice
4711       091790117   phone order, partially delivered: two parcels (DPD, GLS), one line backordered
4711       091795530   return in progress (Hermes parcel delivered, polo shirt return authorized)
4711       091801244   exchange: polo shirt S → M, replacement shipped with UPS
4711       091805002   letter order in processing: allocated ("Lieferbar"), nothing shipped
4711       091805377   fax order on hold (address incomplete): shown as in processing by default
4711       091650001   older delivered order (same date as the next one: keyset tie-break)
4711       091650002   older delivered order
4712       091783100   cancelled
4712       091799001   delivered (GLS); discontinued article with successor, blocked and unknown articles
4712       091806000   backordered: nothing shipped yet, one line waits for stock
4713       091770010   returned and refunded (DHL), invoice and credit note
4713       091806100   store order just received: nobody has worked on it yet
=========  ==========  ==========================================================================

Every order has an invoice and a delivery address (``order_addresses``): the customer's own (4711 Erika Mustermann,
68766 Hockenheim), except 091790117 (delivered to Jürgen Strauß, 10178 Berlin) and 091770010 (delivered to Grete
Müller, SW1A 2AA London) — the cases of the guest order lookup's matching.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...orders.pdf import render_text_pdf

# article_no: (name, line_type, status, successor, price in cents)
ARTICLES: dict[str, tuple[str, str, str, str | None, int]] = {
    "6392": ("Ochsenziemer XL", "product", "active", None, 3995),
    "6393": ("Rinderhaut-Streifen XL", "product", "active", None, 1995),
    "22030": ("Kleine Belohnung für Ihren Hund", "product", "active", None, 730),
    "SY 1": ("Versandkostenfrei", "shipping_fee", "active", None, 0),
    "VK 1": ("Versandkosten", "shipping_fee", "active", None, 495),
    "NN 1": ("Nachnahmegebühr", "surcharge", "active", None, 600),
    "12009": ("Gesamtkatalog 2014", "catalogue", "active", None, 0),
    "6410": ("Büffel-Kauknochen 15 cm", "product", "active", None, 399),
    "5120": ("Hundeleine Leder 2 m", "product", "active", None, 2495),
    "5130": ("Hundehalsband Leder M", "product", "blocked", None, 1995),
    "7002": ("Hundedecke Comfort 100 x 70 cm", "product", "active", None, 4995),
    "7001": ("Hundedecke Classic 100 x 70 cm", "product", "discontinued", "7002", 3995),
    "851888": ("STEEDS Poloshirt Lilli", "product", "active", None, 2995),
}
POLO_SIZES = ("XS", "S", "M", "L", "XL")
POLO_COLOURS = {"KI": "kirsch", "MA": "marine", "WE": "weiß"}
# An article number the master no longer knows (deleted years ago): reorder says UNKNOWN_ARTICLE.
UNKNOWN_ARTICLE = ("3107", "Futterdose Keramik (Restposten)", 895)

CUSTOMERS = (
    ("4711", "Erika Mustermann", "erika.mustermann@example.de"),
    ("4712", "Hans Beispiel", "hans.beispiel@example.de"),
    ("4713", "Petra Probe", "petra.probe@example.de"),
)
# Invoice address per customer: (first name, last name, street, postcode, city, country). Every order is invoiced
# there and, unless DELIVERY_ADDRESSES names another recipient, delivered there too.
INVOICE_ADDRESSES = {
    "4711": ("Erika", "Mustermann", "Heidelberger Straße 12", "68766", "Hockenheim", "DE"),
    "4712": ("Hans", "Beispiel", "Königstraße 1", "70173", "Stuttgart", "DE"),
    "4713": ("Petra", "Probe", "Marienplatz 8", "80331", "München", "DE"),
}
# Orders delivered elsewhere (a present, a relative abroad): the guest lookup accepts either address's postcode.
DELIVERY_ADDRESSES = {
    "091790117": ("Jürgen", "Strauß", "Alexanderplatz 5", "10178", "Berlin", "DE"),
    "091770010": ("Grete", "Müller", "10 Downing Street", "SW1A 2AA", "London", "GB"),
}


@dataclass
class Line:
    """One demo order line; ``state`` fills the quantities, keyword overrides adjust single ones."""

    article: str
    qty: int
    state: str = "delivered"
    sku: str | None = None
    price: int | None = None
    expected: str | None = None
    q: dict[str, int] = field(default_factory=dict)


@dataclass
class Parcel:
    """One demo shipment with the (line number, quantity) pairs it carries."""

    shipment_id: str
    carrier: str
    parcel_no: str
    shipped_on: str
    delivered_on: str | None
    items: tuple[tuple[int, int], ...]
    direction: str = "outbound"


def _quantities(line: Line, line_type: str) -> dict[str, int]:
    n = line.qty
    states: dict[str, dict[str, int]] = {
        "delivered": {"allocated": n, "invoiced": n, "shipped": n, "delivered": n},
        "shipped": {"allocated": n, "invoiced": n, "shipped": n},
        "allocated": {"allocated": n},
        "open": {},
        "backordered": {"backordered": n},
        "cancelled": {"cancelled": n},
    }
    q = dict(states[line.state])
    if line_type in {"shipping_fee", "surcharge", "voucher", "service"}:
        # Fees are invoiced, never shipped.
        q = (
            {"invoiced": n}
            if line.state in {"delivered", "shipped"}
            else {"cancelled": n}
            if line.state == "cancelled"
            else {}
        )
    q.update(line.q)
    return q


def _insert_articles(conn: sqlite3.Connection) -> None:
    # Successors first, so a successor_no always names an existing row.
    for no, (name, line_type, status, successor, price) in sorted(
        ARTICLES.items(), key=lambda kv: kv[1][3] is not None
    ):
        conn.execute(
            "INSERT OR IGNORE INTO articles (article_no, name, line_type, status, successor_no, price_minor, currency) "
            "VALUES (?, ?, ?, ?, ?, ?, 'EUR')",
            (no, name, line_type, status, successor, price),
        )
    # Exactly the stock seeder's rows: both seeders may run in either order.
    for size in POLO_SIZES:
        for code, colour in POLO_COLOURS.items():
            conn.execute(
                "INSERT OR IGNORE INTO article_variants (sku, article_no, colour, size, price_minor) "
                "VALUES (?, ?, ?, ?, ?)",
                (f"851888-{size}-{code}", "851888", colour, size, None),
            )


def _write_pdf(archive_dir: Path, rel: str, lines: list[str], title: str) -> None:
    path = archive_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_text_pdf(lines, title=title))


def _euro(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{rest:02d} €"


def _order(
    conn: sqlite3.Connection,
    archive_dir: Path,
    *,
    number: str,
    customer: str,
    date: str,
    channel: str,
    lines: list[Line],
    shop_no: str | None = None,
    parcels: tuple[Parcel, ...] = (),
    documents: tuple[tuple[str, str, str, str, int], ...] = (),
    returns: tuple[dict[str, Any], ...] = (),
    events: tuple[tuple[str, str], ...] = (),
    delivered_on: str | None = None,
    processing_started: bool = True,
    on_hold: bool = False,
    hold_reason: str | None = None,
    cancelled: bool = False,
) -> int:
    """Inserts one order with everything hanging off it; returns the order total in cents."""
    rows = []
    for line_no, line in enumerate(lines, start=1):
        if line.article == UNKNOWN_ARTICLE[0]:
            name, line_type, price = UNKNOWN_ARTICLE[1], "product", UNKNOWN_ARTICLE[2]
        else:
            name, line_type, _, _, price = ARTICLES[line.article]
        unit = line.price if line.price is not None else price
        q = _quantities(line, line_type)
        rows.append(
            (
                number,
                line_no,
                line.article,
                line.sku,
                name,
                line_type,
                line.qty,
                q.get("allocated", 0),
                q.get("invoiced", 0),
                q.get("shipped", 0),
                q.get("delivered", 0),
                q.get("backordered", 0),
                q.get("cancelled", 0),
                q.get("returned", 0),
                unit,
                unit * line.qty,
                line.expected,
            )
        )
    total = sum(r[15] for r in rows)
    conn.execute(
        "INSERT INTO orders (order_no, customer_no, order_date, channel, shop_order_no, currency, total_minor, "
        "processing_started, on_hold, hold_reason, cancelled, delivered_on) "
        "VALUES (?, ?, ?, ?, ?, 'EUR', ?, ?, ?, ?, ?, ?)",
        (
            number,
            customer,
            date,
            channel,
            shop_no,
            total,
            int(processing_started),
            int(on_hold),
            hold_reason,
            int(cancelled),
            delivered_on,
        ),
    )
    conn.executemany(
        "INSERT INTO order_lines (order_no, line_no, article_no, sku, description, line_type, qty_ordered, "
        "qty_allocated, qty_invoiced, qty_shipped, qty_delivered, qty_backordered, qty_cancelled, qty_returned, "
        "unit_price_minor, line_total_minor, expected_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    for p in parcels:
        conn.execute(
            "INSERT INTO shipments (shipment_id, order_no, carrier, parcel_no, direction, shipped_on, delivered_on) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (p.shipment_id, number, p.carrier, p.parcel_no, p.direction, p.shipped_on, p.delivered_on),
        )
        conn.executemany(
            "INSERT INTO shipment_items (shipment_id, line_no, quantity) VALUES (?, ?, ?)",
            [(p.shipment_id, ln, n) for ln, n in p.items],
        )
    for doc_id, doc_type, doc_no, doc_date, amount in documents:
        rel = f"{doc_date[:4]}/{doc_date[5:7]}/{doc_no}.pdf"
        heading = "Gutschrift" if doc_type == "credit_note" else "Rechnung"
        text_lines = [
            f"{heading} {doc_no}",
            f"Kundennummer: {customer}",
            f"Belegnummer: {number}",
            f"Datum: {doc_date[8:10]}.{doc_date[5:7]}.{doc_date[:4]}",
            "",
        ]
        text_lines += [f"{r[6]} x {r[2]}  {r[4]}  {_euro(r[15])}" for r in rows]
        text_lines += ["", f"Betrag: {_euro(amount)}"]
        _write_pdf(archive_dir, rel, text_lines, f"{heading} {doc_no}")
        conn.execute(
            "INSERT INTO documents (document_id, order_no, doc_type, doc_no, doc_date, amount_minor, currency, "
            "pdf_path) "
            "VALUES (?, ?, ?, ?, ?, ?, 'EUR', ?)",
            (doc_id, number, doc_type, doc_no, doc_date, amount, rel),
        )
    for r in returns:
        conn.execute(
            "INSERT INTO returns (return_id, order_no, state, resolution, requested_on, reason, "
            "replacement_shipment_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                r["id"],
                number,
                r["state"],
                r.get("resolution"),
                r["requested_on"],
                r.get("reason"),
                r.get("replacement"),
            ),
        )
        conn.executemany(
            "INSERT INTO return_lines (return_id, line_no, quantity, replacement_article_no, replacement_sku) "
            "VALUES (?, ?, ?, ?, ?)",
            [(r["id"], *rl) for rl in r["lines"]],
        )
    conn.executemany(
        "INSERT INTO order_events (order_no, seq, at, code) VALUES (?, ?, ?, ?)",
        [(number, seq, at, code) for seq, (at, code) in enumerate(events, start=1)],
    )
    return total


def _delivered_events(day: str, next_day: str) -> tuple[tuple[str, str], ...]:
    return (
        (f"{day}T08:14:00Z", "received"),
        (f"{day}T09:02:00Z", "address_check"),
        (f"{day}T10:30:00Z", "stock_allocation"),
        (f"{day}T15:00:00Z", "invoiced"),
        (f"{day}T17:45:00Z", "shipped"),
        (f"{next_day}T11:02:00Z", "delivered"),
    )


def seed(conn: sqlite3.Connection, archive_dir: Path) -> None:
    """Inserts the demo customers, articles and orders; writes the invoice PDFs into ``archive_dir``.

    Args:
        conn: Connection to the demo database whose schema already exists.
        archive_dir: The invoice archive root; document paths are stored relative to it.
    """
    _insert_articles(conn)
    conn.executemany("INSERT INTO customers (customer_no, name, email) VALUES (?, ?, ?)", CUSTOMERS)

    # ---- 4711: the product sheet's order, exactly as printed there.
    total = _order(
        conn,
        archive_dir,
        number="091782005",
        customer="4711",
        date="2014-07-13",
        channel="web",
        shop_no="140511214402704",
        delivered_on="2014-07-14",
        lines=[Line("6392", 2), Line("6393", 1), Line("SY 1", 1), Line("12009", 1), Line("22030", 2)],
        parcels=(
            Parcel(
                "S-091782005-1", "DHL", "056326500434", "2014-07-13", "2014-07-14", ((1, 2), (2, 1), (4, 1), (5, 2))
            ),
        ),
        documents=(("D-1000001", "invoice", "RE-2014-081511", "2014-07-13", 11445),),
        events=_delivered_events("2014-07-13", "2014-07-14"),
    )
    assert total == 11445, total  # 114,45 € as on the sheet

    # ---- 4711: phone order, partially delivered in two parcels, one line backordered.
    _order(
        conn,
        archive_dir,
        number="091790117",
        customer="4711",
        date="2014-09-02",
        channel="phone",
        lines=[
            Line("6392", 1),
            Line(
                "6410",
                3,
                "shipped",
                expected="2014-09-20",
                q={"allocated": 2, "invoiced": 2, "shipped": 2, "backordered": 1},
            ),
            Line("5120", 1, "backordered", expected="2014-09-20"),
            Line("VK 1", 1),
        ],
        parcels=(
            Parcel("S-091790117-1", "DPD", "01505012345678", "2014-09-03", "2014-09-04", ((1, 1),)),
            Parcel("S-091790117-2", "GLS", "40512345678", "2014-09-05", None, ((2, 2),)),
        ),
        documents=(("D-1000002", "invoice", "RE-2014-090311", "2014-09-03", 3995 + 2 * 399 + 495),),
        events=(
            ("2014-09-02T10:05:00Z", "received"),
            ("2014-09-02T10:40:00Z", "address_check"),
            ("2014-09-02T13:00:00Z", "stock_allocation"),
            ("2014-09-02T13:00:01Z", "backordered"),
            ("2014-09-03T09:00:00Z", "invoiced"),
            ("2014-09-03T16:30:00Z", "shipped"),
            ("2014-09-04T12:15:00Z", "delivered"),
            ("2014-09-05T16:10:00Z", "shipped"),
        ),
    )

    # ---- 4711: delivered by Hermes, polo shirt return authorized and on its way back.
    _order(
        conn,
        archive_dir,
        number="091795530",
        customer="4711",
        date="2014-10-05",
        channel="web",
        shop_no="140510051130912",
        delivered_on="2014-10-08",
        lines=[Line("851888", 1, sku="851888-M-MA"), Line("22030", 1), Line("VK 1", 1)],
        parcels=(Parcel("S-091795530-1", "HERMES", "H1002003004005", "2014-10-06", "2014-10-08", ((1, 1), (2, 1))),),
        documents=(("D-1000003", "invoice", "RE-2014-100611", "2014-10-06", 2995 + 730 + 495),),
        returns=(
            {
                "id": "R-2014-0042",
                "state": "authorized",
                "requested_on": "2014-10-12",
                "reason": "Größe passt nicht",
                "lines": ((1, 1, None, None),),
            },
        ),
        events=(
            *_delivered_events("2014-10-06", "2014-10-08")[1:],
            ("2014-10-05T19:22:00Z", "received"),
            ("2014-10-12T08:30:00Z", "return_requested"),
        ),
    )

    # ---- 4711: exchange S → M; the S came back, the M shipped with UPS.
    _order(
        conn,
        archive_dir,
        number="091801244",
        customer="4711",
        date="2014-11-10",
        channel="web",
        shop_no="140511101245001",
        delivered_on="2014-11-12",
        lines=[Line("851888", 1, sku="851888-S-KI", q={"returned": 1}), Line("SY 1", 1)],
        parcels=(
            Parcel("S-091801244-1", "UPS", "1Z999AA10123456784", "2014-11-11", "2014-11-12", ((1, 1),)),
            Parcel("S-091801244-2", "DHL", "056326509999", "2014-11-15", "2014-11-17", ((1, 1),), "return"),
            Parcel("S-091801244-3", "UPS", "1Z999AA10123456791", "2014-11-19", None, ((1, 1),)),
        ),
        documents=(("D-1000004", "invoice", "RE-2014-111111", "2014-11-11", 2995),),
        returns=(
            {
                "id": "R-2014-0057",
                "state": "completed",
                "resolution": "replacement",
                "requested_on": "2014-11-14",
                "reason": "Größe zu klein",
                "replacement": "S-091801244-3",
                "lines": ((1, 1, "851888", "851888-M-KI"),),
            },
        ),
        events=(
            *_delivered_events("2014-11-11", "2014-11-12"),
            ("2014-11-14T07:50:00Z", "return_requested"),
            ("2014-11-17T10:00:00Z", "return_received"),
            ("2014-11-19T15:20:00Z", "exchange_shipped"),
        ),
    )

    # ---- 4711: letter order being processed: goods allocated ("Lieferbar"), nothing shipped.
    _order(
        conn,
        archive_dir,
        number="091805002",
        customer="4711",
        date="2014-11-28",
        channel="letter",
        lines=[
            Line("6393", 2, "allocated", expected="2014-12-02"),
            Line("12009", 1, "allocated"),
            Line("VK 1", 1, "open"),
        ],
        events=(
            ("2014-11-28T09:00:00Z", "received"),
            ("2014-11-28T11:00:00Z", "address_check"),
            ("2014-11-28T14:00:00Z", "stock_allocation"),
        ),
    )

    # ---- 4711: fax order held by the merchant (internal); customers see "In Bearbeitung" by default.
    _order(
        conn,
        archive_dir,
        number="091805377",
        customer="4711",
        date="2014-12-01",
        channel="fax",
        lines=[Line("5120", 1, "open"), Line("NN 1", 1, "open")],
        on_hold=True,
        hold_reason="Adresse unvollständig",
        events=(("2014-12-01T08:00:00Z", "received"), ("2014-12-01T09:15:00Z", "on_hold")),
    )

    # ---- 4711: two older orders on the same day (the history's keyset must break the tie by number).
    for number, article, qty, parcel in (
        ("091650001", "6392", 1, "056326400111"),
        ("091650002", "22030", 3, "056326400112"),
    ):
        _order(
            conn,
            archive_dir,
            number=number,
            customer="4711",
            date="2013-11-15",
            channel="web",
            delivered_on="2013-11-18",
            lines=[Line(article, qty), Line("VK 1", 1)],
            parcels=(Parcel(f"S-{number}-1", "DHL", parcel, "2013-11-16", "2013-11-18", ((1, qty),)),),
            events=_delivered_events("2013-11-16", "2013-11-18"),
        )

    # ---- 4712: cancelled as a whole.
    _order(
        conn,
        archive_dir,
        number="091783100",
        customer="4712",
        date="2014-07-20",
        channel="web",
        shop_no="140720093012345",
        cancelled=True,
        lines=[Line("6392", 1, "cancelled"), Line("VK 1", 1, "cancelled")],
        events=(("2014-07-20T09:30:00Z", "received"), ("2014-07-21T08:00:00Z", "cancelled")),
    )

    # ---- 4712: delivered; reorder meets a discontinued article (successor 7002), a blocked and an unknown one.
    _order(
        conn,
        archive_dir,
        number="091799001",
        customer="4712",
        date="2014-10-20",
        channel="phone",
        delivered_on="2014-10-22",
        lines=[Line("7001", 1), Line("5130", 1), Line(UNKNOWN_ARTICLE[0], 2), Line("6393", 1), Line("VK 1", 1)],
        parcels=(
            Parcel("S-091799001-1", "GLS", "40598765432", "2014-10-21", "2014-10-22", ((1, 1), (2, 1), (3, 2), (4, 1))),
        ),
        documents=(("D-1000005", "invoice", "RE-2014-102111", "2014-10-21", 3995 + 1995 + 2 * 895 + 1995 + 495),),
        events=_delivered_events("2014-10-21", "2014-10-22"),
    )

    # ---- 4712: nothing shipped yet, the polo shirt waits for stock.
    _order(
        conn,
        archive_dir,
        number="091806000",
        customer="4712",
        date="2014-12-03",
        channel="web",
        shop_no="140512031455001",
        lines=[
            Line("851888", 1, "backordered", sku="851888-XL-WE", expected="2014-12-15"),
            Line("22030", 2, "allocated"),
            Line("VK 1", 1, "open"),
        ],
        events=(
            ("2014-12-03T14:55:00Z", "received"),
            ("2014-12-03T16:00:00Z", "stock_allocation"),
            ("2014-12-03T16:00:01Z", "backordered"),
        ),
    )

    # ---- 4713: returned and refunded, with the credit note.
    _order(
        conn,
        archive_dir,
        number="091770010",
        customer="4713",
        date="2014-05-02",
        channel="email",
        delivered_on="2014-05-05",
        lines=[Line("5120", 1, q={"returned": 1}), Line("VK 1", 1)],
        parcels=(Parcel("S-091770010-1", "DHL", "056326300777", "2014-05-03", "2014-05-05", ((1, 1),)),),
        documents=(
            ("D-1000006", "invoice", "RE-2014-050311", "2014-05-03", 2495 + 495),
            ("D-1000007", "credit_note", "GS-2014-051201", "2014-05-12", -2495),
        ),
        returns=(
            {
                "id": "R-2014-0011",
                "state": "completed",
                "resolution": "refund",
                "requested_on": "2014-05-08",
                "reason": "Gefällt nicht",
                "lines": ((1, 1, None, None),),
            },
        ),
        events=(
            *_delivered_events("2014-05-03", "2014-05-05"),
            ("2014-05-08T10:00:00Z", "return_requested"),
            ("2014-05-11T09:00:00Z", "return_received"),
            ("2014-05-12T12:00:00Z", "refunded"),
        ),
    )

    # ---- 4713: bought in a branch store for delivery; received, nobody has touched it yet.
    _order(
        conn,
        archive_dir,
        number="091806100",
        customer="4713",
        date="2014-12-04",
        channel="store",
        processing_started=False,
        lines=[Line("6410", 5, "open")],
        events=(("2014-12-04T17:40:00Z", "received"),),
    )
    _addresses(conn)


def _addresses(conn: sqlite3.Connection) -> None:
    """Gives every order its invoice address and its delivery address."""
    rows = []
    for number, customer in conn.execute("SELECT order_no, customer_no FROM orders ORDER BY order_no").fetchall():
        invoice = INVOICE_ADDRESSES[customer]
        rows.append((number, "invoice", *invoice))
        rows.append((number, "delivery", *DELIVERY_ADDRESSES.get(number, invoice)))
    conn.executemany(
        "INSERT INTO order_addresses (order_no, kind, first_name, last_name, street, postcode, city, country) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
