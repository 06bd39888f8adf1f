"""The gateway's running configuration, held in one place.

:class:`GatewayServer` creates one :class:`LiveConfig`; the relay, the tunnel endpoint and the HTTP door read
``live.current`` whenever they need a setting, so a reload (:mod:`.reload`) replaces the configuration once and
every part sees the new one at its next call. Parts that keep state derived from the configuration (admission
buckets, the memory budget, cache policies, the guest lookup's limits, the key tables) take it over in their own
``apply`` method, which :meth:`GatewayServer.apply_config` calls.
"""

from __future__ import annotations

from .config import GatewayConfig


class LiveConfig:
    """The one holder of the running :class:`GatewayConfig`."""

    def __init__(self, config: GatewayConfig) -> None:
        self._current = config

    @property
    def current(self) -> GatewayConfig:
        """The configuration in force."""
        return self._current

    def replace(self, config: GatewayConfig) -> GatewayConfig:
        """Puts ``config`` in force; returns the one it replaces."""
        old, self._current = self._current, config
        return old
