"""Copy the demo ERP into another database: PostgreSQL, MariaDB/MySQL, MS SQL Server, or another SQLite file.

The demo ERP is built in SQLite (:func:`~onlineconnect.agent.erp.demo.create_demo_erp`). To try the agent against
the database server a merchant really runs, this module reflects the demo's tables, creates the same tables in the
target (types translated to portable ones, primary keys and indexes kept) and copies every row::

    python -m onlineconnect.agent.erp.demo.export postgresql+psycopg://postgres@127.0.0.1/erp_demo --create
    python -m onlineconnect.agent.erp.demo.export 'mysql+pyodbc://root@127.0.0.1/erp_demo?driver=MariaDB+Unicode'

:func:`scratch_database` creates a database with a random name on a server and drops it afterwards; the
integration tests load the demo into one per test session.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from . import create_demo_erp

# Key and index columns get a short VARCHAR: MariaDB cannot index TEXT and limits an index to 3072 bytes (utf8mb4).
KEY_CHARS = 64
TEXT_CHARS = 255
BATCH_ROWS = 5000


def _portable_type(column: sa.Column[Any], keyed: bool) -> sa.types.TypeEngine[Any]:
    """Maps a reflected SQLite column type to one every supported server accepts."""
    affinity = str(column.type).upper()
    if "INT" in affinity:
        return sa.BigInteger() if column.name.endswith("_minor") else sa.Integer()
    if "REAL" in affinity or "FLOA" in affinity or "DOUB" in affinity:
        return sa.Double()  # sa.Float would be single precision on MariaDB: coordinates would lose metres
    return sa.String(KEY_CHARS if keyed else TEXT_CHARS)


def portable_metadata(source: sa.Engine) -> sa.MetaData:
    """Reflects ``source`` and returns the same tables with portable types, primary keys and plain indexes.

    Foreign keys and CHECK constraints are left out: the copy is a read model for the agent, loaded in bulk.
    """
    reflected = sa.MetaData()
    reflected.reflect(bind=source)
    target = sa.MetaData()
    inspector = sa.inspect(source)
    for table in reflected.sorted_tables:
        indexes = [ix for ix in inspector.get_indexes(table.name) if all(ix["column_names"])]
        keyed = {c.name for c in table.primary_key.columns}
        keyed |= {str(name) for ix in indexes for name in ix["column_names"]}
        keyed |= {c.name for c in table.columns if c.name.endswith(("_no", "_id")) or c.name in {"sku"}}
        columns = [
            sa.Column(
                c.name,
                _portable_type(c, c.name in keyed),
                primary_key=c.primary_key,
                nullable=c.nullable or not c.primary_key,
                autoincrement=False,
            )
            for c in table.columns
        ]
        copy = sa.Table(table.name, target, *columns)
        for ix in indexes:
            sa.Index(ix["name"], *(copy.c[str(n)] for n in ix["column_names"]))
    return target


def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    """Creates the source's tables in ``target_url`` (dropping existing ones of the same name) and copies every row.

    Returns:
        Rows copied per table.
    """
    source = sa.create_engine(source_url)
    target = sa.create_engine(target_url)
    counts: dict[str, int] = {}
    try:
        meta = portable_metadata(source)
        meta.drop_all(target)
        meta.create_all(target)
        with source.connect() as src, target.begin() as dst:
            for table in meta.sorted_tables:
                result = src.execute(sa.select(table))
                counts[table.name] = 0
                while batch := result.fetchmany(BATCH_ROWS):
                    dst.execute(table.insert(), [row._asdict() for row in batch])
                    counts[table.name] += len(batch)
    finally:
        source.dispose()
        target.dispose()
    return counts


def export_demo(target_url: str, archive_dir: Path) -> dict[str, int]:
    """Builds the demo ERP (its invoice PDFs go to ``archive_dir``) and copies it into ``target_url``.

    Returns:
        Rows copied per table.
    """
    with tempfile.TemporaryDirectory(prefix="oc-demo-") as tmp:
        db_path = Path(tmp) / "erp.db"
        create_demo_erp(db_path, archive_dir)
        return copy_database(f"sqlite:///{db_path}", target_url)


def _admin_url(url: sa.URL) -> sa.URL:
    """The URL of the server's maintenance database, from which databases are created and dropped."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(database="postgres")
    if backend in {"mysql", "mariadb"}:
        return url.set(database="mysql")
    if backend == "mssql":
        return url.set(database="master")
    raise ValueError(f"cannot create databases on {backend!r}; create it yourself and pass its URL")


def create_database(url: str) -> None:
    """Creates the database named in ``url`` on its server (PostgreSQL, MariaDB/MySQL, MS SQL Server)."""
    parsed = sa.make_url(url)
    name = parsed.database or ""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r}: use letters, digits and underscores only")
    charset = " CHARACTER SET utf8mb4" if parsed.get_backend_name() in {"mysql", "mariadb"} else ""
    admin = sa.create_engine(_admin_url(parsed), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}{charset}")
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    """Drops the database named in ``url``, ending other sessions on it first where the server needs that."""
    parsed = sa.make_url(url)
    name = parsed.database or ""
    admin = sa.create_engine(_admin_url(parsed), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if parsed.get_backend_name() == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    finally:
        admin.dispose()


@contextlib.contextmanager
def scratch_database(server_url: str, *, prefix: str = "oc_test_") -> Iterator[str]:
    """Creates a database with a random name (``oc_test_<hex>``) on the server of ``server_url``; drops it after.

    Yields:
        The URL of the new database (``server_url`` with the database name replaced).
    """
    url = sa.make_url(server_url).set(database=prefix + secrets.token_hex(4))
    rendered = url.render_as_string(hide_password=False)
    create_database(rendered)
    try:
        yield rendered
    finally:
        drop_database(rendered)


def main(argv: list[str] | None = None) -> int:
    """``python -m onlineconnect.agent.erp.demo.export URL``: load the demo ERP into the database at URL."""
    parser = argparse.ArgumentParser(prog="python -m onlineconnect.agent.erp.demo.export", description=__doc__)
    parser.add_argument("url", help="SQLAlchemy URL of the target database")
    parser.add_argument("--create", action="store_true", help="create the database on its server first")
    parser.add_argument("--archive", type=Path, default=Path("archive"), help="folder for the demo invoice PDFs")
    args = parser.parse_args(argv)
    if args.create:
        create_database(args.url)
    counts = export_demo(args.url, args.archive)
    for table, n in counts.items():
        print(f"{table:24} {n:>8} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
