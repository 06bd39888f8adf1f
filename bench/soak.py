"""``make soak``: mixed load for ``--minutes`` (30) at about 70 % of capacity; do gateway and agent stay flat?

Gateway and agent run as processes on the demo ERP (the gateway with its HTTP/JSON door and metrics endpoint); the
agent reaches the gateway through a
:class:`onlineconnect.testing.wan.Link` without delay or cap, which this script cuts every
``--reconnect-every`` seconds so the agent process reconnects (same process, new tunnel). Capacity is measured
first (the same mix, closed loop, 16 callers); then a load process fires calls open-loop at ``--share`` of it, mixing
every RPC through the gRPC door, GetOrder/GetStoreStock/ListOrders through the HTTP/JSON door, full invoice PDF
streams, calls cancelled mid-way (unary and streams) and calls with deadlines that expire.

Every ``--sample-seconds`` the script reads, for gateway and agent, RSS, open file descriptors and threads from
/proc and the number of asyncio tasks, which each process reports once a second: both run under
``soak.py probe``, which starts the real console script's ``main`` with one extra task that writes the count of
the loop's other tasks to a file (the gateway's metrics have no such gauge). After the warm-up (a quarter of the
run, at most 5 minutes) the growth of each figure is the mean of the last three samples minus the mean of the
three at the end of warm-up. Targets: RSS growth ≤ 5 MB per process; descriptors, tasks and threads flat: counted
at rest (no call in flight) before the soak and after it, they differ by at most a few (``FLAT``). Writes
``bench/results/soak-<time>.json``, ``soak-latest.json`` and ``soak-latest.png`` (RSS over time).

    .venv/bin/python bench/soak.py                # 30 minutes
    .venv/bin/python bench/soak.py --minutes 2    # the test suite's version
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import AUTH, ORDER, POSTCODE, RESULTS, SKU, demo_erp, lift_shop_limits, wait_port, write_results

from onlineconnect.testing.processes import (
    BIN,
    SHOP_KEY,
    free_port,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)
from onlineconnect.testing.wan import NONE, Link

TARGET_RSS_MB = 5.0
CAPACITY_CALLERS = 16
FLAT = {"fds": 4, "tasks": 4, "threads": 2}  # at rest; a thread pool may have grown by one or two

# (door, operation, weight): what the load process mixes, by share of calls.
MIX = (
    ("grpc", "GetOrder", 20),
    ("grpc", "ListOrders", 10),
    ("grpc", "GetReorderItems", 6),
    ("grpc", "GetStoreStock", 14),
    ("grpc", "BatchGetStoreStock", 6),
    ("grpc", "GetInvoicePdf", 4),
    ("http", "GetOrder", 10),
    ("http", "GetStoreStock", 8),
    ("http", "ListOrders", 6),
    ("grpc", "cancel-unary", 6),
    ("grpc", "cancel-stream", 2),
    ("grpc", "expired-deadline", 6),
    ("http", "expired-deadline", 2),
)


# --- the probe: a console script's main with an asyncio task counter -------------------------------------------


def probe(out: Path, role: str, argv: list[str]) -> int:
    """Runs the gateway's or agent's ``main(argv)``; once a second writes the loop's task count to ``out``."""
    original = asyncio.run
    tmp = out.with_suffix(".tmp")

    async def report() -> None:
        while True:
            tasks = len(asyncio.all_tasks()) - 1  # not this one
            # A few bytes, written whole (rename) so a reader never sees an empty file; a worker thread would count.
            tmp.write_text(f"{tasks}\n")
            tmp.replace(out)
            await asyncio.sleep(1.0)

    def run_counted(main: Any, **kwargs: Any) -> Any:
        async def counted() -> Any:
            reporter = asyncio.create_task(report())
            try:
                return await main
            finally:
                reporter.cancel()

        return original(counted(), **kwargs)

    asyncio.run = run_counted  # type: ignore[assignment]
    if role == "gateway":
        from onlineconnect.gateway.__main__ import main
    else:
        from onlineconnect.agent.__main__ import main
    return int(main(argv) or 0)


# --- the load process ------------------------------------------------------------------------------------------


def _load(address: str, http_port: int, rate: float, seconds: float, callers: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(_open_loop(address, http_port, rate, seconds, callers)))


async def _open_loop(address: str, http_port: int, rate: float, seconds: float, callers: int) -> dict[str, Any]:
    """Fires the mix at ``rate`` calls/s for ``seconds`` (open loop); with ``callers``, closed loop instead."""
    import grpc
    import httpx

    from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

    ch = grpc.aio.insecure_channel(address)
    orders, stock = orders_pb2_grpc.OrderServiceStub(ch), stock_pb2_grpc.StockServiceStub(ch)
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=10)
    auth = {"authorization": f"Bearer {SHOP_KEY}"}
    get = orders_pb2.GetOrderRequest(customer_number=ORDER[0], order_number=ORDER[1])
    loc = stock_pb2.Location(postcode=POSTCODE, country="DE")
    doc = (await orders.GetOrder(get, metadata=AUTH, timeout=10)).order.documents[0].document_id
    pdf = orders_pb2.GetInvoicePdfRequest(customer_number=ORDER[0], order_number=ORDER[1], document_id=doc)
    requests = {
        "GetOrder": get,
        "ListOrders": orders_pb2.ListOrdersRequest(customer_number=ORDER[0], page_size=5),
        "GetReorderItems": orders_pb2.GetReorderItemsRequest(customer_number=ORDER[0], order_number=ORDER[1]),
        "GetStoreStock": stock_pb2.GetStoreStockRequest(sku=SKU, location=loc),
        "BatchGetStoreStock": stock_pb2.BatchGetStoreStockRequest(skus=[SKU, "851888-M-KI"], location=loc),
    }
    json_bodies = {
        "GetOrder": ("/onlineconnect.v1.OrderService/GetOrder", {"customerNumber": ORDER[0], "orderNumber": ORDER[1]}),
        "GetStoreStock": (
            "/onlineconnect.v1.StockService/GetStoreStock",
            {"sku": SKU, "location": {"postcode": POSTCODE, "country": "DE"}},
        ),
        "ListOrders": ("/onlineconnect.v1.OrderService/ListOrders", {"customerNumber": ORDER[0], "pageSize": 5}),
    }
    methods = {
        "GetOrder": orders.GetOrder,
        "ListOrders": orders.ListOrders,
        "GetReorderItems": orders.GetReorderItems,
        "GetStoreStock": stock.GetStoreStock,
        "BatchGetStoreStock": stock.BatchGetStoreStock,
    }
    outcomes: collections.Counter[str] = collections.Counter()
    rng = random.Random(20)
    ops = [(door, op) for door, op, weight in MIX for _ in range(weight)]

    async def one(door: str, op: str) -> str:
        try:
            if door == "http":
                timeout_ms = "1" if op == "expired-deadline" else "10000"
                path, body = json_bodies["GetOrder" if op == "expired-deadline" else op]
                headers = {**auth, "connect-timeout-ms": timeout_ms}
                r = await http.post(path, json=body, headers=headers)
                return f"http {r.status_code}"
            if op == "GetInvoicePdf":
                size = 0
                async for chunk in orders.GetInvoicePdf(pdf, metadata=AUTH, timeout=10):
                    size += len(chunk.data)
                return "OK"
            if op == "cancel-unary":
                call = orders.GetOrder(get, metadata=AUTH, timeout=10)
                await asyncio.sleep(rng.uniform(0, 0.004))
                call.cancel()
                try:
                    await call
                except asyncio.CancelledError:
                    return "CANCELLED"
                return "OK (before the cancel)"
            if op == "cancel-stream":
                stream = orders.GetInvoicePdf(pdf, metadata=AUTH, timeout=10)
                async for _chunk in stream:
                    break
                stream.cancel()
                return "CANCELLED"
            if op == "expired-deadline":
                await orders.GetOrder(get, metadata=AUTH, timeout=0.001)
                return "OK"
            await methods[op](requests[op], metadata=AUTH, timeout=10)
            return "OK"
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
        except asyncio.CancelledError:
            return "CANCELLED"
        except httpx.HTTPError as exc:
            return f"http {type(exc).__name__}"

    tasks: set[asyncio.Task[None]] = set()

    async def record(door: str, op: str) -> None:
        outcomes[f"{door} {op}: {await one(door, op)}"] += 1

    start = time.monotonic()
    n = 0
    skipped = 0
    skipped_at: collections.Counter[int] = collections.Counter()
    if callers:  # capacity: each caller starts its next call as soon as the last one ended

        async def caller() -> None:
            nonlocal n
            while time.monotonic() < start + seconds:
                n += 1
                await record(*rng.choice(ops))

        await asyncio.gather(*(caller() for _ in range(callers)))
    while not callers and (now := time.monotonic()) < start + seconds:
        due = start + n / rate
        if due > now:
            await asyncio.sleep(due - now)
        n += 1
        if len(tasks) >= 256:  # the system fell behind: count the call as skipped instead of piling up
            skipped += 1
            skipped_at[int((now - start) // 10 * 10)] += 1
            continue
        task = asyncio.create_task(record(*rng.choice(ops)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks, return_exceptions=True)
    await http.aclose()
    await ch.close()
    return {
        "calls": n - skipped,
        "skipped": skipped,
        "skipped_per_10_s": {f"{t} s": c for t, c in sorted(skipped_at.items())},
        "outcomes": dict(sorted(outcomes.items())),
    }


# --- sampling ------------------------------------------------------------------------------------------------


def sample(pid: int, tasks_file: Path) -> dict[str, float]:
    """RSS (MB), open descriptors, threads and asyncio tasks of ``pid`` now."""
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        status[key] = rest.split()
    try:
        tasks = float(tasks_file.read_text().strip() or "nan")
    except (OSError, ValueError):
        tasks = float("nan")
    return {
        "rss_mb": int(status["VmRSS"][0]) / 1024,
        "fds": float(len(os.listdir(f"/proc/{pid}/fd"))),
        "threads": float(status["Threads"][0]),
        "tasks": tasks,
    }


def growth(samples: list[dict[str, Any]], warmup: float, role: str, key: str) -> dict[str, float]:
    """Mean of the last three samples minus the mean of the three at the end of warm-up."""
    after = [s for s in samples if s["t"] >= warmup and s[role][key] == s[role][key]]  # NaN: not read
    if len(after) < 6:
        return {"start": float("nan"), "end": float("nan"), "growth": float("nan"), "max": float("nan")}
    first = statistics.fmean(s[role][key] for s in after[:3])
    last = statistics.fmean(s[role][key] for s in after[-3:])
    return {
        "start": round(first, 2),
        "end": round(last, 2),
        "growth": round(last - first, 2),
        "max": max(s[role][key] for s in after),
    }


def chart(samples: list[dict[str, Any]], warmup: float, cuts: list[float], path: Path) -> None:
    """RSS of gateway and agent over time, warm-up and reconnects marked; tasks and fds below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(2, 1))
    minutes = [s["t"] / 60 for s in samples]
    for role, colour in (("gateway", "C0"), ("agent", "C1")):
        top.plot(minutes, [s[role]["rss_mb"] for s in samples], color=colour, label=f"{role} RSS")
        bottom.plot(minutes, [s[role]["tasks"] for s in samples], color=colour, label=f"{role} asyncio tasks")
        fds = [s[role]["fds"] for s in samples]
        bottom.plot(minutes, fds, color=colour, linestyle="--", label=f"{role} open fds")
    for ax in (top, bottom):
        ax.axvspan(0, warmup / 60, color="grey", alpha=0.15)
        for c in cuts:
            ax.axvline(c / 60, color="red", alpha=0.25, linewidth=0.8)
    top.set_ylabel("MB")
    top.set_title("soak: RSS over time (grey: warm-up, red: agent reconnect)")
    top.legend()
    bottom.set_xlabel("minutes")
    bottom.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the run -------------------------------------------------------------------------------------------------


def start_probed(role: str, args: list[str], folder: Path) -> tuple[Any, Path]:
    """Starts ``soak.py probe <role>`` (the real console script's main) with its log in ``folder``."""
    import subprocess

    tasks_file = folder / f"{role}.tasks"
    log = open(folder / f"{role}.log", "ab")
    cmd = [str(BIN / "python"), __file__, "probe", role, str(tasks_file), "--", *args]
    popen = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log.close()
    return popen, tasks_file


async def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    seconds = args.minutes * 60
    warmup = min(300.0, seconds / 4)
    erp = demo_erp(folder / "erp")
    port, http_port, metrics_port = free_port(), free_port(), free_port()
    gw_config = lift_shop_limits(write_gateway_config(folder, port))
    gw_config.write_text(
        gw_config.read_text() + f'\n[http]\nlisten = "127.0.0.1:{http_port}"\n'
        f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
    )
    gateway, gw_tasks = start_probed("gateway", ["--config", str(gw_config)], folder)
    procs = [gateway]
    link = Link("127.0.0.1", port, NONE)
    try:
        await asyncio.to_thread(wait_port, port)
        await link.start()
        agent_config = write_agent_config(folder, link.port, erp)
        agent, agent_tasks = start_probed("agent", ["--config", str(agent_config)], folder)
        procs.append(agent)
        address = f"127.0.0.1:{port}"
        await asyncio.to_thread(wait_serving, address)
        print(f"measuring capacity (the same mix, closed loop, {CAPACITY_CALLERS} callers, 8 s) …", flush=True)
        ctx = mp.get_context("spawn")
        results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        probe_load = ctx.Process(target=_load, args=(address, http_port, 0, 8.0, CAPACITY_CALLERS, results))
        probe_load.start()
        capacity_run = await asyncio.to_thread(results.get, True, 120)
        await asyncio.to_thread(probe_load.join, 30)
        capacity = capacity_run["calls"] / 8.0
        rate = capacity * args.share
        print(f"capacity {capacity:.0f} calls/s; soak at {rate:.0f} calls/s for {args.minutes:g} min", flush=True)
        await asyncio.sleep(3)  # the probe's calls are done: the figures at rest before the soak
        rest_before = {"gateway": sample(gateway.pid, gw_tasks), "agent": sample(agent.pid, agent_tasks)}
        load = ctx.Process(target=_load, args=(address, http_port, rate, seconds, 0, results))
        load.start()
        samples: list[dict[str, Any]] = []
        cuts: list[float] = []
        t0 = time.monotonic()
        next_cut = args.reconnect_every
        next_print = 0.0
        while (t := time.monotonic() - t0) < seconds:
            samples.append(
                {"t": round(t, 1), "gateway": sample(gateway.pid, gw_tasks), "agent": sample(agent.pid, agent_tasks)}
            )
            if t >= next_cut:
                dropped = link.cut()
                cuts.append(round(t, 1))
                next_cut += args.reconnect_every
                print(f"  {t / 60:5.1f} min: cut the agent's link ({dropped} sockets); it reconnects", flush=True)
            if t >= next_print:
                s = samples[-1]
                print(
                    f"  {t / 60:5.1f} min: gateway {s['gateway']['rss_mb']:.1f} MB, {s['gateway']['fds']:.0f} fds, "
                    f"{s['gateway']['tasks']:.0f} tasks | agent {s['agent']['rss_mb']:.1f} MB, "
                    f"{s['agent']['fds']:.0f} fds, {s['agent']['tasks']:.0f} tasks",
                    flush=True,
                )
                next_print += max(10.0, seconds / 30)
            await asyncio.sleep(args.sample_seconds)
        load_result = await asyncio.to_thread(results.get, True, 120)
        await asyncio.to_thread(load.join, 30)
        await asyncio.sleep(5)  # every call has ended and the shop's connections are closed: at rest again
        rest_after = {"gateway": sample(gateway.pid, gw_tasks), "agent": sample(agent.pid, agent_tasks)}
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                await asyncio.to_thread(p.wait, 20)
            except Exception:
                p.kill()
        await link.stop()
    verdict: dict[str, Any] = {}
    ok = True
    for role in ("gateway", "agent"):
        verdict[role] = {key: growth(samples, warmup, role, key) for key in ("rss_mb", "fds", "threads", "tasks")}
        verdict[role]["at_rest"] = {
            key: {"before": rest_before[role][key], "after": rest_after[role][key]} for key in FLAT
        }
        rss_ok = verdict[role]["rss_mb"]["growth"] <= TARGET_RSS_MB
        flat_ok = all(rest_after[role][k] - rest_before[role][k] <= FLAT[k] for k in FLAT)
        verdict[role]["met"] = bool(rss_ok and flat_ok)
        ok = ok and verdict[role]["met"]
    return {
        "minutes": args.minutes,
        "warmup_seconds": warmup,
        "capacity_calls_per_second": round(capacity, 1),
        "capacity_outcomes": capacity_run["outcomes"],
        "rate_calls_per_second": round(rate, 1),
        "share_of_capacity": args.share,
        "reconnects": len(cuts),
        "reconnect_times_s": cuts,
        "mix": [{"door": d, "operation": o, "weight": w} for d, o, w in MIX],
        "load": load_result,
        "targets": {"rss_growth_mb_max": TARGET_RSS_MB, "flat_tolerance": FLAT},
        "growth": verdict,
        "met": ok,
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe"]:
        role, out = argv[1], Path(argv[2])
        return probe(out, role, argv[4:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--share", type=float, default=0.7, help="share of the measured capacity to offer")
    parser.add_argument("--reconnect-every", type=float, default=180.0, help="seconds between link cuts")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        doc = asyncio.run(soak(args, Path(tmp)))
    print()
    print(f"offered {doc['rate_calls_per_second']} calls/s ({args.share:.0%} of {doc['capacity_calls_per_second']})")
    print(f"calls: {doc['load']['calls']}, skipped (system behind): {doc['load']['skipped']}")
    for outcome, count in doc["load"]["outcomes"].items():
        print(f"  {count:>8}  {outcome}")
    for role in ("gateway", "agent"):
        g = doc["growth"][role]
        rest = "; ".join(f"{k} {v['before']:.0f} → {v['after']:.0f}" for k, v in g["at_rest"].items())
        print(
            f"{role}: RSS after warm-up {g['rss_mb']['start']} → {g['rss_mb']['end']} MB "
            f"({g['rss_mb']['growth']:+.2f}); "
            f"at rest before → after the soak: {rest} — {'met' if g['met'] else 'NOT met'}"
        )
    path = write_results("soak", doc, args.out)
    chart(doc["samples"], doc["warmup_seconds"], doc["reconnect_times_s"], args.out / "soak-latest.png")
    print(f"\nwritten: {path} and soak-latest.json/.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
