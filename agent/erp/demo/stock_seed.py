"""Demo data for the stock inquiry: branch stores, opening hours, closing days, articles and store stock.

Deterministic (no randomness, no "today"): tests and the demo rely on fixed figures. Notable ones:

* ``851888-XS-KI`` ("STEEDS Poloshirt Lilli", kirsch, XS) has exactly 1 available piece in MEGA STORE Hockenheim
  (on hand 2, reserved 1), the product sheet's example; elsewhere it is out of stock (Mannheim; Freiburg fully
  reserved; Frankfurt over-reserved), a display piece (Heidelberg), low (Ulm, 3), 5 (Karlsruhe) or plenty
  (Stuttgart, 14).
* ``733021-44-WE`` has no stock row anywhere; STEEDS Outlet Ulm carries no sneakers and offers no pickup.
* STEEDS Store Pforzheim is inactive (closed for good) and never listed.
* Closing days lie in 2026-10 (past for the demo's reference date 2026-11-27), December 2026 / January 2027
  (upcoming) and June 2027 (beyond the default 90-day horizon).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# store_id, name, street, postcode, city, phone, latitude, longitude, sort_order, pickup_possible, active
# fmt: off
STORES: tuple[tuple[str, str, str, str, str, str, float, float, int, int, int], ...] = (
    ("F01", "MEGA STORE Hockenheim", "Karlsruher Straße 30", "68766", "Hockenheim",
     "06205 2891-0", 49.3190, 8.5480, 10, 1, 1),
    ("F02", "STEEDS Store Mannheim", "O 7, 12", "68161", "Mannheim",
     "0621 1567-30", 49.4862, 8.4694, 20, 1, 1),
    ("F03", "STEEDS Store Heidelberg", "Hauptstraße 112", "69117", "Heidelberg",
     "06221 65 43 21", 49.4113, 8.7002, 20, 1, 1),
    ("F04", "STEEDS Store Karlsruhe", "Kaiserstraße 143", "76133", "Karlsruhe",
     "0721 91234-0", 49.0094, 8.4039, 30, 1, 1),
    ("F05", "STEEDS Store Stuttgart", "Königstraße 27", "70173", "Stuttgart",
     "0711 22 33 44-0", 48.7779, 9.1772, 15, 1, 1),
    ("F06", "STEEDS Store Freiburg", "Kaiser-Joseph-Straße 210", "79098", "Freiburg im Breisgau",
     "0761 38 77 11", 47.9953, 7.8497, 40, 1, 1),
    ("F07", "STEEDS Store Frankfurt Hauptbahnhof", "Im Hauptbahnhof, Querbahnsteig", "60329", "Frankfurt am Main",
     "069 29 88 07-0", 50.1069, 8.6633, 50, 1, 1),
    ("F08", "STEEDS Outlet Ulm", "Hirschstraße 14", "89073", "Ulm",
     "0731 140 55-20", 48.3985, 9.9903, 60, 0, 1),  # outlet: no reserve & collect
    ("F09", "STEEDS Store Pforzheim", "Westliche Karl-Friedrich-Straße 23", "75172", "Pforzheim",
     "07231 35 66 0", 48.8919, 8.6990, 70, 1, 0),  # closed for good
)
# fmt: on

_MON_FRI = (1, 2, 3, 4, 5)
_MON_SAT = (1, 2, 3, 4, 5, 6)

# store_id -> (weekdays, opens, closes) periods; two periods on one day are a lunch break.
HOURS: dict[str, tuple[tuple[tuple[int, ...], str, str], ...]] = {
    "F01": ((_MON_FRI, "09:30", "19:00"), ((6,), "09:30", "18:00")),
    "F02": ((_MON_SAT, "10:00", "19:00"),),
    "F03": ((_MON_FRI, "10:00", "19:00"), ((6,), "10:00", "18:00")),
    "F04": ((_MON_SAT, "10:00", "20:00"),),
    "F05": ((_MON_SAT, "10:00", "20:00"),),
    "F06": ((_MON_FRI, "10:00", "13:00"), (_MON_FRI, "14:00", "18:30"), ((6,), "10:00", "16:00")),
    "F07": ((_MON_SAT, "08:00", "21:00"), ((7,), "10:00", "18:00")),  # station shop: open on Sundays
    "F08": ((_MON_FRI, "10:00", "12:30"), (_MON_FRI, "13:30", "18:00"), ((6,), "10:00", "14:00")),
    "F09": ((_MON_SAT, "10:00", "19:00"),),
}

_BW = ("F01", "F02", "F03", "F04", "F05", "F06", "F08", "F09")  # Baden-Württemberg: Epiphany is a holiday
CLOSING_DAYS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("F01", "F02", "F03"), "2026-10-03", "Tag der Deutschen Einheit"),  # past: never listed
    (("F01",), "2026-11-01", "Allerheiligen"),  # past
    ((*_BW, "F07"), "2026-12-25", "1. Weihnachtsfeiertag"),
    (_BW, "2026-12-26", "2. Weihnachtsfeiertag"),
    ((*_BW, "F07"), "2027-01-01", "Neujahr"),
    (_BW, "2027-01-06", "Heilige Drei Könige"),
    (("F01",), "2027-01-07", "Inventur"),
    (("F04",), "2027-01-08", "Inventur"),
    (("F03",), "2027-06-01", "Umbau"),  # beyond the default 90-day horizon
)

# article_no, name, price in cents, sizes, ((colour code, colour name), ...)
ARTICLES: tuple[tuple[str, str, int, tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        "851888",
        "STEEDS Poloshirt Lilli",
        2995,
        ("XS", "S", "M", "L", "XL"),
        (("KI", "kirsch"), ("MA", "marine"), ("WE", "weiß")),
    ),
    ("620114", "STEEDS Steppjacke Nora", 8995, ("S", "M", "L", "XL"), (("SW", "schwarz"), ("OL", "oliv"))),
    ("733021", "STEEDS Sneaker Runner", 6995, ("37", "38", "39", "40", "41", "42", "43", "44"), (("WE", "weiß"),)),
)

# The product sheet's example and a spread of every availability level: store_id -> (on_hand, reserved, display).
EXPLICIT_STOCK: dict[str, dict[str, tuple[int, int, int]]] = {
    "851888-XS-KI": {
        "F01": (2, 1, 0),  # 1 available: "MEGA STORE Hockenheim — 1x verfügbar"
        "F02": (0, 0, 0),  # out of stock
        "F03": (1, 0, 1),  # display piece only
        "F04": (5, 0, 0),  # in stock, quantity shown
        "F05": (14, 0, 0),  # in stock, above show_quantity_max: quantity hidden
        "F06": (3, 3, 0),  # everything reserved
        "F07": (1, 2, 0),  # over-reserved: never negative
        "F08": (3, 0, 0),  # low stock
    },
    "733021-44-WE": {},  # no stock row in any store
}


def variant_skus() -> list[tuple[str, str, str, str]]:
    """Returns (sku, article_no, colour name, size) of every demo variant, in a fixed order."""
    out: list[tuple[str, str, str, str]] = []
    for article_no, _name, _price, sizes, colours in ARTICLES:
        for code, colour in colours:
            for size in sizes:
                out.append((f"{article_no}-{size}-{code}", article_no, colour, size))
    return out


def _generated_stock(vi: int, si: int) -> tuple[int, int, int] | None:
    """A deterministic spread of stock figures for variant ``vi`` in store ``si``; None for no row."""
    h = (vi * 7 + si * 11 + 3) % 17
    if h < 3:
        return None
    if h == 3:
        return (0, 0, 0)
    if h == 4:
        return (1, 0, 1)
    if h <= 8:
        return (h - 4, 1 if h == 8 else 0, 0)  # 1..4 on hand, the 4 with one reserved: low stock
    if h <= 13:
        return (h - 5, 0, 0)  # 4..8
    return (h + 2, (h - 14) * 2, 0)  # 16..18 on hand, some reserved: plenty


def seed(conn: sqlite3.Connection, archive_dir: Path) -> None:
    """Inserts the demo stores, articles and store stock.

    Args:
        conn: The demo database, schema already created.
        archive_dir: Unused (the stock demo has no documents).
    """
    del archive_dir
    conn.executemany(
        "INSERT INTO stores (store_id, name, street, postcode, city, country, phone, latitude, longitude,"
        " sort_order, pickup_possible, active) VALUES (?, ?, ?, ?, ?, 'DE', ?, ?, ?, ?, ?, ?)",
        STORES,
    )
    conn.executemany(
        "INSERT INTO store_opening_hours (store_id, weekday, opens, closes) VALUES (?, ?, ?, ?)",
        [
            (sid, day, opens, closes)
            for sid, periods in HOURS.items()
            for days, opens, closes in periods
            for day in days
        ],
    )
    conn.executemany(
        "INSERT INTO store_closing_days (store_id, closed_on, reason) VALUES (?, ?, ?)",
        [(sid, day, reason) for sids, day, reason in CLOSING_DAYS for sid in sids],
    )
    # OR IGNORE: the orders demo inserts 851888 with the same data; whichever seeder runs first wins.
    conn.executemany(
        "INSERT OR IGNORE INTO articles (article_no, name, line_type, status, price_minor, currency)"
        " VALUES (?, ?, 'product', 'active', ?, 'EUR')",
        [(no, name, price) for no, name, price, _sizes, _colours in ARTICLES],
    )
    variants = variant_skus()
    conn.executemany(
        "INSERT OR IGNORE INTO article_variants (sku, article_no, colour, size) VALUES (?, ?, ?, ?)", variants
    )
    rows: list[tuple[str, str, int, int, int]] = []
    for vi, (sku, article_no, _colour, _size) in enumerate(variants):
        for si, store in enumerate(STORES):
            store_id = store[0]
            if sku in EXPLICIT_STOCK:
                figures = EXPLICIT_STOCK[sku].get(store_id)
            elif store_id == "F08" and article_no == "733021":
                figures = None  # the outlet carries no sneakers
            else:
                figures = _generated_stock(vi, si)
            if figures is not None:
                rows.append((sku, store_id, *figures))
    conn.executemany(
        "INSERT INTO store_stock (sku, store_id, on_hand, reserved, display_only) VALUES (?, ?, ?, ?, ?)", rows
    )
