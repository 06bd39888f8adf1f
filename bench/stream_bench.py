"""A 20 MB invoice PDF through the relay and through the direct baseline: MB/s and peak memory growth.

Starts gateway + agent + the direct baseline (``onlineconnect-agent direct``) as processes on a demo ERP whose
sheet invoice is a ``--mb`` MB file, downloads it ``--repeat`` times each way and reports, per way, the throughput
(best and median) and the growth of each server process's peak RSS (VmHWM after the download minus VmRSS before
it; the peak mark is reset before every download). Targets: at least 100 MB/s and at most 32 MB growth.

Two shop clients read the stream: Python's grpcio (which checks the SHA-256 the agent announced) and, where Debian's
``h2load`` is installed, that C client, which costs the two shared CPUs far less than a Python client does, so its
figures are closer to what the relay itself can move. Each way also reports the CPU milliseconds per MB of every
server process, which the machine's load disturbs less than the throughput.

    .venv/bin/python bench/stream_bench.py            # 20 MB, 3 downloads each way
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from harness import AUTH, MB, ORDER, RESULTS, cpu_seconds, demo_erp, memory_kb, relay_stack, reset_peak, write_results

from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

TARGET_MB_S = 100.0
TARGET_GROWTH_MB = 32.0


def document_id(address: str, metadata: tuple[tuple[str, str], ...]) -> str:
    """The id of the sheet order's invoice."""
    with grpc.insecure_channel(address) as ch:
        order = orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
            orders_pb2.GetOrderRequest(customer_number=ORDER[0], order_number=ORDER[1]), metadata=metadata, timeout=10
        )
    return str(order.order.documents[0].document_id)


def download(address: str, metadata: tuple[tuple[str, str], ...], doc: str) -> tuple[int, float, str, str]:
    """Streams the invoice once; returns (bytes, seconds, announced sha256, sha256 of what arrived)."""
    digest = hashlib.sha256()
    announced = ""
    total = 0
    with grpc.insecure_channel(address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        request = orders_pb2.GetInvoicePdfRequest(customer_number=ORDER[0], order_number=ORDER[1], document_id=doc)
        t0 = time.perf_counter()
        for msg in stub.GetInvoicePdf(request, metadata=metadata, timeout=120):
            if msg.sha256:
                announced = msg.sha256
            digest.update(msg.data)
            total += len(msg.data)
        seconds = time.perf_counter() - t0
    return total, seconds, announced, digest.hexdigest()


def download_h2load(address: str, metadata: tuple[tuple[str, str], ...], doc: str, folder: Path) -> tuple[int, float]:
    """Streams the invoice once with h2load (a C client); returns (bytes of gRPC data received, seconds)."""
    request = orders_pb2.GetInvoicePdfRequest(customer_number=ORDER[0], order_number=ORDER[1], document_id=doc)
    body = folder / "pdf-request.grpc"
    data = request.SerializeToString()
    body.write_bytes(struct.pack(">BI", 0, len(data)) + data)
    headers = ["content-type: application/grpc", "te: trailers", *(f"{k}: {v}" for k, v in metadata)]
    args = ["h2load", "-n", "1", "-c", "1", "-d", str(body), *(x for h in headers for x in ("-H", h))]
    t0 = time.perf_counter()
    out = subprocess.run(
        [*args, f"http://{address}/onlineconnect.v1.OrderService/GetInvoicePdf"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    seconds = time.perf_counter() - t0
    if not re.search(r"requests: 1 total, 1 started, 1 done, 1 succeeded", out):
        raise RuntimeError(f"h2load's download failed: {out}")
    received = re.search(r"traffic: .*?, \S+ \(\d+\) headers .*?, \S+ \((\d+)\) data", out)
    return int(received.group(1)) if received else 0, seconds


def measure(
    address: str,
    metadata: tuple[tuple[str, str], ...],
    pids: dict[str, int],
    repeat: int,
    *,
    folder: Path | None = None,
) -> dict[str, object]:
    """Downloads ``repeat`` times (with h2load when ``folder`` is given, else grpcio); returns throughput, CPU per
    MB of each process and per-process peak RSS growth (the worst download)."""
    doc = document_id(address, metadata)

    def once() -> tuple[int, float]:
        if folder is not None:
            return download_h2load(address, metadata, doc, folder)
        size, seconds, announced, got = download(address, metadata, doc)
        if announced and announced != got:
            raise RuntimeError(f"the PDF arrived damaged: sha256 {got} != announced {announced}")
        return size, seconds

    once()  # warm-up: file cache, channels, code paths
    rates: list[float] = []
    growth: dict[str, float] = {name: 0.0 for name in pids}
    cpu_ms: dict[str, list[float]] = {name: [] for name in pids}
    size = 0
    for _ in range(repeat):
        before = {}
        cpu_before = {}
        for name, pid in pids.items():
            reset_peak(pid)
            before[name] = memory_kb(pid)["VmRSS"]
            cpu_before[name] = cpu_seconds(pid)
        size, seconds = once()
        rates.append(size / MB / seconds)
        for name, pid in pids.items():
            growth[name] = max(growth[name], (memory_kb(pid)["VmHWM"] - before[name]) / 1024)
            cpu_ms[name].append(1000 * (cpu_seconds(pid) - cpu_before[name]) / (size / MB))
    return {
        "client": "h2load" if folder is not None else "grpcio",
        "bytes": size,
        "downloads": repeat,
        "mb_per_s_best": max(rates),
        "mb_per_s_median": statistics.median(rates),
        "mb_per_s_all": rates,
        "cpu_ms_per_mb_median": {name: round(statistics.median(v), 2) for name, v in cpu_ms.items()},
        "peak_rss_growth_mb": growth,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="size of the invoice PDF in MB")
    parser.add_argument("--repeat", type=int, default=3, help="measured downloads per way")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-h2load", action="store_true", help="measure with the Python client only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp", pdf_bytes=int(args.mb * MB))
        with relay_stack(folder, erp, direct=True) as stack:
            assert stack.direct is not None
            print(f"{args.mb:g} MB invoice, {args.repeat} downloads each way")
            relay_pids = {"gateway": stack.gateway.popen.pid, "agent": stack.agent.popen.pid}
            direct_pids = {"direct": stack.direct.popen.pid}
            direct = measure(stack.direct_address, (), direct_pids, args.repeat)
            relay = measure(stack.address, AUTH, relay_pids, args.repeat)
            c_client = shutil.which("h2load") is not None and not args.no_h2load
            if c_client:
                direct_c = measure(stack.direct_address, (), direct_pids, args.repeat, folder=folder)
                relay_c = measure(stack.address, AUTH, relay_pids, args.repeat, folder=folder)
    rows = [("direct", direct), ("relay", relay)]
    if c_client:
        rows += [("direct", direct_c), ("relay", relay_c)]
    print(f"\n{'way':<8}{'client':>8}{'best MB/s':>10}{'median':>8} | CPU ms/MB | peak RSS growth (MB)")
    for name, m in rows:
        growth = ", ".join(f"{k} {v:.1f}" for k, v in m["peak_rss_growth_mb"].items())  # type: ignore[attr-defined]
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in m["cpu_ms_per_mb_median"].items())  # type: ignore[attr-defined]
        print(f"{name:<8}{m['client']:>8}{m['mb_per_s_best']:>10.1f}{m['mb_per_s_median']:>8.1f} | {cpu} | {growth}")
    worst_growth = max(relay["peak_rss_growth_mb"].values())  # type: ignore[attr-defined]
    best_client = relay_c if c_client else relay
    targets = {
        "mb_per_s": TARGET_MB_S,
        "rss_growth_mb": TARGET_GROWTH_MB,
        "throughput_client": best_client["client"],
        "throughput_met": best_client["mb_per_s_median"] >= TARGET_MB_S,  # type: ignore[operator]
        "rss_growth_met": worst_growth <= TARGET_GROWTH_MB,
    }
    print(
        f"targets: >= {TARGET_MB_S:g} MB/s {'met' if targets['throughput_met'] else 'MISSED'}, "
        f"<= {TARGET_GROWTH_MB:g} MB growth {'met' if targets['rss_growth_met'] else 'MISSED'}"
    )
    doc: dict[str, object] = {"pdf_mb": args.mb, "direct": direct, "relay": relay, "targets": targets}
    if c_client:
        doc |= {"direct_h2load": direct_c, "relay_h2load": relay_c}
    path = write_results("stream", doc, args.out)
    print(f"written: {path} and stream-latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
