"""The relay's registry of live agent tunnels, keyed by tenant.

A tenant may have several agents connected at once (active-active); a call goes to the one with the fewest
calls in flight. The registry also keeps the per-tenant gRPC health status in step: a tenant is SERVING while at
least one of its agents is connected.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from .tunnel import AgentTunnel

log = structlog.get_logger("onlineconnect.gateway.registry")

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

    def tunnels(self, tenant: str | None = None) -> list[AgentTunnel]:
        """All live tunnels, or those of one tenant."""
        if tenant is not None:
            return list(self._by_tenant.get(tenant, ()))
        return [t for ts in self._by_tenant.values() for t in ts]

    def counts(self) -> dict[str, int]:
        """Connected tunnels per tenant."""
        return {t: len(ts) for t, ts in self._by_tenant.items()}
