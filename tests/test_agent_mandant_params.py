"""Several Mandanten in one ERP database: ``[[tenants]] params`` binds ``:mandant`` in every mapped query."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.mapping import default_files
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

KEY_2 = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
SHOP_2 = "proc-shop-key-mandant-2"
# Ids of the rows below the orders: the second Mandant's copy gets a prefix so both fit in one table.
_IDS = frozenset({"shipment_id", "document_id", "return_id", "replacement_shipment_id"})
_MERGED = (
    "customers",
    "orders",
    "order_lines",
    "shipments",
    "shipment_items",
    "documents",
    "returns",
    "return_lines",
    "order_events",
)


@pytest.fixture
def shared_erp(tmp_path: Path) -> Path:
    """One demo ERP file holding Mandant 1 (customers 47xx, orders 09…) and Mandant 2 (57xx, 29…), told apart by
    ``orders.mandant``."""
    one, two = tmp_path / "erp" / "erp.db", tmp_path / "erp2" / "erp.db"
    create_demo_erp(one, tmp_path / "erp" / "archive", mandant=1)
    create_demo_erp(two, tmp_path / "erp2" / "archive", mandant=2)
    con = sqlite3.connect(one)
    con.execute("ALTER TABLE orders ADD COLUMN mandant INTEGER NOT NULL DEFAULT 1")
    con.execute("ATTACH DATABASE ? AS m2", (str(two),))
    for table in _MERGED:
        cols = [r[1] for r in con.execute(f"PRAGMA m2.table_info({table})")]
        picked = ", ".join(f"'m2-' || {c}" if c in _IDS else c for c in cols)
        extra = (", mandant", ", 2") if table == "orders" else ("", "")
        con.execute(f"INSERT INTO main.{table} ({', '.join(cols)}{extra[0]}) SELECT {picked}{extra[1]} FROM m2.{table}")
    con.commit()
    con.execute("DETACH DATABASE m2")
    con.close()
    return one


def mandant_mapping(folder: Path) -> Path:
    """A mapping override: every order query of the defaults, restricted to ``o.mandant = :mandant``."""
    text = dict(default_files())["<default>/orders.toml"]
    filtered = text.replace("\nWHERE o.", "\nWHERE o.mandant = :mandant AND o.")
    assert filtered.count(":mandant") == 13
    path = folder / "mapping.toml"
    path.write_text(filtered)
    return path


def agent_toml(folder: Path, port: int, erp: Path, *, params_1: str, params_2: str) -> Path:
    """Two tenants on one shared database and mapping, each with its own ``params``."""
    path = folder / "agent.toml"
    path.write_text(
        f"""
[agent]
id = "one-database"
gateway = "127.0.0.1:{port}"
insecure = true
token = "{AGENT_TOKEN}"
reconnect_max_seconds = 1.0
[database]
url = "sqlite:///{erp}"
mapping = "{mandant_mapping(folder)}"
[orders]
archive_root = "{erp.parent / "archive"}"
[log]
format = "json"
[[tenants]]
name = "m1"
key = "{TENANT_KEY}"
{params_1}
[[tenants]]
name = "m2"
key = "{KEY_2}"
{params_2}
"""
    )
    return path


def start_stack(tmp_path: Path, erp: Path) -> tuple[str, Proc, Proc]:
    """Gateway with one shop per Mandant, and one agent serving both from the shared database."""
    port = free_port()
    gw_conf = tmp_path / "gateway.toml"
    gw_conf.write_text(
        tenants_gateway_toml(
            f"127.0.0.1:{port}", {"m1": (TENANT_KEY, "shop-1", SHOP_KEY), "m2": (KEY_2, "shop-2", SHOP_2)}
        )
    )
    # One value an integer, one a string: both are bound as given.
    agent_conf = agent_toml(
        tmp_path, port, erp, params_1="params = { mandant = 1 }", params_2='params = { mandant = "2" }'
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


def get_order(address: str, key: str, customer: str, order: str) -> grpc.StatusCode:
    with grpc.insecure_channel(address) as ch:
        try:
            orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
                orders_pb2.GetOrderRequest(customer_number=customer, order_number=order),
                metadata=(("authorization", f"Bearer {key}"),),
                timeout=5,
            )
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_each_shop_sees_only_its_mandant_of_the_shared_database(tmp_path: Path, shared_erp: Path) -> None:
    """With mandant 1 and 2 bound per tenant, shop 1 finds only Mandant 1's orders and shop 2 only Mandant 2's."""
    address, gw, agent = start_stack(tmp_path, shared_erp)
    try:
        wait_serving(address, "m1")
        wait_serving(address, "m2", key=SHOP_2)
        assert "091782005" in list_orders(address, SHOP_KEY, "4711")
        assert "291782005" in list_orders(address, SHOP_2, "5711")
        assert list_orders(address, SHOP_KEY, "5711") == []
        assert list_orders(address, SHOP_2, "4711") == []
        assert get_order(address, SHOP_KEY, "4711", "091782005") == grpc.StatusCode.OK
        assert get_order(address, SHOP_2, "5711", "291782005") == grpc.StatusCode.OK
        assert get_order(address, SHOP_KEY, "5711", "291782005") == grpc.StatusCode.NOT_FOUND
        assert get_order(address, SHOP_2, "4711", "091782005") == grpc.StatusCode.NOT_FOUND
    finally:
        assert agent.stop() == 0
        gw.stop()


def run_agent(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "onlineconnect-agent"), *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            'params = { customer_number = "4711" }',
            "tenants[0].params.customer_number: the agent binds :customer_number",
        ),
        ('params = { "man-dant" = "1" }', "tenants[0].params.man-dant: a parameter name is letters, digits and _"),
        ("params = { mandant = 1.5 }", "tenants[0].params.mandant: a string or an integer, not float"),
    ],
)
def test_a_colliding_or_malformed_parameter_is_refused(tmp_path: Path, params: str, expected: str) -> None:
    """A tenant parameter the agent binds itself, a name that is no identifier or a value of another type stops
    the agent with exit code 2 and a line naming the file, the key and what is expected."""
    conf = agent_toml(tmp_path, 50051, tmp_path / "erp.db", params_1=params, params_2="params = { mandant = 2 }")
    out = run_agent("--config", str(conf), "--print-config")
    assert out.returncode == 2, out.stdout
    assert f"{conf}: {expected}" in out.stderr, out.stderr


def test_a_tenant_without_the_parameter_its_mapping_uses_fails_the_check(tmp_path: Path, shared_erp: Path) -> None:
    """``check`` accepts ``:mandant`` for a tenant that defines it and names the query and ``:mandant`` otherwise."""
    port = free_port()
    good = agent_toml(tmp_path, port, shared_erp, params_1="params = { mandant = 1 }", params_2="")
    out = run_agent("check", "--config", str(good))
    assert "ok    mapping" in out.stdout and "ok    mapped queries" in out.stdout, out.stdout
    bad = agent_toml(tmp_path, port, shared_erp, params_1="", params_2="params = { mandant = 2 }")
    out = run_agent("check", "--config", str(bad))
    assert out.returncode == 1
    assert "FAIL  mapping" in out.stdout and "uses parameters [':mandant']" in out.stdout, out.stdout


def test_the_agent_refuses_to_start_when_a_tenant_lacks_the_parameter(tmp_path: Path, shared_erp: Path) -> None:
    """A second tenant without ``params`` on a mapping that uses ``:mandant`` stops the start with exit code 2,
    naming the mapping file, a query and ``:mandant``."""
    conf = agent_toml(tmp_path, free_port(), shared_erp, params_1="params = { mandant = 1 }", params_2="")
    out = run_agent("--config", str(conf))
    assert out.returncode == 2, out.stderr
    assert f"{tmp_path / 'mapping.toml'}: [orders_" in out.stderr and "uses parameters [':mandant']" in out.stderr
