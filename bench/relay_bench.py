"""``make bench``: relay vs. the floor vs. direct, side by side in one run, on the demo ERP.

Brings up (a) gateway + agent as separate processes (the production shape), (b) the direct baseline: the
agent's own handlers as a plain gRPC server on the same database (``onlineconnect-agent direct``), and (c) the
floor (``bench/floor.py``): a bare forwarder over one bidirectional stream, no auth, envelope or admission, whose
agent answers with the same handlers. Drives GetOrder and GetStoreStock at concurrency 1, 16 and 64 with a
multi-process closed-loop client, prints throughput and p50/p90/p99 latency of each, the relay/direct ratio and
``project overhead = relay - floor``, and writes ``bench/results/relay-<time>.json`` (plus ``relay-latest.json``
and a PNG chart).

At concurrency 1, where the targets are fractions of a millisecond and the machine drifts by more between points,
the three ways are measured in ``--c1-rounds`` rounds of ``--c1-seconds`` each, their order rotating from round to
round; the added medians are the medians of the rounds' differences, each with a distribution-free 95 % interval.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from floor import wait_ready  # noqa: E402
from harness import lift_shop_limits, median_interval, wait_port, wait_serving, write_results  # noqa: E402

from onlineconnect.agent.erp.demo import create_demo_erp  # noqa: E402
from onlineconnect.testing.processes import SHOP_KEY, free_port, start, write_agent_config, write_gateway_config  # noqa: E402

from loadgen import Job, run_with_codes  # noqa: E402

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)


def pct(sorted_ns: list[int], p: float) -> float:
    """Percentile in milliseconds."""
    if not sorted_ns:
        return float("nan")
    i = min(len(sorted_ns) - 1, round(p / 100 * (len(sorted_ns) - 1)))
    return sorted_ns[i] / 1e6


def measure(
    address: str, rpc: str, concurrency: int, seconds: float, metadata: tuple[tuple[str, str], ...]
) -> dict[str, object]:
    """One closed-loop measurement: throughput and latency percentiles of the answered calls, failed ones by code.

    Throughput and latency count answered calls only, so a point with failed calls is not comparable with one
    without: the failures are reported beside it and in the summary.
    """
    processes = 1 if concurrency == 1 else 2
    lat, codes = run_with_codes(Job(address, rpc, concurrency, seconds, 0.5, metadata), processes)
    lat.sort()
    return {
        "requests": len(lat),
        "errors": sum(codes.values()),
        "error_codes": codes,
        "rps": len(lat) / seconds,
        "p50_ms": pct(lat, 50),
        "p90_ms": pct(lat, 90),
        "p99_ms": pct(lat, 99),
        "mean_ms": statistics.fmean(lat) / 1e6 if lat else float("nan"),
    }


def merge(runs: list[dict[str, object]]) -> dict[str, object]:
    """One way's figures over several rounds: counts summed, rates and percentiles the median of the rounds'."""
    merged: dict[str, object] = {
        key: statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]
        for key in ("rps", "p50_ms", "p90_ms", "p99_ms", "mean_ms")
    }
    merged["requests"] = sum(int(r["requests"]) for r in runs)  # type: ignore[call-overload]
    merged["errors"] = sum(int(r["errors"]) for r in runs)  # type: ignore[call-overload]
    codes: dict[str, int] = {}
    for r in runs:
        for code, count in r["error_codes"].items():  # type: ignore[attr-defined]
            codes[code] = codes.get(code, 0) + count
    merged["error_codes"] = codes
    merged["p50_ms_rounds"] = [round(float(r["p50_ms"]), 3) for r in runs]  # type: ignore[arg-type]
    return merged


def chart(results: list[dict[str, object]], path: Path) -> None:
    """Bar chart of throughput and p50 latency: direct, floor and relay."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{r['rpc']}\nc={r['concurrency']}" for r in results]
    x = range(len(results))
    for ax, key, title in ((axes[0], "rps", "throughput (req/s)"), (axes[1], "p50_ms", "median latency (ms)")):
        for offset, way in ((-0.27, "direct"), (0.0, "floor"), (0.27, "relay")):
            ax.bar([i + offset for i in x], [r[way][key] for r in results], width=0.27, label=way)  # type: ignore[index]
        ax.set_xticks(list(x), labels, fontsize=8)
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per point")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--rpcs", default="GetOrder,GetStoreStock")
    parser.add_argument("--c1-rounds", type=int, default=9, help="rounds at concurrency 1 (every way in each)")
    parser.add_argument("--c1-seconds", type=float, default=2.0, help="measured seconds per way and round at c=1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    rpcs = args.rpcs.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = folder / "erp"
        create_demo_erp(erp / "erp.db", erp / "archive")
        gw_port, direct_port, floor_port = free_port(), free_port(), free_port()
        floor_script = str(ROOT / "bench" / "floor.py")
        gw_config = lift_shop_limits(write_gateway_config(folder, gw_port))
        procs = [
            start("onlineconnect-gateway", ["--config", str(gw_config)], folder),
            start("onlineconnect-agent", ["--config", str(write_agent_config(folder, gw_port, erp))], folder),
            start(
                "onlineconnect-agent",
                ["direct", "--config", str(folder / "agent.toml"), "--listen", f"127.0.0.1:{direct_port}"],
                folder,
            ),
            start("python", [floor_script, "gateway", "--listen", f"127.0.0.1:{floor_port}"], folder),
        ]
        try:
            wait_port(floor_port)
            procs.append(
                start(
                    "python",
                    [
                        floor_script,
                        "agent",
                        "--config",
                        str(folder / "agent.toml"),
                        "--gateway",
                        f"127.0.0.1:{floor_port}",
                    ],
                    folder,
                )
            )
            wait_serving(f"127.0.0.1:{gw_port}")
            wait_ready(f"127.0.0.1:{floor_port}")
            time.sleep(0.5)
            results = []
            ways = (("direct", direct_port, ()), ("floor", floor_port, ()), ("relay", gw_port, AUTH))
            total = len(rpcs) * sum(len(ways) * (args.c1_rounds if c == 1 else 1) for c in levels)
            n = 0
            for rpc in rpcs:
                for c in levels:
                    row: dict[str, object] = {"rpc": rpc, "concurrency": c}
                    rounds = args.c1_rounds if c == 1 else 1
                    seconds = args.c1_seconds if c == 1 else args.seconds
                    runs: dict[str, list[dict[str, object]]] = {mode: [] for mode, _, _ in ways}
                    for number in range(rounds):
                        turn = number % len(ways)  # rotate the order: drift of the machine favours no way
                        for mode, addr, md in ways[turn:] + ways[:turn]:
                            n += 1
                            print(f"[{n}/{total}] {rpc} c={c} {mode} …", end=" ", flush=True)
                            m = measure(f"127.0.0.1:{addr}", rpc, c, seconds, md)
                            failed = f", {m['errors']} failed {m['error_codes']}" if m["errors"] else ""
                            print(f"{m['rps']:.0f} req/s, p50 {m['p50_ms']:.2f} ms{failed}", flush=True)
                            runs[mode].append(m)
                    for mode in runs:
                        row[mode] = merge(runs[mode]) if rounds > 1 else runs[mode][0]
                    d, f, r = row["direct"], row["floor"], row["relay"]
                    row["throughput_ratio"] = r["rps"] / d["rps"] if d["rps"] else float("nan")  # type: ignore[index]
                    if rounds > 1:
                        p50 = {mode: [float(m["p50_ms"]) for m in runs[mode]] for mode in runs}  # type: ignore[arg-type]
                        added = [a - b for a, b in zip(p50["relay"], p50["direct"], strict=True)]
                        floor_added = [a - b for a, b in zip(p50["floor"], p50["direct"], strict=True)]
                        overhead = [a - b for a, b in zip(p50["relay"], p50["floor"], strict=True)]
                        row["added_p50_ms"] = statistics.median(added)
                        row["added_p50_ms_ci95"] = median_interval(added)
                        row["floor_added_p50_ms"] = statistics.median(floor_added)
                        row["project_overhead_p50_ms"] = statistics.median(overhead)
                        row["project_overhead_p50_ms_ci95"] = median_interval(overhead)
                    else:
                        row["added_p50_ms"] = r["p50_ms"] - d["p50_ms"]  # type: ignore[index]
                        row["floor_added_p50_ms"] = f["p50_ms"] - d["p50_ms"]  # type: ignore[index]
                        row["project_overhead_p50_ms"] = r["p50_ms"] - f["p50_ms"]  # type: ignore[index]
                    row["relay_vs_floor_throughput"] = r["rps"] / f["rps"] if f["rps"] else float("nan")  # type: ignore[index]
                    results.append(row)
        finally:
            for p in reversed(procs):
                p.stop()
    print()
    print(
        f"{'rpc':<14}{'c':>4} | {'direct rps':>10} {'p50':>7} {'p90':>7} {'p99':>7} | {'relay rps':>10} {'p50':>7} "
        f"{'p90':>7} {'p99':>7} | {'ratio':>6} {'+p50 ms':>8} | {'floor rps':>9} {'p50':>7} | {'overhead p50 ms':>15}"
    )
    for row in results:
        d, r = row["direct"], row["relay"]
        print(
            f"{row['rpc']:<14}{row['concurrency']:>4} | {d['rps']:>10.0f} {d['p50_ms']:>7.2f} {d['p90_ms']:>7.2f} "  # type: ignore[index]
            f"{d['p99_ms']:>7.2f} | {r['rps']:>10.0f} {r['p50_ms']:>7.2f} {r['p90_ms']:>7.2f} {r['p99_ms']:>7.2f} | "  # type: ignore[index]
            f"{row['throughput_ratio']:>6.2f} {row['added_p50_ms']:>8.3f} | {row['floor']['rps']:>9.0f} "  # type: ignore[index]
            f"{row['floor']['p50_ms']:>7.2f} | {row['project_overhead_p50_ms']:>15.3f}"  # type: ignore[index]
        )
    print("overhead = relay - floor: what our gateway and agent add on top of a bare forwarding hop")
    for row in results:
        if "added_p50_ms_ci95" in row:
            print(
                f"{row['rpc']} c={row['concurrency']}: relay - direct {row['added_p50_ms']:+.3f} ms "
                f"(95 % interval {row['added_p50_ms_ci95']}), relay - floor {row['project_overhead_p50_ms']:+.3f} ms "
                f"(95 % interval {row['project_overhead_p50_ms_ci95']}) over {args.c1_rounds} rounds"
            )
    errors = sum(int(row[mode]["errors"]) for row in results for mode in ("direct", "floor", "relay"))  # type: ignore[index]
    for row in results:
        for mode in ("direct", "floor", "relay"):
            m = row[mode]
            if m["errors"]:  # type: ignore[index]
                print(
                    f"{row['rpc']} c={row['concurrency']} {mode}: {m['errors']} calls failed {m['error_codes']}; "  # type: ignore[index]
                    "its throughput and latency count only the answered ones"
                )
    doc = {
        "seconds_per_point": args.seconds,
        "rounds_at_c1": args.c1_rounds,
        "seconds_per_round_at_c1": args.c1_seconds,
        "gateway_limits": "shop rate limit off, max_in_flight = max_in_flight_per_shop = 128 (bench/harness.py)",
        "failed_calls": errors,
        "results": results,
    }
    path = write_results("relay", doc, args.out)
    chart(results, args.out / "relay-latest.png")
    print(f"\nwritten: {path} and relay-latest.json/.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
