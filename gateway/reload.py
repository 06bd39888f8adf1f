"""Taking over a changed configuration file without a restart and without dropping healthy tunnels.

Shop keys, agent tokens, tenant keys, rate limits, in-flight caps and stock-cache policies are re-read on SIGHUP
(``kill -HUP <pid>``, wired in ``onlineconnect-gateway``) or when the file changes (checked every
``interval`` seconds). A file that does not validate is refused as a whole with a ``config.reload_failed`` log
line naming file and key; the running configuration stays in force.

After every reload, and every ``interval`` seconds in any case (a key's ``retire_after`` passes without any file
change), the tunnels are re-checked: a tunnel whose agent token was revoked or whose key id is retired is
retired (:meth:`~onlineconnect.gateway.connect.TunnelEndpoint.retire`); every other tunnel stays up untouched.

The listen addresses (``[http] listen`` included), TLS files, log settings and connection limits are read at startup
only; a reload that changes them logs ``config.restart_needed``. Everything else takes effect at the next call:
:meth:`~onlineconnect.gateway.server.GatewayServer.apply_config` replaces the one running configuration
(:class:`~onlineconnect.gateway.live.LiveConfig`) that relay, tunnel endpoint and HTTP door read, and lets the parts
that derive state from it (keys, admission, budget, cache policies, guest lookup limits) take it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from onlineconnect.errors import ConfigError

from .config import GatewayConfig, load_gateway_config

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


def restart_needed(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    """The settings that differ between ``old`` and ``new`` but take effect only at the next start (the HTTP
    listener's address and TLS choice among them; its time limits are read at every request)."""
    changed = [name for name in _STARTUP_ONLY if getattr(old, name) != getattr(new, name)]
    before = (old.http.listen, old.http.insecure) if old.http is not None else None
    after = (new.http.listen, new.http.insecure) if new.http is not None else None
    if before != after:
        changed.append("http")
    return changed


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Reloader:
    """Watches the gateway's configuration file and the tunnels' credentials while the gateway runs.

    Args:
        path: The configuration file (None: nothing to watch, only key retirement).
        current: The configuration in force.
        apply: Puts a new, validated configuration in force (:meth:`GatewayServer.apply_config`).
        check_tunnels: Retires tunnels whose token or key is no longer valid at the given time.
        interval: Seconds between looks at the file.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        current: Callable[[], GatewayConfig],
        apply: Callable[[GatewayConfig], object],
        check_tunnels: Callable[[float], object],
        interval: float = 1.0,
    ) -> None:
        self.path = path
        self._current = current
        self._apply = apply
        self._check_tunnels = check_tunnels
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
        self._apply(config)
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
                    self._check_tunnels(now)
                    self._next_retirement = next_retirement(self._current(), now)
            except Exception:  # the watcher must outlive any bug in one round
                log.exception("config.watch_failed")


def next_retirement(config: GatewayConfig, now: float) -> float:
    """The earliest ``retire_after`` of any tenant key still ahead of ``now`` (infinity if none)."""
    ahead = [t for tenant in config.tenants.values() for t in tenant.retire_after.values() if t > now]
    return min(ahead, default=math.inf)
