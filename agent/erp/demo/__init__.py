"""The embedded demo ERP: an SQLite database modelled on a mail-order ERP, created and seeded on demand.

Schema files ``NN_*.sql`` in this folder run in name order; then every seeder module listed in ``SEEDERS`` runs
its ``seed(conn, archive_dir)`` function.

The file is in WAL mode, as a SQLite ERP should be next to the agent: readers and the writer no longer block each
other, so an agent in the middle of a query (or frozen there) never holds up a write of the ERP. In the default
rollback-journal mode a reader's lock makes every writer wait until the query ends.
"""

from __future__ import annotations

import importlib
import sqlite3
from importlib import resources
from pathlib import Path

# Modules of this package with a ``seed(conn: sqlite3.Connection, archive_dir: Path) -> None`` function, in order.
SEEDERS = ("orders_seed", "stock_seed")


def schema_sql() -> str:
    """Returns the demo schema: every ``NN_*.sql`` file of this package, in name order."""
    base = resources.files(__name__)
    files = sorted((p for p in base.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


# The second demo Mandant: its own database with its own customers and orders, numbered apart from the first
# (customer 4711 → 5711, order 091782005 → 291782005), as an ERP keeps each Mandant's documents apart.
_MANDANT_2 = (
    "UPDATE customers SET customer_no = '5' || substr(customer_no, 2), name = name || ' (Mandant 2)'",
    "UPDATE orders SET customer_no = '5' || substr(customer_no, 2)",
    *(
        f"UPDATE {table} SET order_no = '2' || substr(order_no, 2)"
        for table in (
            "orders",
            "order_lines",
            "shipments",
            "documents",
            "returns",
            "order_events",
            "order_addresses",
        )
    ),
)


def create_demo_erp(db_path: Path, archive_dir: Path, *, mandant: int = 1) -> None:
    """Creates (or re-creates) the demo ERP database at ``db_path`` and its invoice archive at ``archive_dir``.

    Args:
        db_path: SQLite file to write; replaced if it exists.
        archive_dir: Folder for the archived invoice PDFs the demo's documents point to.
        mandant: 1 for the demo's first Mandant (customers 4711 to 4713), 2 for the second (5711 to 5713, order numbers
            starting with 2 instead of 0).
    """
    if mandant not in (1, 2):
        raise ValueError(f"the demo has Mandanten 1 and 2, not {mandant}")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    archive_dir.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_suffix(db_path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
        conn.executescript(schema_sql())
        for name in SEEDERS:
            importlib.import_module(f"{__name__}.{name}").seed(conn, archive_dir)
        if mandant == 2:
            for statement in _MANDANT_2:
                conn.execute(statement)
        conn.commit()
    finally:
        conn.close()  # the last connection checkpoints the WAL into the file and removes it
    # A -wal or -shm file left by the replaced database must not be paired with the new one.
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    tmp.replace(db_path)
