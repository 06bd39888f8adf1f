"""Taking over a changed configuration file without a restart and without dropping healthy tunnels.

Shop keys, agent tokens, tenant keys, rate limits, in-flight caps and stock-cache policies are re-read on SIGHUP
(``kill -HUP <pid>``, wired in ``onlineconnect-gateway``) or when the file changes (checked every
``interval`` seconds). A file that does not validate is refused as a whole with a ``config.reload_failed`` log
line naming file and key; the running configuration stays in force.

After every reload, and every ``interval`` seconds in any case (a key's ``retire_after`` passes without any file
change), the tunnels are re-checked: a tunnel whose agent token was revoked or whose key id is retired is
retired (:meth:`~onlineconnect.gateway.connect.TunnelEndpoint.retire`); every other tunnel stays up untouched.

The listen address, TLS files and log settings are read at startup only; a reload that changes them logs
``config.restart_needed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from onlineconnect.errors import ConfigError

from .config import GatewayConfig, load_gateway_config
from .stock_cache import CachePolicy

if TYPE_CHECKING:
    from .server import GatewayServer

log = structlog.get_logger("onlineconnect.gateway.reload")

_STARTUP_ONLY = (
    "listen",
    "insecure",
    "tls_cert",
    "tls_key",
    "client_ca",
    "log_format",
    "log_level",
    "max_concurrent_streams",
    "max_connection_age",
    "max_connection_age_grace",
)


def apply_config(server: GatewayServer, config: GatewayConfig) -> list[str]:
    """Makes ``config`` the running configuration of ``server`` and retires tunnels it no longer allows.

    Args:
        server: The running gateway.
        config: The new, validated configuration.

    Returns:
        Session ids of the tunnels retired because of the change.
    """
    old = server.config
    changed = [name for name in _STARTUP_ONLY if getattr(old, name) != getattr(config, name)]
    if changed:
        log.warning("config.restart_needed", settings=changed, hint="these settings take effect at the next start")
    server.config = config
    server.auth.update(config)
    server.relay.config = config
    server.relay.admission.update(config)
    server.relay.guest.update(config.guest_lookup)
    server.relay.budget.update(total=config.shop_buffer_bytes, per_key=config.shop_buffer_bytes_per_key)
    for t in config.tenants.values():
        server.relay.cache.set_policy(
            t.name, CachePolicy(ttl_seconds=t.stock_cache_ttl, serve_stale=t.stock_cache_serve_stale)
        )
    server.tunnels.config = config
    retired = server.tunnels.check_live()
    log.info(
        "config.reloaded",
        source=config.source,
        tenants=len(config.tenants),
        shops=len(config.shops),
        agents=len(config.agents),
        tunnels_retired=len(retired),
    )
    return retired


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Reloader:
    """Watches the gateway's configuration file and the tunnels' credentials while the gateway runs."""

    def __init__(self, server: GatewayServer, path: Path | None = None, *, interval: float = 1.0) -> None:
        self.server = server
        source = Path(server.config.source)
        self.path = path if path is not None else (source if source.is_file() else None)
        self.interval = interval
        self._stamp = _stamp(self.path) if self.path is not None else None
        self._task: asyncio.Task[Any] | None = None
        self._wake = asyncio.Event()
        self.reloads = 0
        self.failures = 0

    def reload(self) -> bool:
        """Reads the file again and applies it; returns False (keeping the running config) if it is invalid."""
        if self.path is None:
            return False
        self._stamp = _stamp(self.path)
        try:
            config = load_gateway_config(self.path)
        except ConfigError as exc:
            self.failures += 1
            log.error("config.reload_failed", source=str(self.path), error=exc.message, hint="old config stays")
            return False
        apply_config(self.server, config)
        self.reloads += 1
        return True

    _next_retirement: float = 0.0

    def request(self) -> None:
        """Asks for a reload at once (the SIGHUP handler); safe to call from a signal handler of the loop."""
        self._stamp = None
        self._wake.set()

    def start(self) -> None:
        """Starts the watch task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="config-reloader")

    async def stop(self) -> None:
        """Stops the watch task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Every ``interval`` seconds (or at once after :meth:`request`): reload if the file changed, then
        retire tunnels whose key id has passed its ``retire_after``."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                now = time.time()
                changed = self.path is not None and _stamp(self.path) != self._stamp and self.reload()
                # Walking every tunnel is only needed after a reload (revoked tokens, removed keys) or once a
                # key's retire_after has passed: with thousands of idle tunnels a walk per tick would add up.
                if changed or now >= self._next_retirement:
                    self.server.tunnels.check_live(now)
                    self._next_retirement = next_retirement(self.server.config, now)
            except Exception:  # the watcher must outlive any bug in one round
                log.exception("config.watch_failed")


def next_retirement(config: GatewayConfig, now: float) -> float:
    """The earliest ``retire_after`` of any tenant key still ahead of ``now`` (infinity if none)."""
    ahead = [t for tenant in config.tenants.values() for t in tenant.retire_after.values() if t > now]
    return min(ahead, default=math.inf)
