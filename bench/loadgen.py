"""A closed-loop gRPC load generator: worker processes, each with many concurrent callers on one channel.

Several processes keep the generator from being the bottleneck of a Python server; each caller issues the next
call as soon as the previous one answered and records its latency.
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing as mp
import time
from dataclasses import dataclass

import grpc

from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc


@dataclass(frozen=True)
class Job:
    """One measurement: an RPC against an address at a concurrency for some seconds."""

    address: str
    rpc: str  # "GetOrder" or "GetStoreStock"
    concurrency: int
    seconds: float
    warmup: float
    metadata: tuple[tuple[str, str], ...]


def _caller(job: Job):  # type: ignore[no-untyped-def]
    ch = grpc.aio.insecure_channel(job.address)
    if job.rpc == "GetOrder":
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        req = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
        return ch, lambda: stub.GetOrder(req, metadata=job.metadata, timeout=10)
    stub2 = stock_pb2_grpc.StockServiceStub(ch)
    req2 = stock_pb2.GetStoreStockRequest(
        sku="851888-XS-KI", location=stock_pb2.Location(postcode="68766", country="DE")
    )
    return ch, lambda: stub2.GetStoreStock(req2, metadata=job.metadata, timeout=10)


async def _run(job: Job, callers: int) -> tuple[list[int], dict[str, int]]:
    ch, call = _caller(job)
    await call()  # connect before the clock starts
    latencies: list[int] = []
    errors: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    measure_from = start + job.warmup
    stop = measure_from + job.seconds

    async def loop() -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= stop:
                return
            try:
                await call()
            except grpc.aio.AioRpcError as exc:
                if t0 >= measure_from:
                    errors[exc.code().name] += 1
                continue
            if t0 >= measure_from:
                latencies.append(int((time.perf_counter() - t0) * 1e9))

    await asyncio.gather(*(loop() for _ in range(callers)))
    await ch.close()
    return latencies, dict(errors)


def _worker(job: Job, callers: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(_run(job, callers)))


def run(job: Job, processes: int) -> tuple[list[int], int]:
    """Runs ``job`` spread over ``processes`` worker processes; returns (latencies in ns, failed calls)."""
    latencies, codes = run_with_codes(job, processes)
    return latencies, sum(codes.values())


def run_with_codes(job: Job, processes: int) -> tuple[list[int], dict[str, int]]:
    """Like :func:`run`, with the failed calls of the measured time counted per gRPC status code."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    per = [job.concurrency // processes + (1 if i < job.concurrency % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_worker, args=(job, n, q)) for n in per if n]
    for p in procs:
        p.start()
    latencies: list[int] = []
    errors: collections.Counter[str] = collections.Counter()
    for _ in procs:
        lat, err = q.get()
        latencies += lat
        errors.update(err)
    for p in procs:
        p.join()
    return latencies, dict(errors)
