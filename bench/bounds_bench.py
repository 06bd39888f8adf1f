"""Gateway memory when shops never read: 1,500 ~100 KB answers to zero-window HTTP/2 readers.

A real gateway process (console script, config file) and an agent in this process whose BatchGetStoreStock
answers are about 100 KB. One shop key opens the calls on raw HTTP/2 connections advertising a receive window of
zero (``onlineconnect.testing.stalled_shop``), so no answer is ever taken. Two gateways run one after the other in the
same run:
one with the default memory budget (``max_unread_mib = 64``, ``max_unread_mib_per_shop = 8``) and one with the
budget opened wide (``max_unread_mib = 4096`` for the key too), which shows what the budget saves. In-flight caps
and the rate limit are lifted for the shop so that only the budget bounds memory. After the burst, a call of
another tenant must still be answered.

    python bench/bounds_bench.py [--calls 1500] [--answer-kb 100] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from harness import RESULTS, machine, memory_kb, wait_port, write_results

from onlineconnect.agent.connector import Connector
from onlineconnect.agent.session import TunnelSession
from onlineconnect.calls import BY_METHOD, Call
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.testing.processes import AGENT_TOKEN, SHOP_KEY, TENANT_KEY, Proc, free_port, sha, start
from onlineconnect.testing.stalled_shop import StalledConnection
from onlineconnect.v1 import stock_pb2, stock_pb2_grpc

OTHER_KEY_HEX = "00112233445566778899aabbccddeeff"
OTHER_SHOP = "other-tenant-shop-key"
PER_CONNECTION = 100  # the gateway's default max_concurrent_streams


class BigAnswers(FakeHandlers):
    """BatchGetStoreStock answers of ``size`` bytes; everything else as the fake."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    async def unary(self, call: Call, request: Message, ctx: Any) -> Message:
        if call.method != "BatchGetStoreStock":
            return await super().unary(call, request, ctx)
        entry = stock_pb2.BatchStoreStockEntry(sku="851888-XS-KI")
        entry.stock.article.name = "x" * self.size
        return stock_pb2.BatchGetStoreStockResponse(entries=[entry])


def gateway_toml(folder: Path, port: int, *, unread_mib: int, unread_mib_per_shop: int) -> Path:
    """A loopback gateway with tenants ``demo`` (the stalled shop) and ``other``."""
    path = folder / "gateway.toml"
    path.write_text(
        f"""
[server]
listen = "127.0.0.1:{port}"
insecure = true
default_deadline_seconds = 10
max_unread_mib = {unread_mib}
max_unread_mib_per_shop = {unread_mib_per_shop}
[log]
format = "json"
level = "warning"
[tenants.demo]
keys = {{ 1 = "{TENANT_KEY}" }}
max_in_flight = 5000
max_in_flight_per_shop = 5000
[tenants.other]
keys = {{ 1 = "{OTHER_KEY_HEX}" }}
[[shops]]
name = "stalled"
tenant = "demo"
key_sha256 = "{sha(SHOP_KEY)}"
rate_limit = false
[[shops]]
name = "other"
tenant = "other"
key_sha256 = "{sha(OTHER_SHOP)}"
[[agents]]
name = "agent"
token_sha256 = "{sha(AGENT_TOKEN)}"
tenants = ["demo", "other"]
"""
    )
    return path


def agent(address: str, tenant: str, key: bytes, handlers: Any) -> Connector:
    """An agent connector serving ``tenant`` with ``handlers``."""

    def make() -> TunnelSession:
        return TunnelSession(
            tenant=tenant, agent_id=f"bench-{tenant}", token=AGENT_TOKEN, key_id=1, key=key, handlers=handlers
        )

    return Connector(address, make, credentials=None, initial_backoff=0.05, max_backoff=0.5)


async def run_one(folder: Path, *, calls: int, answer: int, unread_mib: int, per_shop_mib: int) -> dict[str, Any]:
    """One gateway, one burst; returns RSS growth, what the budget refused, and whether the other tenant was served."""
    port = free_port()
    gw: Proc = start(
        "onlineconnect-gateway",
        ["--config", str(gateway_toml(folder, port, unread_mib=unread_mib, unread_mib_per_shop=per_shop_mib))],
        folder,
    )
    address = f"127.0.0.1:{port}"
    connectors = [
        agent(address, "demo", bytes.fromhex(TENANT_KEY), BigAnswers(answer)),
        agent(address, "other", bytes.fromhex(OTHER_KEY_HEX), FakeHandlers()),
    ]
    tasks = [asyncio.create_task(c.run()) for c in connectors]
    conns: list[StalledConnection] = []
    try:
        await asyncio.to_thread(wait_port, port)
        await asyncio.sleep(1.0)  # both tunnels up
        base = memory_kb(gw.popen.pid)["VmRSS"]
        request = stock_pb2.BatchGetStoreStockRequest(skus=["851888-XS-KI"]).SerializeToString()
        path = BY_METHOD["BatchGetStoreStock"].path
        auth = (("authorization", f"Bearer {SHOP_KEY}"),)
        conns = [StalledConnection(port) for _ in range((calls + PER_CONNECTION - 1) // PER_CONNECTION)]
        sids = [
            (c, c.call(path, request, auth))
            for i, c in enumerate(conns)
            for _ in range(min(PER_CONNECTION, calls - i * PER_CONNECTION))
        ]
        started = time.monotonic()
        peak = base
        while time.monotonic() - started < 60:
            peak = max(peak, memory_kb(gw.popen.pid)["VmRSS"])
            if all(c.status(s) is not None or s in c.headers for c, s in sids):
                break
            await asyncio.sleep(0.05)
        settle = time.monotonic() + 2
        while time.monotonic() < settle:
            peak = max(peak, memory_kb(gw.popen.pid)["VmRSS"])
            await asyncio.sleep(0.05)
        codes = [c.status(s) for c, s in sids]
        exhausted = codes.count(str(grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]))
        being_written = sum(1 for c, s in sids if c.status(s) is None and s in c.headers)
        async with grpc.aio.insecure_channel(address) as ch:
            try:
                got = await stock_pb2_grpc.StockServiceStub(ch).GetStoreStock(
                    stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"),
                    metadata=(("authorization", f"Bearer {OTHER_SHOP}"),),
                    timeout=5,
                )
                other_served = got.article.sku == "851888-XS-KI"
            except grpc.aio.AioRpcError as exc:
                other_served = False
                print("other tenant:", exc.code().name, exc.details())
        return {
            "max_unread_mib": unread_mib,
            "max_unread_mib_per_shop": per_shop_mib,
            "calls": calls,
            "answer_bytes": answer,
            "rss_base_mib": round(base / 1024, 1),
            "rss_growth_peak_mib": round((peak - base) / 1024, 1),
            "refused_resource_exhausted": exhausted,
            "answers_stuck_unread": being_written,
            "other_tenant_served": other_served,
            "gateway_alive": gw.popen.poll() is None,
        }
    finally:
        for c in conns:
            c.close()
        for c in connectors:
            c.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        gw.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--answer-kb", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    runs = []
    for unread, per_shop in ((64, 8), (4096, 4096)):
        with tempfile.TemporaryDirectory(prefix="oc-bounds-") as tmp:
            runs.append(
                await run_one(
                    Path(tmp), calls=args.calls, answer=args.answer_kb * 1000, unread_mib=unread, per_shop_mib=per_shop
                )
            )
    for r in runs:
        print(
            f"budget {r['max_unread_mib']:>5} MiB (key {r['max_unread_mib_per_shop']:>5} MiB): "
            f"RSS +{r['rss_growth_peak_mib']:7.1f} MiB, refused {r['refused_resource_exhausted']:5}, "
            f"stuck {r['answers_stuck_unread']:5}, other tenant served: {r['other_tenant_served']}"
        )
    bounded = runs[0]
    ok = bounded["rss_growth_peak_mib"] <= 96 and bounded["other_tenant_served"] and bounded["gateway_alive"]
    print("target (default budget: RSS growth <= 96 MiB, other tenant served):", "MET" if ok else "NOT MET")
    write_results("bounds", {"runs": runs, "target_met": ok, "machine_now": machine()}, args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(asyncio.run(main()))
