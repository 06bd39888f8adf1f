"""TunnelService.Connect: the handshake that turns an agent's stream into a registered tunnel.

1. The agent sends ``AgentHello`` (tenant, key id, nonce) with its token in the metadata.
2. The gateway checks the token covers the tenant and knows the key id, then answers ``GatewayWelcome`` (its nonce).
3. Both derive the session keys. The agent's first sealed message must be ``TunnelReady``: only an agent that
   holds the tenant key gets that far, and only then is the tunnel registered and sent ``TunnelReady`` back.
4. Frames are read until the stream ends; then every call still waiting on the tunnel fails with UNAVAILABLE.

A forged, tampered, replayed or reordered frame, or an answer to a call never issued, closes the tunnel and is
logged as ``tunnel.rejected``.

A tunnel whose credential was revoked or whose key id was retired (:mod:`onlineconnect.gateway.reload`) is
retired: it takes no new calls, the agent is sent ``Drain`` so it finishes what it has and reconnects (with its
current key), and after :data:`RETIRE_GRACE` seconds the gateway closes what is still open.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import structlog

from onlineconnect.envelope import (
    MAX_FRAME_BYTES,
    NONCE_BYTES,
    PROTOCOL_VERSION,
    SessionSecret,
    new_nonce,
    session_pair,
)
from onlineconnect.errors import EnvelopeError, OnlineConnectError
from onlineconnect.link import SealedLink
from onlineconnect.v1 import tunnel_pb2

from .auth import Authenticator, certificate_names
from .config import GatewayConfig
from .registry import Registry
from .tunnel import AgentTunnel

log = structlog.get_logger("onlineconnect.gateway.connect")

HANDSHAKE_TIMEOUT = 10.0
RETIRE_GRACE = 10.0  # seconds a retired tunnel's agent has to finish its calls and leave
_READY = tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION)).SerializeToString()


@dataclass
class LiveTunnel:
    """A registered tunnel with what the gateway must re-check after a reload."""

    tunnel: AgentTunnel
    token_sha256: str
    task: asyncio.Task[Any]
    retiring: str = ""  # why the tunnel is being retired; empty while healthy


class TunnelEndpoint:
    """Accepts agent tunnels."""

    def __init__(self, config: GatewayConfig, auth: Authenticator, registry: Registry) -> None:
        self.config = config
        self.auth = auth
        self.registry = registry
        self.live: dict[str, LiveTunnel] = {}  # by session id
        self._retirements: set[asyncio.Task[None]] = set()

    def retire(self, session_id: str, reason: str, *, grace: float = RETIRE_GRACE) -> None:
        """Stops routing calls to a tunnel, asks its agent to reconnect, and closes it after ``grace`` seconds.

        Args:
            session_id: The tunnel's session id.
            reason: Why, for both sides' logs (no secrets).
            grace: Seconds before the gateway closes the tunnel itself.
        """
        live = self.live.get(session_id)
        if live is None or live.retiring:
            return
        live.retiring = reason
        live.tunnel.draining = True
        live.tunnel.link.send(tunnel_pb2.TunnelMessage(drain=tunnel_pb2.Drain(reason=reason)).SerializeToString())
        log.warning(
            "tunnel.retiring", tenant=live.tunnel.tenant, agent=live.tunnel.agent, session=session_id, reason=reason
        )
        task = asyncio.get_running_loop().create_task(self._close_after(live, grace))
        self._retirements.add(task)
        task.add_done_callback(self._retirements.discard)

    async def _close_after(self, live: LiveTunnel, grace: float) -> None:
        done, _ = await asyncio.wait([live.task], timeout=grace)
        if not done:
            live.task.cancel()

    def check_live(self, now: float | None = None) -> list[str]:
        """Retires tunnels whose token was revoked (or no longer covers the tenant) or whose key id was retired.

        Returns:
            The session ids newly retired.
        """
        now = time.time() if now is None else now
        retired = []
        for sid, live in list(self.live.items()):
            if live.retiring:
                continue
            t = live.tunnel
            tenant = self.config.tenants.get(t.tenant)
            if not self.auth.agent_valid(live.token_sha256, t.tenant):
                self.retire(sid, "agent token revoked or no longer valid for this tenant")
            elif tenant is None or tenant.key(t.key_id, now) is None:
                self.retire(sid, f"key id {t.key_id} retired; reconnect with the tenant's current key")
            else:
                continue
            retired.append(sid)
        return retired

    async def _handshake(
        self, context: grpc.aio.ServicerContext
    ) -> tuple[tunnel_pb2.AgentHello, SessionSecret, str, str]:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            first = await context.read()
        if first is grpc.aio.EOF or not first.HasField("hello"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first frame must be AgentHello")
        hello: tunnel_pb2.AgentHello = first.hello
        if hello.protocol_version != PROTOCOL_VERSION:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"tunnel protocol {hello.protocol_version} not supported; this gateway speaks {PROTOCOL_VERSION}",
            )
        if len(hello.agent_nonce) != NONCE_BYTES:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"agent_nonce must be {NONCE_BYTES} bytes")
        try:
            cred = self.auth.agent(
                context.invocation_metadata(), hello.tenant, certificate_names(context.auth_context())
            )
        except OnlineConnectError as exc:
            log.warning("tunnel.refused", tenant=hello.tenant[:64], agent=hello.agent_id[:64], reason=exc.message)
            await context.abort(exc.code, exc.message)
        tenant = self.config.tenants.get(hello.tenant)
        key = tenant.key(hello.key_id, time.time()) if tenant is not None else None
        if key is None:
            log.warning(
                "tunnel.refused",
                tenant=hello.tenant,
                agent=hello.agent_id[:64],
                reason="unknown key id",
                key_id=hello.key_id,
            )
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"key id {hello.key_id} is not (or no longer) accepted for tenant {hello.tenant!r}",
            )
        assert key is not None  # context.abort() raised above
        session_id = uuid.uuid4().hex[:12]
        gateway_nonce = new_nonce()
        await context.write(
            tunnel_pb2.ConnectResponse(
                welcome=tunnel_pb2.GatewayWelcome(
                    session_id=session_id,
                    gateway_nonce=gateway_nonce,
                    key_id=hello.key_id,
                    max_frame_bytes=MAX_FRAME_BYTES,
                )
            )
        )
        secret = SessionSecret(key_id=hello.key_id, key=key, agent_nonce=hello.agent_nonce, gateway_nonce=gateway_nonce)
        return hello, secret, session_id, cred.token_sha256

    async def connect(self, _requests: Any, context: grpc.aio.ServicerContext) -> None:
        """The Connect handler (reader/writer API: one reader loop here, one writer task)."""
        hello, secret, session_id, token_sha256 = await self._handshake(context)
        sealer, opener = session_pair(secret, agent=False)

        async def write(frame: tunnel_pb2.SealedFrame) -> None:
            await context.write(tunnel_pb2.ConnectResponse(sealed=frame))

        link = SealedLink(sealer, opener, write)
        tunnel = AgentTunnel(
            tenant=hello.tenant, agent=hello.agent_id, session_id=session_id, link=link, key_id=secret.key_id
        )
        writer = asyncio.create_task(link.run_writer(), name=f"tunnel-writer-{session_id}")
        reason = "agent closed the stream"
        registered = False
        try:
            while True:
                frame = await context.read()
                if frame is grpc.aio.EOF:
                    break
                if not frame.HasField("sealed"):
                    raise EnvelopeError("unsealed frame after the handshake")
                plaintext = link.open(frame.sealed)
                if plaintext is None:
                    continue
                if not registered:
                    bundle = tunnel_pb2.TunnelBundle.FromString(plaintext)
                    if not bundle.messages or not bundle.messages[0].HasField("ready"):
                        raise EnvelopeError("the first sealed message must be TunnelReady")
                    link.send(_READY)
                    self.registry.add(tunnel)
                    task = asyncio.current_task()
                    assert task is not None
                    self.live[session_id] = LiveTunnel(tunnel=tunnel, token_sha256=token_sha256, task=task)
                    registered = True
                    log.info(
                        "tunnel.opened",
                        tenant=hello.tenant,
                        agent=hello.agent_id,
                        session=session_id,
                        key_id=secret.key_id,
                        peer=context.peer(),
                    )
                    continue
                tunnel.deliver(plaintext)
        except EnvelopeError as exc:
            reason = f"rejected: {exc.message}"
            log.warning(
                "tunnel.rejected", tenant=hello.tenant, agent=hello.agent_id, session=session_id, reason=exc.message
            )
        except asyncio.CancelledError:
            live = self.live.get(session_id)
            if live is None or not live.retiring:
                reason = "gateway shutting down or stream cancelled"
                raise
            reason = f"retired: {live.retiring}"
        except Exception as exc:  # the stream broke (connection lost, protobuf garbage)
            reason = f"stream error: {type(exc).__name__}"
            log.warning("tunnel.broken", tenant=hello.tenant, agent=hello.agent_id, session=session_id, reason=reason)
        finally:
            self.live.pop(session_id, None)
            tunnel.fail_all(reason)
            self.registry.remove(tunnel)
            writer.cancel()
            log.info(
                "tunnel.closed",
                tenant=hello.tenant,
                agent=hello.agent_id,
                session=session_id,
                reason=reason,
                bytes_in=link.bytes_in,
                bytes_out=link.bytes_out,
            )
        if reason.startswith("rejected"):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "tunnel closed: " + reason)
        if reason.startswith("retired"):
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "tunnel closed: " + reason)

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler of onlineconnect.v1.TunnelService."""
        method = grpc.stream_stream_rpc_method_handler(
            self.connect,
            request_deserializer=tunnel_pb2.ConnectRequest.FromString,
            response_serializer=tunnel_pb2.ConnectResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler("onlineconnect.v1.TunnelService", {"Connect": method})
