"""Scale-out: throughput with one vs. two gateway replicas, and the extra latency of a call routed through NATS.

    .venv/bin/python bench/cluster_bench.py [--seconds 4] [--concurrency 16]

Real processes on the demo ERP (SQLite): a private ``nats-server`` on a free port, gateway replicas with
``[cluster]``, one agent. Scenarios, each GetOrder of the product sheet's order, closed loop:

* ``one-replica``: the agent's tunnel on replica 1; all load on replica 1;
* ``two-replicas``: the agent keeps a tunnel to each of two replicas; the load is split over both addresses;
* ``via-nats``: the agent's tunnel only on replica 1; all load on replica 2, which routes every call through NATS
  to replica 1 — the worst case of a shop landing on a replica without the tenant.

Latency is measured at concurrency 1 (one caller; what one end customer sees), throughput at ``--concurrency``.
Writes ``bench/results/cluster-<time>.json`` and ``cluster-latest.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from harness import AUTH, RESULTS, demo_erp, lift_shop_limits, percentile, wait_serving, write_results

from onlineconnect.testing.cluster import NatsServer, write_cluster_gateway_config, write_multi_agent_config
from onlineconnect.testing.processes import Proc, free_port, start

import loadgen


def _start(name: str, config: Path, folder: Path) -> Proc:
    own = folder / config.stem
    own.mkdir(exist_ok=True)
    return start(name, ["--config", str(config)], own)


@contextlib.contextmanager
def topology(folder: Path, erp: Path, nats_url: str, replicas: int, agent_on: list[int]) -> Iterator[list[str]]:
    """Runs ``replicas`` gateways and one agent with tunnels to the replicas in ``agent_on``; yields addresses."""
    ports = [free_port() for _ in range(replicas)]
    procs = [
        _start(
            "onlineconnect-gateway",
            lift_shop_limits(write_cluster_gateway_config(folder, f"gw-{i}", p, nats_url)),
            folder,
        )
        for i, p in enumerate(ports, 1)
    ]
    agent_config = write_multi_agent_config(folder, "agent", [ports[i] for i in agent_on], erp)
    agent_config.write_text(agent_config.read_text().replace("[database]", "max_concurrency = 16\n[database]"))
    procs.append(_start("onlineconnect-agent", agent_config, folder))
    addresses = [f"127.0.0.1:{p}" for p in ports]
    try:
        for i in agent_on:
            wait_serving(addresses[i])
        time.sleep(0.5)  # the replicas subscribe on NATS right after the tunnel registers
        yield addresses
    finally:
        for p in procs:
            with contextlib.suppress(Exception):
                p.stop(timeout=20)


def measure(addresses: list[str], concurrency: int, seconds: float, warmup: float = 1.0) -> dict[str, float]:
    """Closed-loop GetOrder split evenly over ``addresses``; calls/s and latency percentiles in ms."""
    results: list[tuple[list[int], int]] = []
    per = max(1, concurrency // len(addresses))

    def one(address: str) -> None:
        job = loadgen.Job(address, "GetOrder", per, seconds, warmup, AUTH)
        # Two load processes in all: the generator must not be what limits a Python server.
        results.append(loadgen.run(job, processes=max(1, min(per, 2 // len(addresses)))))

    threads = [threading.Thread(target=one, args=(a,)) for a in addresses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies = sorted(ns / 1e6 for lat, _ in results for ns in lat)
    errors = sum(err for _, err in results)
    return {
        "concurrency": per * len(addresses),
        "calls_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run (after the warm-up)")
    parser.add_argument("--concurrency", type=int, default=16, help="callers for the throughput runs")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    parser.add_argument(
        "--scenarios", default="one-replica,two-replicas,via-nats", help="which scenarios, comma-separated"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result files")
    args = parser.parse_args(argv)
    scenarios = {
        "one-replica": (1, [0], [0]),  # replicas, agent tunnels on, load on
        "two-replicas": (2, [0, 1], [0, 1]),
        "via-nats": (2, [0], [1]),
    }
    chosen = args.scenarios.split(",")
    unknown = set(chosen) - set(scenarios)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {sorted(scenarios)}")
    scenarios = {k: v for k, v in scenarios.items() if k in chosen}
    out: dict[str, object] = {"rpc": "GetOrder", "seconds": args.seconds, "warmup": args.warmup}
    with tempfile.TemporaryDirectory(prefix="oc-cluster-bench-") as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp")
        nats = NatsServer(folder)
        nats.start()
        try:
            for name, (replicas, agent_on, load_on) in scenarios.items():
                run = folder / name
                run.mkdir()
                with topology(run, erp, nats.url, replicas, agent_on) as addresses:
                    targets = [addresses[i] for i in load_on]
                    single = measure(targets[:1], 1, args.seconds, args.warmup)
                    loaded = measure(targets, args.concurrency, args.seconds, args.warmup)
                out[name] = {"latency_concurrency_1": single, "throughput": loaded}
                print(name, "c=1:", single, f"c={args.concurrency}:", loaded, flush=True)
        finally:
            nats.kill()
    one, via = out.get("one-replica"), out.get("via-nats")
    if isinstance(one, dict) and isinstance(via, dict):
        out["nats_hop_extra_p50_ms"] = round(
            via["latency_concurrency_1"]["p50_ms"] - one["latency_concurrency_1"]["p50_ms"], 2
        )
        print("extra p50 latency through NATS:", out["nats_hop_extra_p50_ms"], "ms")
    errors = sum(r[k]["errors"] for r in out.values() if isinstance(r, dict) for k in r)
    out["failed_calls"] = errors
    if errors:
        print(f"{errors} calls failed during the measurements (see 'errors' per run)")
    print(write_results("cluster", out, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
