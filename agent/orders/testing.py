"""Test helpers: the demo ERP opened for the order queries.

Used by the project's tests and handy for a shop developer's own: ``demo_queries(tmp_path)`` gives a ready
:class:`OrderQueries` on a fresh demo database whose invoice archive lives in ``tmp_path / "archive"``.
"""

from __future__ import annotations

from pathlib import Path

from ..context import CallContext
from ..erp.db import SqlAlchemyDatabase
from ..erp.demo import create_demo_erp
from ..erp.mapping import load_mapping
from .queries import OrderQueries
from .settings import OrderSettings

# Modules declaring the other roles' queries; the default mapping files name them, so they must be known.


def demo_database(folder: Path, *, build: bool = True) -> SqlAlchemyDatabase:
    """Opens the demo ERP in ``folder`` (``erp.db``, ``archive/``) with the default mapping, creating it first.

    Args:
        folder: Folder for the database file and the invoice archive.
        build: Create (or re-create) the demo data first; False opens an existing ``erp.db``.
    """
    db_path = folder / "erp.db"
    if build:
        create_demo_erp(db_path, folder / "archive")
    return SqlAlchemyDatabase(f"sqlite:///{db_path}", load_mapping())


def demo_queries(folder: Path, settings: OrderSettings | None = None) -> OrderQueries:
    """An :class:`OrderQueries` on a fresh demo ERP in ``folder``, archive root ``folder / "archive"``."""
    db = demo_database(folder)
    return OrderQueries(db, settings or OrderSettings(archive_root=folder / "archive"))


def context(seconds: float | None = 10.0) -> CallContext:
    """A call context for tenant ``demo`` with a deadline ``seconds`` from now."""
    return CallContext.with_timeout("demo", seconds, shop="test")
