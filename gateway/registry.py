"""The relay's registry of live agent tunnels, keyed by tenant.

A tenant may have several agents connected at once (active-active); a call goes to the one with the fewest
calls in flight. The registry also keeps the per-tenant gRPC health status in step: a tenant is SERVING while at
least one of its agents is connected.

An agent asked to reconnect (``Drain``: connection age, key rotation, token change) is gone for a moment between
its old tunnel and its new one. A call arriving then waits for the new tunnel (:meth:`Registry.wait_pick`, at
most :data:`RECONNECT_WAIT` seconds and never past its deadline) instead of failing UNAVAILABLE; a tenant whose
agent simply disconnected still fails at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from .tunnel import AgentTunnel

log = structlog.get_logger("onlineconnect.gateway.registry")

RECONNECT_WAIT = 3.0  # seconds a drained agent has to come back before calls stop waiting for it

HealthSetter = Callable[[str, bool], None]


def tenant_health_name(tenant: str) -> str:
    """The gRPC health service name that reports whether ``tenant`` has an agent connected."""
    return f"onlineconnect.tenant.{tenant}"


class Registry:
    """Live tunnels by tenant."""

    def __init__(
        self,
        tenants: list[str],
        *,
        on_health: HealthSetter | None = None,
        on_change: Callable[[AgentTunnel, bool], None] | None = None,
    ) -> None:
        self._by_tenant: dict[str, list[AgentTunnel]] = {t: [] for t in tenants}
        self._on_health = on_health
        self._on_change = on_change
        self.reconnects = 0
        self._expected: dict[str, float] = {}  # tenant → monotonic time until which a drained agent is awaited
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def publish_health(self) -> None:
        """Reports every tenant's current health (at startup)."""
        for t in self._by_tenant:
            self._health(t)

    def _health(self, tenant: str) -> None:
        if self._on_health is not None:
            self._on_health(tenant, bool(self._by_tenant.get(tenant)))

    def add(self, tunnel: AgentTunnel) -> None:
        """Registers a tunnel that completed its handshake."""
        self._by_tenant.setdefault(tunnel.tenant, []).append(tunnel)
        if self._on_change is not None:
            self._on_change(tunnel, True)
        self._health(tunnel.tenant)
        self._expected.pop(tunnel.tenant, None)
        for fut in self._waiters.pop(tunnel.tenant, []):
            if not fut.done():
                fut.set_result(None)
        log.info(
            "tunnel.registered",
            tenant=tunnel.tenant,
            agent=tunnel.agent,
            session=tunnel.session_id,
            tunnels=len(self._by_tenant[tunnel.tenant]),
        )

    def remove(self, tunnel: AgentTunnel) -> None:
        """Forgets a tunnel (idempotent)."""
        tunnels = self._by_tenant.get(tunnel.tenant, [])
        if tunnel in tunnels:
            tunnels.remove(tunnel)
            if tunnel.draining:  # asked to reconnect: it is expected back in a moment
                self._expected[tunnel.tenant] = time.monotonic() + RECONNECT_WAIT
            if self._on_change is not None:
                self._on_change(tunnel, False)
            self._health(tunnel.tenant)
            log.info(
                "tunnel.unregistered",
                tenant=tunnel.tenant,
                agent=tunnel.agent,
                session=tunnel.session_id,
                reason=tunnel.close_reason,
                tunnels=len(tunnels),
            )

    def pick(self, tenant: str, *, exclude: AgentTunnel | None = None) -> AgentTunnel | None:
        """The tenant's tunnel with the fewest calls in flight, or None if no agent is connected.

        Args:
            tenant: The tenant.
            exclude: A tunnel not to pick (the one a call is being retried away from).
        """
        best: AgentTunnel | None = None
        for t in self._by_tenant.get(tenant, ()):
            if t.closed or t.draining or t is exclude:
                continue
            if best is None or t.in_flight < best.in_flight:
                best = t
        return best

    def _awaited_until(self, tenant: str) -> float:
        """Monotonic time until which a new tunnel of ``tenant`` is expected (0: none is)."""
        if any(t.draining and not t.closed for t in self._by_tenant.get(tenant, ())):
            return time.monotonic() + RECONNECT_WAIT
        until = self._expected.get(tenant, 0.0)
        return until if until > time.monotonic() else 0.0

    async def wait_pick(self, tenant: str, timeout: float) -> AgentTunnel | None:
        """Like :meth:`pick`, but while the tenant's agent is reconnecting after a drain, waits for its new tunnel
        (at most ``timeout`` seconds)."""
        found = self.pick(tenant)
        end = time.monotonic() + timeout
        while found is None:
            left = min(end, self._awaited_until(tenant)) - time.monotonic()
            if left <= 0:
                return None
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(tenant, []).append(fut)
            try:
                async with asyncio.timeout(left):
                    await fut
            except TimeoutError:
                return self.pick(tenant)
            finally:
                waiters = self._waiters.get(tenant, [])
                if fut in waiters:
                    waiters.remove(fut)
            found = self.pick(tenant)  # woken by a registration: look again
        return found

    def tunnels(self, tenant: str | None = None) -> list[AgentTunnel]:
        """All live tunnels, or those of one tenant."""
        if tenant is not None:
            return list(self._by_tenant.get(tenant, ()))
        return [t for ts in self._by_tenant.values() for t in ts]

    def counts(self) -> dict[str, int]:
        """Connected tunnels per tenant."""
        return {t: len(ts) for t, ts in self._by_tenant.items()}
