"""``onlineconnect-agent check --config FILE`` against a real gateway: good setup, bad token, key, key id, database.

The check runs as the real console script in its own process; the gateway is a real ``GatewayServer`` on
``127.0.0.1:0`` in the test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onlineconnect.gateway.server import GatewayServer
from onlineconnect.testing import gateway_config

AGENT = Path(sys.executable).parent / "onlineconnect-agent"
KEY = bytes.fromhex("57ea0dae8fa4ee3ebfc34523b42b3feb")
TOKEN = "check-agent-token"


@pytest.fixture(scope="module")
def erp(erp: Path) -> Path:
    """The demo ERP's database file (the module's tests want the file, not its folder)."""
    return erp / "erp.db"


@pytest.fixture
async def gateway() -> AsyncIterator[str]:
    """A real gateway for tenant ``demo`` (key id 1) accepting TOKEN; yields its address."""
    config = gateway_config(tenants={"demo": {1: KEY}}, agents=[("agent", TOKEN, ["demo"])])
    server = GatewayServer(config)
    port = await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


def config(folder: Path, gateway: str, erp: Path, **agent: str | int) -> Path:
    """Writes an agent configuration; ``agent`` overrides keys of the [agent] table."""
    values: dict[str, str | int] = {"token": TOKEN, "key": KEY.hex(), "key_id": 1, **agent}
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in values.items())
    path = folder / "agent.toml"
    path.write_text(
        f'[agent]\nid = "erp-1"\ngateway = "{gateway}"\ninsecure = true\ntenant = "demo"\n{lines}'
        f'[database]\nurl = "sqlite:///{erp}"\n[orders]\narchive_root = "{erp.parent / "archive"}"\n',
        encoding="utf-8",
    )
    return path


async def check(path: Path) -> tuple[int, str]:
    """Runs ``onlineconnect-agent check --config path``; returns exit status and output."""
    proc = await asyncio.create_subprocess_exec(
        str(AGENT),
        "check",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def line(output: str, status: str, check: str) -> str:
    """The output line of ``check`` with ``status`` (ok/FAIL/skip); fails the test if there is none."""
    found = [ln for ln in output.splitlines() if ln.startswith(f"{status:<6}{check} ")]
    assert found, f"no '{status} {check}' line in:\n{output}"
    return found[0]


async def test_everything_fine_exits_zero(gateway: str, erp: Path, tmp_path: Path) -> None:
    """A correct setup passes every check, one line each, and exits 0."""
    status, out = await check(config(tmp_path, gateway, erp))
    assert status == 0, out
    for name in ("configuration", "mapping", "database", "mapped queries", "gateway", "tenant key"):
        line(out, "ok", name)
    assert "FAIL" not in out and out.rstrip().endswith("all checks passed")


async def test_wrong_token_is_named(gateway: str, erp: Path, tmp_path: Path) -> None:
    """A token the gateway does not know fails the token check and says where to set it."""
    status, out = await check(config(tmp_path, gateway, erp, token="not-the-token"))
    assert status == 1
    assert "UNAUTHENTICATED" in line(out, "FAIL", "agent token") and "agent.token" in out
    line(out, "ok", "database")


async def test_wrong_key_is_named(gateway: str, erp: Path, tmp_path: Path) -> None:
    """A key that differs from the gateway's fails the tenant key check, with the token accepted."""
    status, out = await check(config(tmp_path, gateway, erp, key="00" * 16))
    assert status == 1
    line(out, "ok", "gateway")
    assert "key differs" in line(out, "FAIL", "tenant key") and "agent.key" in out


async def test_unknown_key_id_is_named(gateway: str, erp: Path, tmp_path: Path) -> None:
    """A key id the gateway does not accept fails the tenant key check and names agent.key_id."""
    status, out = await check(config(tmp_path, gateway, erp, key_id=7))
    assert status == 1
    assert "key id 7" in line(out, "FAIL", "tenant key") and "agent.key_id" in out


async def test_unreachable_database_and_gateway_are_named(erp: Path, tmp_path: Path) -> None:
    """A missing database file and a gateway nobody listens on each fail their own check."""
    status, out = await check(config(tmp_path, "127.0.0.1:9", tmp_path / "missing.db"))
    assert status == 1
    assert "ERP database unreachable" in line(out, "FAIL", "database") and "database.url" in out
    line(out, "skip", "mapped queries")
    assert "127.0.0.1:9" in line(out, "FAIL", "gateway")


async def test_broken_mapping_query_is_named(gateway: str, erp: Path, tmp_path: Path) -> None:
    """A mapped query that does not fit the database fails with file and query named."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        "[orders_events]\nsql = 'SELECT e.at AS at FROM order_events e JOIN orders o ON o.order_no = e.order_no "
        "WHERE o.order_no = :order_number AND o.customer_no = :customer_number'\n",
        encoding="utf-8",
    )
    path = config(tmp_path, gateway, erp)
    path.write_text(path.read_text().replace("[database]\n", f'[database]\nmapping = "{mapping}"\n'))
    status, out = await check(path)
    assert status == 1
    problem = line(out, "FAIL", "mapped query")
    assert str(mapping) in problem and "[orders_events] lacks result columns ['code']" in problem
    line(out, "ok", "tenant key")
