"""Database outages and slow queries, seen by a shop through the relay.

A real gateway and agent (``running_relay`` with the real handlers from ``open_handlers``) serve the demo ERP
loaded into PostgreSQL. The agent reaches PostgreSQL through a small TCP proxy that the test closes (dropping every
connection and refusing new ones) and reopens: while it is closed the shop gets UNAVAILABLE "ERP database
unreachable" within its deadline and the tunnel stays up; once reopened the agent answers again by itself. Slow
queries (``pg_sleep`` in a mapped query, a runaway SQLite query) are cancelled at the caller's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from support.erp_users import read_only_user
from test_erp_backends import PG_SERVER, port_open

from onlineconnect.agent.app import open_handlers
from onlineconnect.agent.config import load_agent_config
from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.demo.export import export_demo, scratch_database
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.errors import DeadlineExceeded
from onlineconnect.testing import need_service, running_relay
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

SHEET = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
SLEEPY_HEADER = """
SELECT o.order_no AS order_number, o.order_date AS order_date, o.channel AS channel,
       o.shop_order_no AS shop_order_number, o.currency AS currency, o.total_minor AS total_minor,
       o.processing_started AS processing_started, o.on_hold AS on_hold, o.cancelled AS cancelled,
       o.delivered_on AS delivered_on
FROM orders o CROSS JOIN (SELECT pg_sleep(30) AS slept) s
WHERE o.order_no = :order_number AND o.customer_no = :customer_number
"""


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a backend port; :meth:`close` drops every connection, :meth:`open` resumes."""

    def __init__(self, backend_port: int) -> None:
        self.backend_port = backend_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        with contextlib.suppress(asyncio.CancelledError):  # cut by close() or at the end of the test
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def open(self) -> None:
        """Starts listening (on the same port as before, if any)."""
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stops listening and cuts every open connection, like a database server going down."""
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()


@pytest.fixture(scope="module")
def pg_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A fresh PostgreSQL database with the demo data and its archive folder; dropped afterwards."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    archive = tmp_path_factory.mktemp("pg") / "archive"
    with scratch_database(PG_SERVER) as url:
        export_demo(url, archive)
        yield read_only_user(url), archive  # the agent refuses a user that can write


def agent_config(folder: Path, url: str, archive: Path, mapping: Path | None = None, concurrency: int = 4) -> Path:
    """Writes an agent configuration for ``url``; the gateway address is unused (running_relay dials)."""
    path = folder / "agent.toml"
    extra = f'mapping = "{mapping}"\n' if mapping else ""
    path.write_text(
        '[agent]\nid = "t"\ngateway = "127.0.0.1:9"\ninsecure = true\ntoken = "x"\ntenant = "demo"\n'
        f'key = "57ea0dae8fa4ee3ebfc34523b42b3feb"\nmax_concurrency = {concurrency}\n'
        f'[database]\nurl = "{url}"\n{extra}[orders]\narchive_root = "{archive}"\n',
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def proxy_to(port: int) -> AsyncIterator[TcpProxy]:
    """A running TcpProxy to ``port``, closed afterwards."""
    proxy = TcpProxy(port)
    await proxy.open()
    try:
        yield proxy
    finally:
        if proxy.server is not None and proxy.server.is_serving():
            await proxy.close()


async def test_outage_answers_unavailable_keeps_the_tunnel_and_recovers(
    pg_demo: tuple[str, Path], tmp_path: Path
) -> None:
    """Database down: UNAVAILABLE "ERP database unreachable" before the deadline, same tunnel; back up: answers."""
    url, archive = pg_demo
    async with proxy_to(5432) as proxy:
        proxied = sa.make_url(url).set(port=proxy.port).render_as_string(hide_password=False)
        # In a thread: the proxy runs on this event loop.
        db, handlers = await asyncio.to_thread(
            open_handlers, load_agent_config(agent_config(tmp_path, proxied, archive))
        )
        try:
            async with running_relay(handlers) as relay:
                orders = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
                stock = stock_pb2_grpc.StockServiceStub(relay.shop_channel())
                first = await orders.GetOrder(SHEET, metadata=relay.shop_auth, timeout=10)
                assert first.order.summary.total.decimal == "114.45"
                tunnel = relay.gateway.registry.tunnels("demo")[0]

                await proxy.close()
                for _ in range(3):  # pooled connections are dead and new ones are refused: every call says so
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await orders.GetOrder(SHEET, metadata=relay.shop_auth, timeout=8)
                    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
                    assert info.value.details() == "ERP database unreachable"
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stock.GetStoreStock(
                        stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=relay.shop_auth, timeout=8
                    )
                assert info.value.code() == grpc.StatusCode.UNAVAILABLE
                assert relay.gateway.registry.tunnels("demo") == [tunnel]
                assert relay.connectors[0].sessions == 1

                await proxy.open()
                again = await orders.GetOrder(SHEET, metadata=relay.shop_auth, timeout=10)
                assert again == first
                assert relay.gateway.registry.tunnels("demo") == [tunnel]
        finally:
            handlers.close()
            db.close()


def sleeping_backends(url: str) -> int:
    """How many sessions run the mapped ``pg_sleep`` query on the database of ``url``."""
    engine = sa.create_engine(sa.make_url(url).set(database="postgres"))
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %(db)s AND state = 'active' "
                    "AND query LIKE %(q)s",
                    {"db": sa.make_url(url).database, "q": "%pg_sleep(30)%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


async def test_slow_queries_are_cancelled_at_the_deadline_and_never_pile_up(
    pg_demo: tuple[str, Path], tmp_path: Path
) -> None:
    """More slow calls than workers: each caller gets DEADLINE_EXCEEDED, PostgreSQL cancels every query."""
    url, archive = pg_demo
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(f"[orders_header]\nsql = '''{SLEEPY_HEADER}'''\n", encoding="utf-8")
    db, handlers = open_handlers(load_agent_config(agent_config(tmp_path, url, archive, mapping, concurrency=3)))
    try:
        async with running_relay(handlers) as relay:
            orders = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
            calls = [orders.GetOrder(SHEET, metadata=relay.shop_auth, timeout=1.5) for _ in range(8)]
            results = await asyncio.gather(*calls, return_exceptions=True)
            codes = {r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)}
            assert codes == {grpc.StatusCode.DEADLINE_EXCEEDED} and len(results) == 8
            # The statements end with their deadline (statement_timeout), far before pg_sleep(30) would.
            for _ in range(200):
                if sleeping_backends(url) == 0:
                    break
                await asyncio.sleep(0.05)
            assert sleeping_backends(url) == 0
            assert relay.gateway.registry.tunnels("demo")
    finally:
        handlers.close()
        db.close()


def test_runaway_sqlite_query_is_interrupted(tmp_path: Path) -> None:
    """A SQLite query still running at the deadline is interrupted and reported as DEADLINE_EXCEEDED."""
    create_demo_erp(tmp_path / "erp.db", tmp_path / "archive")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        "[stock_stores]\nsql = '''\n"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)\n"
        "SELECT st.store_id AS store_id, st.name AS name, st.street AS street, st.postcode AS postcode,\n"
        "       st.city AS city, st.country AS country, st.phone AS phone, st.latitude AS latitude,\n"
        "       st.longitude AS longitude, st.sort_order AS sort_order, st.pickup_possible AS pickup_possible\n"
        "FROM stores st WHERE st.active = 1 AND (SELECT MAX(i) FROM n) > 0\n'''\n",
        encoding="utf-8",
    )
    db = SqlAlchemyDatabase(f"sqlite:///{tmp_path / 'erp.db'}", load_mapping(mapping))
    try:
        with pytest.raises(DeadlineExceeded, match="stock_stores did not finish within the deadline"):
            db.fetch("stock_stores", {}, timeout=0.3)
        assert db.fetch("stock_levels", {"skus": ["851888-XS-KI"]}, timeout=5)  # the connection is usable again
    finally:
        db.close()
