"""What a replica knows about its cluster link, kept apart from the NATS plumbing in :mod:`.cluster`.

* **Is NATS usable?** ``connected`` is what the NATS client reports; ``stalled`` means the TCP connection is up
  but NATS stopped answering this replica's own pings (a frozen or overloaded server). Either way the link is
  *unhealthy*: a warning names NATS at once, then again every ``warn_interval`` seconds while it lasts, and once
  more at info when it is back (with how long it was out). A call that needed NATS fails naming NATS, never
  blaming a replica.
* **Which tenants do the other replicas hold?** Every replica announces the tenants it holds tunnels of on
  ``<prefix>.presence`` (on every change and every ping interval); an announcement not renewed within its ``ttl``
  is forgotten, and so is everything while the link is unhealthy. A replica therefore reports a tenant SERVING
  when it or a replica it can reach holds one of the tenant's agents — the truth for a shop calling it.
* **Counters** of calls routed out and in, and of failed routed calls by cause (:data:`CAUSES`), for metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger("onlineconnect.gateway.cluster")

# Why a call routed through NATS failed: the metric label ``cause``.
CAUSES = ("nats_down", "nats_stalled", "no_replica", "replica_lost", "deadline", "no_path")


@dataclass(frozen=True)
class Presence:
    """One replica's last announcement: the tenants it holds tunnels of, and when that news goes stale."""

    replica: str
    tenants: frozenset[str]
    expires: float


class LinkState:
    """The link's health, the other replicas' tenants and the routing counters.

    Args:
        where: The NATS servers (credentials masked), for messages.
        replica: This replica's name, for logs.
        warn_interval: Seconds between repeated warnings while NATS is unusable.
        on_change: Called whenever the link's health or the set of tenants reachable through it changes.
        clock: Monotonic seconds (replaceable in unit tests).
    """

    def __init__(
        self,
        *,
        where: str,
        replica: str,
        warn_interval: float,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = where
        self.replica = replica
        self.warn_interval = warn_interval
        self.on_change = on_change
        self.clock = clock
        self.connected = False
        self.stalled = False
        self.closing = False  # this replica is shutting the link down itself: nothing to warn about
        self.down_since: float | None = clock()  # when the link became unusable; None while healthy
        self.last_error = ""
        self.rtt: float | None = None  # seconds of the last ping answered by NATS
        self.routed_out = 0  # calls sent to other replicas
        self.routed_in = 0  # calls served for other replicas
        self.failures = dict.fromkeys(CAUSES, 0)
        self.peers: dict[str, Presence] = {}  # by the announcing replica's instance id
        self._warned_at: float | None = None

    @property
    def healthy(self) -> bool:
        """True while NATS is connected and answers pings."""
        return self.connected and not self.stalled

    def trouble(self) -> str:
        """What is wrong with the link, for error messages naming NATS."""
        if self.stalled:
            return f"NATS at {self.where} stopped answering (pings unanswered)"
        return f"NATS at {self.where} is unreachable" + (f" ({self.last_error})" if self.last_error else "")

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _warn(self, now: float) -> None:
        self._warned_at = now
        down = round(now - (self.down_since or now), 1)
        if self.stalled:
            log.warning("cluster.nats_stalled", nats=self.where, replica=self.replica, down_seconds=down)
        else:
            log.warning(
                "cluster.nats_unreachable",
                nats=self.where,
                replica=self.replica,
                down_seconds=down,
                error=self.last_error or "not connected yet",
            )

    def up(self) -> None:
        """NATS is connected and answered a ping."""
        was = self.healthy
        self.connected, self.stalled = True, False
        if not was:
            if self._warned_at is not None:
                down = round(self.clock() - (self.down_since or self.clock()), 1)
                log.info("cluster.nats_recovered", nats=self.where, replica=self.replica, down_seconds=down)
            self.down_since, self._warned_at, self.last_error = None, None, ""
            self._changed()

    def down(self, *, stalled: bool = False, error: str = "") -> None:
        """NATS became unusable: disconnected, or (``stalled``) connected but no longer answering pings.

        Warns at once (unless this replica is closing the link), forgets what other replicas announced.
        """
        was = self.healthy
        if stalled:
            self.stalled = True
        else:
            self.connected = False
        if error:
            self.last_error = error
        if not was:
            return
        now = self.clock()
        self.down_since = now
        self.peers.clear()
        if not self.closing:
            self._warn(now)
        self._changed()

    def tick(self) -> None:
        """Periodic: repeats the warning while the link is unusable, forgets stale announcements."""
        now = self.clock()
        if not self.healthy and not self.closing:
            if self._warned_at is None or now - self._warned_at >= self.warn_interval:
                self._warn(now)
        stale = [k for k, p in self.peers.items() if p.expires <= now]
        for k in stale:
            del self.peers[k]
        if stale:
            self._changed()

    def heard(self, instance: str, replica: str, tenants: frozenset[str], ttl: float) -> None:
        """Another replica announced the tenants it holds (an empty set when it holds none or drains)."""
        if not self.healthy:
            return
        old = self.peers.get(instance)
        if tenants:
            self.peers[instance] = Presence(replica, tenants, self.clock() + ttl)
        else:
            self.peers.pop(instance, None)
        if old is None or old.tenants != tenants:
            self._changed()

    def holds(self, tenant: str) -> bool:
        """True if another replica reachable now announced a tunnel of ``tenant``."""
        if not self.healthy:
            return False
        now = self.clock()
        return any(tenant in p.tenants and p.expires > now for p in self.peers.values())

    def remote_tenants(self) -> set[str]:
        """Every tenant another reachable replica holds."""
        if not self.healthy:
            return set()
        now = self.clock()
        return {t for p in self.peers.values() if p.expires > now for t in p.tenants}

    def failed(self, cause: str) -> None:
        """Counts a routed call that failed (``cause`` one of :data:`CAUSES`)."""
        self.failures[cause] = self.failures.get(cause, 0) + 1
