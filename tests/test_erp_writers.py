"""The agent never holds up the ERP's own writers, even when it is frozen (SIGSTOP) in the middle of a query.

Real processes as a user starts them: ``onlineconnect-gateway`` and ``onlineconnect-agent`` from config files. A
shop asks for an order whose mapped header query is slow (a long recursive CTE on SQLite, ``pg_sleep`` on
PostgreSQL). Once the agent is inside that query (busy on the CPU, or the query is active in ``pg_stat_activity``)
the test stops the agent with SIGSTOP and lets "the ERP" write to the very table the agent is reading, from a
connection of its own. The write must complete while the agent is still stopped.

On SQLite that holds because the ERP file is in WAL mode (the demo ERP is created so): in rollback-journal mode
the reader's lock blocks the writer until the query ends, which is what the control case shows with the same
harness. On PostgreSQL readers never block row writers (MVCC) and the agent takes no locks beyond reading.

The bound is a correctness bound, not a speed target: a blocked writer waits for the whole query (seconds);
an unblocked one finishes in milliseconds. Writers give up after 1 s; the measured figure is printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from support.erp_users import read_only_user
from test_erp_backends import PG_SERVER, port_open
from test_erp_outage import SLEEPY_HEADER, sleeping_backends

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.demo.export import export_demo, scratch_database
from onlineconnect.testing import need_service
from onlineconnect.testing.processes import (
    AGENT_TOKEN,
    SHOP_KEY,
    TENANT_KEY,
    Proc,
    free_port,
    start,
    wait_serving,
    write_gateway_config,
)
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process state and CPU time from /proc (Linux)"
)

WRITER_GIVES_UP_AFTER = 1.0  # seconds; a writer blocked by the agent would wait for the whole query
ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
SLOW_SQLITE_HEADER = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)
SELECT o.order_no AS order_number, o.order_date AS order_date, o.channel AS channel,
       o.shop_order_no AS shop_order_number, o.currency AS currency, o.total_minor AS total_minor,
       o.processing_started AS processing_started, o.on_hold AS on_hold, o.cancelled AS cancelled,
       o.delivered_on AS delivered_on
FROM orders o
WHERE o.order_no = :order_number AND o.customer_no = :customer_number AND (SELECT MAX(i) FROM n) > 0
"""
ERP_WRITE = "UPDATE orders SET total_minor = total_minor + 1 WHERE order_no = '091782005'"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway process for tenant ``demo``; yields its address."""
    folder = tmp_path_factory.mktemp("gateway")
    port = free_port()
    gw = start("onlineconnect-gateway", ["--config", str(write_gateway_config(folder, port))], folder)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        gw.stop()


def start_agent(folder: Path, address: str, url: str, slow_header: str, archive: Path) -> Proc:
    """Starts ``onlineconnect-agent`` on ``url`` with a mapping whose order header query is ``slow_header``."""
    mapping = folder / "mapping.toml"
    mapping.write_text(f"[orders_header]\nsql = '''{slow_header}'''\n", encoding="utf-8")
    config = folder / "agent.toml"
    config.write_text(
        f"""
[agent]
id = "writers-agent"
gateway = "{address}"
insecure = true
token = "{AGENT_TOKEN}"
tenant = "demo"
key_id = 1
key = "{TENANT_KEY}"
reconnect_max_seconds = 1.0
[database]
url = "{url}"
mapping = "{mapping}"
[log]
format = "json"
level = "debug"  # the per-request line (request.answered, with its duration) is an access log at debug
[orders]
archive_root = "{archive}"
""",
        encoding="utf-8",
    )
    agent = start("onlineconnect-agent", ["--config", str(config)], folder)
    wait_serving(address)
    return agent


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of process ``pid`` in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def process_state(pid: int) -> str:
    """The one-letter state of process ``pid`` ("T" when stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Polls ``condition`` until it holds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def write_while_the_agent_is_stopped_mid_query(
    address: str, agent: Proc, mid_query: Callable[[], bool], write: Callable[[], None]
) -> tuple[float | None, str]:
    """Starts the slow call, stops the agent inside the query, runs ``write``; returns (seconds or None, error).

    The agent is continued afterwards and must then have been working on the call across the stop.
    """
    pid = agent.popen.pid
    request_id = f"writers-{uuid.uuid4().hex[:8]}"
    auth = (("authorization", f"Bearer {SHOP_KEY}"), ("x-request-id", request_id))
    async with grpc.aio.insecure_channel(address) as channel:
        call = orders_pb2_grpc.OrderServiceStub(channel).GetOrder(ORDER, metadata=auth, timeout=2.0)
        await wait_for(mid_query, "the agent to be inside the slow query")
        os.kill(pid, signal.SIGSTOP)
        try:
            await wait_for(lambda: process_state(pid) == "T", "the agent to stop")
            stopped_at = time.monotonic()
            t0 = time.perf_counter()
            try:
                await asyncio.to_thread(write)
                elapsed: float | None = time.perf_counter() - t0
                error = ""
            except Exception as exc:
                elapsed, error = None, f"{type(exc).__name__}: {exc}"
            still_stopped = process_state(pid) == "T"
        finally:
            os.kill(pid, signal.SIGCONT)
        stopped_for = time.monotonic() - stopped_at
        assert still_stopped, "the agent was continued before the write finished: the test proves nothing"
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The agent was inside that very query across the stop: its answer took longer than the stop lasted.
    await wait_for(lambda: any(line.get("request_id") == request_id for line in agent.lines()), "the agent's log")
    answered = [line for line in agent.lines() if line.get("request_id") == request_id and "ms" in line]
    assert answered and float(str(answered[0]["ms"])) / 1000 > stopped_for, answered
    return elapsed, error


def sqlite_writer(db: Path) -> Callable[[], None]:
    """The ERP's write on the SQLite file: one UPDATE, committed; gives up after WRITER_GIVES_UP_AFTER."""

    def write() -> None:
        conn = sqlite3.connect(db, timeout=WRITER_GIVES_UP_AFTER)
        try:
            conn.execute(ERP_WRITE)
            conn.commit()
        finally:
            conn.close()

    return write


def agent_busy(pid: int) -> Callable[[], bool]:
    """True once the agent has used 0.2 s of CPU since now: it is computing the slow SQLite query."""
    start_ticks = cpu_ticks(pid)
    per_second = os.sysconf("SC_CLK_TCK")
    return lambda: cpu_ticks(pid) - start_ticks >= 0.2 * per_second


@pytest.mark.parametrize("journal", ["wal", "delete"])
async def test_sqlite_erp_write_completes_while_the_agent_is_stopped_mid_query(
    journal: str, gateway: str, tmp_path: Path
) -> None:
    """On the demo ERP (WAL) the ERP's write completes while the agent is frozen mid-query; with a rollback
    journal (control) the same write is blocked, so the harness really stops the agent inside its read."""
    erp = tmp_path / "erp"
    create_demo_erp(erp / "erp.db", erp / "archive")
    conn = sqlite3.connect(erp / "erp.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # the demo ERP is created in WAL mode
    if journal == "delete":
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    agent = start_agent(tmp_path, gateway, f"sqlite:///{erp / 'erp.db'}", SLOW_SQLITE_HEADER, erp / "archive")
    try:
        elapsed, error = await write_while_the_agent_is_stopped_mid_query(
            gateway, agent, agent_busy(agent.popen.pid), sqlite_writer(erp / "erp.db")
        )
    finally:
        agent.stop()
    if journal == "wal":
        assert elapsed is not None, f"the ERP's write was blocked by the stopped agent: {error}"
        print(f"SQLite (WAL): ERP write with the agent stopped mid-query took {elapsed * 1000:.1f} ms")
        assert elapsed < WRITER_GIVES_UP_AFTER
    else:
        assert elapsed is None and "locked" in error, "control: a rollback-journal reader should block the writer"


@pytest.fixture(scope="module")
def pg_erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A scratch PostgreSQL database with the demo data and its archive folder; dropped afterwards."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    archive = tmp_path_factory.mktemp("pg-writers") / "archive"
    with scratch_database(PG_SERVER) as url:
        export_demo(url, archive)
        yield url, archive


async def test_postgresql_erp_write_completes_while_the_agent_is_stopped_mid_query(
    pg_erp: tuple[str, Path], gateway: str, tmp_path: Path
) -> None:
    """On PostgreSQL the ERP's write to the rows the agent is reading completes while the agent is frozen."""
    url, archive = pg_erp
    # The agent reads as a read-only user (it refuses one that can write); the ERP writes as the owner.
    agent = start_agent(tmp_path, gateway, read_only_user(url), SLEEPY_HEADER, archive)
    engine = sa.create_engine(url, pool_size=1)

    def write() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(WRITER_GIVES_UP_AFTER * 1000)}ms'")
            conn.exec_driver_sql(ERP_WRITE)

    try:
        with engine.connect() as warm:  # connect before the clock starts
            warm.exec_driver_sql("SELECT 1")
        elapsed, error = await write_while_the_agent_is_stopped_mid_query(
            gateway, agent, lambda: sleeping_backends(url) > 0, write
        )
    finally:
        agent.stop()
        engine.dispose()
    assert elapsed is not None, f"the ERP's write was blocked by the stopped agent: {error}"
    print(f"PostgreSQL: ERP write with the agent stopped mid-query took {elapsed * 1000:.1f} ms")
    assert elapsed < WRITER_GIVES_UP_AFTER
