"""``make chaos``: kill the gateway, the agent and the database under load; count what every request got.

Starts gateway + agent as processes on the SQLite demo ERP and keeps a steady load on them: ``--callers`` shop
callers (half GetOrder, half GetStoreStock) in a closed loop, each call with a 2 s deadline. Meanwhile it

* kills the gateway with SIGKILL ``--gateway-kills`` times, leaves it down ``--down`` seconds, starts it again and
  measures how long after the gateway's return (its port accepts connections) the agent is back (the tenant's
  health is SERVING) — the target is 2 s;
* kills the agent with SIGKILL and starts it again (time until the gateway notices, time until it serves again);
* takes the database away three ways for ``--db-outage`` seconds each: an exclusive lock held by another
  connection (a busy or hung database), ``chmod 000`` of ``erp.db``, and moving ``erp.db`` away and back.

Every request is counted once, under the phase in which it started: answered correctly (equal to the answer
recorded before the chaos, ignoring ``data_as_of``), with a gRPC error code (``UNAVAILABLE``,
``DEADLINE_EXCEEDED``, …), ``wrong`` (an answer that differs), or ``hanging`` (no outcome at deadline + 1 s). Wrong
and hanging must be 0: the exit status is 1 otherwise. The table goes to stdout and to
``bench/results/chaos-latest.json`` (plus a timestamped copy).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import AUTH, ORDER, POSTCODE, RESULTS, SKU, Stack, demo_erp, relay_stack, write_results

from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

DEADLINE = 2.0
HANG_AFTER = DEADLINE + 1.0
AGENT_BACK_TARGET = 2.0
OUTCOMES = ("ok", "UNAVAILABLE", "DEADLINE_EXCEEDED", "other", "wrong", "hanging")
# A shop's channel should retry its connection quickly; gRPC's default backoff (1 s, growing to 120 s) would keep
# a shop failing long after the gateway is back.
SHOP_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1_000)]


def normalised(msg: Message) -> bytes:
    """The answer without the fields that legitimately change between calls (``data_as_of``)."""
    copy = type(msg)()
    copy.CopyFrom(msg)
    if copy.DESCRIPTOR.fields_by_name.get("data_as_of") is not None:
        copy.ClearField("data_as_of")  # type: ignore[arg-type]
    return copy.SerializeToString(deterministic=True)


class Chaos:
    """The load, the tallies and the faults."""

    def __init__(self, stack: Stack, callers: int) -> None:
        self.stack = stack
        self.callers = callers
        self.phase = "steady"
        self.phases: list[str] = ["steady"]
        self.tally: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.other_codes: collections.Counter[str] = collections.Counter()
        self.examples: list[dict[str, object]] = []
        self.ok_times: list[float] = []
        self.faults: list[dict[str, object]] = []
        self.stop = asyncio.Event()
        self.expected: dict[str, bytes] = {}
        self.channel = grpc.aio.insecure_channel(stack.address, options=SHOP_CHANNEL_OPTIONS)
        orders = orders_pb2_grpc.OrderServiceStub(self.channel)
        stock = stock_pb2_grpc.StockServiceStub(self.channel)
        order_req = orders_pb2.GetOrderRequest(customer_number=ORDER[0], order_number=ORDER[1])
        stock_req = stock_pb2.GetStoreStockRequest(
            sku=SKU, location=stock_pb2.Location(postcode=POSTCODE, country="DE")
        )
        self.calls: dict[str, Callable[[], Awaitable[Message]]] = {
            "GetOrder": lambda: orders.GetOrder(order_req, metadata=AUTH, timeout=DEADLINE),
            "GetStoreStock": lambda: stock.GetStoreStock(stock_req, metadata=AUTH, timeout=DEADLINE),
        }

    def enter(self, phase: str) -> None:
        """Requests started from now on count under ``phase``."""
        self.phase = phase
        self.phases.append(phase)

    async def record_expected(self) -> None:
        """Records each RPC's answer before the chaos (twice, to be sure it is stable)."""
        for rpc, call in self.calls.items():
            first, second = normalised(await call()), normalised(await call())
            if first != second:
                raise RuntimeError(f"{rpc} answers differently from call to call; cannot judge right and wrong")
            self.expected[rpc] = first

    async def caller(self, rpc: str) -> None:
        """One shop caller in a closed loop; pauses 50 ms after a failure as a shop would before trying again."""
        call = self.calls[rpc]
        while not self.stop.is_set():
            phase = self.phase
            detail = ""
            try:
                answer = await asyncio.wait_for(call(), HANG_AFTER)
                outcome = "ok" if normalised(answer) == self.expected[rpc] else "wrong"
            except TimeoutError:
                outcome = "hanging"
            except grpc.aio.AioRpcError as exc:
                outcome, detail = exc.code().name, exc.details() or ""
                if outcome not in OUTCOMES:
                    self.other_codes[outcome] += 1
                    outcome = "other"
            self.tally[phase][outcome] += 1
            if outcome == "ok":
                self.ok_times.append(time.monotonic())
                continue
            if outcome in {"wrong", "hanging", "other"} and len(self.examples) < 20:
                self.examples.append({"phase": phase, "rpc": rpc, "outcome": outcome, "detail": detail})
            await asyncio.sleep(0.05)

    def first_ok_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` to the first correct answer after it (None if none yet)."""
        i = bisect.bisect_left(self.ok_times, moment)  # appended as they happen, so already in order
        return round(self.ok_times[i] - moment, 3) if i < len(self.ok_times) else None

    async def tenant_serving(self) -> bool:
        """Whether the gateway reports the tenant SERVING (a fresh channel, so no stale connection state)."""
        async with grpc.aio.insecure_channel(self.stack.address) as ch:
            try:
                r = await health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service="onlineconnect.tenant.demo"), timeout=0.5
                )
            except grpc.aio.AioRpcError:
                return False
        return bool(r.status == health_pb2.HealthCheckResponse.SERVING)

    async def wait_until(self, check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> float:
        """Polls ``check`` every 20 ms; returns the monotonic time it first held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await check():
                return time.monotonic()
            await asyncio.sleep(0.02)
        raise TimeoutError(f"still not the case after {timeout} s: {check}")

    async def listening(self) -> bool:
        """Whether the gateway's port accepts TCP connections."""
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.stack.port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def kill_gateway(self, n: int, down: float) -> None:
        """SIGKILL the gateway, leave it down ``down`` s, start it; time the agent's return."""
        self.enter(f"gateway kill -9 #{n}")
        killed = time.monotonic()
        self.stack.gateway.popen.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.stack.gateway.popen.wait)
        await asyncio.sleep(down)
        started = time.monotonic()
        self.stack.start_gateway()
        back = await self.wait_until(self.listening)
        serving = await self.wait_until(self.tenant_serving)
        self.faults.append(
            {
                "fault": f"gateway kill -9 #{n}",
                "down_s": round(started - killed, 3),
                "gateway_start_s": round(back - started, 3),
                "agent_back_after_gateway_s": round(serving - back, 3),
                "shop_ok_after_gateway_s": None,
                "_back": back,
            }
        )

    async def kill_agent(self, down: float) -> None:
        """SIGKILL the agent, leave it down ``down`` s, start it; time the gateway's notice and the return."""
        self.enter("agent kill -9")
        killed = time.monotonic()
        self.stack.agent.popen.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.stack.agent.popen.wait)

        async def not_serving() -> bool:
            return not await self.tenant_serving()

        noticed = await self.wait_until(not_serving)
        await asyncio.sleep(max(0.0, down - (time.monotonic() - killed)))
        started = time.monotonic()
        self.stack.start_agent()
        serving = await self.wait_until(self.tenant_serving)
        self.faults.append(
            {
                "fault": "agent kill -9",
                "gateway_noticed_s": round(noticed - killed, 3),
                "agent_start_to_serving_s": round(serving - started, 3),
                "shop_ok_after_agent_s": None,
                "_back": serving,
            }
        )

    async def database_outage(self, how: str, seconds: float) -> None:
        """Takes ``erp.db`` away ``how`` ("lock", "chmod", "move") for ``seconds``; times the first good answer."""
        db = self.stack.erp / "erp.db"
        self.enter(f"database {how}")
        lock: sqlite3.Connection | None = None
        if how == "lock":
            lock = sqlite3.connect(db, timeout=5, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")  # readers get "database is locked" until it ends
        elif how == "chmod":
            os.chmod(db, 0)
        else:
            os.rename(db, db.with_suffix(".away"))
        await asyncio.sleep(seconds)
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
        elif how == "chmod":
            os.chmod(db, 0o644)
        else:
            os.rename(db.with_suffix(".away"), db)
        self.faults.append({"fault": f"database {how}", "outage_s": seconds, "_back": time.monotonic()})

    async def run(self, args: argparse.Namespace) -> None:
        """The whole scenario."""
        await self.record_expected()
        rpcs = ["GetOrder" if i % 2 == 0 else "GetStoreStock" for i in range(self.callers)]
        load = [asyncio.create_task(self.caller(rpc)) for rpc in rpcs]
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        for n in range(1, args.gateway_kills + 1):
            steps.append((f"gateway #{n}", lambda n=n: self.kill_gateway(n, args.down)))  # type: ignore[misc]
        steps.append(("agent", lambda: self.kill_agent(args.down)))
        for how in ("lock", "chmod", "move"):
            steps.append((f"database {how}", lambda how=how: self.database_outage(how, args.db_outage)))  # type: ignore[misc]
        try:
            await asyncio.sleep(args.settle)
            for label, step in steps:
                print(f"{label} …", end=" ", flush=True)
                await step()
                self.enter(f"after {label}")
                await asyncio.sleep(args.settle)
                print("done", flush=True)
        finally:
            self.stop.set()
            await asyncio.gather(*load, return_exceptions=True)
            await self.channel.close()
        for fault in self.faults:
            back = float(fault.pop("_back"))  # type: ignore[arg-type]
            for key in ("shop_ok_after_gateway_s", "shop_ok_after_agent_s"):
                if key in fault:
                    fault[key] = self.first_ok_after(back)
            if str(fault["fault"]).startswith("database"):
                fault["shop_ok_after_restore_s"] = self.first_ok_after(back)


async def scenario(stack: Stack, args: argparse.Namespace) -> Chaos:
    """Runs the scenario on ``stack`` (the shop channel must be made inside the event loop)."""
    chaos = Chaos(stack, args.callers)
    await chaos.run(args)
    return chaos


def table(chaos: Chaos) -> list[dict[str, Any]]:
    """One row per phase, in order, with a count per outcome."""
    rows = []
    for phase in dict.fromkeys(chaos.phases):
        counts = chaos.tally.get(phase, collections.Counter())
        rows.append({"phase": phase, **{o: counts.get(o, 0) for o in OUTCOMES}, "total": sum(counts.values())})
    totals = {o: sum(r[o] for r in rows) for o in OUTCOMES}
    rows.append({"phase": "TOTAL", **totals, "total": sum(totals.values())})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=4, help="concurrent shop callers (half of them GetOrder)")
    parser.add_argument("--gateway-kills", type=int, default=3)
    parser.add_argument("--down", type=float, default=1.0, help="seconds a killed process stays down")
    parser.add_argument("--db-outage", type=float, default=3.0, help="seconds of each database outage")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of plain load before and after a fault")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        erp = demo_erp(folder / "erp")
        with relay_stack(folder, erp) as stack:
            chaos = asyncio.run(scenario(stack, args))
    rows = table(chaos)
    print(f"\n{'phase':<26}" + "".join(f"{o:>18}" for o in OUTCOMES) + f"{'total':>8}")
    for row in rows:
        print(f"{row['phase']:<26}" + "".join(f"{row[o]:>18}" for o in OUTCOMES) + f"{row['total']:>8}")
    print("\nfault recovery (seconds):")
    for fault in chaos.faults:
        print("  " + ", ".join(f"{k}={v}" for k, v in fault.items()))
    gateway_backs = [float(f["agent_back_after_gateway_s"]) for f in chaos.faults if "agent_back_after_gateway_s" in f]  # type: ignore[arg-type]
    total = rows[-1]
    passed = total["wrong"] == 0 and total["hanging"] == 0
    within = bool(gateway_backs) and max(gateway_backs) <= AGENT_BACK_TARGET
    if chaos.other_codes:
        print(f"other codes: {dict(chaos.other_codes)}")
    print(
        f"\nwrong {total['wrong']}, hanging {total['hanging']}: {'PASS' if passed else 'FAIL'}; agent back within "
        f"{AGENT_BACK_TARGET:g} s of the gateway's return: {'yes' if within else 'NO'} "
        f"(worst {max(gateway_backs, default=float('nan')):.2f} s)"
    )
    doc = {
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "deadline_s": DEADLINE,
        "hanging_after_s": HANG_AFTER,
        "table": rows,
        "other_codes": dict(chaos.other_codes),
        "faults": chaos.faults,
        "examples": chaos.examples,
        "passed": passed,
        "agent_back_within_2s": within,
    }
    path = write_results("chaos", doc, args.out)
    print(f"written: {path} and chaos-latest.json")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
