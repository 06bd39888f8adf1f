"""TunnelService.Connect: the handshake that turns an agent's stream into a registered tunnel.

1. The agent sends ``AgentHello`` (tenant, key id, nonce) with its token in the metadata.
2. The gateway checks the token covers the tenant and knows the key id, then answers ``GatewayWelcome`` (its nonce).
3. Both derive the session keys. The agent's first sealed message must be ``TunnelReady``: only an agent that
   holds the tenant key gets that far, and only then is the tunnel registered and sent ``TunnelReady`` back.
4. Frames are read until the stream ends; then every call still waiting on the tunnel fails with UNAVAILABLE.

A forged, tampered, replayed or reordered frame, or an answer to a call never issued, closes the tunnel and is
logged as ``tunnel.rejected``.
"""

from __future__ import annotations

import asyncio
import uuid
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

from .auth import Authenticator
from .config import GatewayConfig
from .registry import Registry
from .tunnel import AgentTunnel

log = structlog.get_logger("onlineconnect.gateway.connect")

HANDSHAKE_TIMEOUT = 10.0
_READY = tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION)).SerializeToString()


class TunnelEndpoint:
    """Accepts agent tunnels."""

    def __init__(self, config: GatewayConfig, auth: Authenticator, registry: Registry) -> None:
        self.config = config
        self.auth = auth
        self.registry = registry
        self.sessions: set[asyncio.Task[Any]] = set()

    async def _handshake(self, context: grpc.aio.ServicerContext) -> tuple[tunnel_pb2.AgentHello, SessionSecret, str]:
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
            self.auth.agent(context.invocation_metadata(), hello.tenant)
        except OnlineConnectError as exc:
            log.warning("tunnel.refused", tenant=hello.tenant[:64], agent=hello.agent_id[:64], reason=exc.message)
            await context.abort(exc.code, exc.message)
        tenant = self.config.tenants[hello.tenant]
        key = tenant.keys.get(hello.key_id)
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
        return hello, secret, session_id

    async def connect(self, _requests: Any, context: grpc.aio.ServicerContext) -> None:
        """The Connect handler (reader/writer API: one reader loop here, one writer task)."""
        hello, secret, session_id = await self._handshake(context)
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
            reason = "gateway shutting down or stream cancelled"
            raise
        except Exception as exc:  # the stream broke (connection lost, protobuf garbage)
            reason = f"stream error: {type(exc).__name__}"
            log.warning("tunnel.broken", tenant=hello.tenant, agent=hello.agent_id, session=session_id, reason=reason)
        finally:
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

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler of onlineconnect.v1.TunnelService."""
        method = grpc.stream_stream_rpc_method_handler(
            self.connect,
            request_deserializer=tunnel_pb2.ConnectRequest.FromString,
            response_serializer=tunnel_pb2.ConnectResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler("onlineconnect.v1.TunnelService", {"Connect": method})
