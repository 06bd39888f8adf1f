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
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from .server import GatewayServer

log = structlog.get_logger("onlineconnect.gateway.drain")

DRAIN_REASON = "gateway shutting down; reconnect to another replica"
AVOID_MARGIN = 2.0  # seconds beyond the grace period an agent keeps away (the process exits after the grace)
_POLL = 0.05  # seconds between looks at the tunnels (new ones are drained within this time)


async def drain(server: GatewayServer, grace: float) -> float:
    """Moves the replica's agents away and lets their in-flight calls finish.

    Args:
        server: The running gateway.
        grace: Seconds the whole drain may take.

    Returns:
        Seconds of the grace period still left.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + grace
    server.relay.accepting = False
    await server.health.enter_graceful_shutdown()
    if server.cluster is not None:
        await server.cluster.withdraw()
    drained = 0
    log.info("gateway.draining", tunnels=len(server.tunnels.live), grace=grace)
    while True:
        for sid, live in list(server.tunnels.live.items()):
            if not live.retiring:
                drained += 1
                left = max(0.1, end - loop.time())
                # Keep the agent away only while its tenant stays reachable through another replica: an agent
                # dialling one load-balanced address must come back at once (it lands on another replica).
                elsewhere = server.cluster is not None and server.cluster.reachable(live.tunnel.tenant)
                server.tunnels.retire(sid, DRAIN_REASON, grace=left, avoid=left + AVOID_MARGIN if elsewhere else 0.0)
        if not server.tunnels.live or loop.time() >= end:
            break
        await asyncio.sleep(_POLL)
    log.info("gateway.drained", tunnels_drained=drained, tunnels_left=len(server.tunnels.live))
    return max(0.0, end - loop.time())
