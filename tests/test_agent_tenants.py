"""Several Mandanten in one agent process ([[tenants]]): each its own key, database, tunnel and status file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from support.erp_users import read_only_user
from test_erp_backends import PG_SERVER, port_open
from test_erp_outage import proxy_to

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.demo.export import export_demo, scratch_database
from onlineconnect.testing import need_service
from onlineconnect.testing.processes import (
    AGENT_TOKEN,
    BIN,
    SHOP_KEY,
    TENANT_KEY,
    Proc,
    free_port,
    start,
    tenants_gateway_toml,
    wait_serving,
)
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

KEY_B = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
SHOP_B = "proc-shop-key-b"


@pytest.fixture
def erps(tmp_path: Path) -> tuple[Path, Path]:
    """Two demo ERPs (two Mandanten in separate databases); in B the sheet's customer is 5811 instead of 4711."""
    a, b = tmp_path / "erp-a", tmp_path / "erp-b"
    create_demo_erp(a / "erp.db", a / "archive")
    create_demo_erp(b / "erp.db", b / "archive")
    con = sqlite3.connect(b / "erp.db")
    con.execute("PRAGMA foreign_keys = OFF")
    for table in ("customers", "orders"):
        con.execute(f"UPDATE {table} SET customer_no = '5811' WHERE customer_no = '4711'")
    con.commit()
    con.close()
    return a, b


def start_stack(
    tmp_path: Path, erps: tuple[Path, Path], key_b: str = KEY_B, *, b_url: str | None = None
) -> tuple[str, Proc, Proc]:
    port = free_port()
    gw_conf = tmp_path / "gateway.toml"
    gw_conf.write_text(
        tenants_gateway_toml(
            f"127.0.0.1:{port}", {"demo": (TENANT_KEY, "shop-a", SHOP_KEY), "mandant2": (KEY_B, "shop-b", SHOP_B)}
        )
    )
    a, b = erps
    agent_conf = tmp_path / "agent.toml"
    agent_conf.write_text(
        f"""
[agent]
id = "two-mandanten"
gateway = "127.0.0.1:{port}"
insecure = true
token = "{AGENT_TOKEN}"
reconnect_max_seconds = 1.0
status_file = "{tmp_path / "status.json"}"
status_interval_seconds = 0.5
[database]
url = "sqlite:///{a / "erp.db"}"
[orders]
archive_root = "{a / "archive"}"
[log]
format = "json"
[[tenants]]
name = "demo"
key = "{TENANT_KEY}"
[[tenants]]
name = "mandant2"
key = "{key_b}"
database = {{ url = "{b_url or f"sqlite:///{b / 'erp.db'}"}" }}
orders = {{ archive_root = "{b / "archive"}" }}
"""
    )
    gw = start("onlineconnect-gateway", ["--config", str(gw_conf)], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(agent_conf)], tmp_path)
    return f"127.0.0.1:{port}", gw, agent


def list_orders(address: str, key: str, customer: str) -> list[str]:
    with grpc.insecure_channel(address) as ch:
        resp = orders_pb2_grpc.OrderServiceStub(ch).ListOrders(
            orders_pb2.ListOrdersRequest(customer_number=customer),
            metadata=(("authorization", f"Bearer {key}"),),
            timeout=5,
        )
    return [o.order_number for o in resp.orders]


def test_each_shop_sees_only_its_own_mandant(tmp_path: Path, erps: tuple[Path, Path]) -> None:
    """Shop A gets Mandant A's orders and none of B's; shop B gets B's and none of A's, through one agent process."""
    address, gw, agent = start_stack(tmp_path, erps)
    try:
        wait_serving(address, "demo")
        wait_serving(address, "mandant2", key=SHOP_B)
        a_orders = list_orders(address, SHOP_KEY, "4711")
        assert "091782005" in a_orders
        assert list_orders(address, SHOP_KEY, "5811") == []
        assert list_orders(address, SHOP_B, "5811") == a_orders
        assert list_orders(address, SHOP_B, "4711") == []
        for tenant in ("demo", "mandant2"):
            status = json.loads((tmp_path / f"status.{tenant}.json").read_text())
            assert status["tenant"] == tenant
    finally:
        assert agent.stop() == 0
        gw.stop()


def test_one_mandant_with_a_wrong_key_leaves_the_other_serving(tmp_path: Path, erps: tuple[Path, Path]) -> None:
    """Mandant B's wrong key is refused and shown in B's status file, while Mandant A keeps answering."""
    address, gw, agent = start_stack(tmp_path, erps, key_b="ffffffffffffffffffffffffffffffff")
    try:
        wait_serving(address, "demo")
        assert "091782005" in list_orders(address, SHOP_KEY, "4711")
        deadline = time.monotonic() + 20
        status_b: dict[str, object] = {}
        while time.monotonic() < deadline:
            try:
                status_b = json.loads((tmp_path / "status.mandant2.json").read_text())
            except (OSError, ValueError):
                pass
            if "disconnected" in str(status_b.get("tunnels")):
                break
            time.sleep(0.1)
        assert status_b["ok"] is False and "disconnected" in str(status_b["tunnels"])
        assert json.loads((tmp_path / "status.demo.json").read_text())["ok"] is True
        assert "091782005" in list_orders(address, SHOP_KEY, "4711")
    finally:
        assert agent.stop() == 0
        gw.stop()


async def test_one_mandants_database_outage_leaves_the_other_serving(tmp_path: Path, erps: tuple[Path, Path]) -> None:
    """Mandant B's database (PostgreSQL) goes down: B's shop gets UNAVAILABLE, never INTERNAL, while A's shop keeps
    getting its orders from its own database; when B's database is back, B answers again."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    with scratch_database(PG_SERVER) as url:
        export_demo(url, erps[1] / "pg-archive")
        async with proxy_to(5432) as proxy:
            proxied = sa.make_url(read_only_user(url)).set(port=proxy.port).render_as_string(hide_password=False)
            address, gw, agent = start_stack(tmp_path, erps, b_url=proxied)
            try:
                await asyncio.to_thread(wait_serving, address, "demo")
                await asyncio.to_thread(wait_serving, address, "mandant2", key=SHOP_B)
                assert "091782005" in await asyncio.to_thread(list_orders, address, SHOP_B, "4711")
                await proxy.close()  # B's database server is unreachable: pooled connections die, new ones fail
                codes = set()
                for _ in range(4):
                    try:
                        await asyncio.to_thread(list_orders, address, SHOP_B, "4711")
                        codes.add("OK")
                    except grpc.RpcError as exc:
                        codes.add(exc.code().name)  # type: ignore[attr-defined]
                    assert "091782005" in await asyncio.to_thread(list_orders, address, SHOP_KEY, "4711")
                assert codes == {"UNAVAILABLE"}, codes
                await proxy.open()
                assert "091782005" in await asyncio.to_thread(list_orders, address, SHOP_B, "4711")
            finally:
                assert agent.stop() == 0
                gw.stop()


def test_check_reports_every_mandant(tmp_path: Path, erps: tuple[Path, Path]) -> None:
    """`onlineconnect-agent check` runs every step for each Mandant, marked with its name, and fails for the one
    whose database is missing."""
    address, gw, agent = start_stack(tmp_path, erps)
    try:
        wait_serving(address, "demo")
        b_db = erps[1] / "erp.db"
        b_db.rename(b_db.with_suffix(".gone"))
        run = subprocess.run(
            [str(BIN / "onlineconnect-agent"), "check", "--config", str(tmp_path / "agent.toml")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = run.stdout.splitlines()
        assert run.returncode == 1, run.stdout
        assert any(line.startswith("ok") and "database [demo]" in line for line in lines), run.stdout
        assert any(line.startswith("ok") and "tenant key [demo]" in line for line in lines), run.stdout
        assert any(line.startswith("FAIL") and "[mandant2]" in line for line in lines), run.stdout
        assert not any(line.startswith("FAIL") and "[demo]" in line for line in lines), run.stdout
    finally:
        agent.stop()
        gw.stop()
