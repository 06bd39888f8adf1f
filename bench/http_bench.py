"""``make bench`` (HTTP part): the HTTP/JSON door against the gRPC door, same run, same calls, same client.

Starts gateway (with ``[http]``) + agent as processes on a demo ERP whose sheet invoice is a 20 MB file, then
drives GetOrder and GetStoreStock at concurrency 1, 16 and 64 through both doors with one C load generator from
Debian, ``h2load`` (package ``nghttp2-client``), one connection per caller: the gRPC door over HTTP/2, the JSON
door over HTTP/1.1 keep-alive (``--h1``; what PHP's curl speaks) and, for comparison, over HTTP/2. Both doors are
measured back to back at every point, so they see the same machine load; at c=1 that is repeated ``--rounds``
times (``--c1-seconds`` each, the doors' order alternating from round to round) and the added median is the median
of the rounds' differences, with a distribution-free 95 % interval (the machine is shared). Latencies come from
h2load's per-request log; failed calls are counted from the gateway's log; the gateway's CPU time per call
(``/proc/<pid>/stat``, warm-up included) is the figure that load on the machine disturbs least. Finally it
downloads the 20 MB invoice once through the HTTP door and samples the gateway's RSS meanwhile.

Targets: JSON throughput at least 0.8 times gRPC at c=64; JSON median at most 0.5 ms above gRPC at c=1;
gateway RSS growth at most 8 MB for the 20 MB download.
Writes ``bench/results/http-<time>.json`` and ``http-latest.json``.

    .venv/bin/python bench/http_bench.py                 # 4 s per point
    .venv/bin/python bench/http_bench.py --seconds 1 --concurrency 1 16
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from harness import (
    MB,
    ORDER,
    POSTCODE,
    RESULTS,
    SKU,
    cpu_seconds,
    demo_erp,
    machine,
    median_interval,
    memory_kb,
    reset_peak,
    write_results,
)
from prometheus_client.parser import text_string_to_metric_families

from onlineconnect.testing.processes import SHOP_KEY, free_port, start, write_agent_config, write_gateway_config
from onlineconnect.v1 import orders_pb2, stock_pb2

TARGET_RATIO_C64 = 0.8
TARGET_ADDED_P50_MS = 0.5
TARGET_GROWTH_MB = 8.0
PDF_BYTES = 20 * MB

CALLS = {
    "GetOrder": (
        "onlineconnect.v1.OrderService/GetOrder",
        orders_pb2.GetOrderRequest(customer_number=ORDER[0], order_number=ORDER[1]),
        {"customer_number": ORDER[0], "order_number": ORDER[1]},
    ),
    "GetStoreStock": (
        "onlineconnect.v1.StockService/GetStoreStock",
        stock_pb2.GetStoreStockRequest(sku=SKU, location=stock_pb2.Location(postcode=POSTCODE, country="DE")),
        {"sku": SKU, "location": {"postcode": POSTCODE, "country": "DE"}},
    ),
}


def post(url: str, body: dict[str, object], timeout: float = 10) -> tuple[int, bytes]:
    """One JSON call to the HTTP door."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"authorization": f"Bearer {SHOP_KEY}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def h2load(
    url: str, body: Path, headers: list[str], concurrency: int, seconds: float, *, pid: int, h1: bool = False
) -> dict[str, Any]:
    """One closed-loop h2load run (HTTP/2, or HTTP/1.1 keep-alive with ``h1``); throughput and latency percentiles
    from its per-request log, and the gateway's CPU time per call over the whole run (warm-up included)."""
    log = body.with_suffix(f".{concurrency}.log")
    log.unlink(missing_ok=True)  # h2load appends to its log: rows of earlier runs would count as this run's calls
    args = ["h2load", "-c", str(concurrency), "-m", "1", "-D", f"{int(seconds * 1000)}ms", "--warm-up-time", "500ms"]
    args += ["-d", str(body), "--log-file", str(log), *(x for h in headers for x in ("-H", h))]
    args += ["--h1"] if h1 else []
    cpu = cpu_seconds(pid)
    subprocess.run([*args, url], check=True, capture_output=True, timeout=seconds + 60)
    cpu = cpu_seconds(pid) - cpu
    rows = [[int(x) for x in line.split("\t")] for line in log.read_text().splitlines() if line.strip()]
    calls = len(rows)
    # The log also has the warm-up's requests: keep those that ended within the measured window.
    window_end = max((start + took for start, _, took in rows), default=0)
    rows = [r for r in rows if r[0] + r[2] >= window_end - seconds * 1_000_000]
    ok = sorted(took / 1000 for _, status, took in rows if status == 200)
    return {
        "requests": len(ok),
        "errors": len(rows) - len(ok),
        "rps": len(ok) / seconds,
        "p50_ms": statistics.median(ok) if ok else float("nan"),
        "p90_ms": ok[int(0.9 * (len(ok) - 1))] if ok else float("nan"),
        "p99_ms": ok[int(0.99 * (len(ok) - 1))] if ok else float("nan"),
        "gateway_cpu_ms_per_call": round(1000 * cpu / calls, 3) if calls else float("nan"),
    }


def wrk(url: str, body: Path, concurrency: int, seconds: float, *, pid: int) -> dict[str, Any]:
    """One closed-loop wrk run over HTTP/1.1 (keep-alive), for servers whose status line h2load --h1 refuses (an
    empty reason phrase, as hypercorn writes it); throughput and latency percentiles from its report."""
    script = body.with_suffix(".lua")
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = {json.dumps(body.read_text())}\n"
        f"wrk.headers['Content-Type'] = 'application/json'\nwrk.headers['Authorization'] = 'Bearer {SHOP_KEY}'\n"
    )
    threads = str(min(concurrency, 2))
    duration = f"{max(1, round(seconds))}s"
    args = ["wrk", "-t", threads, "-c", str(concurrency), "-d", duration, "--latency", "-s", str(script)]
    cpu = cpu_seconds(pid)
    out = subprocess.run([*args, url], check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    cpu = cpu_seconds(pid) - cpu

    def ms(text: str) -> float:
        number = float(text.rstrip("usm"))
        return number / 1000 if text.endswith("us") else number * 1000 if not text.endswith("ms") else number

    percent = {m[0]: ms(m[1]) for m in re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    calls = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "requests": calls,
        "errors": int(bad.group(1)) if bad else 0,
        "rps": rps,
        "p50_ms": percent.get("50", float("nan")),
        "p90_ms": percent.get("90", float("nan")),
        "p99_ms": percent.get("99", float("nan")),
        "gateway_cpu_ms_per_call": round(1000 * cpu / calls, 3) if calls else float("nan"),
    }


def combine(rpc: str, concurrency: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One point from its rounds: each door's figures are the median over the rounds, the added median is the
    median of each round's difference (the doors of one round ran back to back, under the same load)."""
    point: dict[str, Any] = {"rpc": rpc, "concurrency": concurrency}
    for door in ("grpc", "json", "json_http2"):
        runs = [r[door] for r in rounds]
        merged = {
            key: round(statistics.median(run[key] for run in runs), 3)
            for key in ("requests", "errors", "rps", "p50_ms", "p90_ms", "p99_ms", "gateway_cpu_ms_per_call")
        }
        merged["failed"] = [code for run in runs for code in run["failed"]]
        point[door] = merged
    added = [round(r["json"]["p50_ms"] - r["grpc"]["p50_ms"], 3) for r in rounds]
    point["json_over_grpc"] = round(point["json"]["rps"] / point["grpc"]["rps"], 2) if point["grpc"]["rps"] else 0.0
    point["added_p50_ms"] = round(statistics.median(added), 3)
    point["added_p50_ms_rounds"] = added
    point["added_p50_ms_ci95"] = median_interval(added)
    point["added_cpu_ms_per_call"] = round(
        point["json"]["gateway_cpu_ms_per_call"] - point["grpc"]["gateway_cpu_ms_per_call"], 3
    )
    point["load_average"] = round(statistics.median(r["load_average"] for r in rounds), 2)
    return point


def summary(point: dict[str, Any]) -> str:
    """One line per point for the console."""
    g, j, j2 = point["grpc"], point["json"], point["json_http2"]

    def door(name: str, d: dict[str, Any]) -> str:
        cpu = d["gateway_cpu_ms_per_call"]
        return f"{name} {d['rps']:5.0f}/s p50 {d['p50_ms']:6.2f} p99 {d['p99_ms']:6.2f} cpu {cpu:.2f}"

    return (
        f"{point['rpc']:13} c={point['concurrency']:<2} {door('grpc', g)} | {door('json/h1', j)} | "
        f"ratio {point['json_over_grpc']:.2f} added p50 {point['added_p50_ms']:+.2f} ms "
        f"(95 % interval {point['added_p50_ms_ci95']}; rounds {point['added_p50_ms_rounds']}) "
        f"cpu {point['added_cpu_ms_per_call']:+.2f} | {door('json/h2', j2)} | load {point['load_average']} | "
        f"failed {len(g['failed'])}/{len(j['failed'])}"
    )


def failure_counts(metrics_port: int) -> collections.Counter[str]:
    """Failed shop calls so far by status code, from the gateway's metrics (the log aggregates repeated failures,
    and gRPC statuses travel in trailers, which h2load does not read)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    counts: collections.Counter[str] = collections.Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "onlineconnect_gateway_requests_total" and sample.labels.get("code") != "OK":
                counts[sample.labels.get("code", "?")] += int(sample.value)
    return counts


def failed_since(metrics_port: int, before: collections.Counter[str]) -> tuple[list[str], collections.Counter[str]]:
    """The codes of the calls that failed since ``before`` (one entry per call), and the counts now."""
    now = failure_counts(metrics_port)
    return sorted((now - before).elements()), now


def rss_during_download(url: str, pid: int) -> dict[str, float]:
    """Downloads ``url`` in 64 KiB reads while sampling the gateway's RSS; growth of the peak over the start."""
    reset_peak(pid)
    before = memory_kb(pid)["VmRSS"]
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, memory_kb(pid)["VmRSS"])
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    total = 0
    t0 = time.perf_counter()
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {SHOP_KEY}"})
    with urllib.request.urlopen(request, timeout=120) as r:
        while chunk := r.read(65536):
            total += len(chunk)
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    peak = max(peak, memory_kb(pid).get("VmHWM", peak))
    return {
        "bytes": total,
        "seconds": round(seconds, 3),
        "mb_s": round(total / MB / seconds, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_growth_mb": round((peak - before) / 1024, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measuring time per point (after 0.5 s warm-up)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--h1-client", choices=("h2load", "wrk"), default="h2load", help="client of the JSON door's HTTP/1.1"
    )
    parser.add_argument("--rounds", type=int, default=15, help="rounds at concurrency 1 (both doors each round)")
    parser.add_argument(
        "--c1-seconds", type=float, default=2.0, help="measuring time of each door in each round at concurrency 1"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result files")
    args = parser.parse_args()
    if shutil.which("h2load") is None:
        print("h2load missing: apt-get install nghttp2-client", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp", pdf_bytes=PDF_BYTES)
        grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
        config = write_gateway_config(folder, grpc_port)
        text = config.read_text().replace(
            'tenant = "demo"\nkey_sha256', 'tenant = "demo"\nrate_limit = false\nkey_sha256'
        )
        text = text.replace("[tenants.demo]\n", "[tenants.demo]\nmax_in_flight = 256\nmax_in_flight_per_shop = 256\n")
        config.write_text(
            text + f'\n[http]\nlisten = "127.0.0.1:{http_port}"\ninsecure = true\n'
            f'\n[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
        )
        agent_config = write_agent_config(folder, grpc_port, erp)
        gateway = start("onlineconnect-gateway", ["--config", str(config)], folder)
        agent = start("onlineconnect-agent", ["--config", str(agent_config)], folder)
        http = f"http://127.0.0.1:{http_port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if post(f"{http}/{CALLS['GetOrder'][0]}", CALLS["GetOrder"][2])[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("the gateway's HTTP door did not answer from the agent within 30 s")
                time.sleep(0.2)
            points = []
            pid = gateway.popen.pid
            for rpc, (path, proto, as_json) in CALLS.items():
                grpc_body = folder / f"{rpc}.grpc"
                data = proto.SerializeToString()
                grpc_body.write_bytes(struct.pack(">BI", 0, len(data)) + data)
                json_body = folder / f"{rpc}.json"
                json_body.write_text(json.dumps(as_json))
                auth = f"authorization: Bearer {SHOP_KEY}"
                grpc_headers = ["content-type: application/grpc", "te: trailers", auth]
                json_headers = ["content-type: application/json", auth]
                for c in args.concurrency:
                    rounds = []
                    seconds = args.c1_seconds if c == 1 else args.seconds
                    for number in range(args.rounds if c == 1 else 1):
                        # Both doors back to back, the same client: they see the same machine load. The order
                        # alternates from round to round, so a drift of the machine favours neither door.
                        failed = failure_counts(metrics_port)
                        measured: dict[str, dict[str, Any]] = {}
                        for door in ("grpc", "json") if number % 2 == 0 else ("json", "grpc"):
                            if door == "grpc":
                                url = f"http://127.0.0.1:{grpc_port}/{path}"
                                run = h2load(url, grpc_body, grpc_headers, c, seconds, pid=pid)
                            elif args.h1_client == "wrk":
                                run = wrk(f"{http}/{path}", json_body, c, seconds, pid=pid)
                            else:
                                run = h2load(f"{http}/{path}", json_body, json_headers, c, seconds, pid=pid, h1=True)
                            run["failed"], failed = failed_since(metrics_port, failed)
                            measured[door] = run
                        g, j = measured["grpc"], measured["json"]
                        j2 = h2load(f"{http}/{path}", json_body, json_headers, c, seconds, pid=pid)
                        j2["failed"], failed = failed_since(metrics_port, failed)
                        rounds.append({"grpc": g, "json": j, "json_http2": j2, "load_average": os.getloadavg()[0]})
                    point = combine(rpc, c, rounds)
                    points.append(point)
                    g, j, j2 = point["grpc"], point["json"], point["json_http2"]
                    print(summary(point), flush=True)
            download = rss_during_download(
                f"{http}/v1/customers/{ORDER[0]}/orders/{ORDER[1]}/invoices/{document_id(http)}.pdf",
                gateway.popen.pid,
            )
            print(f"20 MB download over HTTP: {download}", flush=True)
        finally:
            for proc in (agent, gateway):
                proc.stop(timeout=20)

    def verdict(checks: list[bool]) -> bool | None:
        """True or False when the target's points were measured; None (not measured) otherwise."""
        return all(checks) if checks else None

    targets = {
        "json_throughput_c64_at_least_0.8x_grpc": verdict(
            [p["json_over_grpc"] >= TARGET_RATIO_C64 for p in points if p["concurrency"] == 64]
        ),
        "json_added_p50_c1_at_most_0.5ms": verdict(
            [p["added_p50_ms"] <= TARGET_ADDED_P50_MS for p in points if p["concurrency"] == 1]
        ),
        "download_rss_growth_at_most_8mb": download["rss_growth_mb"] <= TARGET_GROWTH_MB,
    }
    doc = {
        "benchmark": "http",
        "machine": machine(),
        "seconds_per_point": args.seconds,
        "client": f"a connection per caller: grpc h2load (HTTP/2); json {args.h1_client} (HTTP/1.1); json_http2 h2load",
        "rounds_at_c1": args.rounds,
        "seconds_per_round_at_c1": args.c1_seconds,
        "points": points,
        "download_20mb": download,
        "targets_met": targets,
    }
    path = write_results("http", doc, args.out)
    print(f"targets: {targets}\nresults: {path}")
    return 0


def document_id(http: str) -> str:
    """The id of the sheet order's (20 MB) invoice."""
    status, body = post(f"{http}/onlineconnect.v1.OrderService/GetOrder", CALLS["GetOrder"][2])
    assert status == 200, body
    return str(json.loads(body)["order"]["documents"][0]["document_id"])


if __name__ == "__main__":
    sys.exit(main())
