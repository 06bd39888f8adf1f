"""Test helpers: the demo ERP opened for the stock queries, with the clock pinned to the demo's reference date.

Used by the project's tests and handy for a shop developer's own: ``demo_queries(tmp_path)`` gives a ready
:class:`StockQueries` on a fresh demo database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..context import CallContext
from ..erp.db import SqlAlchemyDatabase
from ..erp.demo import create_demo_erp
from ..erp.mapping import load_mapping
from .queries import StockQueries
from .settings import StockSettings

#: The demo data's "now": its upcoming closing days are relative to this instant.
DEMO_NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)

# Modules declaring the other roles' queries; the default mapping files name them, so they must be known.


def demo_database(folder: Path) -> SqlAlchemyDatabase:
    """Creates the demo ERP in ``folder`` and opens it with the default mapping."""
    db_path = folder / "erp.db"
    create_demo_erp(db_path, folder / "archive")
    return SqlAlchemyDatabase(f"sqlite:///{db_path}", load_mapping())


def demo_queries(folder: Path, settings: StockSettings | None = None) -> StockQueries:
    """A :class:`StockQueries` on a fresh demo ERP in ``folder``, its clock pinned to :data:`DEMO_NOW`."""
    return StockQueries(demo_database(folder), settings or StockSettings(), clock=lambda: DEMO_NOW)


def context(seconds: float | None = 10.0) -> CallContext:
    """A call context for tenant ``demo`` with a deadline ``seconds`` from now."""
    return CallContext.with_timeout("demo", seconds, shop="test")
