"""Test helpers: a real gateway and a real agent session in one process, on ``127.0.0.1:0``.

    async with running_relay(handlers) as relay:
        stub = OrderServiceStub(relay.shop_channel())
        await stub.GetOrder(req, metadata=relay.shop_auth)

Nothing here mocks gRPC: the gateway is a real ``grpc.aio`` server, the agent dials it over loopback exactly as in
production. ``handlers`` is anything with the interface of :class:`onlineconnect.agent.handlers.Handlers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc

from onlineconnect.gateway.config import AgentCredential, GatewayConfig, ShopCredential, TenantConfig
from onlineconnect.gateway.server import GatewayServer

SHOP_KEY = "test-shop-key"
AGENT_TOKEN = "test-agent-token"


def sha(secret: str) -> str:
    """SHA-256 hex, as credentials are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def gateway_config(
    *,
    tenants: dict[str, dict[int, bytes]],
    shops: list[tuple[str, str, str]] | None = None,
    agents: list[tuple[str, str, list[str]]] | None = None,
    listen: str = "127.0.0.1:0",
    default_deadline: float = 5.0,
    tenant_options: dict[str, dict[str, Any]] | None = None,
    **options: Any,
) -> GatewayConfig:
    """Builds a plaintext loopback gateway configuration.

    Args:
        tenants: Keys by key id, per tenant.
        shops: (name, tenant, key) triples; all RPCs allowed.
        agents: (name, token, tenants) triples.
        listen: Address to bind.
        default_deadline: Deadline for calls without one.
        tenant_options: Extra TenantConfig fields per tenant.
        options: Further GatewayConfig fields (limits, timeouts).
    """
    opts = tenant_options or {}
    return GatewayConfig(
        source="<test>",
        listen=listen,
        insecure=True,
        tls_cert=None,
        tls_key=None,
        client_ca=None,
        default_deadline=default_deadline,
        max_deadline=60.0,
        tenants={t: TenantConfig(name=t, keys=k, **opts.get(t, {})) for t, k in tenants.items()},
        shops={
            sha(key): ShopCredential(name=n, tenant=t, key_sha256=sha(key), rpcs=frozenset({"*"}))
            for n, t, key in (shops or [])
        },
        agents={
            sha(tok): AgentCredential(name=n, token_sha256=sha(tok), tenants=frozenset(ts))
            for n, tok, ts in (agents or [])
        },
        **options,
    )


@dataclass
class RunningRelay:
    """A gateway with agents attached, for tests."""

    gateway: GatewayServer
    address: str
    tenant: str
    key: bytes
    handlers: Any
    agent_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    connectors: list[Any] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    shop_auth: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {SHOP_KEY}"),)

    def shop_channel(self) -> grpc.aio.Channel:
        """A new shop-side channel to the gateway (closed with the relay)."""
        ch = grpc.aio.insecure_channel(self.address)
        self.channels.append(ch)
        return ch

    async def start_agent(
        self,
        *,
        handlers: Any | None = None,
        token: str = AGENT_TOKEN,
        tenant: str | None = None,
        key: bytes | None = None,
        key_id: int = 1,
        address: str | None = None,
        wait: bool = True,
    ) -> Any:
        """Starts an agent connector (reconnecting like the real one); waits until its tunnel is registered."""
        from onlineconnect.agent.connector import Connector
        from onlineconnect.agent.session import TunnelSession

        tenant = tenant or self.tenant
        h = handlers or self.handlers
        before = len(self.gateway.registry.tunnels(tenant))

        def make() -> TunnelSession:
            return TunnelSession(
                tenant=tenant,
                agent_id=f"agent-{len(self.connectors)}",
                token=token,
                key_id=key_id,
                key=key or self.key,
                handlers=h,
            )

        conn = Connector(address or self.address, make, credentials=None, initial_backoff=0.05, max_backoff=0.5)
        self.connectors.append(conn)
        self.agent_tasks.append(asyncio.create_task(conn.run()))
        if wait:
            await self.wait_tunnels(tenant, before + 1)
        return conn

    async def wait_tunnels(self, tenant: str, count: int = 1, timeout: float = 10.0) -> None:
        """Waits until ``tenant`` has at least ``count`` registered tunnels."""
        async with asyncio.timeout(timeout):
            while len(self.gateway.registry.tunnels(tenant)) < count:
                await asyncio.sleep(0.01)

    async def stop_agents(self) -> None:
        """Stops every agent connector."""
        for c in self.connectors:
            c.stop()
        for t in self.agent_tasks:
            t.cancel()
        await asyncio.gather(*self.agent_tasks, return_exceptions=True)
        self.agent_tasks.clear()
        self.connectors.clear()


@contextlib.asynccontextmanager
async def running_relay(
    handlers: Any,
    *,
    tenant: str = "demo",
    start_agent: bool = True,
    extra_tenants: dict[str, bytes] | None = None,
    tenant_options: dict[str, dict[str, Any]] | None = None,
    port: int = 0,
    **options: Any,
) -> AsyncIterator[RunningRelay]:
    """Runs a gateway on loopback with one agent for ``tenant`` serving ``handlers``.

    Extra tenants get a shop key ``test-shop-key-<tenant>`` and are covered by the same agent token.
    """
    key = os.urandom(16)
    extra = extra_tenants or {}
    tenants = {tenant: {1: key}, **{t: {1: k} for t, k in extra.items()}}
    config = gateway_config(
        tenants=tenants,
        shops=[("shop", tenant, SHOP_KEY), *((f"shop-{t}", t, f"{SHOP_KEY}-{t}") for t in extra)],
        agents=[("agent", AGENT_TOKEN, list(tenants))],
        listen=f"127.0.0.1:{port}",
        tenant_options=tenant_options,
        **options,
    )
    gateway = GatewayServer(config)
    bound = await gateway.start()
    relay = RunningRelay(gateway=gateway, address=f"127.0.0.1:{bound}", tenant=tenant, key=key, handlers=handlers)
    try:
        if start_agent:
            await relay.start_agent()
        yield relay
    finally:
        await relay.stop_agents()
        for ch in relay.channels:
            await ch.close()
        await relay.gateway.stop(0)


def need_service(available: bool, reason: str) -> None:
    """In a pytest test: skips on a developer machine, fails under ``CI=true``, when a required service (database,
    broker, system tool) is missing."""
    if available:
        return
    import pytest  # only tests call this

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service missing under CI: {reason}")
    pytest.skip(reason)
