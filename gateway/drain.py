"""Draining a gateway replica before it exits (SIGTERM), so that its agents move without a failed request.

1. The replica stops taking shop calls: health turns NOT_SERVING (load balancers stop sending), and calls that
   still arrive fail at once with ``UNAVAILABLE`` ("call another replica") instead of waiting for a tunnel.
2. It withdraws from the cluster (if any): other replicas no longer route calls of its tenants to it.
3. Every agent tunnel is sent ``Drain`` with ``avoid_seconds`` (like an HTTP/2 GOAWAY with a reason): the agent
   answers what it has in flight, closes the tunnel, and does not dial this replica again until it is surely gone
   (the rest of the grace period and a margin) — its other configured gateways keep serving. The agent is kept
   away only while another replica holds a tunnel of its tenant (cluster presence); otherwise it may come back
   at once, as an agent dialling one load-balanced address must. Without that, an agent
   would reconnect every few hundred milliseconds only to be drained again, inflating
   ``tunnel_connects_total``. A tunnel opened during the drain anyway (an agent that ignores the field) is sent
   ``Drain`` at once.
4. When no tunnel is left (or the grace period is over) the server stops; in-flight shop calls get what remains
   of the grace period, then the rest is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from .connect import TunnelEndpoint
from .health import GatewayHealth
from .relay import Relay

if TYPE_CHECKING:  # the cluster link needs nats-py, an optional extra
    from .cluster import ClusterLink

log = structlog.get_logger("onlineconnect.gateway.drain")

DRAIN_REASON = "gateway shutting down; reconnect to another replica"
AVOID_MARGIN = 2.0  # seconds beyond the grace period an agent keeps away (the process exits after the grace)
_POLL = 0.05  # seconds between looks at the tunnels (new ones are drained within this time)


async def drain(
    relay: Relay, health: GatewayHealth, tunnels: TunnelEndpoint, cluster: ClusterLink | None, grace: float
) -> float:
    """Moves the replica's agents away and lets their in-flight calls finish.

    Args:
        relay: Stops taking shop calls.
        health: Turns NOT_SERVING.
        tunnels: Whose agents are sent ``Drain``.
        cluster: The link to the other replicas, if any: withdrawn from, and asked which tenants stay reachable.
        grace: Seconds the whole drain may take.

    Returns:
        Seconds of the grace period still left.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + grace
    relay.stop_accepting()
    await health.enter_graceful_shutdown()
    if cluster is not None:
        await cluster.withdraw()
    drained = 0
    log.info("gateway.draining", tunnels=tunnels.count(), grace=grace)

    def avoid_for(left: float) -> Callable[[str], float]:
        # Keep the agent away only while its tenant stays reachable through another replica: an agent dialling one
        # load-balanced address must come back at once (it lands on another replica).
        return lambda tenant: left + AVOID_MARGIN if cluster is not None and cluster.reachable(tenant) else 0.0

    while True:
        left = max(0.1, end - loop.time())
        drained += tunnels.retire_all(DRAIN_REASON, grace=left, avoid=avoid_for(left))
        if not tunnels.count() or loop.time() >= end:
            break
        await asyncio.sleep(_POLL)
    log.info("gateway.drained", tunnels_drained=drained, tunnels_left=tunnels.count())
    return max(0.0, end - loop.time())
