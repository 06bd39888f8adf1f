"""GetOrder and ListOrders latency on a large ERP versus the small demo, both in PostgreSQL.

Measures the agent's own work per call (the mapped queries through SQLAlchemy plus building the answer), as the
worker thread does it, without the tunnel: median and p99 over many calls on random customers and orders.

    # once (a few minutes): 100,000 customers, 1,000,000 orders
    python -m onlineconnect.agent.erp.bigseed postgresql+psycopg://postgres@127.0.0.1/oc_bench_big --create
    python bench/erp_scale.py --big postgresql+psycopg://postgres@127.0.0.1/oc_bench_big

The small demo is loaded into a scratch database on the same server and dropped afterwards. Writes
``bench/results/erp-scale-<time>.json`` and ``erp-scale-latest.json``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from harness import RESULTS, write_results

from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo.export import export_demo, scratch_database
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.orders.testing import context
from onlineconnect.v1 import orders_pb2 as pb


def _sample(db: SqlAlchemyDatabase, n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` random (customer, order) pairs of the database."""
    with db.engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT COUNT(*) FROM orders").scalar_one()
        pick = random.Random(seed)
        offsets = sorted(pick.randrange(count) for _ in range(n))
        pairs = [
            tuple(conn.exec_driver_sql(f"SELECT customer_no, order_no FROM orders OFFSET {o} LIMIT 1").one())
            for o in offsets
        ]
    pick.shuffle(pairs)
    return [(str(c), str(o)) for c, o in pairs]


def _measure(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def run(label: str, url: str, calls: int) -> dict[str, object]:
    """Prints and returns median and p99 of GetOrder and ListOrders (first page of 20) on the database at ``url``."""
    db = SqlAlchemyDatabase(url, load_mapping())
    try:
        queries = OrderQueries(db, OrderSettings(archive_root=Path("/nonexistent")))
        pairs = _sample(db, min(calls, 500), seed=7)
        it = itertools.cycle(pairs)
        for c, o in pairs[:20]:  # warm the pool and the caches
            queries.get_order(pb.GetOrderRequest(customer_number=c, order_number=o), context())

        def get_order() -> object:
            c, o = next(it)
            return queries.get_order(pb.GetOrderRequest(customer_number=c, order_number=o), context())

        def list_orders() -> object:
            c, _ = next(it)
            return queries.list_orders(pb.ListOrdersRequest(customer_number=c, page_size=20), context())

        with db.engine.connect() as conn:
            orders = conn.exec_driver_sql("SELECT COUNT(*) FROM orders").scalar_one()
        result: dict[str, object] = {"orders": orders, "calls": calls}
        for name, fn in (("GetOrder", get_order), ("ListOrders", list_orders)):
            median, p99 = _measure(fn, calls)
            result[name] = {"median_ms": round(median, 3), "p99_ms": round(p99, 3)}
            print(
                f"{label:6} {orders:>9} orders  {name:10} median {median:6.2f} ms  p99 {p99:6.2f} ms  ({calls} calls)"
            )
        return result
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", required=True, help="URL of the database filled by onlineconnect.agent.erp.bigseed")
    parser.add_argument("--calls", type=int, default=2000, help="calls per measurement")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result files")
    args = parser.parse_args(argv)
    server = sa.make_url(args.big).set(database="postgres").render_as_string(hide_password=False)
    with scratch_database(server, prefix="oc_bench_") as small, tempfile.TemporaryDirectory() as tmp:
        export_demo(small, Path(tmp) / "archive")
        demo = run("demo", small, args.calls)
    large = run("large", args.big, args.calls)
    path = write_results("erp-scale", {"demo": demo, "large": large}, args.out)
    print(f"written: {path} and erp-scale-latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
