"""The relay over an emulated merchant line (:mod:`wan`): DSL (30 ms RTT, 10 Mbit/s up, 50 down) and fibre.

Gateway, agent and the direct baseline run as processes on the demo ERP (its sheet invoice a ``--mb`` MB PDF); the
agent reaches the gateway through ``onlineconnect.testing.wan`` in its own process, first with no delay or cap
("loopback", the
reference), then with each profile. Shops talk to the gateway on loopback (the gateway is in the cloud next to
them); the direct baseline is the ERP's handlers with no line at all. Targets, per profile:

1. one round trip per call: relayed GetOrder p50 (``--calls`` calls one after another) ≤ direct p50 + 1 RTT + 2 ms;
   the report also counts round trips, (p50 on the line - p50 on loopback) / RTT;
2. nothing serialises on the tunnel: 64 GetOrder fired at once all answered within 1 RTT + the agent's service time
   (the same burst against the direct baseline); the time the answers need on the uplink is reported beside it;
3. a ``--mb`` MB invoice PDF reaches ≥ 85 % of the uplink rate;
4. head-of-line: a 2 s query on the same tunnel delays fast calls by ≤ 10 % at p99 (in-process gateway with the
   test fakes, agent through the line, flood from a separate process; phases alone / with the slow query alternate).

    .venv/bin/python bench/wan_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from harness import AUTH, MB, ORDER, RESULTS, demo_erp, lift_shop_limits, percentile, wait_port, write_results
from hol_bench import phase
from stream_bench import document_id, download

from onlineconnect.logs import configure
from onlineconnect.testing import running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.testing.processes import (
    BIN,
    free_port,
    start,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)
from onlineconnect.testing.wan import DSL, FIBRE, NONE, Profile
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

BURST = 64
EXTRA_MS = 2.0
PDF_SHARE = 0.85
HOL_RATIO = 1.10
GET = orders_pb2.GetOrderRequest(customer_number=ORDER[0], order_number=ORDER[1])
STREAM_WINDOW_BYTES = 32 * 60 * 1024  # gateway/tunnel.py: 32 chunks of 60 KiB may be in flight per stream


class LinkProcess:
    """The WAN emulator (``onlineconnect.testing.wan``) in its own process (its event loop must not share a CPU
    slice with the clients)."""

    def __init__(self, target_port: int, profile: Profile) -> None:
        self.popen = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "onlineconnect.testing.wan",
                "--to",
                f"127.0.0.1:{target_port}",
                "--profile",
                profile.name,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.popen.stdout is not None
        self.port = int(self.popen.stdout.readline().split()[-1])

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(10)


def sequential(address: str, metadata: tuple[tuple[str, str], ...], calls: int) -> dict[str, float]:
    """GetOrder ``calls`` times one after another (after 5 unmeasured); latency percentiles in ms."""
    ms: list[float] = []
    with grpc.insecure_channel(address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        for i in range(calls + 5):
            t0 = time.perf_counter()
            stub.GetOrder(GET, metadata=metadata, timeout=10)
            if i >= 5:
                ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"calls": calls, "p50_ms": percentile(ms, 50), "p90_ms": percentile(ms, 90), "p99_ms": percentile(ms, 99)}


def burst(address: str, metadata: tuple[tuple[str, str], ...], rounds: int) -> dict[str, Any]:
    """``BURST`` GetOrder fired at once, ``rounds`` times (after one unmeasured): ms until the last one answered."""

    async def run() -> dict[str, Any]:
        async with grpc.aio.insecure_channel(address) as ch:
            stub = orders_pb2_grpc.OrderServiceStub(ch)
            walls: list[float] = []
            size = len((await stub.GetOrder(GET, metadata=metadata, timeout=10)).SerializeToString())
            for i in range(rounds + 1):
                t0 = time.perf_counter()
                await asyncio.gather(*(stub.GetOrder(GET, metadata=metadata, timeout=30) for _ in range(BURST)))
                if i:
                    walls.append((time.perf_counter() - t0) * 1000)
        return {"rounds": rounds, "median_ms": statistics.median(walls), "walls_ms": walls, "answer_bytes": size}

    return asyncio.run(run())


def pdf(address: str, metadata: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Downloads the sheet invoice once; bytes, seconds, intact or not."""
    total, seconds, announced, got = download(address, metadata, document_id(address, metadata))
    return {"bytes": total, "seconds": seconds, "intact": announced == got, "mb_per_s": total / seconds / 1e6}


def hol(profile: Profile, args: argparse.Namespace) -> dict[str, Any]:
    """Target 4 over ``profile``: fast GetOrder flood alone vs. with a slow query in flight on the same tunnel."""

    async def run() -> dict[str, Any]:
        handlers = FakeHandlers(pdf_size=1)
        handlers.slow_seconds = args.slow_seconds
        lat: dict[str, list[int]] = {"alone": [], "with_slow": []}
        errors = {"alone": 0, "with_slow": 0}
        async with running_relay(handlers, start_agent=False) as relay:
            port = int(relay.address.rsplit(":", 1)[1])
            link = LinkProcess(port, profile)
            try:
                await relay.start_agent(address=f"127.0.0.1:{link.port}")
                for _ in range(args.hol_rounds):
                    for mode, slow in (("alone", 0), ("with_slow", 1)):
                        got, err, _took = await phase(relay, slow=slow, concurrency=8, seconds=args.hol_seconds)
                        lat[mode] += got
                        errors[mode] += err
                await relay.stop_agents()
            finally:
                link.stop()
        p99 = {m: percentile(sorted(x / 1e6 for x in v), 99) for m, v in lat.items()}
        ratio = p99["with_slow"] / p99["alone"]
        return {
            "calls": {m: len(v) for m, v in lat.items()},
            "errors": errors,
            "p99_ms": p99,
            "p99_ratio": ratio,
            "met": ratio <= HOL_RATIO and not any(errors.values()),
        }

    return asyncio.run(run())


def judge(profile: Profile, got: dict[str, Any], loop: dict[str, Any], direct: dict[str, Any], mb: int) -> None:
    """Adds each target's verdict with its figures to ``got``."""
    rtt = profile.rtt_ms
    c1 = got["c1"]["p50_ms"]
    bound = direct["c1"]["p50_ms"] + rtt + EXTRA_MS
    got["round_trip"] = {
        "relay_p50_ms": c1,
        "bound_ms": bound,
        "round_trips_per_call": (c1 - loop["c1"]["p50_ms"]) / rtt,
        "met": c1 <= bound,
    }
    b = got["burst"]["median_ms"]
    transmit = BURST * got["burst"]["answer_bytes"] * 8 / (profile.up_mbit * 1e6) * 1000
    got["no_serialisation"] = {
        "relay_burst_ms": b,
        "bound_ms": direct["burst"]["median_ms"] + rtt,
        "uplink_transmission_ms": transmit,
        "added_by_the_line_ms": b - loop["burst"]["median_ms"],
        "met": b <= direct["burst"]["median_ms"] + rtt,
    }
    uplink = profile.up_mbit * 1e6 / 8 / 1e6
    share = got["pdf"]["mb_per_s"] / uplink
    got["pdf_target"] = {
        "mb": mb,
        "mb_per_s": got["pdf"]["mb_per_s"],
        "uplink_mb_per_s": uplink,
        "share_of_uplink": share,
        "bdp_bytes": profile.bdp_bytes(profile.up_mbit),
        "stream_window_bytes": STREAM_WINDOW_BYTES,
        "met": share >= PDF_SHARE and got["pdf"]["intact"],
    }


def chart(doc: dict[str, Any], path: Path) -> None:
    """Per profile and target: the measured figure beside its bound (PDF: MB/s beside 85 % of the uplink)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in doc["profiles"] if n != "loopback"]
    panels = (
        ("GetOrder p50, one after another (ms)", "round_trip", "relay_p50_ms", "bound_ms"),
        ("64 GetOrder at once (ms)", "no_serialisation", "relay_burst_ms", "bound_ms"),
        ("20 MB PDF (MB/s)", "pdf_target", "mb_per_s", "uplink_mb_per_s"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, (title, target, measured, bound) in zip(axes, panels, strict=True):
        got = [doc["profiles"][n][target][measured] for n in names]
        limit = [doc["profiles"][n][target][bound] * (PDF_SHARE if target == "pdf_target" else 1) for n in names]
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], got, width=0.4, label="measured")
        ax.bar([i + 0.2 for i in x], limit, width=0.4, label="85 % of uplink" if target == "pdf_target" else "bound")
        ax.set_xticks(list(x), names)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("relay over an emulated line (onlineconnect/testing/wan.py)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="DSL,fibre")
    parser.add_argument("--calls", type=int, default=200, help="sequential GetOrder calls per way")
    parser.add_argument("--rounds", type=int, default=5, help="bursts of 64 per way")
    parser.add_argument("--mb", type=int, default=20, help="size of the invoice PDF")
    parser.add_argument("--hol-seconds", type=float, default=5.0)
    parser.add_argument("--hol-rounds", type=int, default=3)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    configure(level="warning")
    profiles = [{"DSL": DSL, "fibre": FIBRE}[p] for p in args.profiles.split(",")]
    doc: dict[str, Any] = {"calls": args.calls, "burst": BURST, "rounds": args.rounds, "profiles": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp", pdf_bytes=args.mb * MB)
        gw_port, direct_port = free_port(), free_port()
        gateway = start(
            "onlineconnect-gateway", ["--config", str(lift_shop_limits(write_gateway_config(folder, gw_port)))], folder
        )
        agent_config = write_agent_config(folder, gw_port, erp)
        direct = start(
            "onlineconnect-agent",
            ["direct", "--config", str(agent_config), "--listen", f"127.0.0.1:{direct_port}"],
            folder,
        )
        address = f"127.0.0.1:{gw_port}"
        try:
            wait_port(gw_port)
            wait_port(direct_port)
            print("direct baseline (no line) …", end=" ", flush=True)
            d_addr = f"127.0.0.1:{direct_port}"
            doc["direct"] = {"c1": sequential(d_addr, (), args.calls), "burst": burst(d_addr, (), args.rounds)}
            print(
                f"p50 {doc['direct']['c1']['p50_ms']:.2f} ms, burst of 64 {doc['direct']['burst']['median_ms']:.1f} ms"
            )
            for profile in (NONE, *profiles):
                link = LinkProcess(gw_port, profile)
                write_agent_config(folder, link.port, erp)
                agent = start("onlineconnect-agent", ["--config", str(agent_config)], folder)
                try:
                    try:
                        wait_serving(address, timeout=60)
                    except TimeoutError:
                        print((folder / "onlineconnect-agent.log").read_text()[-3000:], file=sys.stderr)
                        raise
                    name = "loopback" if profile is NONE else profile.name
                    print(f"{name}: GetOrder one after another …", end=" ", flush=True)
                    got: dict[str, Any] = {"profile": profile.__dict__ if profile is not NONE else None}
                    got["c1"] = sequential(address, AUTH, args.calls)
                    print(f"p50 {got['c1']['p50_ms']:.2f} ms; 64 at once …", end=" ", flush=True)
                    got["burst"] = burst(address, AUTH, args.rounds)
                    print(f"{got['burst']['median_ms']:.1f} ms", end="", flush=True)
                    if profile is not NONE:
                        print(f"; {args.mb} MB PDF …", end=" ", flush=True)
                        got["pdf"] = pdf(address, AUTH)
                        print(f"{got['pdf']['mb_per_s']:.2f} MB/s", end="", flush=True)
                    print(flush=True)
                    doc["profiles"][name] = got
                finally:
                    agent.stop()
                    link.stop()
        finally:
            direct.stop()
            gateway.stop()
    for profile in profiles:
        got = doc["profiles"][profile.name]
        judge(profile, got, doc["profiles"]["loopback"], doc["direct"], args.mb)
        print(f"{profile.name}: 2 s query beside a flood of fast calls …", end=" ", flush=True)
        got["hol"] = hol(profile, args)
        print(f"p99 ratio {got['hol']['p99_ratio']:.2f}", flush=True)
    print()
    failed = 0
    for profile in profiles:
        g = doc["profiles"][profile.name]
        rt, ns, pd, hl = g["round_trip"], g["no_serialisation"], g["pdf_target"], g["hol"]
        verdict = {k: "met" if v["met"] else "NOT met" for k, v in (("rt", rt), ("ns", ns), ("pd", pd), ("hl", hl))}
        failed += list(verdict.values()).count("NOT met")
        print(f"{profile.name} ({profile.rtt_ms:g} ms RTT, {profile.up_mbit:g} Mbit/s up, {profile.down_mbit:g} down)")
        print(
            f"  one round trip per call: p50 {rt['relay_p50_ms']:.2f} ms ≤ {rt['bound_ms']:.2f} ms "
            f"({rt['round_trips_per_call']:.2f} round trips): {verdict['rt']}"
        )
        print(
            f"  64 at once: {ns['relay_burst_ms']:.1f} ms ≤ {ns['bound_ms']:.1f} ms (the line added "
            f"{ns['added_by_the_line_ms']:.1f} ms; the answers need {ns['uplink_transmission_ms']:.1f} ms "
            f"on the uplink): {verdict['ns']}"
        )
        print(
            f"  {args.mb} MB PDF: {pd['mb_per_s']:.2f} MB/s = {pd['share_of_uplink']:.0%} of the uplink "
            f"(≥ {PDF_SHARE:.0%}; window {pd['stream_window_bytes']} B vs. BDP {pd['bdp_bytes']} B): {verdict['pd']}"
        )
        print(
            f"  2 s query beside fast calls: p99 {hl['p99_ms']['with_slow']:.2f} vs. {hl['p99_ms']['alone']:.2f} ms "
            f"alone = {hl['p99_ratio']:.2f} times (≤ {HOL_RATIO}): {verdict['hl']}"
        )
    doc["targets_not_met"] = failed
    path = write_results("wan", doc, args.out)
    chart(doc, args.out / "wan-latest.png")
    print(f"\nwritten: {path} and wan-latest.json/.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
