"""The agent's reconnect loop: dial out, run a session, and when it ends dial again — forever.

Backoff is exponential with jitter (a random delay up to the current step), starting at ``reconnect_initial`` and
capped at ``reconnect_max`` (2 s by default, so an agent is back within about 2 s of its gateway's return); it
resets after every session that completed its handshake. The
jitter spreads thousands of agents over time after a gateway restart instead of a thundering herd. The very first
connect is no different: an agent started before its gateway simply keeps trying.

Keepalive: a ping every 10 s (``grpc.keepalive_time_ms``), answered within 10 s (``keepalive_timeout_ms``), also
while the tunnel is idle. Many NATs, firewalls and proxies forget a flow that was idle for 60 s without telling
either side (no FIN, no RST). A ping every 10 s means the flow is never idle for more than 10 s, far below the
shortest common timeout (60 s; even a lost ping or two leaves it younger than that), and when the flow was dropped
anyway (a NAT reboot, a failover), the unanswered ping tells the agent within 10 + 10 s, after which it dials
again. The gateway permits pings every 5 s (``gateway/server.py``), so 10 s never earns a GOAWAY
"too_many_pings". ``tests/test_nat_idle.py`` runs a relay that drops idle flows silently.

Logging (``tunnel.*`` events): a failure is named by its cause (:func:`.proxy.explain` asks the network after an
opaque ``UNAVAILABLE``: gateway unreachable, proxy unreachable, proxy 407, TLS) and logged once as a warning; the
same failure again is counted, not logged, and summarised in one ``tunnel.still_failing`` line per
``SUMMARY_SECONDS`` with the count. ``attempt`` counts the failures since the last healthy session and starts over
after it; a clean end (the gateway's drain, the agent's own shutdown) is info, never a warning.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import structlog

from onlineconnect.config import split_host_port

from .proxy import Proxy, explain, grpc_proxy_options
from .session import HandshakeError, TunnelSession

log = structlog.get_logger("onlineconnect.agent.connector")

SUMMARY_SECONDS = 60.0  # one line per interval for a failure that keeps repeating

KEEPALIVE_TIME_MS = 10_000
KEEPALIVE_TIMEOUT_MS = 10_000

CHANNEL_OPTIONS: list[tuple[str, str | int]] = [
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.http2.ping_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Each attempt is our own; don't let the channel sit in its own long backoff.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.max_receive_message_length", 1024 * 1024),
    ("grpc.enable_retries", 0),
    # Every session dials its own TCP connection: gRPC would otherwise share one connection among the channels of a
    # process, so the tunnels of several Mandanten would share one connection's fate (and its stream limit), and a
    # session renewed before the gateway's maximum connection age would land on the same ageing connection.
    ("grpc.use_local_subchannel_pool", 1),
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
        proxy: Proxy | None = None,
        keepalive: tuple[float, float] | None = None,
        tenant: str = "",
    ) -> None:
        self.address = address
        self.make_session = make_session
        self.credentials = credentials
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.on_state = on_state
        self.proxy = proxy
        self.keepalive = keepalive
        self.tenant = tenant
        self.session: TunnelSession | None = None
        self.attempts = 0  # failed attempts since the last healthy session (shown as ``attempt`` in the log)
        self.sessions = 0
        self.stopping = False
        self.last_reason = ""
        self._repeats = 0  # the same failure again since it was last logged
        self._failing_since = 0.0
        self._summary_at = 0.0

    def _state(self, state: str, detail: str = "") -> None:
        if self.on_state is not None:
            self.on_state(state, detail)

    def options(self) -> list[tuple[str, str | int]]:
        """The channel arguments: keepalive, backoff, limits and the proxy decision."""
        opts = list(CHANNEL_OPTIONS)
        if self.keepalive is not None:
            every, timeout = (round(v * 1000) for v in self.keepalive)
            keep = {"grpc.keepalive_time_ms", "grpc.keepalive_timeout_ms", "grpc.http2.ping_timeout_ms"}
            opts = [o for o in opts if o[0] not in keep]
            opts += [
                ("grpc.keepalive_time_ms", every),
                ("grpc.keepalive_timeout_ms", timeout),
                ("grpc.http2.ping_timeout_ms", timeout),
            ]
        return opts + grpc_proxy_options(self.proxy)

    def _channel(self) -> grpc.aio.Channel:
        if self.credentials is None:
            return grpc.aio.insecure_channel(self.address, options=self.options())
        return grpc.aio.secure_channel(self.address, self.credentials, options=self.options())

    async def _name_cause(self, reason: str) -> str:
        """Turns an opaque connect failure into its cause (proxy 407, refused, unknown host, TLS)."""
        host, port = split_host_port(self.address, ValueError)
        try:
            cause = await explain(host, port, self.proxy)
        except Exception as exc:  # the probe is a courtesy: never let it end the loop
            cause = None
            log.debug("tunnel.probe_failed", error=repr(exc))
        if cause is not None:
            return cause
        return tls_cause(reason) or reason

    async def run(self) -> None:
        """Connects, serves, reconnects; returns only when cancelled or :meth:`stop` was called."""
        step = self.initial_backoff
        while not self.stopping:
            session = self.session = self.make_session()
            sessions_before = self.sessions
            self._state("connecting")
            channel = self._channel()
            watcher = asyncio.create_task(self._watch_ready(session))
            unreachable = False
            try:
                reason = await session.run(channel)
                level = "info" if session.drain_requested.is_set() or self.stopping else "warning"
            except HandshakeError as exc:
                reason, level = str(exc), ("warning" if exc.retry else "error")
                unreachable = exc.unreachable
                if not exc.retry:
                    step = self.max_backoff
            except grpc.aio.AioRpcError as exc:
                reason, level = f"{exc.code().name}: {exc.details()}", "warning"
                unreachable = exc.code() == grpc.StatusCode.UNAVAILABLE
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not end the daemon: log it, reconnect
                log.exception("tunnel.session_crashed", gateway=self.address)
                reason, level = f"session crashed: {type(exc).__name__}: {exc}", "error"
            finally:
                watcher.cancel()
                await channel.close(grace=None)
            if self.stopping:
                self._state("disconnected", "agent stopping")
                break
            healthy = self.sessions > sessions_before
            if unreachable and not healthy:
                reason = await self._name_cause(reason)
            self._state("disconnected", reason)
            if healthy:
                step = self.initial_backoff  # the tunnel was up: start the backoff over
                self.attempts = 0
            else:
                self.attempts += 1
            delay = random.uniform(min(step, self.initial_backoff) / 2, step)
            delay = max(delay, session.avoid_seconds)  # a gateway shutting down: keep away until it is gone
            self._log_disconnect(reason, level, healthy, delay)
            await asyncio.sleep(delay)
            step = min(step * 2, self.max_backoff)

    def _log_disconnect(self, reason: str, level: str, healthy: bool, delay: float) -> None:
        """Logs a session's end; a failure that repeats is counted and summarised once per interval."""
        now = time.monotonic()
        fields = {"gateway": self.address, "reason": reason, "retry_in": round(delay, 2)}
        if self.tenant:
            fields["tenant"] = self.tenant
        if healthy:
            self.last_reason, self._repeats = "", 0
            getattr(log, level)("tunnel.disconnected", **fields)
            return
        if reason != self.last_reason:
            if self._repeats:
                log.info("tunnel.still_failing", gateway=self.address, reason=self.last_reason, count=self._repeats)
            if not self.last_reason:
                self._failing_since = now
            self.last_reason, self._repeats, self._summary_at = reason, 0, now
            getattr(log, level)("tunnel.connect_failed", attempt=self.attempts, **fields)
            return
        self._repeats += 1
        if now - self._summary_at >= SUMMARY_SECONDS:
            getattr(log, level)(
                "tunnel.still_failing",
                gateway=self.address,
                reason=reason,
                count=self._repeats,
                attempt=self.attempts,
                failing_for=round(now - self._failing_since),
            )
            self._repeats, self._summary_at = 0, now

    async def _watch_ready(self, session: TunnelSession) -> None:
        await session.ready.wait()
        self.sessions += 1
        if self.last_reason:
            log.info(
                "tunnel.recovered",
                gateway=self.address,
                after_attempts=self.attempts,
                down_for=round(time.monotonic() - self._failing_since, 1),
                last_reason=self.last_reason,
            )
            self.last_reason, self._repeats = "", 0
        self._state("connected", session.session_id)

    def stop(self) -> None:
        """Makes :meth:`run` return after the current session instead of reconnecting."""
        self.stopping = True


def tls_cause(details: str) -> str | None:
    """Names a TLS failure hidden in a gRPC connect error's details, or None if it is not one."""
    low = details.lower()
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        return f"TLS: the gateway's certificate is not trusted (check agent.ca_file; diagnose names why): {details}"
    if "handshake" in low or "ssl" in low or "tsi_" in low:
        return f"TLS handshake with the gateway failed: {details}"
    return None
