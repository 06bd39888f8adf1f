"""The agent's status file: is the tunnel up, is the ERP database up — told without opening a port.

The agent rewrites a small JSON file on every tunnel state change and every ``status_interval_seconds``
(default 10 s), pinging the database each time. Monitoring reads the file (a Nagios/Icinga file check, a systemd
timer, the Windows task scheduler); a ``time`` that stops moving means the agent hangs or is gone. Example::

    {
      "time": 1752400000.5,
      "updated": "2025-07-13T10:26:40Z",
      "pid": 4242,
      "agent": "erp-host-1",
      "tenant": "acme",
      "version": "0.1.0",
      "tunnels": {"relay.example.com:443": "connected"},
      "tunnel_detail": {"relay.example.com:443": "3f2a9c1d0b7e"},
      "database": "up",
      "ok": true
    }

``tunnels`` holds ``connecting``, ``connected`` or ``disconnected`` per gateway; ``ok`` is true when the database
is up and at least one tunnel is connected. The file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from .metrics import AgentMetrics

log = structlog.get_logger("onlineconnect.agent.status")


class StatusReporter:
    """Keeps the tunnel and database state and writes it to the status file (and the metrics text file)."""

    def __init__(
        self,
        *,
        path: Path | None,
        interval: float,
        agent: str,
        tenant: str,
        version: str,
        ping: Callable[[], None] | None = None,
        metrics: AgentMetrics | None = None,
        metrics_file: Path | None = None,
    ) -> None:
        self.path = path
        self.interval = interval
        self.ping = ping
        self.metrics = metrics
        self.metrics_file = metrics_file
        self.tunnels: dict[str, str] = {}
        self.detail: dict[str, str] = {}
        self.database_up = False
        self._static = {"agent": agent, "tenant": tenant, "version": version}
        self._files = threading.Lock()

    @property
    def ok(self) -> bool:
        """True when the database is up and at least one tunnel is connected."""
        return self.database_up and any(s == "connected" for s in self.tunnels.values())

    def tunnel_state(self, gateway: str, state: str, detail: str) -> None:
        """Records a tunnel state change and writes the files at once."""
        self.tunnels[gateway] = state
        self.detail[gateway] = detail
        self.write()

    def check_database(self) -> bool:
        """Pings the database (blocking: call it from a worker thread) and remembers the result."""
        if self.ping is None:
            return self.database_up
        try:
            self.ping()
            up = True
        except Exception as exc:  # any failure means "down"; the reason goes to the log once per change
            up = False
            if self.database_up:
                log.warning("database.down", reason=f"{type(exc).__name__}: {exc}"[:300])
        if up and not self.database_up:
            log.info("database.up")
        self.database_up = up
        return up

    def snapshot(self) -> dict[str, Any]:
        """The status as written to the file."""
        now = time.time()
        return {
            "time": round(now, 3),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "pid": os.getpid(),
            **self._static,
            "tunnels": dict(self.tunnels),
            "tunnel_detail": dict(self.detail),
            "database": "up" if self.database_up else "down",
            "ok": self.ok,
        }

    def write(self) -> None:
        """Writes the status file and the metrics text file, if configured (never raises: it is reporting)."""
        self._write_files(self._render())

    def _render(self) -> str | None:
        """The status file's text, with the metrics updated: read on the event loop, where the state changes."""
        if self.metrics is not None:
            self.metrics.update(self.tunnels, self.database_up)
        return json.dumps(self.snapshot(), indent=2) + "\n" if self.path is not None else None

    def _write_files(self, text: str | None) -> None:
        with self._files:  # the periodic write runs in a worker thread, a state change's on the event loop
            try:
                if self.path is not None and text is not None:
                    tmp = self.path.with_name(self.path.name + ".tmp")
                    tmp.write_text(text, encoding="utf-8")
                    tmp.replace(self.path)
                if self.metrics is not None and self.metrics_file is not None:
                    self.metrics.write(self.metrics_file)
            except OSError as exc:
                log.warning("status.write_failed", path=str(self.path), reason=str(exc))

    async def run(self) -> None:
        """Pings the database and rewrites the files every ``interval`` seconds until cancelled. The files are
        written in a worker thread: a slow disk must not stall the event loop that answers the shops' calls."""
        while True:
            await asyncio.to_thread(self.check_database)
            await asyncio.to_thread(self._write_files, self._render())
            await asyncio.sleep(self.interval)
