"""Head-of-line blocking: does a 2 s query on a tunnel slow down the fast queries sharing it?

Runs a real gateway and one agent tunnel in this process (:func:`onlineconnect.testing.running_relay`) with the
in-memory handlers of ``onlineconnect.testing.fakes``, whose GetOrder for order ``SLOW`` sleeps ``--slow-seconds``. A
flood of
fast GetOrder calls (closed loop, ``--concurrency`` callers in a separate load process, :mod:`loadgen`) runs in
alternating phases: alone, and with slow queries kept in flight on the same tunnel the whole time (``--slow``
at once, each started again as soon as it ends). Target: the flood's p99 with the slow queries stays within 10%
of the flood alone. Phases alternate (``--rounds`` of each) so drift of a shared machine hits both alike.

    .venv/bin/python bench/hol_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from harness import RESULTS, percentile, write_results

from onlineconnect.logs import configure
from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

from loadgen import Job, run

TARGET_RATIO = 1.10


async def keep_slow_in_flight(relay: RunningRelay, parallel: int, stop: asyncio.Event) -> list[float]:
    """Keeps ``parallel`` slow GetOrder calls running until ``stop``; returns each one's seconds."""
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    request = orders_pb2.GetOrderRequest(customer_number="4711", order_number="SLOW")
    took: list[float] = []

    async def loop() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await stub.GetOrder(request, metadata=relay.shop_auth, timeout=30)
            took.append(time.perf_counter() - t0)

    await asyncio.gather(*(loop() for _ in range(parallel)))
    return took


async def phase(
    relay: RunningRelay, *, slow: int, concurrency: int, seconds: float
) -> tuple[list[int], int, list[float]]:
    """One flood phase; returns (fast latencies in ns, errors, slow-call durations)."""
    job = Job(relay.address, "GetOrder", concurrency, seconds, 1.0, relay.shop_auth)
    stop = asyncio.Event()
    slow_task = asyncio.create_task(keep_slow_in_flight(relay, slow, stop)) if slow else None
    if slow_task is not None:
        await asyncio.sleep(0.2)  # the slow calls are in flight before the flood's clock starts
    try:
        latencies, errors = await asyncio.to_thread(run, job, 1)
    finally:
        stop.set()
    slow_took = await slow_task if slow_task is not None else []
    return latencies, errors, slow_took


def summary(latencies_ns: list[int], errors: int, seconds: float) -> dict[str, float]:
    """Latency percentiles (ms) and throughput of a set of phases."""
    ms = sorted(x / 1e6 for x in latencies_ns)
    return {
        "requests": len(ms),
        "errors": errors,
        "rps": len(ms) / seconds,
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
    }


async def bench(args: argparse.Namespace) -> dict[str, object]:
    handlers = FakeHandlers(pdf_size=1)
    handlers.slow_seconds = args.slow_seconds
    lat: dict[str, list[int]] = {"alone": [], "with_slow": []}
    errors = {"alone": 0, "with_slow": 0}
    slow_took: list[float] = []
    async with running_relay(handlers) as relay:
        for r in range(args.rounds):
            for mode, slow in (("alone", 0), ("with_slow", args.slow)):
                print(f"round {r + 1}/{args.rounds}: flood {mode} …", end=" ", flush=True)
                got, err, took = await phase(relay, slow=slow, concurrency=args.concurrency, seconds=args.seconds)
                lat[mode] += got
                errors[mode] += err
                slow_took += took
                ms = sorted(x / 1e6 for x in got)
                print(f"{len(ms)} calls, p99 {percentile(ms, 99):.2f} ms", flush=True)
    total = args.rounds * args.seconds
    alone = summary(lat["alone"], errors["alone"], total)
    with_slow = summary(lat["with_slow"], errors["with_slow"], total)
    ratio = with_slow["p99_ms"] / alone["p99_ms"]
    return {
        "flood_concurrency": args.concurrency,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "slow_in_flight": args.slow,
        "slow_seconds": args.slow_seconds,
        "slow_calls_completed": len(slow_took),
        "slow_call_seconds_median": statistics.median(slow_took) if slow_took else float("nan"),
        "alone": alone,
        "with_slow": with_slow,
        "p99_ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8, help="fast callers in the flood")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per phase")
    parser.add_argument("--rounds", type=int, default=3, help="phases of each kind, alternating")
    parser.add_argument("--slow", type=int, default=1, help="slow queries kept in flight during a slow phase")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    configure(level="warning")  # a log line per request would cost more CPU than the relay itself
    doc = asyncio.run(bench(args))
    print(f"\n{'flood':<11}{'calls':>7}{'req/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    for mode in ("alone", "with_slow"):
        m = doc[mode]
        assert isinstance(m, dict)
        print(
            f"{mode:<11}{m['requests']:>7}{m['rps']:>8.0f}{m['p50_ms']:>8.2f}{m['p90_ms']:>8.2f}"
            f"{m['p99_ms']:>8.2f}{m['max_ms']:>8.2f}"
        )
    print(
        f"p99 with {args.slow} slow ({args.slow_seconds:g} s) queries in flight / alone: {doc['p99_ratio']:.3f} "
        f"(target <= {TARGET_RATIO}: {'met' if doc['target_met'] else 'MISSED'}); "
        f"{doc['slow_calls_completed']} slow calls took {doc['slow_call_seconds_median']:.2f} s (median)"
    )
    path = write_results("hol", doc, args.out)
    print(f"written: {path} and hol-latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
