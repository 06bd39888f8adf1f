"""A hand-made agent that speaks the tunnel protocol directly, for tests of what the gateway accepts from agents.

It holds a valid token (and, unless told otherwise, the tenant key), so it gets as far as a real agent would;
what it then sends is up to the test: tampered or replayed frames, parts beyond its window, oversized answers.
"""

from __future__ import annotations

import asyncio
import os

import grpc

from onlineconnect.envelope import PROTOCOL_VERSION, Opener, Sealer, SessionSecret, session_pair
from onlineconnect.testing import AGENT_TOKEN, RunningRelay
from onlineconnect.v1 import tunnel_pb2, tunnel_pb2_grpc

READY = tunnel_pb2.TunnelBundle(
    messages=[tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION))]
).SerializeToString()


async def handshake(
    relay: RunningRelay, *, token: str = AGENT_TOKEN, key: bytes | None = None, key_id: int = 1
) -> tuple[grpc.aio.StreamStreamCall, Sealer, Opener]:
    """Opens Connect, sends AgentHello and returns (call, sealer, opener)."""
    ch = relay.shop_channel()
    call = tunnel_pb2_grpc.TunnelServiceStub(ch).Connect(metadata=(("authorization", f"Bearer {token}"),))
    nonce = os.urandom(16)
    hello = tunnel_pb2.AgentHello(
        tenant=relay.tenant, agent_id="rogue", key_id=key_id, agent_nonce=nonce, protocol_version=PROTOCOL_VERSION
    )
    await call.write(tunnel_pb2.ConnectRequest(hello=hello))
    welcome = (await call.read()).welcome
    secret = SessionSecret(key_id, key or relay.key, nonce, welcome.gateway_nonce)
    sealer, opener = session_pair(secret, agent=True)
    return call, sealer, opener


async def expect_closed(call: grpc.aio.StreamStreamCall) -> grpc.StatusCode:
    """Reads until the gateway ends the stream; returns the status."""
    async with asyncio.timeout(5):
        try:
            while await call.read() is not grpc.aio.EOF:
                pass
        except grpc.aio.AioRpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
        final: grpc.StatusCode = await call.code()
        return final
