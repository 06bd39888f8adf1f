"""``make chaos``: kill and freeze gateway, agent and database under load; judge every answer against the ERP.

Starts a private PostgreSQL server holding the demo ERP (``pg_private.py``; the machine's shared server is never
touched), and gateway + agent as processes the way an operator starts them (console scripts, config files). The
gateway's stock cache is off for the tenant, so every stock answer must reflect the database during its call.

Load: ``--callers`` shop callers on one shop channel in a closed loop — GetOrder (own, foreign and missing orders
of several customers), GetStoreStock (several SKUs and an unknown one), ListOrders (first pages) and
BatchGetStoreStock. Most calls carry a 2 s deadline; one in five carries none (the gateway's default deadline,
4 s here, applies). Meanwhile a writer changes the stock of the watched SKUs ten times a second.

Faults, each followed by ``--settle`` seconds of plain load, ``--rounds`` times: the gateway killed with SIGKILL
``--gateway-kills`` times (down ``--down`` s, started again), the agent killed with SIGKILL, the agent frozen with
SIGSTOP for ``--freeze`` s (then SIGCONT), and PostgreSQL stopped (``pg_ctl stop -m fast``) for ``--db-outage`` s.

Every call gets exactly one outcome (``chaos_truth.py`` judges answers against the database itself):

    OK correct | OK wrong | NOT_FOUND expected | UNAVAILABLE | DEADLINE_EXCEEDED | other | hung

"hung" is decided by a watchdog thread, independent of gRPC deadlines: a call still running ``HANG_GRACE`` (2 s)
after its deadline — or, without a deadline, after the gateway's default deadline — is hung (and cancelled, so
the caller goes on). A fault's window runs from its start until the system is healthy again (tenant SERVING and a
correct probe answer on a fresh channel) plus ``--recovery-margin`` (1 s) for the shops' channels to reconnect.

PASS needs all of: 0 OK wrong, 0 hung, 0 other; at least 99 % success (OK correct or NOT_FOUND expected) among
the calls that overlap no fault window; the agent back within 2 s of each gateway return; recovery from every
fault within 20 s; and the stock really changing during the run. The exit status is 1 on FAIL. A summary table
goes to stdout, the full record to ``bench/results/chaos-<time>.json`` and ``chaos-latest.json``.

``--break`` runs the same judge against a deliberately broken system (used by tests/test_chaos_verdict.py):
``hang-after-N`` (an agent that stops answering after N calls), ``foreign-orders`` (an agent whose mapping lost
the customer filter) and ``stock-cache`` (a gateway caching stock for 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
from chaos_truth import (
    CORRECT,
    HUNG,
    OTHER,
    OUTCOMES,
    SUCCESS,
    WRONG,
    ErpFacts,
    Judge,
    StockHistory,
    StockWriter,
    read_stock,
)
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import RESULTS, wait_serving, write_results
from pg_private import PrivatePostgres, private_postgres

from onlineconnect.agent.erp.demo.export import create_database, export_demo
from onlineconnect.testing.invariants import mapping_without_customer_filter
from onlineconnect.testing.processes import AGENT_TOKEN, SHOP_KEY, TENANT_KEY, Proc, free_port, sha, start
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

BENCH = Path(__file__).resolve().parent
AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
DEADLINE = 2.0
NO_DEADLINE_SHARE = 0.2
GATEWAY_DEFAULT_DEADLINE = 4.0  # server.default_deadline_seconds of the chaos gateway
HANG_GRACE = 2.0
AGENT_BACK_TARGET = 2.0
RECOVERY_MARGIN = 1.0
RECOVERY_LIMIT = 20.0
SUCCESS_TARGET = 0.99
CUSTOMERS = ("4711", "4712", "4713")
UNKNOWN_CUSTOMER = "9999"
MISSING_ORDER = "000000000"
READER = "erp_reader"  # the agent's read-only database user; the stock writer and the judge connect as postgres
SKUS = ("851888-XS-KI", "851888-M-MA", "851888-S-KI", "620114-L-OL", "620114-M-SW", "733021-40-WE")
UNKNOWN_SKU = "999999-XX-XX"
PROBE = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
RPCS = ("GetOrder", "GetStoreStock", "ListOrders", "BatchGetStoreStock")
# A shop's channel should retry its connection quickly; gRPC's default backoff (1 s, growing to 120 s) would keep
# a shop failing long after the gateway is back.
SHOP_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 1_000)]


# --- the system under test ------------------------------------------------------------------------------------


def gateway_toml(port: int, stock_cache_ttl: float) -> str:
    """The chaos gateway's config: tenant ``demo`` with the stock cache as given (0: off), no shop rate limit."""
    return f"""
[server]
listen = "127.0.0.1:{port}"
insecure = true
default_deadline_seconds = {GATEWAY_DEFAULT_DEADLINE}
[log]
format = "json"
[tenants.demo]
keys = {{ 1 = "{TENANT_KEY}" }}
stock_cache_ttl_seconds = {stock_cache_ttl}
[[shops]]
# The closed-loop load may exceed the shipped 200 calls/s per key on a fast machine: this run judges answers
# under faults, not the rate limiter (which has its own tests), so a refusal must not count as "other".
rate_limit = false
name = "shop"
tenant = "demo"
key_sha256 = "{sha(SHOP_KEY)}"
[[agents]]
name = "agent"
token_sha256 = "{sha(AGENT_TOKEN)}"
tenants = ["demo"]
"""


def agent_toml(port: int, db_url: str, archive: Path, mapping: Path | None) -> str:
    """The chaos agent's config: the ERP on PostgreSQL, shipped reconnect defaults, pinned stock thresholds."""
    mapping_line = f'mapping = "{mapping}"' if mapping else ""
    return f"""
[agent]
id = "chaos-agent"
gateway = "127.0.0.1:{port}"
insecure = true
token = "{AGENT_TOKEN}"
tenant = "demo"
key_id = 1
key = "{TENANT_KEY}"
[database]
url = "{db_url}"
{mapping_line}
[log]
format = "json"
[orders]
archive_root = "{archive}"
[stock]
low_stock_threshold = 3
show_quantity_max = 10
"""


def read_only(conninfo: str, user: str) -> None:
    """Creates ``user`` with read access only to the ERP's tables, as docs/erp-databases.md advises merchants."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN")
        conn.execute(f"ALTER ROLE {user} SET default_transaction_read_only = on")
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {user}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}")


@dataclass
class Stack:
    """Gateway and agent processes on the private PostgreSQL ERP."""

    folder: Path
    port: int
    pg: PrivatePostgres
    gateway_config: Path
    agent_config: Path
    agent_command: tuple[str, list[str]]
    gateway: Proc | None = None
    agent: Proc | None = None

    @property
    def address(self) -> str:
        """The gateway's address for shops."""
        return f"127.0.0.1:{self.port}"

    def start_gateway(self) -> None:
        """Starts (again) the gateway on the same port and config."""
        self.gateway = start("onlineconnect-gateway", ["--config", str(self.gateway_config)], self.folder)

    def start_agent(self) -> None:
        """Starts (again) the agent with the same config."""
        name, args = self.agent_command
        self.agent = start(name, [*args, "--config", str(self.agent_config)], self.folder)


@contextlib.contextmanager
def chaos_stack(folder: Path, breakage: str) -> Iterator[Stack]:
    """The private PostgreSQL with the demo ERP, gateway and agent, serving; everything stopped afterwards."""
    with private_postgres() as pg:
        create_database(pg.server_url("erp"))
        export_demo(pg.server_url("erp"), folder / "archive")
        read_only(f"postgresql://postgres@127.0.0.1:{pg.port}/erp", READER)
        db_url = pg.server_url("erp", user=READER)
        port = free_port()
        mapping = mapping_without_customer_filter(folder / "leaky.toml") if breakage == "foreign-orders" else None
        command: tuple[str, list[str]] = ("onlineconnect-agent", [])
        if breakage.startswith("hang-after-"):
            command = ("python", [str(BENCH / "broken_agent.py"), "--hang-after", breakage.rsplit("-", 1)[1]])
        gw = folder / "gateway.toml"
        gw.write_text(gateway_toml(port, 30.0 if breakage == "stock-cache" else 0))
        ag = folder / "agent.toml"
        ag.write_text(agent_toml(port, db_url, folder / "archive", mapping))
        stack = Stack(folder, port, pg, gw, ag, command)
        stack.start_gateway()
        stack.start_agent()
        try:
            try:
                wait_serving(stack.address, timeout=30)
            except TimeoutError as exc:
                logs = "\n".join(
                    f"--- {p.name}:\n{p.log.read_text()[-2000:]}" for p in (stack.gateway, stack.agent) if p
                )
                raise RuntimeError(f"gateway and agent did not come up: {exc}\n{logs}") from exc
            yield stack
        finally:
            for proc in (stack.agent, stack.gateway):
                if proc is not None:
                    with contextlib.suppress(Exception):
                        proc.popen.send_signal(signal.SIGCONT)
                        proc.stop(timeout=5)
                    if proc.popen.poll() is None:
                        proc.stop(signal.SIGKILL)


# --- the watchdog ---------------------------------------------------------------------------------------------


class Watchdog(threading.Thread):
    """Marks calls hung that run past their limit and cancels them, whatever gRPC and the event loop do."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(daemon=True, name="watchdog")
        self.loop = loop
        self._inflight: dict[int, tuple[float, asyncio.Future[Any]]] = {}
        self._hung: set[int] = set()
        self._lock = threading.Lock()
        self.halt = threading.Event()

    def watch(self, call_id: int, limit_at: float, task: asyncio.Future[Any]) -> None:
        """Starts watching a call that must have an outcome by ``limit_at`` (monotonic)."""
        with self._lock:
            self._inflight[call_id] = (limit_at, task)

    def done(self, call_id: int) -> bool:
        """Stops watching a call; True if it had been marked hung."""
        with self._lock:
            self._inflight.pop(call_id, None)
            if call_id in self._hung:
                self._hung.discard(call_id)
                return True
            return False

    def run(self) -> None:
        while not self.halt.wait(0.05):
            now = time.monotonic()
            with self._lock:
                late = [(i, t) for i, (limit, t) in self._inflight.items() if now > limit]
                for i, _ in late:
                    del self._inflight[i]
                    self._hung.add(i)
            for _, task in late:
                self.loop.call_soon_threadsafe(task.cancel)


async def watched(
    watchdog: Watchdog, call_id: int, limit_at: float, call: Awaitable[Message]
) -> tuple[Message | None, str]:
    """Awaits a gRPC call under ``watchdog``: (answer, "OK"), (None, status name) or (None, "hung").

    The call is hung if it has no outcome at ``limit_at`` (monotonic); the watchdog then cancels it.
    """
    task = asyncio.ensure_future(call)
    watchdog.watch(call_id, limit_at, task)
    try:
        answer = await task
    except asyncio.CancelledError:
        if not watchdog.done(call_id):
            raise  # the caller itself was cancelled
        return None, HUNG
    except grpc.aio.AioRpcError as exc:
        return (None, HUNG) if watchdog.done(call_id) else (None, exc.code().name)
    return (None, HUNG) if watchdog.done(call_id) else (answer, "OK")


# --- load, faults and bookkeeping -----------------------------------------------------------------------------


@dataclass
class Record:
    """One finished call."""

    rpc: str
    phase: str
    start: float
    end: float
    outcome: str
    reason: str
    deadline: float | None


class Chaos:
    """The load, the faults and every call's outcome."""

    def __init__(self, stack: Stack, judge: Judge, facts: ErpFacts, args: argparse.Namespace) -> None:
        self.stack = stack
        self.judge = judge
        self.facts = facts
        self.args = args
        self.phase = "steady"
        self.phases = ["steady"]
        self.records: list[Record] = []
        self.faults: list[dict[str, Any]] = []
        self.windows: list[tuple[str, float, float]] = []
        self.stop = asyncio.Event()
        self.ids = itertools.count()
        self.channel = grpc.aio.insecure_channel(stack.address, options=SHOP_CHANNEL_OPTIONS)
        self.watchdog = Watchdog(asyncio.get_running_loop())
        self.methods = self._methods(self.channel)

    @staticmethod
    def _methods(channel: grpc.aio.Channel) -> dict[str, Callable[..., Any]]:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        stock = stock_pb2_grpc.StockServiceStub(channel)
        return {
            "GetOrder": orders.GetOrder,
            "ListOrders": orders.ListOrders,
            "GetStoreStock": stock.GetStoreStock,
            "BatchGetStoreStock": stock.BatchGetStoreStock,
        }

    def enter(self, phase: str) -> None:
        """Calls started from now on count under ``phase``."""
        self.phase = phase
        self.phases.append(phase)

    def request(self, rpc: str, rnd: random.Random) -> Message:
        """A random request of ``rpc``: own, foreign and missing orders; known and unknown SKUs."""
        if rpc == "GetOrder":
            customer = rnd.choice(CUSTOMERS)
            pick = rnd.random()
            if pick < 0.45:
                order = rnd.choice(self.facts.history[customer])
            elif pick < 0.9:
                order = rnd.choice([o for o, f in self.facts.orders.items() if f.customer != customer])
            else:
                order = MISSING_ORDER
            if rnd.random() < 0.05:
                customer = UNKNOWN_CUSTOMER
            return orders_pb2.GetOrderRequest(customer_number=customer, order_number=order)
        if rpc == "ListOrders":
            customer = rnd.choice([*CUSTOMERS, UNKNOWN_CUSTOMER])
            return orders_pb2.ListOrdersRequest(customer_number=customer, page_size=rnd.choice([2, 5, 20]))
        if rpc == "GetStoreStock":
            return stock_pb2.GetStoreStockRequest(sku=UNKNOWN_SKU if rnd.random() < 0.1 else rnd.choice(SKUS))
        skus = rnd.sample(SKUS, 3) + ([UNKNOWN_SKU] if rnd.random() < 0.2 else [])
        return stock_pb2.BatchGetStoreStockRequest(skus=skus)

    async def one_call(self, rpc: str, request: Message, timeout: float | None) -> Record:
        """Makes one call under the watchdog and judges its outcome."""
        phase = self.phase
        started = time.monotonic()
        limit = started + (timeout if timeout is not None else GATEWAY_DEFAULT_DEADLINE) + HANG_GRACE
        call = self.methods[rpc](request, metadata=AUTH, timeout=timeout)
        answer, code = await watched(self.watchdog, next(self.ids), limit, call)
        ended = time.monotonic()
        if code == HUNG:
            waited = "no deadline" if timeout is None else f"deadline {timeout:g} s"
            reason = f"no outcome {limit - started:.1f} s after start ({waited})"
            return Record(rpc, phase, started, ended, HUNG, reason, timeout)
        outcome, reason = self.judge.classify(request, answer, code, started, ended)
        return Record(rpc, phase, started, ended, outcome, reason, timeout)

    async def caller(self, rpc: str, seed: int) -> None:
        """One shop caller in a closed loop; pauses 50 ms after a failure as a shop would before trying again."""
        rnd = random.Random(seed)
        while not self.stop.is_set():
            timeout = None if rnd.random() < NO_DEADLINE_SHARE else DEADLINE
            record = await self.one_call(rpc, self.request(rpc, rnd), timeout)
            self.records.append(record)
            if record.outcome not in SUCCESS:
                await asyncio.sleep(0.05)

    # -- observing the system --

    async def tenant_serving(self) -> bool:
        """Whether the gateway reports the tenant SERVING to its shop (a fresh channel: no stale connection state)."""
        async with grpc.aio.insecure_channel(self.stack.address) as ch:
            try:
                r = await health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service="onlineconnect.tenant.demo"), metadata=AUTH, timeout=0.5
                )
            except grpc.aio.AioRpcError:
                return False
        return bool(r.status == health_pb2.HealthCheckResponse.SERVING)

    async def healthy(self) -> bool:
        """Tenant SERVING and a probe GetOrder answered correctly on a fresh channel within 1 s."""
        if not await self.tenant_serving():
            return False
        async with grpc.aio.insecure_channel(self.stack.address) as ch:
            started = time.monotonic()
            try:
                answer = await orders_pb2_grpc.OrderServiceStub(ch).GetOrder(PROBE, metadata=AUTH, timeout=1.0)
            except grpc.aio.AioRpcError:
                return False
        return self.judge.classify(PROBE, answer, "OK", started, time.monotonic())[0] == CORRECT

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

    async def wait_until(self, check: Callable[[], Awaitable[bool]], timeout: float = RECOVERY_LIMIT) -> float | None:
        """Polls ``check`` every 20 ms; the monotonic time it first held, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await check():
                return time.monotonic()
            await asyncio.sleep(0.02)
        return None

    async def recovered(self, label: str, began: float, fault: dict[str, Any]) -> None:
        """Waits until healthy; books the fault's window and its recovery time."""
        back = await self.wait_until(self.healthy)
        fault["recovered_s"] = round(back - began, 3) if back is not None else None
        ended = back if back is not None else time.monotonic()
        self.windows.append((label, began, ended + self.args.recovery_margin))
        self.faults.append(fault)

    # -- the faults --

    async def kill_gateway(self, label: str) -> None:
        """SIGKILL the gateway, leave it down, start it; time the agent's return after the gateway's."""
        assert self.stack.gateway is not None
        began = time.monotonic()
        self.stack.gateway.popen.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.stack.gateway.popen.wait)
        await asyncio.sleep(self.args.down)
        started = time.monotonic()
        self.stack.start_gateway()
        listening = await self.wait_until(self.listening)
        serving = await self.wait_until(self.tenant_serving) if listening is not None else None
        fault: dict[str, Any] = {
            "fault": label,
            "gateway_start_s": round(listening - started, 3) if listening is not None else None,
            "agent_back_after_gateway_s": (
                round(serving - listening, 3) if serving is not None and listening is not None else None
            ),
        }
        await self.recovered(label, began, fault)

    async def kill_agent(self, label: str) -> None:
        """SIGKILL the agent, leave it down, start it; time the gateway's notice and the agent's return."""
        assert self.stack.agent is not None
        began = time.monotonic()
        self.stack.agent.popen.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.stack.agent.popen.wait)

        async def not_serving() -> bool:
            return not await self.tenant_serving()

        noticed = await self.wait_until(not_serving, timeout=10)
        await asyncio.sleep(max(0.0, self.args.down - (time.monotonic() - began)))
        started = time.monotonic()
        self.stack.start_agent()
        serving = await self.wait_until(self.tenant_serving)
        fault = {
            "fault": label,
            "gateway_noticed_s": round(noticed - began, 3) if noticed is not None else None,
            "agent_start_to_serving_s": round(serving - started, 3) if serving is not None else None,
        }
        await self.recovered(label, began, fault)

    async def freeze_agent(self, label: str) -> None:
        """SIGSTOP the agent for ``--freeze`` seconds, then SIGCONT: calls it took must not hang the shops."""
        assert self.stack.agent is not None
        began = time.monotonic()
        self.stack.agent.popen.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(self.args.freeze)
            serving_while_frozen = await self.tenant_serving()
        finally:
            self.stack.agent.popen.send_signal(signal.SIGCONT)
        await self.recovered(
            label,
            began,
            {"fault": label, "frozen_s": self.args.freeze, "tenant_serving_while_frozen": serving_while_frozen},
        )

    async def stop_database(self, label: str) -> None:
        """``pg_ctl stop -m fast`` (sessions terminated), ``--db-outage`` seconds down, ``pg_ctl start``."""
        began = time.monotonic()
        await asyncio.to_thread(self.stack.pg.stop, "fast")
        await asyncio.sleep(self.args.db_outage)
        await asyncio.to_thread(self.stack.pg.start)
        await self.recovered(label, began, {"fault": label, "down_s": round(time.monotonic() - began, 3)})

    def plan(self) -> list[tuple[str, Callable[[str], Awaitable[None]]]]:
        """The faults in order, as (label, action)."""
        chosen = set(self.args.faults.split(",")) - {"none", ""}
        steps: list[tuple[str, Callable[[str], Awaitable[None]]]] = []
        for r in range(1, self.args.rounds + 1):
            tag = f" (round {r})" if self.args.rounds > 1 else ""
            if "gateway" in chosen:
                steps += [
                    (f"gateway kill -9 #{n}{tag}", self.kill_gateway) for n in range(1, self.args.gateway_kills + 1)
                ]
            if "agent-kill" in chosen:
                steps.append((f"agent kill -9{tag}", self.kill_agent))
            if "agent-stop" in chosen:
                steps.append((f"agent SIGSTOP {self.args.freeze:g} s{tag}", self.freeze_agent))
            if "database" in chosen:
                steps.append((f"PostgreSQL stopped {self.args.db_outage:g} s{tag}", self.stop_database))
        return steps

    async def run(self) -> None:
        """The whole scenario: load, then each fault followed by plain load."""
        self.watchdog.start()
        load = [
            asyncio.create_task(self.caller(RPCS[i % len(RPCS)], self.args.seed * 1000 + i))
            for i in range(self.args.callers)
        ]
        try:
            await asyncio.sleep(self.args.settle)
            for label, action in self.plan():
                print(f"{label} …", end=" ", flush=True)
                self.enter(label)
                await action(label)
                self.enter(f"after {label}")
                await asyncio.sleep(self.args.settle)
                print(f"recovered after {self.faults[-1]['recovered_s']} s", flush=True)
        finally:
            self.stop.set()
            await asyncio.gather(*load, return_exceptions=True)
            self.watchdog.halt.set()
            await self.channel.close()

    def in_fault_window(self, r: Record) -> bool:
        """Whether the call overlaps a fault's window."""
        return any(r.start <= end and r.end >= begin for _, begin, end in self.windows)


# --- the verdict ----------------------------------------------------------------------------------------------


def table(chaos: Chaos) -> list[dict[str, Any]]:
    """One row per phase, in order, with a count per outcome; then outside/inside fault windows and the total."""
    by_phase: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    outside: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    for r in chaos.records:
        by_phase[r.phase][r.outcome] += 1
        (inside if chaos.in_fault_window(r) else outside)[r.outcome] += 1
    rows = []
    for phase in dict.fromkeys(chaos.phases):
        counts = by_phase.get(phase, collections.Counter())
        rows.append({"phase": phase, **{o: counts.get(o, 0) for o in OUTCOMES}, "total": sum(counts.values())})
    for name, counts in (("outside fault windows", outside), ("inside fault windows", inside)):
        rows.append({"phase": name, **{o: counts.get(o, 0) for o in OUTCOMES}, "total": sum(counts.values())})
    total = collections.Counter(r.outcome for r in chaos.records)
    rows.append({"phase": "TOTAL", **{o: total.get(o, 0) for o in OUTCOMES}, "total": sum(total.values())})
    return rows


def criteria(chaos: Chaos, rows: list[dict[str, Any]], writer: StockWriter) -> list[dict[str, Any]]:
    """Each pass condition with what was seen."""
    total = rows[-1]
    outside = next(r for r in rows if r["phase"] == "outside fault windows")
    ok_outside = sum(outside[o] for o in SUCCESS)
    rate = ok_outside / outside["total"] if outside["total"] else 0.0
    backs = [f.get("agent_back_after_gateway_s") for f in chaos.faults if "agent_back_after_gateway_s" in f]
    recoveries = [f["recovered_s"] for f in chaos.faults]
    stock_checked = sum(1 for r in chaos.records if r.rpc.endswith("StoreStock") and r.outcome == CORRECT)
    return [
        {"criterion": "no OK wrong", "seen": total[WRONG], "ok": total[WRONG] == 0},
        {"criterion": "no hung call", "seen": total[HUNG], "ok": total[HUNG] == 0},
        {"criterion": "no other outcome", "seen": total[OTHER], "ok": total[OTHER] == 0},
        {
            "criterion": f"success outside fault windows >= {SUCCESS_TARGET:.0%}",
            "seen": f"{rate:.2%} ({ok_outside} of {outside['total']})",
            "ok": outside["total"] > 0 and rate >= SUCCESS_TARGET,
        },
        {
            "criterion": f"agent back <= {chaos.args.agent_back_target:g} s after each gateway return",
            "seen": backs,
            "ok": all(b is not None and b <= chaos.args.agent_back_target for b in backs),
        },
        {
            "criterion": f"every fault recovered within {RECOVERY_LIMIT:g} s",
            "seen": recoveries,
            "ok": all(r is not None for r in recoveries),
        },
        {
            "criterion": "stock changed while stock answers were checked",
            "seen": f"{writer.writes} writes, {stock_checked} correct stock answers",
            "ok": writer.writes > 0 and stock_checked > 0,
        },
    ]


def print_summary(rows: list[dict[str, Any]], chaos: Chaos, checks: list[dict[str, Any]], passed: bool) -> None:
    """The table, the faults and the verdict on stdout."""
    short = {CORRECT: "OK-correct", WRONG: "OK-wrong", "NOT_FOUND expected": "NOT_FOUND-exp"}
    heads = [short.get(o, o) for o in OUTCOMES]
    width = max(28, *(len(r["phase"]) + 1 for r in rows))
    print(f"\n{'phase':<{width}}" + "".join(f"{h:>18}" for h in heads) + f"{'total':>8}")
    for row in rows:
        if row["phase"] in {"outside fault windows", "TOTAL"}:
            print("-" * (width + 18 * len(heads) + 8))
        print(f"{row['phase']:<{width}}" + "".join(f"{row[o]:>18}" for o in OUTCOMES) + f"{row['total']:>8}")
    print("\nfaults (seconds):")
    for fault in chaos.faults:
        print("  " + ", ".join(f"{k}={v}" for k, v in fault.items()))
    bad = [r for r in chaos.records if r.outcome in {WRONG, HUNG, OTHER}]
    if bad:
        print(f"\nfirst of {len(bad)} wrong, hung or other outcomes:")
        for r in bad[:8]:
            print(f"  [{r.phase}] {r.rpc}: {r.outcome}: {r.reason[:160]}")
    print("\ncriteria:")
    for c in checks:
        print(f"  {'pass' if c['ok'] else 'FAIL'}  {c['criterion']}: {c['seen']}")
    print(f"\nverdict: {'PASS' if passed else 'FAIL'}")


async def scenario(stack: Stack, args: argparse.Namespace) -> tuple[Chaos, StockWriter]:
    """Reads the ERP, starts the stock writer and runs the load and the faults."""
    conninfo = f"postgresql://postgres@127.0.0.1:{stack.pg.port}/erp"
    facts = await asyncio.to_thread(ErpFacts.read, conninfo)
    with psycopg.connect(conninfo) as conn:
        state = read_stock(conn, SKUS)
    history = StockHistory(state, time.monotonic())
    writer = StockWriter(conninfo, list(SKUS), history, state, interval=args.write_interval, seed=args.seed)
    chaos = Chaos(stack, Judge(facts, history), facts, args)
    writer.start()
    try:
        await chaos.run()
    finally:
        writer.halt.set()
        await asyncio.to_thread(writer.join, 10)
    return chaos, writer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=6, help="concurrent shop callers (GetOrder, stock, list, batch)")
    parser.add_argument("--rounds", type=int, default=2, help="times the whole fault sequence runs")
    parser.add_argument("--gateway-kills", type=int, default=3, help="gateway kills per round")
    parser.add_argument("--faults", default="gateway,agent-kill,agent-stop,database", help="which faults, or none")
    parser.add_argument("--down", type=float, default=1.0, help="seconds a killed process stays down")
    parser.add_argument("--freeze", type=float, default=4.0, help="seconds the agent stays stopped (SIGSTOP)")
    parser.add_argument("--db-outage", type=float, default=4.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds of plain load before and after a fault")
    parser.add_argument("--write-interval", type=float, default=0.1, help="seconds between stock writes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--agent-back-target", type=float, default=AGENT_BACK_TARGET, help="seconds (the product's target: 2)"
    )
    parser.add_argument(
        "--recovery-margin",
        type=float,
        default=RECOVERY_MARGIN,
        help="seconds after a fault's recovery that still belong to its window (shops' channels reconnecting)",
    )
    parser.add_argument(
        "--break",
        dest="breakage",
        default="none",
        help="run against a broken system: hang-after-N, foreign-orders, stock-cache (default: none)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="oc-chaos-") as tmp, chaos_stack(Path(tmp), args.breakage) as stack:
        chaos, writer = asyncio.run(scenario(stack, args))
    rows = table(chaos)
    checks = criteria(chaos, rows, writer)
    passed = all(c["ok"] for c in checks)
    print_summary(rows, chaos, checks, passed)
    bad = [r for r in chaos.records if r.outcome in {WRONG, HUNG, OTHER}]
    doc = {
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "deadline_s": DEADLINE,
        "no_deadline_share": NO_DEADLINE_SHARE,
        "gateway_default_deadline_s": GATEWAY_DEFAULT_DEADLINE,
        "hung_after_deadline_s": HANG_GRACE,
        "outcomes": list(OUTCOMES),
        "table": rows,
        "faults": chaos.faults,
        "fault_windows": [
            {
                "fault": label,
                "from_s": round(b - chaos.records[0].start, 3),
                "to_s": round(e - chaos.records[0].start, 3),
            }
            for label, b, e in chaos.windows
        ]
        if chaos.records
        else [],
        "stock_writer": {"writes": writer.writes, "failed_writes": writer.failures, "states": len(writer.history)},
        "examples": [
            {"phase": r.phase, "rpc": r.rpc, "outcome": r.outcome, "reason": r.reason[:300]} for r in bad[:30]
        ],
        "criteria": checks,
        "passed": passed,
    }
    path = write_results("chaos", doc, args.out)
    print(f"written: {path} and chaos-latest.json")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
