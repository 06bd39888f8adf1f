"""Scoped credentials, changed without a restart (SIGHUP, file change) and without dropping healthy tunnels."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.session import HandshakeError, TunnelSession
from onlineconnect.gateway.config import ShopCredential
from onlineconnect.testing import AGENT_TOKEN, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.testing.processes import (
    BIN,
    SHOP_KEY,
    free_port,
    sha,
    start,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

SECOND_KEY = "proc-second-shop-key"
ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")


async def test_shop_key_outside_its_rpcs_is_permission_denied() -> None:
    """A shop key limited to stock calls gets PERMISSION_DENIED for an order call, and the agent is never asked."""
    handlers = FakeHandlers()
    async with running_relay(handlers) as relay:
        cfg = relay.gateway.config
        shops = {h: dataclasses.replace(s, rpcs=frozenset({"GetStoreStock"})) for h, s in cfg.shops.items()}
        relay.gateway.apply_config(dataclasses.replace(cfg, shops=shops))
        ch = relay.shop_channel()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await orders_pb2_grpc.OrderServiceStub(ch).GetOrder(ORDER, metadata=relay.shop_auth, timeout=5)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert handlers.calls == 0
        stock = await stock_pb2_grpc.StockServiceStub(ch).GetStoreStock(
            stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=relay.shop_auth, timeout=5
        )
        assert stock.stores[0].quantity_available == 1


async def test_in_process_reload_adds_and_revokes_keys_and_keeps_the_tunnel() -> None:
    """A key added by reload works at once, a revoked one fails UNAUTHENTICATED, the tunnel is never replaced."""
    async with running_relay(FakeHandlers()) as relay:
        tunnel = relay.gateway.registry.tunnels("demo")[0]
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        cfg = relay.gateway.config
        added = ShopCredential(name="new", tenant="demo", key_sha256=sha("new-key"), rpcs=frozenset({"*"}))
        relay.gateway.apply_config(dataclasses.replace(cfg, shops={**cfg.shops, added.key_sha256: added}))
        await stub.GetOrder(ORDER, metadata=(("authorization", "Bearer new-key"),), timeout=5)
        relay.gateway.apply_config(dataclasses.replace(cfg, shops={added.key_sha256: added}))
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(ORDER, metadata=relay.shop_auth, timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        await stub.GetOrder(ORDER, metadata=(("authorization", "Bearer new-key"),), timeout=5)
        assert relay.gateway.registry.tunnels("demo") == [tunnel]
        assert relay.connectors[0].sessions == 1


async def test_revoked_agent_token_retires_its_tunnel_and_cannot_return() -> None:
    """Revoking the agent token by reload closes that agent's tunnel and refuses its reconnects."""
    async with running_relay(FakeHandlers()) as relay:
        cfg = relay.gateway.config
        relay.gateway.apply_config(dataclasses.replace(cfg, agents={}))
        async with asyncio.timeout(15):
            while relay.gateway.registry.tunnels("demo"):
                await asyncio.sleep(0.02)
        session = TunnelSession(
            tenant="demo", agent_id="x", token=AGENT_TOKEN, key_id=1, key=relay.key, handlers=FakeHandlers()
        )
        async with grpc.aio.insecure_channel(relay.address) as ch:
            with pytest.raises(HandshakeError, match="UNAUTHENTICATED"):
                await session.run(ch)


async def test_invalid_file_on_reload_keeps_the_running_configuration(tmp_path: Path) -> None:
    """A reload of a file that does not validate is refused and the old credentials stay in force."""
    async with running_relay(FakeHandlers()) as relay:
        bad = tmp_path / "gateway.toml"
        bad.write_text("[server]\nlisten = 'nonsense'\n")
        reloader = relay.gateway.watcher(bad)
        assert reloader.reload() is False
        resp = await orders_pb2_grpc.OrderServiceStub(relay.shop_channel()).GetOrder(
            ORDER, metadata=relay.shop_auth, timeout=5
        )
        assert resp.order.summary.order_number == "091782005"


def call(address: str, key: str) -> grpc.StatusCode:
    """GetOrder with ``key``; returns the status code."""
    with grpc.insecure_channel(address) as ch:
        try:
            orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
                ORDER, metadata=(("authorization", f"Bearer {key}"),), timeout=5
            )
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_sighup_revokes_a_shop_key_in_a_running_gateway_and_the_tunnel_stays(tmp_path: Path) -> None:
    """Real processes: a shop key removed from gateway.toml fails after SIGHUP; the agent's tunnel stays up; the
    agent's audit log records the calls and verifies intact through the console script."""
    erp = tmp_path / "erp"
    create_demo_erp(erp / "erp.db", erp / "archive")
    port = free_port()
    gw_path = write_gateway_config(tmp_path, port)
    original = gw_path.read_text()
    second = f'\n[[shops]]\nname = "second"\ntenant = "demo"\nkey_sha256 = "{sha(SECOND_KEY)}"\n'
    gw_path.write_text(original + second)
    audit_file = tmp_path / "audit.jsonl"
    agent_path = write_agent_config(tmp_path, port, erp, extra=f'[audit]\nfile = "{audit_file}"\n')
    gw = start("onlineconnect-gateway", ["--config", str(gw_path)], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(agent_path)], tmp_path)
    address = f"127.0.0.1:{port}"
    try:
        wait_serving(address)
        assert call(address, SECOND_KEY) == grpc.StatusCode.OK
        gw_path.write_text(original)
        gw.popen.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while call(address, SECOND_KEY) == grpc.StatusCode.OK and time.monotonic() < deadline:
            time.sleep(0.05)
        assert call(address, SECOND_KEY) == grpc.StatusCode.UNAUTHENTICATED
        assert call(address, SHOP_KEY) == grpc.StatusCode.OK
        before_stop = [line.get("event") for line in gw.lines()]
    finally:
        assert agent.stop() == 0
        assert gw.stop() == 0
    gw_events = [line.get("event") for line in gw.lines()]
    assert "config.reloaded" in gw_events
    assert gw_events.count("tunnel.opened") == 1
    assert "tunnel.closed" not in before_stop, "the tunnel dropped before the processes were stopped"
    agent_events = [line.get("event") for line in agent.lines()]
    assert agent_events.count("tunnel.ready") == 1
    verify = subprocess.run(
        [str(BIN / "onlineconnect-agent"), "audit", "verify", str(audit_file)], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout
    assert "records, chain intact" in verify.stdout
    assert int(verify.stdout.rsplit(": ", 1)[1].split()[0]) >= 2  # the answered calls above, each recorded
    logs = gw.log.read_text() + agent.log.read_text()
    for secret in (SHOP_KEY, SECOND_KEY, "proc-agent-token", "00112233445566778899aabbccddeeff", "%PDF-"):
        assert secret not in logs


def test_keygen_makes_keys_tokens_and_their_hashes() -> None:
    """``onlineconnect keygen`` prints a fresh 128-bit tenant key, and shop keys / agent tokens with their SHA-256."""
    out = {
        kind: subprocess.run(
            [str(BIN / "onlineconnect"), "keygen", kind], capture_output=True, text=True, check=True
        ).stdout
        for kind in ("tenant-key", "shop-key", "agent-token")
    }
    key = out["tenant-key"].split("tenant key: ")[1].split()[0]
    assert len(bytes.fromhex(key)) == 16
    for kind in ("shop-key", "agent-token"):
        secret = out[kind].splitlines()[0].rsplit(" ", 1)[1]
        assert len(secret) >= 43  # 256 bits, URL-safe base64
        assert sha(secret) in out[kind]
    again = subprocess.run([str(BIN / "onlineconnect"), "keygen", "tenant-key"], capture_output=True, text=True)
    assert key not in again.stdout
