"""A 20 MB invoice PDF through the relay and through the direct baseline: MB/s and peak memory growth.

Starts gateway + agent + the direct baseline (``onlineconnect-agent direct``) as processes on a demo ERP whose
sheet invoice is a ``--mb`` MB file, downloads it ``--repeat`` times each way and reports, per way, the throughput
(best and median) and the growth of each server process's peak RSS (VmHWM after the download minus VmRSS before
it; the peak mark is reset before every download). Targets: at least 100 MB/s and at most 32 MB growth.

    .venv/bin/python bench/stream_bench.py            # 20 MB, 3 downloads each way
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from harness import AUTH, MB, ORDER, RESULTS, demo_erp, memory_kb, relay_stack, reset_peak, write_results

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


def measure(
    address: str, metadata: tuple[tuple[str, str], ...], pids: dict[str, int], repeat: int
) -> dict[str, object]:
    """Downloads ``repeat`` times; returns throughput and per-process peak RSS growth (the worst download)."""
    doc = document_id(address, metadata)
    download(address, metadata, doc)  # warm-up: file cache, channels, code paths
    rates: list[float] = []
    growth: dict[str, float] = {name: 0.0 for name in pids}
    size = 0
    for _ in range(repeat):
        before = {}
        for name, pid in pids.items():
            reset_peak(pid)
            before[name] = memory_kb(pid)["VmRSS"]
        size, seconds, announced, got = download(address, metadata, doc)
        if announced and announced != got:
            raise RuntimeError(f"the PDF arrived damaged: sha256 {got} != announced {announced}")
        rates.append(size / MB / seconds)
        for name, pid in pids.items():
            growth[name] = max(growth[name], (memory_kb(pid)["VmHWM"] - before[name]) / 1024)
    return {
        "bytes": size,
        "downloads": repeat,
        "mb_per_s_best": max(rates),
        "mb_per_s_median": statistics.median(rates),
        "mb_per_s_all": rates,
        "peak_rss_growth_mb": growth,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="size of the invoice PDF in MB")
    parser.add_argument("--repeat", type=int, default=3, help="measured downloads per way")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp", pdf_bytes=int(args.mb * MB))
        with relay_stack(folder, erp, direct=True) as stack:
            assert stack.direct is not None
            print(f"{args.mb:g} MB invoice, {args.repeat} downloads each way")
            direct = measure(stack.direct_address, (), {"direct": stack.direct.popen.pid}, args.repeat)
            relay = measure(
                stack.address, AUTH, {"gateway": stack.gateway.popen.pid, "agent": stack.agent.popen.pid}, args.repeat
            )
    rows = (("direct", direct), ("relay", relay))
    print(f"\n{'way':<8}{'best MB/s':>10}{'median':>8} | peak RSS growth (MB)")
    for name, m in rows:
        growth = ", ".join(f"{k} {v:.1f}" for k, v in m["peak_rss_growth_mb"].items())  # type: ignore[attr-defined]
        print(f"{name:<8}{m['mb_per_s_best']:>10.1f}{m['mb_per_s_median']:>8.1f} | {growth}")
    worst_growth = max(relay["peak_rss_growth_mb"].values())  # type: ignore[attr-defined]
    targets = {
        "mb_per_s": TARGET_MB_S,
        "rss_growth_mb": TARGET_GROWTH_MB,
        "throughput_met": relay["mb_per_s_median"] >= TARGET_MB_S,  # type: ignore[operator]
        "rss_growth_met": worst_growth <= TARGET_GROWTH_MB,
    }
    print(
        f"targets: >= {TARGET_MB_S:g} MB/s {'met' if targets['throughput_met'] else 'MISSED'}, "
        f"<= {TARGET_GROWTH_MB:g} MB growth {'met' if targets['rss_growth_met'] else 'MISSED'}"
    )
    path = write_results("stream", {"pdf_mb": args.mb, "direct": direct, "relay": relay, "targets": targets}, args.out)
    print(f"written: {path} and stream-latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
