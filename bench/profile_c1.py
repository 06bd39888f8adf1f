"""``make profile``: where gateway and agent spend a concurrency-1 call, as flame graphs and a table of shares.

Starts gateway + agent as processes on the demo ERP (the ``make bench`` shape), drives one RPC at concurrency 1
with the closed-loop client, and samples both processes with ``py-spy`` (dev extras) for ``--seconds`` at
``--rate`` Hz. Writes, per RPC and process, ``bench/results/profile-c1-<rpc>-<process>.svg`` (a flame graph) and
prints the busy samples' shares: the leaf functions that take the most, and every function of the project
(``gateway/``, ``agent/``, ``onlineconnect/``) with its inclusive share. Samples where a thread waits (event loop
in ``select``, idle worker threads) are counted apart, so the shares are of the time the process was busy.
``bench/results/profile-c1-latest.json`` keeps the tables and the machine's load average.

    .venv/bin/python bench/profile_c1.py --rpc GetOrder GetStoreStock --seconds 10
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from harness import RESULTS, demo_erp, machine, relay_stack, write_results  # noqa: E402

from onlineconnect.testing.processes import SHOP_KEY  # noqa: E402

from loadgen import Job, run_with_codes  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"
PROJECT = ("gateway/", "agent/", "onlineconnect/")
IDLE_LEAVES = ("(selectors.py:", "wait (threading.py:", "_worker (concurrent/futures/thread.py:81)")


def shares(raw: Path, top: int) -> dict[str, object]:
    """Busy-sample shares from py-spy's collapsed stacks: top leaf functions and the project's functions."""
    total = idle = 0
    leaves: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        n = int(count)
        frames = stack.split(";")
        total += n
        if any(mark in frames[-1] for mark in IDLE_LEAVES):
            idle += n
            continue
        leaves[frames[-1]] += n
        for name in {f.split(":")[0] + ")" if "(" in f else f for f in frames}:
            inclusive[name] += n
    busy = max(1, total - idle)
    return {
        "samples": total,
        "idle_samples": idle,
        "top_leaves": [(name, round(100 * n / busy, 1)) for name, n in leaves.most_common(top)],
        "project_inclusive": [
            (name, round(100 * n / busy, 1))
            for name, n in inclusive.most_common()
            if any(p in name for p in PROJECT) and "__main__" not in name
        ][: 3 * top],
    }


def profile(rpc: str, seconds: float, rate: int, out: Path, top: int) -> dict[str, object]:
    """One RPC at concurrency 1 under py-spy; flame graphs to ``out``, shares returned."""
    folder = Path(tempfile.mkdtemp(prefix="oc-profile-"))
    erp = demo_erp(folder)
    with relay_stack(folder, erp) as stack:
        job = Job(stack.address, rpc, 1, seconds + 4, 1.0, (("authorization", f"Bearer {SHOP_KEY}"),))
        result: dict[str, tuple[list[int], dict[str, int]]] = {}
        load = threading.Thread(target=lambda: result.setdefault("run", run_with_codes(job, 1)))
        load.start()
        time.sleep(2.0)
        report: dict[str, object] = {}
        for kind, suffix in (("flamegraph", "svg"), ("raw", "txt")):
            spies = []
            for name, proc in (("gateway", stack.gateway), ("agent", stack.agent)):
                target = (out if kind == "flamegraph" else folder) / f"profile-c1-{rpc}-{name}.{suffix}"
                command = [str(PY_SPY), "record", "-p", str(proc.popen.pid), "-d", str(max(1, round(seconds / 2)))]
                command += ["-r", str(rate), "-f", kind, "-o", str(target), "--nonblocking"]
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                spies.append((name, target, spy))
            for name, target, spy in spies:
                spy.wait()
                if kind == "raw":
                    report[name] = shares(target, top)
        load.join()
    latencies, codes = result["run"]
    latencies.sort()
    report["calls"] = len(latencies)
    report["p50_ms"] = round(latencies[len(latencies) // 2] / 1e6, 3) if latencies else None
    report["failed"] = codes
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rpcs = ["GetOrder", "GetStoreStock"]
    parser.add_argument("--rpc", nargs="+", default=rpcs, choices=rpcs)
    parser.add_argument("--seconds", type=float, default=10.0, help="sampling time per RPC (half SVG, half table)")
    parser.add_argument("--rate", type=int, default=400, help="samples per second")
    parser.add_argument("--top", type=int, default=12, help="rows per table")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not PY_SPY.exists():
        print("py-spy missing: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, object] = {"benchmark": "profile-c1", "machine": machine(), "rate_hz": args.rate, "rpcs": {}}
    for rpc in args.rpc:
        print(f"profiling {rpc} at concurrency 1 for {args.seconds:.0f} s ...", flush=True)
        report = profile(rpc, args.seconds, args.rate, args.out, args.top)
        doc["rpcs"][rpc] = report  # type: ignore[index]
        print(f"{rpc}: {report['calls']} calls, p50 {report['p50_ms']} ms, failed {report['failed']}")
        for name in ("gateway", "agent"):
            part = report[name]
            assert isinstance(part, dict)
            print(f"  {name}: {part['samples']} samples, {part['idle_samples']} waiting; busy shares:")
            for fn, pct in part["project_inclusive"][: args.top]:
                print(f"    {pct:5.1f} %  {fn}")
    doc["machine"] = machine()
    path = write_results("profile-c1", doc, args.out)
    print(f"results: {path}; flame graphs: {args.out}/profile-c1-<rpc>-<process>.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
