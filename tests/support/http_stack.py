"""A real gateway with its HTTP listener and a real agent session, in one process, on ``127.0.0.1:0``.

    async with http_relay(FakeHandlers()) as stack:
        async with stack.client() as http:
            r = await http.post("/onlineconnect.v1.OrderService/GetOrder", json={...}, headers=stack.auth)

The gateway is the real :class:`~onlineconnect.gateway.server.GatewayServer` with ``[http]`` configured; the agent
dials it over loopback as in production (:class:`onlineconnect.testing.RunningRelay`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from onlineconnect.gateway.config import HttpConfig, RateLimit, ShopCredential
from onlineconnect.gateway.server import GatewayServer
from onlineconnect.testing import AGENT_TOKEN, SHOP_KEY, RunningRelay, gateway_config, sha

AUTH = {"authorization": f"Bearer {SHOP_KEY}"}
STOCK_ONLY_KEY = "stock-only-shop-key"


@dataclass
class HttpStack:
    """The running gateway (gRPC and HTTP) with its agents."""

    relay: RunningRelay
    base_url: str
    auth: dict[str, str] = dataclasses.field(default_factory=lambda: dict(AUTH))

    @property
    def gateway(self) -> GatewayServer:
        """The gateway server."""
        return self.relay.gateway

    def client(self, **options: Any) -> httpx.AsyncClient:
        """A plain HTTP client for the HTTP listener."""
        return httpx.AsyncClient(base_url=self.base_url, timeout=10, **options)


@contextlib.asynccontextmanager
async def http_relay(
    handlers: Any,
    *,
    tenant: str = "demo",
    start_agent: bool = True,
    tenant_options: dict[str, Any] | None = None,
    http: HttpConfig | None = None,
    rate_limit: RateLimit | None = None,
    **changes: Any,
) -> AsyncIterator[HttpStack]:
    """Runs a gateway with ``[http]`` on loopback and one agent for ``tenant`` serving ``handlers``.

    Besides the usual test key (all RPCs) there is ``STOCK_ONLY_KEY``, allowed GetStoreStock only.

    Args:
        handlers: The agent's handlers.
        tenant: The tenant of the agent and keys.
        start_agent: Whether to start an agent (False: the tenant is offline).
        tenant_options: Extra TenantConfig fields.
        http: The ``[http]`` table (default: plaintext on 127.0.0.1:0).
        rate_limit: The test key's rate limit (default: none).
        changes: Other GatewayConfig fields to replace.
    """
    key = os.urandom(16)
    config = gateway_config(
        tenants={tenant: {1: key}},
        shops=[("shop", tenant, SHOP_KEY)],
        agents=[("agent", AGENT_TOKEN, [tenant])],
        tenant_options={tenant: tenant_options} if tenant_options else None,
    )
    shops = {h: dataclasses.replace(s, rate_limit=rate_limit) for h, s in config.shops.items()}
    stock_only = ShopCredential(
        name="stock-only", tenant=tenant, key_sha256=sha(STOCK_ONLY_KEY), rpcs=frozenset({"GetStoreStock"})
    )
    config = dataclasses.replace(
        config,
        http=http or HttpConfig(listen="127.0.0.1:0", insecure=True),
        shops={**shops, stock_only.key_sha256: stock_only},
        **changes,
    )
    gateway = GatewayServer(config)
    port = await gateway.start()
    relay = RunningRelay(gateway=gateway, address=f"127.0.0.1:{port}", tenant=tenant, key=key, handlers=handlers)
    scheme = "http" if config.http is not None and config.http.insecure else "https"
    stack = HttpStack(relay=relay, base_url=f"{scheme}://127.0.0.1:{gateway.http_port}")
    try:
        if start_agent:
            await relay.start_agent()
        yield stack
    finally:
        await relay.stop_agents()
        for ch in relay.channels:
            await ch.close()
        await gateway.stop(0)
