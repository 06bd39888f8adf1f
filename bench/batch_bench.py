"""One BatchGetStoreStock of 100 SKUs against 100 single GetStoreStock calls, through the relay, in one run.

Starts gateway + agent as processes on the demo ERP. The demo has about 30 article variants; the benchmark adds
variants (copies of existing ones with the same store stock) until the ``article_variants`` table holds ``--skus``,
then takes the SKU list from that table. Each round times three ways of asking for the same SKUs — one batch call,
single calls one after another, and single calls ``--parallel`` at a time on one channel — and the script prints
the median and p90 over ``--rounds`` rounds.

    .venv/bin/python bench/batch_bench.py             # 100 SKUs, 20 rounds
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from harness import AUTH, POSTCODE, RESULTS, demo_erp, percentile, relay_stack, write_results

from onlineconnect.v1 import stock_pb2, stock_pb2_grpc


def demo_skus(db: Path, count: int) -> list[str]:
    """Grows ``article_variants`` (and their store stock) to at least ``count`` rows; returns ``count`` SKUs."""
    con = sqlite3.connect(db)
    try:
        skus = [row[0] for row in con.execute("SELECT sku FROM article_variants ORDER BY sku")]
        originals = list(skus)
        n = 0
        while len(skus) < count:
            source = originals[n % len(originals)]
            copy = f"{source}-B{n // len(originals)}"
            con.execute(
                "INSERT INTO article_variants (sku, article_no, colour, size, price_minor) "
                "SELECT ?, article_no, colour, size, price_minor FROM article_variants WHERE sku = ?",
                (copy, source),
            )
            con.execute(
                "INSERT INTO store_stock (sku, store_id, on_hand, reserved, display_only) "
                "SELECT ?, store_id, on_hand, reserved, display_only FROM store_stock WHERE sku = ?",
                (copy, source),
            )
            skus.append(copy)
            n += 1
        con.commit()
    finally:
        con.close()
    return skus[:count]


async def one_round(stub: stock_pb2_grpc.StockServiceStub, skus: list[str], parallel: int) -> dict[str, float]:
    """Times the three ways once (milliseconds) and checks each answered every SKU.

    The concurrent way keeps at most ``parallel`` calls in flight: the gateway refuses more than a tenant's
    ``max_in_flight`` (64 by default) with RESOURCE_EXHAUSTED, so a shop must not fire 100 at once.
    """
    location = stock_pb2.Location(postcode=POSTCODE, country="DE")

    def single(sku: str) -> grpc.aio.UnaryUnaryCall:
        return stub.GetStoreStock(stock_pb2.GetStoreStockRequest(sku=sku, location=location), metadata=AUTH, timeout=30)

    t0 = time.perf_counter()
    batch = await stub.BatchGetStoreStock(
        stock_pb2.BatchGetStoreStockRequest(skus=skus, location=location), metadata=AUTH, timeout=30
    )
    t1 = time.perf_counter()
    sequential = [await single(sku) for sku in skus]
    t2 = time.perf_counter()
    gate = asyncio.Semaphore(parallel)

    async def gated(sku: str) -> stock_pb2.GetStoreStockResponse:
        async with gate:
            return await single(sku)

    concurrent = await asyncio.gather(*(gated(sku) for sku in skus))
    t3 = time.perf_counter()
    bad = [e.sku for e in batch.entries if e.code != 0]
    if len(batch.entries) != len(skus) or bad:
        raise RuntimeError(f"the batch did not answer every SKU: {len(batch.entries)} entries, failed {bad[:5]}")
    if [r.article.sku for r in sequential] != skus or [r.article.sku for r in concurrent] != skus:
        raise RuntimeError("a single call answered for the wrong SKU")
    return {"batch": (t1 - t0) * 1000, "sequential": (t2 - t1) * 1000, "concurrent": (t3 - t2) * 1000}


async def run(address: str, skus: list[str], rounds: int, parallel: int) -> dict[str, dict[str, float]]:
    """``rounds`` measured rounds after one warm-up; returns median/p90/min per way."""
    async with grpc.aio.insecure_channel(address) as ch:
        stub = stock_pb2_grpc.StockServiceStub(ch)
        await one_round(stub, skus, parallel)
        samples: dict[str, list[float]] = {"batch": [], "sequential": [], "concurrent": []}
        for _ in range(rounds):
            for way, ms in (await one_round(stub, skus, parallel)).items():
                samples[way].append(ms)
    summary = {}
    for way, values in samples.items():
        values.sort()
        summary[way] = {
            "median_ms": statistics.median(values),
            "p90_ms": percentile(values, 90),
            "min_ms": values[0],
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100, help="SKUs per batch (the API allows 1-100)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=32, help="single calls in flight at once (concurrent way)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp")
        skus = demo_skus(erp / "erp.db", args.skus)
        with relay_stack(folder, erp) as stack:
            summary = asyncio.run(run(stack.address, skus, args.rounds, args.parallel))
    batch = summary["batch"]["median_ms"]
    print(f"\n{len(skus)} SKUs through the relay, {args.rounds} rounds")
    print(f"{'way':<34}{'median ms':>10}{'p90 ms':>9}{'vs batch':>9}")
    labels = {
        "batch": "1 BatchGetStoreStock",
        "sequential": f"{len(skus)} GetStoreStock, one after another",
        "concurrent": f"{len(skus)} GetStoreStock, {args.parallel} at once",
    }
    for way, m in summary.items():
        print(f"{labels[way]:<34}{m['median_ms']:>10.1f}{m['p90_ms']:>9.1f}{m['median_ms'] / batch:>8.1f}x")
    path = write_results(
        "batch", {"skus": len(skus), "rounds": args.rounds, "parallel": args.parallel, "results": summary}, args.out
    )
    print(f"written: {path} and batch-latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
