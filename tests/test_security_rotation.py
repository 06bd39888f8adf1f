"""Tenant key rotation while tunnels stay up: both keys during the grace window, then the old one refused."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from typing import Any

import grpc
import pytest

from onlineconnect.agent.connector import Connector
from onlineconnect.agent.session import HandshakeError, TunnelSession
from onlineconnect.gateway.config import TenantConfig
from onlineconnect.testing import AGENT_TOKEN, RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc


def rotated(relay: RunningRelay, keys: dict[int, bytes], retire_after: dict[int, float]) -> Any:
    """The relay's configuration with the demo tenant's keys replaced."""
    cfg = relay.gateway.config
    tenant = dataclasses.replace(cfg.tenants["demo"], keys=keys, retire_after=retire_after)
    return dataclasses.replace(cfg, tenants={**cfg.tenants, "demo": tenant})


async def handshake(relay: RunningRelay, key_id: int, key: bytes) -> str:
    """Opens one tunnel with the given key; returns "ok" once registered, else the refusal's message."""
    session = TunnelSession(
        tenant="demo", agent_id="probe", token=AGENT_TOKEN, key_id=key_id, key=key, handlers=FakeHandlers()
    )
    channel = grpc.aio.insecure_channel(relay.address)
    task = asyncio.create_task(session.run(channel))
    ready = asyncio.create_task(session.ready.wait())
    try:
        await asyncio.wait([task, ready], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if session.ready.is_set():
            return "ok"
        try:
            await task
        except HandshakeError as exc:
            return str(exc)
        return "ended"
    finally:
        task.cancel()
        ready.cancel()
        await asyncio.gather(task, ready, return_exceptions=True)
        await channel.close()


async def get_order(relay: RunningRelay) -> str:
    """One GetOrder through the relay; returns the order number."""
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    resp = await stub.GetOrder(
        orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
        metadata=relay.shop_auth,
        timeout=5,
    )
    return str(resp.order.summary.order_number)


async def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    """Polls ``predicate`` until it is true (fails the test after ``timeout`` seconds)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_rotation_keeps_tunnel_and_then_moves_the_agent_to_the_new_key() -> None:
    """During the grace window both keys open tunnels and the old tunnel stays; after it the agent is drained and
    comes back with the new key its own configuration now names, and the old key is refused."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        old_key, new_key = relay.key, os.urandom(16)
        agent_conf = {"key_id": 1, "key": old_key}  # what the agent's config file says (reloaded on SIGHUP)

        def make() -> TunnelSession:
            return TunnelSession(
                tenant="demo", agent_id="erp", token=AGENT_TOKEN, handlers=relay.handlers, **agent_conf
            )

        conn = Connector(relay.address, make, credentials=None, initial_backoff=0.05, max_backoff=0.2)
        task = asyncio.create_task(conn.run())
        try:
            await relay.wait_tunnels("demo", 1)
            first = relay.gateway.registry.tunnels("demo")[0]

            relay.gateway.apply_config(rotated(relay, {1: old_key, 2: new_key}, {1: time.time() + 3600}))
            assert relay.gateway.registry.tunnels("demo") == [first], "a healthy tunnel must survive the reload"
            assert await handshake(relay, 1, old_key) == "ok"
            assert await handshake(relay, 2, new_key) == "ok"
            assert await get_order(relay) == "091782005"

            agent_conf.update(key_id=2, key=new_key)  # the merchant's IT updates agent.toml and sends SIGHUP
            relay.gateway.apply_config(rotated(relay, {1: old_key, 2: new_key}, {1: time.time() - 1}))
            await wait_for(lambda: [t.key_id for t in relay.gateway.registry.tunnels("demo")] == [2])
            assert conn.sessions == 2
            assert await get_order(relay) == "091782005"
            refusal = await handshake(relay, 1, old_key)
            assert "FAILED_PRECONDITION" in refusal and "no longer" in refusal
        finally:
            conn.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_retirement_time_passing_closes_old_tunnels_without_a_reload() -> None:
    """A key whose retire_after passes while the gateway runs is retired by the periodic check alone."""
    async with running_relay(FakeHandlers()) as relay:
        new_key = os.urandom(16)
        relay.gateway.apply_config(rotated(relay, {1: relay.key, 2: new_key}, {1: time.time() + 0.5}))
        assert len(relay.gateway.registry.tunnels("demo")) == 1
        # The test agent keeps its old key: once retired it is drained and its reconnects are refused.
        await wait_for(lambda: not relay.gateway.registry.tunnels("demo"))
        assert relay.gateway.tunnels.live == {}


def test_key_table_with_retire_after_parses(tmp_path: Any) -> None:
    """The rotation syntax ``{ key = …, retire_after = … }`` gives a key that is refused after its time."""
    from onlineconnect.gateway.config import load_gateway_config

    k1, k2 = os.urandom(16).hex(), os.urandom(16).hex()
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\nlisten = "127.0.0.1:0"\ninsecure = true\n'
        f'[tenants.acme]\nkeys = {{ 1 = {{ key = "{k1}", retire_after = "2030-01-01T00:00:00Z" }}, 2 = "{k2}" }}\n'
    )
    tenant: TenantConfig = load_gateway_config(path).tenants["acme"]
    cutoff = 1893456000.0  # 2030-01-01T00:00:00Z
    assert tenant.key(1, cutoff - 1) == bytes.fromhex(k1)
    assert tenant.key(1, cutoff) is None
    assert tenant.key(2, cutoff + 1e6) == bytes.fromhex(k2)
    path.write_text(path.read_text().replace("2030-01-01T00:00:00Z", "next tuesday"))
    with pytest.raises(Exception, match="retire_after"):
        load_gateway_config(path)
