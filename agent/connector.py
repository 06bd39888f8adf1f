"""The agent's reconnect loop: dial out, run a session, and when it ends dial again — forever.

Backoff is exponential with jitter (a random delay up to the current step), starting at ``reconnect_initial`` and
capped at ``reconnect_max`` (2 s by default, so an agent is back within about 2 s of its gateway's return); it
resets after every session that completed its handshake. The
jitter spreads thousands of agents over time after a gateway restart instead of a thundering herd. The very first
connect is no different: an agent started before its gateway simply keeps trying.

Keepalive pings every 10 s with a 10 s timeout notice a dead gateway (or a silently dropped NAT mapping) within
about 30 s even while the tunnel is idle.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import grpc
import structlog

from .session import HandshakeError, TunnelSession

log = structlog.get_logger("onlineconnect.agent.connector")

CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.ping_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Each attempt is our own; don't let the channel sit in its own long backoff.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.max_receive_message_length", 1024 * 1024),
    ("grpc.enable_retries", 0),
]


def channel_credentials(
    ca_file: Path | None, client_cert: Path | None, client_key: Path | None
) -> grpc.ChannelCredentials:
    """TLS credentials: the CA to verify the gateway (system roots if None) and an optional client certificate."""
    root = ca_file.read_bytes() if ca_file else None
    cert = client_cert.read_bytes() if client_cert else None
    key = client_key.read_bytes() if client_key else None
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=cert)


class Connector:
    """Keeps one tunnel to ``address`` open for as long as the agent runs."""

    def __init__(
        self,
        address: str,
        make_session: Callable[[], TunnelSession],
        *,
        credentials: grpc.ChannelCredentials | None,
        initial_backoff: float = 0.5,
        max_backoff: float = 2.0,
        on_state: Callable[[str, str], None] | None = None,
    ) -> None:
        self.address = address
        self.make_session = make_session
        self.credentials = credentials
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.on_state = on_state
        self.session: TunnelSession | None = None
        self.attempts = 0
        self.sessions = 0
        self.stopping = False

    def _state(self, state: str, detail: str = "") -> None:
        if self.on_state is not None:
            self.on_state(state, detail)

    def _channel(self) -> grpc.aio.Channel:
        if self.credentials is None:
            return grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS)
        return grpc.aio.secure_channel(self.address, self.credentials, options=CHANNEL_OPTIONS)

    async def run(self) -> None:
        """Connects, serves, reconnects; returns only when cancelled or :meth:`stop` was called."""
        step = self.initial_backoff
        while not self.stopping:
            self.attempts += 1
            session = self.session = self.make_session()
            sessions_before = self.sessions
            self._state("connecting")
            channel = self._channel()
            watcher = asyncio.create_task(self._watch_ready(session))
            try:
                reason = await session.run(channel)
                level = "info"
            except HandshakeError as exc:
                reason, level = str(exc), ("warning" if exc.retry else "error")
                if not exc.retry:
                    step = self.max_backoff
            except grpc.aio.AioRpcError as exc:
                reason, level = f"{exc.code().name}: {exc.details()}", "warning"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not end the daemon: log it, reconnect
                log.exception("tunnel.session_crashed", gateway=self.address)
                reason, level = f"session crashed: {type(exc).__name__}: {exc}", "error"
            finally:
                watcher.cancel()
                await channel.close(grace=None)
            self._state("disconnected", reason)
            if self.stopping:
                break
            if self.sessions > sessions_before:
                step = self.initial_backoff  # the tunnel was up: start the backoff over
            delay = random.uniform(min(step, self.initial_backoff) / 2, step)
            delay = max(delay, session.avoid_seconds)  # a gateway shutting down: keep away until it is gone
            getattr(log, level)(
                "tunnel.disconnected",
                gateway=self.address,
                reason=reason,
                retry_in=round(delay, 2),
                attempt=self.attempts,
            )
            await asyncio.sleep(delay)
            step = min(step * 2, self.max_backoff)

    async def _watch_ready(self, session: TunnelSession) -> None:
        await session.ready.wait()
        self.sessions += 1
        self._state("connected", session.session_id)

    def stop(self) -> None:
        """Makes :meth:`run` return after the current session instead of reconnecting."""
        self.stopping = True
